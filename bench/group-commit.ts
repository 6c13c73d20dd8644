// Group commit on the embedded engine: wide ticket rows written by N concurrent devices, each
// waiting for its commit before sending the next (closed loop), under several writer settings.
// The baseline is one insert per request (maxRows = 1). Prints rows/s and commit latency.
//
//   npx tsx bench/group-commit.ts      BENCH_SECONDS (default 5) per setting, BENCH_DEVICES (200)
//   BENCH_SETTINGS=0,2 runs only those settings (by index); BENCH_JSON=1 prints the results as
//   one JSON line at the end (bench/run-all.ts reads it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { BatchWriter, dbInsert } from '../src/storage/batch-writer.js';
import { openDb } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrations.js';
import { ticketRows } from './fleet/ticket-rows.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const devices = Number(process.env.BENCH_DEVICES ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'ofd-bench-gc-'));
const db = openDb({ dataDir: dir });
await migrate(db);

const row = ticketRows(20);

interface Setting {
  name: string;
  maxRows: number;
  maxDelayMs: number;
}
const allSettings: Setting[] = [
  { name: 'one insert per request', maxRows: 1, maxDelayMs: 0 },
  { name: 'group commit, no delay', maxRows: 1000, maxDelayMs: 0 },
  { name: 'group commit, 1 ms', maxRows: 1000, maxDelayMs: 1 },
  { name: 'group commit, 2 ms', maxRows: 1000, maxDelayMs: 2 },
  { name: 'group commit, 5 ms', maxRows: 1000, maxDelayMs: 5 },
  { name: 'group commit, 2 ms, 200 rows', maxRows: 200, maxDelayMs: 2 },
];
const settings = process.env.BENCH_SETTINGS
  ? process.env.BENCH_SETTINGS.split(',').map((i) => allSettings[Number(i)]!)
  : allSettings;

async function run(s: Setting) {
  let batches = 0;
  const writer = new BatchWriter(
    dbInsert(db),
    {
      maxRows: s.maxRows,
      maxDelayMs: s.maxDelayMs,
      maxPending: 1_000_000,
      commitTimeoutMs: 30_000,
    },
    () => batches++,
  );
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const deadline = performance.now() + seconds * 1000;
  let rows = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: devices }, async (_, kkm) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await writer.write('documents', row(kkm + 1));
        histogram.recordValue(Math.round((performance.now() - t0) * 1000));
        rows++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await writer.close();
  return {
    name: s.name,
    rowsPerSec: rows / elapsed,
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    rowsPerInsert: rows / Math.max(1, batches),
  };
}

console.log(
  `group commit on chDB: ${devices} concurrent devices, ${seconds} s per setting, wide ticket rows (1-20 items)`,
);
const results = [];
for (const s of settings) results.push(await run(s));
const base = results[0]!.rowsPerSec;
const pad = (v: string, n: number) => v.padStart(n);
console.log(
  `${'setting'.padEnd(32)}${pad('rows/s', 10)}${pad('x base', 8)}${pad('rows/insert', 13)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(32)}${pad(Math.round(r.rowsPerSec).toLocaleString('en'), 10)}${pad((r.rowsPerSec / base).toFixed(1), 8)}${pad(r.rowsPerInsert.toFixed(0), 13)}${pad(r.p50.toFixed(1), 9)}${pad(r.p99.toFixed(1), 9)}`,
  );
}
if (process.env.BENCH_JSON) console.log(JSON.stringify({ devices, seconds, results }));
await db.close();
rmSync(dir, { recursive: true, force: true });
