// Crash points for the crash-safety tests: OFD_CRASH_AT=<point>:<n> kills the process with
// SIGKILL the n-th time a request reaches <point>. Unset in production: one comparison per call.
export type CrashPoint = 'before-commit' | 'after-commit' | 'after-release';

const spec = process.env.OFD_CRASH_AT;
const [point, nth] = spec ? spec.split(':') : [];
let remaining = Number(nth ?? 1) || 1;

export function crashPoint(at: CrashPoint): void {
  if (point !== at) return;
  if (--remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
