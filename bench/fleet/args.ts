// Command-line options of the benches: `--name=value` (or `--flag`, read as 'true').
export const benchArgs = (argv = process.argv.slice(2)): Map<string, string> =>
  new Map(
    argv.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k!, v ?? 'true'] as const;
    }),
  );
