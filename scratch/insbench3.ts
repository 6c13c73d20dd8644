import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbConnection } from 'chdb/connection';
const dir = mkdtempSync(join(tmpdir(), 'insb-'));
const conn: any = createChdbConnection({ path: dir });
const q = (s: string) => conn.chdb.queryAsync(s, { format: 'CSV' });
await q('CREATE TABLE m (a UInt32, b String) ENGINE = MergeTree ORDER BY a');
async function run(name: string, fn: () => Promise<unknown>) {
  const t0 = performance.now(); const c0 = process.cpuUsage(); let n = 0;
  while (performance.now() - t0 < 2000) { await fn(); n++; }
  const ms = performance.now() - t0; const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(40)} ${(ms / n).toFixed(2)} ms, cpu ${((c.user + c.system) / 1000 / n).toFixed(2)} ms`);
}
const ins = (settings: any) => () => conn.chdb.rawInsert({ table: 'm', values: Buffer.from('[1,"x"]'), format: 'JSONCompactEachRow', settings });
await run('default', ins({})); await run('default', ins({})); await run('default', ins({})); await run('default', ins({}));
for (const s of ['log_queries=0', 'async_insert=0', 'insert_deduplicate=0', 'optimize_on_insert=0', 'input_format_parallel_parsing=0', 'max_insert_threads=1', 'max_threads=1', 'log_processors_profiles=0', 'log_query_threads=0', 'enable_analyzer=0', 'query_profiler_real_time_period_ns=0', 'query_profiler_cpu_time_period_ns=0']) {
  const [k, v] = s.split('='); await run(s, ins({ [k!]: Number(v) }));
}
await run('default', ins({})); await run('all', ins({ log_queries: 0, async_insert: 0, input_format_parallel_parsing: 0, max_insert_threads: 1, max_threads: 1, log_processors_profiles: 0, query_profiler_real_time_period_ns: 0, query_profiler_cpu_time_period_ns: 0 }));
console.log((await q("SELECT count() FROM system.parts WHERE table='m' AND active")).text());
console.log((await q("SELECT name FROM system.tables WHERE database='system' AND name LIKE '%log%'")).text());
process.exit(0);
