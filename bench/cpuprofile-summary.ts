// Summarizes a V8 CPU profile (node --cpu-prof; `npm run bench -- --cpu-prof=DIR` profiles the
// durable server): self time by function and by file or package, and inclusive time, optionally
// for a window of the profile only (the measured phase rather than start-up).
//
//   npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top=40] [--last=SECONDS]
//     [--skip-end=SECONDS]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: bench/cpuprofile-summary.ts FILE.cpuprofile [--top=N] [--last=S]');
  process.exit(2);
}
const opt = (name: string, fallback: number) =>
  Number(rest.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const top = opt('top', 40);
const lastS = opt('last', 0);
const skipEndS = opt('skip-end', 0);

const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const place = (n: ProfileNode) =>
  (n.callFrame.url || '(native)')
    .replace(/^.*node_modules\//, 'nm/')
    .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${place(n)}:${n.callFrame.lineNumber + 1}`;

let t = 0;
const times = p.timeDeltas.map((d) => (t += d));
const endT = t - skipEndS * 1e6;
const self = new Map<number, number>();
p.samples.forEach((id, i) => {
  if (lastS && (times[i]! < endT - lastS * 1e6 || times[i]! > endT)) return;
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
const inclusive = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
for (const [id, us] of self) {
  const n = byId.get(id)!;
  add(byFunction, label(n), us);
  const where = place(n);
  const parts = where.split('/');
  add(
    byPlace,
    where.startsWith('nm/') ? parts.slice(0, parts[1]?.startsWith('@') ? 3 : 2).join('/') : where,
    us,
  );
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!);
    if (!seen.has(k)) add(inclusive, k, us);
    seen.add(k);
  }
}

const show = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n== ${title} (of ${(total / 1e6).toFixed(2)} s sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
show('self time by function', byFunction, top);
show('self time by file or package', byPlace, 25);
show('inclusive time', inclusive, top);
