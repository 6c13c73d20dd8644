// A flame graph (SVG) of a V8 CPU profile: each box a function in its call stack, as wide as
// the time spent in it and its callees, callers below callees; hover a box for its share.
// Written here because the npm flame-graph tools either no longer read the current
// .cpuprofile format or build a native profiler at install time.
//
//   npx tsx bench/flamegraph.ts FILE.cpuprofile [--last=SECONDS] [--skip-end=SECONDS]
//     [--title=TEXT] > flame.svg
import { label, loadProfile, numberOption, place, type ProfileNode } from './profile/cpuprofile.js';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: bench/flamegraph.ts FILE.cpuprofile [--last=S] [--title=T] > out.svg');
  process.exit(2);
}
const title =
  rest.find((a) => a.startsWith('--title='))?.slice('--title='.length) ?? 'CPU flame graph';
const {
  byId,
  parent,
  self,
  total: sampled,
} = loadProfile(file, numberOption(rest, 'last', 0), numberOption(rest, 'skip-end', 0));

interface Frame {
  name: string;
  place: string;
  us: number;
  children: Map<string, Frame>;
}
const frame = (name: string, where: string): Frame => ({
  name,
  place: where,
  us: 0,
  children: new Map(),
});
const root = frame('all', '');
for (const [id, us] of self) {
  const stack: ProfileNode[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    stack.push(byId.get(cur)!);
  }
  stack.reverse(); // (root) first
  if (stack[stack.length - 1]?.callFrame.functionName === '(idle)') continue;
  root.us += us;
  let at = root;
  for (const n of stack.slice(1)) {
    const key = label(n);
    let next = at.children.get(key);
    if (!next) at.children.set(key, (next = frame(key, place(n))));
    next.us += us;
    at = next;
  }
}

const WIDTH = 1200;
const ROW = 16;
const MIN_WIDTH_PX = 0.5;
const colour = (where: string) =>
  where.startsWith('src/')
    ? '#f08a4b'
    : where.startsWith('nm/')
      ? '#6a9fd4'
      : where.startsWith('node:')
        ? '#7bbf6a'
        : '#b5b5b5';
const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const boxes: string[] = [];
let depth = 0;
const walk = (f: Frame, x: number, level: number) => {
  const w = (f.us / root.us) * WIDTH;
  if (w < MIN_WIDTH_PX) return;
  depth = Math.max(depth, level);
  const share = `${((100 * f.us) / root.us).toFixed(1)}%, ${(f.us / 1000).toFixed(0)} ms`;
  const chars = Math.floor((w - 4) / 6.5);
  const text = chars < 3 ? '' : f.name.length <= chars ? f.name : `${f.name.slice(0, chars - 1)}…`;
  boxes.push(
    `<g data-level="${level}" data-x="${x.toFixed(1)}"><title>${escape(f.name)} (${share})</title>` +
      `<rect width="${(w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${colour(f.place)}" rx="2"/>` +
      (text ? `<text x="3" y="11.5">${escape(text)}</text>` : '') +
      '</g>',
  );
  let cx = x;
  for (const child of [...f.children.values()].sort((a, b) => b.us - a.us)) {
    walk(child, cx, level + 1);
    cx += (child.us / root.us) * WIDTH;
  }
};
walk(root, 0, 0);

const top = 40;
const height = top + (depth + 1) * ROW + 10;
const placed = boxes.map((b) => {
  const level = Number(/data-level="(\d+)"/.exec(b)![1]);
  const x = /data-x="([\d.]+)"/.exec(b)![1];
  return b.replace('<g ', `<g transform="translate(${x},${height - 10 - (level + 1) * ROW})" `);
});
const busy = ((100 * root.us) / (sampled || 1)).toFixed(0);
process.stdout.write(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="Verdana, sans-serif" font-size="10">
<rect width="100%" height="100%" fill="#fbfaf7"/>
<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escape(title)}</text>
<text x="${WIDTH / 2}" y="32" text-anchor="middle" fill="#555">${(root.us / 1e6).toFixed(2)} s on the JavaScript thread (${busy}% of the ${(sampled / 1e6).toFixed(2)} s sampled; idle left out). Orange: src, blue: packages, green: node internals, grey: native and GC</text>
${placed.join('\n')}
</svg>
`,
);
