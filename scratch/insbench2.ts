import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbConnection } from 'chdb/connection';
const dir = mkdtempSync(join(tmpdir(), 'insb-'));
const conn: any = createChdbConnection({ path: dir });
const q = (s: string) => conn.chdb.queryAsync(s, { format: 'CSV' });
await q('CREATE TABLE n (a UInt32, b String) ENGINE = Null');
await q('CREATE TABLE m (a UInt32, b String) ENGINE = MergeTree ORDER BY a');
await q('CREATE TABLE r (a UInt32, b String) ENGINE = ReplacingMergeTree ORDER BY a');
async function run(name: string, fn: () => Promise<unknown>) {
  const t0 = performance.now(); const c0 = process.cpuUsage(); let n = 0;
  while (performance.now() - t0 < 2000) { await fn(); n++; }
  const ms = performance.now() - t0; const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(40)} ${(ms / n).toFixed(2)} ms, cpu ${((c.user + c.system) / 1000 / n).toFixed(2)} ms`);
}
await run('SELECT 1', () => q('SELECT 1'));
await run('insert Null', () => conn.chdb.rawInsert({ table: 'n', values: Buffer.from('[1,"x"]'), format: 'JSONCompactEachRow' }));
await run('insert MergeTree', () => conn.chdb.rawInsert({ table: 'm', values: Buffer.from('[1,"x"]'), format: 'JSONCompactEachRow' }));
await run('insert Replacing', () => conn.chdb.rawInsert({ table: 'r', values: Buffer.from('[1,"x"]'), format: 'JSONCompactEachRow' }));

await run('insert VALUES sql', () => q("INSERT INTO m VALUES (1, 'x')"));
console.log((await q("SELECT name, value FROM system.merge_tree_settings WHERE name IN ('fsync_after_insert','fsync_part_directory','min_bytes_for_wide_part','min_rows_for_wide_part','parts_to_delay_insert')")).text());
console.log((await q("SELECT name, value FROM system.settings WHERE name IN ('async_insert','wait_for_async_insert','max_insert_threads','input_format_parallel_parsing','max_threads','insert_deduplicate')")).text());
process.exit(0);
