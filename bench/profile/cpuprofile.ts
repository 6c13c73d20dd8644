// A V8 CPU profile (node --cpu-prof) loaded for the bench tools: its call tree, and each node's
// self time within a window of the profile (the measured phase rather than start-up).
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface LoadedProfile {
  byId: Map<number, ProfileNode>;
  parent: Map<number, number>;
  /** Self time in µs by node id, within the window. */
  self: Map<number, number>;
  /** µs sampled within the window. */
  total: number;
}

/** `lastS`: only the last seconds (0: all), ending `skipEndS` before the profile's end. */
export function loadProfile(file: string, lastS = 0, skipEndS = 0): LoadedProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let t = 0;
  const times = p.timeDeltas.map((d) => (t += d));
  const endT = t - skipEndS * 1e6;
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => {
    if (lastS && (times[i]! < endT - lastS * 1e6 || times[i]! > endT)) return;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return { byId, parent, self, total };
}

/** Where a frame's code lives: src/…, bench/…, nm/<package>/…, node:…, or (native). */
export const place = (n: ProfileNode): string =>
  (n.callFrame.url || '(native)')
    .replace(/^.*node_modules\//, 'nm/')
    .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');

export const label = (n: ProfileNode): string =>
  `${n.callFrame.functionName || '(anonymous)'} ${place(n)}:${n.callFrame.lineNumber + 1}`;

/** The option `--name=value` of a bench CLI, as a number. */
export const numberOption = (args: string[], name: string, fallback: number): number =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
