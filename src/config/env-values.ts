// Reading typed values from the environment, collecting every problem instead of stopping at
// the first, so a misconfigured start names all of them at once.
export type Env = Record<string, string | undefined>;

/** An integer reader for `env`: the fallback when unset, else a value within [min, max]. */
export function envInt(env: Env, problems: string[]) {
  return (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
}
