// Summarizes a V8 CPU profile (node --cpu-prof; `npm run bench -- --cpu-prof=DIR` profiles the
// durable server): self time by function and by file or package, and inclusive time, optionally
// for a window of the profile only (the measured phase rather than start-up).
//
//   npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top=40] [--last=SECONDS]
//     [--skip-end=SECONDS]
import { label, loadProfile, numberOption, place } from './profile/cpuprofile.js';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: bench/cpuprofile-summary.ts FILE.cpuprofile [--top=N] [--last=S]');
  process.exit(2);
}
const top = numberOption(rest, 'top', 40);
const { byId, parent, self, total } = loadProfile(
  file,
  numberOption(rest, 'last', 0),
  numberOption(rest, 'skip-end', 0),
);

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
