// Export of 100,000 receipts through the whole path: the server runs all roles in this process
// (embedded ClickHouse, Redis at REDIS_URL under a key prefix of its own), receipts are inserted
// straight into ClickHouse in large batches (the wide rows ingest would write), then an export
// is queued over HTTP, its progress polled and the zip streamed to nowhere. Prints progress
// samples and the process RSS above idle, which must stay under 300 MiB however many rows.
//
//   npm run bench:export        BENCH_TICKETS (default 100000), BENCH_FORMAT (csv | json)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Sessions } from '../src/api/cabinet/sessions.js';
import { loadConfig } from '../src/config/config.js';
import { Command, Request } from '../src/protocol/schema.js';
import { startServer } from '../src/app/server.js';
import { seededRandom, ticket } from '../src/sim/documents.js';
import { ticketFigures, type DocumentRow } from '../src/fiscal/document-rows.js';
import { deleteKeys } from '../test/harness/redis-keys.js';

const TICKETS = Number(process.env.BENCH_TICKETS ?? 100_000);
const FORMAT = process.env.BENCH_FORMAT === 'json' ? 'json' : 'csv';
const BATCH = 10_000;
const LIMIT_MIB = 300;
const MiB = 1024 * 1024;
const rss = () => process.memoryUsage.rss();
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const gc = (globalThis as { gc?: () => void }).gc;

const dataDir = mkdtempSync(join(tmpdir(), 'ofd-bench-export-'));
const prefix = `ofdbench:${randomBytes(4).toString('hex')}:`;
const config = loadConfig(
  {
    DATA_DIR: dataDir,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    OFD_TCP_PORT: '0',
    OFD_HTTP_PORT: '0',
    OFD_HOST: '127.0.0.1',
    OFD_REDIS_PREFIX: prefix,
    OFD_ADMIN_TOKEN: randomBytes(16).toString('hex'),
    OFD_RECONCILE_SWEEP_MS: '3600000',
    OFD_MONITOR_INTERVAL_MS: '3600000',
    LOG_LEVEL: 'warn',
  },
  [],
);
const server = await startServer(config, pino({ level: 'warn' }));
const base = `http://127.0.0.1:${server.httpPort}`;

async function cleanup() {
  await server.workers?.close();
  await deleteKeys(server.redis, prefix);
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

try {
  // A registered KKM of a fresh organization, and its owner's cabinet session.
  const bin = String(Date.now()).slice(-12).padStart(12, '0');
  const { orgId } = await server.registry.orgs.createOrg({
    bin,
    title: 'ТОО Bench',
    address: 'Almaty',
    okved: '47111',
    password: 'Bench-pass1!',
  });
  const { pointId } = await server.registry.orgs.createPoint(orgId, {
    title: 'Shop',
    address: 'A',
  });
  const { kkmId } = await server.registry.kkms.createKkm(pointId, {
    serialNumber: 'BENCH-1',
    model: 'Bench',
    fnsKkmId: 'F1',
  });
  const [owner] = await server.db.rows<{ user_id: number }>(
    'SELECT user_id FROM users FINAL WHERE login = {bin:String}',
    { bin },
  );
  const { token } = await new Sessions(server.redis, prefix).create(Number(owner!.user_id), orgId);

  // 100,000 receipts of one shift, 1–20 lines each, as ingest's row builders make them.
  const random = seededRandom(42);
  const start = Date.UTC(2025, 2, 1, 8, 0, 0);
  const insertStarted = performance.now();
  for (let first = 1; first <= TICKETS; first += BATCH) {
    const rows: DocumentRow[] = [];
    for (let seq = first; seq < first + BATCH && seq <= TICKETS; seq++) {
      const at = new Date(start + seq * 2000);
      const t = ticket(random, { at });
      const raw = Buffer.from(
        Request.encode({ command: Command.COMMAND_TICKET, ticket: t }).finish(),
      );
      rows.push({
        kkm_id: kkmId,
        doc_seq: seq,
        doc_type: 'ticket',
        org_id: orgId,
        point_id: pointId,
        shift_number: 1,
        device_time: at.toISOString().slice(0, 19).replace('T', ' '),
        received_at: Date.now(),
        is_offline: 0,
        offline_number: 0,
        printed_number: seq,
        req_num: seq & 0xffff,
        token_in: 1,
        token_out: 2,
        operator_code: 1,
        operator_name: 'Cashier',
        ticket_number: `${kkmId}${String(seq).padStart(9, '0')}`,
        operation: t.operation,
        state: '{}',
        raw_request: raw.toString('base64'),
        response: '',
        ...ticketFigures(t),
      });
    }
    await server.db.insert('documents', rows);
  }
  const insertSeconds = (performance.now() - insertStarted) / 1000;
  console.log(
    `inserted ${TICKETS} receipts in ${insertSeconds.toFixed(1)} s ` +
      `(${Math.round(TICKETS / insertSeconds)} rows/s, batches of ${BATCH})`,
  );

  // Idle: after the inserts, collected and settled.
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 500));
  }
  const idle = rss();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
  console.log(
    `idle RSS ${mib(idle)} MiB${gc ? '' : ' (run with --expose-gc for a steadier idle)'}`,
  );

  const call = (method: string, url: string, body?: unknown) =>
    fetch(base + url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  const exportStarted = performance.now();
  const queued = await call('POST', '/api/v1/exports', {
    kkmId,
    kind: 'tickets',
    shift: 1,
    format: FORMAT,
  });
  if (queued.status !== 202) throw new Error(`POST /exports: ${await queued.text()}`);
  const { jobId } = (await queued.json()) as { jobId: string };

  console.log(`export ${jobId} (${FORMAT}):`);
  console.log('   seconds  state      progress  RSS MiB  above idle');
  let status: { state: string; progress: number; rows?: number; bytes?: number };
  let lastPrinted = -1;
  for (;;) {
    status = (await (await call('GET', `/api/v1/exports/${jobId}`)).json()) as typeof status;
    if (status.state === 'failed') throw new Error(`export failed: ${JSON.stringify(status)}`);
    const now = rss();
    if (status.progress !== lastPrinted || status.state === 'completed') {
      lastPrinted = status.progress;
      console.log(
        `   ${((performance.now() - exportStarted) / 1000).toFixed(1).padStart(7)}  ` +
          `${status.state.padEnd(9)}  ${String(status.progress).padStart(8)}  ` +
          `${mib(now).padStart(7)}  ${mib(now - idle).padStart(10)}`,
      );
    }
    if (status.state === 'completed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const exportSeconds = (performance.now() - exportStarted) / 1000;

  // The archive streamed to the client (counted, not kept).
  const download = await call('GET', `/api/v1/exports/${jobId}/file`);
  let downloaded = 0;
  const reader = download.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    downloaded += value.byteLength;
  }
  clearInterval(sampler);
  peak = Math.max(peak, rss());

  const growth = peak - idle;
  console.log(
    `export: ${status.rows} receipts in ${exportSeconds.toFixed(1)} s ` +
      `(${Math.round((status.rows ?? 0) / exportSeconds)} receipts/s), ` +
      `zip ${mib(status.bytes ?? 0)} MiB, downloaded ${mib(downloaded)} MiB`,
  );
  console.log(
    `RSS: idle ${mib(idle)} MiB, peak ${mib(peak)} MiB, growth above idle ${mib(growth)} MiB ` +
      `(limit ${LIMIT_MIB} MiB): ${growth < LIMIT_MIB * MiB ? 'OK' : 'OVER THE LIMIT'}`,
  );
  if (status.rows !== TICKETS || downloaded !== status.bytes) {
    throw new Error(`expected ${TICKETS} receipts and ${status.bytes} bytes`);
  }
  if (growth >= LIMIT_MIB * MiB) process.exitCode = 1;
} finally {
  await cleanup();
}
