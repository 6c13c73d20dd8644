import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const byId = new Map<number, any>(); for (const n of p.nodes) byId.set(n.id, n);
const parent = new Map<number, number>(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>(); for (const s of p.samples) self.set(s, (self.get(s) ?? 0) + 1);
const agg = new Map<string, number>();
for (const n of p.nodes) {
  if (n.callFrame.url !== '' || n.callFrame.lineNumber !== 2) continue;
  if (!n.callFrame.functionName) {
    let chain: string[] = []; let id = parent.get(n.id);
    for (let i = 0; i < 3 && id; i++) { const q = byId.get(id); chain.push(`${q.callFrame.functionName}@${q.callFrame.url.split('/').slice(-2).join('/')}:${q.callFrame.lineNumber}`); id = parent.get(id); }
    const k = chain.join(' < '); agg.set(k, (agg.get(k) ?? 0) + (self.get(n.id) ?? 0));
  }
}
console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${v}\t${k}`).join('\n'));
