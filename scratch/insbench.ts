import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { ticketFigures } from '../src/storage/document-rows.js';
import { migrate } from '../src/storage/migrations.js';
import { seededRandom, ticket } from '../src/sim/documents.js';

const dir = mkdtempSync(join(tmpdir(), 'insb-'));
const conn: any = createChdbConnection({ path: dir });
const ch = createClient({ connection: conn } as any);
await migrate(ch as any);
const random = seededRandom(7);
const raw = Buffer.alloc(400, 7).toString('base64');
const templates = Array.from({ length: 64 }, () => ticketFigures(ticket(random, { items: 1 + Math.floor(random() * 20) })));
let seq = 0;
const row = (kkm: number) => ({
  kkm_id: kkm, doc_seq: ++seq, doc_type: 'ticket', shift_number: 1,
  device_time: '2026-11-22 10:00:00', received_at: Date.now(), ticket_number: String(seq),
  raw_request: raw, response: raw.slice(0, 120), state: '{"seq":1}', ...templates[seq % templates.length],
});
const settingsArg = process.argv[2] ?? '';
const settings: Record<string, number> = {};
for (const kv of settingsArg.split(',').filter(Boolean)) { const [k, v] = kv.split('='); settings[k!] = Number(v); }
async function run(name: string, batch: number, fn: (rows: any[]) => Promise<unknown>) {
  const t0 = performance.now(); const c0 = process.cpuUsage(); let n = 0; let rows = 0;
  while (performance.now() - t0 < 3000) { const rs = Array.from({ length: batch }, (_, i) => row(i + 1)); await fn(rs); n++; rows += batch; }
  const ms = performance.now() - t0; const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(28)} batch ${String(batch).padStart(4)}: ${(ms / n).toFixed(2)} ms/insert, cpu ${((c.user + c.system) / 1000 / n).toFixed(2)} ms/insert, ${(rows / ms * 1000).toFixed(0)} rows/s`);
}
const cols = Object.keys(row(1));
for (const batch of [1, 20, 100, 500]) {
  await run('client JSONEachRow', batch, (rs) => ch.insert({ table: 'documents', values: rs, format: 'JSONEachRow', clickhouse_settings: settings as any }));
  await run('raw JSONEachRow', batch, (rs) => conn.chdb.rawInsert({ table: 'documents', values: Buffer.from(rs.map((r) => JSON.stringify(r)).join('\n')), format: 'JSONEachRow', settings }));
  await run('raw JSONCompactEachRow', batch, (rs) => conn.chdb.rawInsert({ table: 'documents', columns: cols, values: Buffer.from(rs.map((r) => JSON.stringify(cols.map((c) => (r as any)[c]))).join('\n')), format: 'JSONCompactEachRow', settings }));
}
process.exit(0);
