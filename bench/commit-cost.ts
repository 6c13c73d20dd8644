// What one group commit costs the embedded engine, and which table of it costs what: ticket
// rows (1–5 lines) inserted into `documents` at a steady rate, each commit one insert (its
// materialized views write their read models in the same statement), the process's CPU
// (JavaScript, chDB's insert pipeline and its merges, from process.cpuUsage) per insert, with
// every view attached, with none, and with each view alone. Issue 12: the per-commit cost
// that keeps commits expensive however few rows they carry.
//
//   npx tsx bench/commit-cost.ts   BENCH_ROWS (40) rows per insert, BENCH_RATE (8) inserts/s,
//                                  BENCH_SECONDS (12) per run, the first third not counted;
//                                  BENCH_TABLE_SETTINGS='name = value, ...' applied to every
//                                  table the commit fills (MODIFY SETTING) before the runs;
//                                  BENCH_VIEWS=0 skips the runs of one view each
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ticketRows } from './fleet/ticket-rows.js';
import { openClickHouseClients } from '../src/storage/clickhouse.js';
import { clickHouseDb } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrations.js';
import { spreadPartDirectories } from '../src/storage/part-placement.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROWS = env('BENCH_ROWS', 40);
const RATE = env('BENCH_RATE', 8);
const SECONDS = env('BENCH_SECONDS', 12);

const tableSettings = process.env.BENCH_TABLE_SETTINGS;

interface View {
  name: string;
  target: string;
}

/** A store of its own for one run, with only `keep` of the documents' views attached. */
async function openStore(keep: (views: View[]) => View[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ofd-bench-commit-'));
  const { writer } = openClickHouseClients({ dataDir, readSessions: 0 });
  const db = clickHouseDb(writer);
  await migrate(db);
  await spreadPartDirectories(dataDir, pino({ level: 'silent' }));
  // The materialized views a documents insert runs, and the tables they fill.
  const views = (
    await db.rows<{ name: string; create_table_query: string }>(
      `SELECT name, create_table_query FROM system.tables
       WHERE database = currentDatabase() AND engine = 'MaterializedView'
         AND match(as_select, 'FROM ([a-z_]+[.])?documents( |$)')`,
    )
  ).map((v) => ({ name: v.name, target: /\bTO (?:\w+\.)?(\w+)/.exec(v.create_table_query)![1]! }));
  if (tableSettings) {
    for (const t of ['documents', ...new Set(views.map((v) => v.target))]) {
      await db.command(`ALTER TABLE ${t} MODIFY SETTING ${tableSettings}`);
    }
  }
  const kept = new Set(keep(views).map((v) => v.name));
  for (const v of views) if (!kept.has(v.name)) await db.command(`DETACH TABLE ${v.name}`);
  return {
    db,
    views,
    async close() {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const row = ticketRows(5, (kkm) => ({ fns_kkm_id: `0101${kkm}` }));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU and wall time per insert over the last two thirds of a run at RATE inserts/s. */
async function run(name: string, keep: (views: View[]) => View[]) {
  const store = await openStore(keep);
  const start = performance.now();
  let counted = 0;
  let wall = 0;
  let cpuAt = 0;
  let from = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const began = performance.now();
    const measuring = began - start > (SECONDS * 1000) / 3;
    if (measuring && !from) [from, cpuAt] = [began, cpuMs()];
    const rows = Array.from({ length: ROWS }, (_, k) => row(1 + (k % 200)));
    await store.db.insert('documents', rows);
    if (from) [counted, wall] = [counted + 1, wall + performance.now() - began];
    await sleep(1000 / RATE - (performance.now() - began));
  }
  const cpu = (cpuMs() - cpuAt) / counted;
  const busy = (cpuMs() - cpuAt) / (performance.now() - from);
  const views = store.views;
  await store.close();
  return { name, cpu, wall: wall / counted, busy, views };
}

const results = [await run('every view', (v) => v)];
results.push(await run('no view (documents alone)', () => []));
for (const view of process.env.BENCH_VIEWS === '0' ? [] : results[0]!.views) {
  results.push(
    await run(`documents and ${view.name}`, (v) => v.filter((x) => x.name === view.name)),
  );
}

console.log(
  `\n${ROWS} ticket rows an insert, ${RATE} inserts/s, ${SECONDS} s a run, a new store each` +
    (tableSettings ? `; tables: ${tableSettings}` : ''),
);
console.log('| inserting into | CPU ms / insert | wall ms / insert | of a core |');
console.log('| --- | ---: | ---: | ---: |');
const alone = results[1]!.cpu;
for (const r of results) {
  const extra = r.name.startsWith('documents and') ? ` (+${(r.cpu - alone).toFixed(1)})` : '';
  console.log(
    `| ${r.name} | ${r.cpu.toFixed(1)}${extra} | ${r.wall.toFixed(1)} | ${(r.busy * 100).toFixed(0)}% |`,
  );
}
