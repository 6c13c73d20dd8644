// Command-line options of the benches: `--name=value` (or `--flag`, read as 'true'). The value
// is everything after the first '=' (`--server-env=A=1,B=2`).
export const benchArgs = (argv = process.argv.slice(2)): Map<string, string> =>
  new Map(
    argv.map((a) => {
      const option = a.replace(/^--/, '');
      const at = option.indexOf('=');
      return at < 0 ? [option, 'true'] : [option.slice(0, at), option.slice(at + 1)];
    }),
  );
