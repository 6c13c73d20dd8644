// Periods of the device's wall clock, as the cabinet reads and exports take them.

const WALL_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?)?$/;
const wallText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/**
 * A device wall-clock period as the cabinet reads take it: `from` inclusive; `to` exclusive,
 * except that a bare date YYYY-MM-DD includes that whole day. Both as 'YYYY-MM-DD hh:mm:ss'
 * ([from, to)), or a message saying what is wrong.
 */
export function exportPeriod(
  from: string,
  to: string,
  maxDays = 366,
): { from: string; to: string } | { error: string } {
  const parse = (text: string) => {
    const m = WALL_RE.exec(text);
    if (!m) return null;
    const normal = `${m[1]} ${m[2] ?? '00:00'}${m[3] ?? ':00'}`;
    const ms = Date.parse(normal.replace(' ', 'T') + 'Z');
    // Date.parse takes 2024-02-31 for March 2; the round trip refuses it.
    return Number.isNaN(ms) || wallText(ms) !== normal ? null : { ms, dateOnly: !m[2] };
  };
  const f = parse(from);
  if (!f) return { error: 'body/from is not a valid date and time' };
  const t = parse(to);
  if (!t) return { error: 'body/to is not a valid date and time' };
  const end = t.dateOnly ? t.ms + 86_400_000 : t.ms;
  if (end <= f.ms) return { error: 'body/to must be after from' };
  if (end - f.ms > maxDays * 86_400_000)
    return { error: `body: the period is longer than ${maxDays} days` };
  return { from: wallText(f.ms), to: wallText(end) };
}
