// A small hand-written SVG chart: achieved receipts/s (left axis) and p99 answer latency (right
// axis, logarithmic) against the offered rate of an open-loop sweep.

export interface SweepPoint {
  offered: number;
  achieved: number;
  p99: number;
}

export interface ChartOptions {
  title: string;
  subtitle: string;
  /** The closed-loop peak, drawn as a vertical line. */
  peak: number;
  /** The p99 target in ms, drawn as a horizontal line on the latency axis. */
  p99Target: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

export function chartSvg(points: SweepPoint[], o: ChartOptions): string {
  const W = 760;
  const H = 440;
  const m = { left: 70, right: 70, top: 60, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const maxX = Math.max(1, ...points.map((p) => p.offered), o.peak) * 1.05;
  const maxY = Math.max(1, ...points.map((p) => Math.max(p.achieved, p.offered))) * 1.1;
  const xStep = niceStep(maxX, 6);
  const yStep = niceStep(maxY, 5);
  const x = (v: number) => m.left + (v / maxX) * pw;
  const y = (v: number) => m.top + ph - (v / maxY) * ph;
  // Latency axis: log10 from 1 ms to the next power of ten above the worst p99.
  const lo = 0;
  const hi = Math.max(2, Math.ceil(Math.log10(Math.max(10, ...points.map((p) => p.p99)))));
  const yl = (ms: number) => m.top + ph - ((Math.log10(Math.max(1, ms)) - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    `<text x="${W / 2}" y="42" text-anchor="middle" fill="#555">${esc(o.subtitle)}</text>`,
  );
  for (let v = 0; v <= maxY; v += yStep) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  for (let v = 0; v <= maxX; v += xStep) {
    parts.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`,
      `<text x="${x(v)}" y="${m.top + ph + 20}" text-anchor="middle">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  for (let e = lo; e <= hi; e++) {
    parts.push(
      `<text x="${m.left + pw + 8}" y="${yl(10 ** e) + 4}" fill="#c0392b">${(10 ** e).toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 18}" text-anchor="middle">offered receipts/s</text>`,
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#2471a3">achieved receipts/s</text>`,
    `<text transform="translate(${W - 14} ${m.top + ph / 2}) rotate(90)" text-anchor="middle" fill="#c0392b">p99 answer latency, ms (log)</text>`,
    // y = x: what a server keeping up would achieve.
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(Math.min(maxX, maxY))}" y2="${y(Math.min(maxX, maxY))}" stroke="#aaa" stroke-dasharray="4 4"/>`,
    `<line x1="${x(o.peak)}" x2="${x(o.peak)}" y1="${m.top}" y2="${m.top + ph}" stroke="#7d3c98" stroke-dasharray="6 3"/>`,
    `<text x="${x(o.peak) + 4}" y="${m.top + 14}" fill="#7d3c98">closed-loop peak ${Math.round(o.peak).toLocaleString('en-US')}/s</text>`,
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${yl(o.p99Target)}" y2="${yl(o.p99Target)}" stroke="#c0392b" stroke-dasharray="2 3"/>`,
    `<text x="${m.left + 6}" y="${yl(o.p99Target) - 4}" fill="#c0392b">p99 target ${o.p99Target} ms</text>`,
  );
  const sorted = [...points].sort((a, b) => a.offered - b.offered);
  const line = (pts: [number, number][], color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>` +
    pts
      .map(
        ([a, b]) => `<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${color}"/>`,
      )
      .join('');
  parts.push(
    line(
      sorted.map((p) => [x(p.offered), y(p.achieved)]),
      '#2471a3',
    ),
  );
  parts.push(
    line(
      sorted.map((p) => [x(p.offered), yl(p.p99)]),
      '#c0392b',
    ),
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
