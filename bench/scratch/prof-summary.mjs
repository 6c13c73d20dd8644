// Summarize a V8 .cpuprofile: self time by function and by file, top N.
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const top = Number(process.argv[3] ?? 40);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas;
const lastS = Number(process.env.LAST_S ?? 0); const skipEndS = Number(process.env.SKIP_END_S ?? 0);
let ts = 0; const times = dt.map((d) => (ts += d)); const endT = ts - skipEndS * 1e6;
for (let i = 0; i < p.samples.length; i++) { if (lastS && (times[i] < endT - lastS * 1e6 || times[i] > endT)) continue; self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0)); }
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map(), byFile = new Map();
for (const [id, t] of self) {
  const n = byId.get(id); const cf = n.callFrame;
  const file = (cf.url || '(native)').replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  const key = `${cf.functionName || '(anon)'} ${file}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
  const pkg = file.startsWith('nm/') ? file.split('/').slice(0, file.split('/')[1].startsWith('@') ? 3 : 2).join('/') : file;
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + t);
}
// inclusive time per function
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, t] of self) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const file = (cf.url || '(native)').replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
    const key = `${cf.functionName || '(anon)'} ${file}:${cf.lineNumber + 1}`;
    if (seen.has(key)) continue; seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + t);
  }
}
const show = (title, m, n) => { console.log(`\n== ${title} (total ${(total / 1e6).toFixed(2)} s)`); for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`); };
show('self by function', byFn, top);
show('self by file/package', byFile, 25);
if (process.argv[4]) show('inclusive', incl, Number(process.argv[4]));
