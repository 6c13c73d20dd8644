// The buyer's receipt check under load: 100,000 stored receipts, autocannon opening random QR
// URLs of them (the page, as a phone would), against GET /healthz measured the same way in the
// same run (before and after the checks; the better of the two is the baseline). Prints req/s
// and p99 of both, and their ratio: first with nothing cached anywhere
// (the read model in Redis emptied: every check reads the engine, as after a Redis flush), then
// with the read model in Redis as the commits wrote it (the process's own cache still cold: a
// first touch), then after each receipt was opened once (answers cached in the process too).
// Prints the read model's memory per receipt (MEMORY USAGE of its hashes).
//
// Loading takes the fast path: the receipts are made by the real TICKET rule (ticketCommand,
// so each QR URL is the one its KKM was answered), inserted into the embedded engine in large
// batches (the materialized view fills receipt_check as ingest's commits do, and the entries a
// commit writes into the Redis read model are made from the same rows), and then the
// server is started as `npm start` runs it (a child process, so autocannon in this process
// does not share its thread), on that DATA_DIR, with the rate limit high enough never to trip
// (it still runs on every request: each check spends from the server's bucket for the
// address, which reports to the shared one in Redis every 16 checks).
//
//   npm run bench:receipt-check   BENCH_RECEIPTS (100000) BENCH_KKMS (100) BENCH_SECONDS (10)
//                                 BENCH_CONNECTIONS (50) BENCH_WARM=0 skips the warm pass
//                                 BENCH_CPU_PROF=DIR writes the server's V8 CPU profile there
//                                 BENCH_RATE_MAX (1e9: never trips), BENCH_CACHE_TTL_MS (600000)
//                                 BENCH_CACHE_ENTRIES (the server's OFD_RECEIPT_CACHE_ENTRIES)
//                                 BENCH_KEEP_DATA=1 keeps the DATA_DIR (and its QR paths.txt)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- autocannon ships no type declarations; the part used is typed below
import autocannonModule from 'autocannon';
import { Redis } from 'ioredis';
import pino from 'pino';
import { ticketCommand } from '../src/ingest/commands/ticket.js';
import type { CommandContext } from '../src/ingest/commands/types.js';
import { freshState, type DeviceState } from '../src/fiscal/device-state.js';
import { encodeFrame, readHeader } from '../src/protocol/header.js';
import { Request } from '../src/protocol/schema.js';
import { requests, seededRandom, ticket } from '../src/sim/documents.js';
import { openClickHouse } from '../src/storage/clickhouse.js';
import { clickHouseDb } from '../src/storage/db.js';
import type { DocumentRow } from '../src/fiscal/document-rows.js';
import { migrate } from '../src/storage/migrations.js';
import { OrgProfile } from '../src/storage/org-profile.js';
import { Registry } from '../src/storage/registry.js';
import {
  entriesOfDocument,
  ReceiptCheckCache,
  type CachedEntry,
} from '../src/storage/receipt-check-cache.js';
import { deleteKeys } from '../test/harness/redis-keys.js';
import { spawnServer } from './fleet/server-process.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: { setupRequest: (req: { path: string }) => { path: string } }[];
}) => Promise<AutocannonResult>;
const autocannon = autocannonModule as Autocannon;
const gc = (globalThis as { gc?: () => void }).gc;

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const RECEIPTS = env('BENCH_RECEIPTS', 100_000);
const KKMS = env('BENCH_KKMS', 100);
const SECONDS = env('BENCH_SECONDS', 10);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const WARM = process.env.BENCH_WARM !== '0';
const BATCH_ROWS = 10_000;
const CACHE_TTL_MS = env('BENCH_CACHE_TTL_MS', 600_000);
/** Opening every receipt once goes faster with more at a time (larger lookup batches). */
const WARMUP_CONCURRENCY = 200;
const RECEIPT_URL = 'http://localhost:8080/receipt';

const dataDir = mkdtempSync(join(tmpdir(), 'ofd-bench-receipt-'));
const prefix = `ofdbench:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

/** KKMs registered in one insert, their receipts made by the TICKET rule and stored. */
async function load(): Promise<{ paths: string[]; entries: CachedEntry[] }> {
  const ch = openClickHouse({ dataDir });
  await migrate(clickHouseDb(ch));
  const registry = new Registry(clickHouseDb(ch), redis, prefix);
  const bin = String(Date.now()).slice(-12).padStart(12, '0');
  const { orgId } = await registry.orgs.createOrg({
    bin,
    title: 'ТОО Bench',
    address: 'Almaty',
    okved: '47111',
    password: 'Bench-pass1!',
  });
  const { pointId } = await registry.orgs.createPoint(orgId, { title: 'Shop', address: 'Abay 1' });
  const kkms = await registry.kkms.createKkms(
    pointId,
    Array.from({ length: KKMS }, (_, k) => ({
      serialNumber: `BENCH${k}`,
      model: 'Bench KKM',
      fnsKkmId: `0101${String(k).padStart(8, '0')}`,
    })),
  );
  const random = seededRandom(2026);
  const log = pino({ level: 'silent' });
  const orgs = new OrgProfile(clickHouseDb(ch));
  const urls: string[] = [];
  const entries: CachedEntry[] = [];
  let rows: DocumentRow[] = [];
  const perKkm = Math.ceil(RECEIPTS / KKMS);
  const start = Date.UTC(2026, 2, 10, 6, 0, 0);
  const step = Math.floor((20 * 3_600_000) / perKkm); // one shift of under 24 h per KKM
  for (const [k, { kkmId, token }] of kkms.entries()) {
    let state: DeviceState = freshState({
      kkmId,
      orgId,
      pointId,
      orgBin: bin,
      fnsKkmId: `0101${String(k).padStart(8, '0')}`,
      status: 'active',
      token,
      tokenEpoch: 1,
    });
    for (let i = 0; i < perKkm && urls.length < RECEIPTS; i++) {
      const request = requests.ticket(ticket(random, { at: new Date(start + i * step) }));
      const frame = encodeFrame(
        { version: 202, deviceId: kkmId, token: state.token, reqNum: (i + 1) & 0xffff },
        Request.encode(request).finish(),
      );
      const outcome = await ticketCommand({
        header: readHeader(frame),
        request: request as CommandContext['request'],
        frame,
        receivedAt: Date.now(),
        state,
        receiptUrl: RECEIPT_URL,
        shiftMaxHours: 24,
        orgs,
        log,
      } as Partial<CommandContext> as CommandContext);
      if (outcome.kind !== 'answer') throw new Error(`ticket refused: ${outcome.text}`);
      state = outcome.state;
      rows.push(outcome.document!);
      entries.push(...entriesOfDocument(outcome.document!));
      urls.push(Buffer.from(outcome.response.ticket!.qr_code!).toString('utf8'));
      if (rows.length >= BATCH_ROWS) {
        await ch.insert({ table: 'documents', values: rows, format: 'JSONEachRow' });
        rows = [];
      }
    }
  }
  if (rows.length) await ch.insert({ table: 'documents', values: rows, format: 'JSONEachRow' });
  const rs = await ch.query({
    query: 'SELECT uniqExact(kkm_id, doc_seq) AS n FROM receipt_check',
    format: 'JSONEachRow',
  });
  const [{ n }] = (await rs.json()) as [{ n: string }];
  if (Number(n) !== urls.length) throw new Error(`receipt_check holds ${n} of ${urls.length}`);
  // Merged parts, as a server that has been running has them (merges would run during the
  // measurement otherwise).
  for (const table of ['documents', 'receipt_check']) {
    await ch.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  }
  await ch.close();
  return { paths: urls.map((u) => new URL(u).pathname + new URL(u).search), entries };
}

/**
 * The read model as the commits write it: one pipeline per commit of BATCH_ROWS receipts. The
 * entries are let go then (emptied), so that this process holds nothing of them while it measures.
 */
async function writeReadModel(cache: ReceiptCheckCache, entries: CachedEntry[]) {
  for (let i = 0; i < entries.length; i += BATCH_ROWS) {
    await cache.put(entries.slice(i, i + BATCH_ROWS));
  }
  entries.length = 0;
}

/** Bytes the read model's hashes take in Redis (MEMORY USAGE, exact), and its fields. */
async function readModelMemory(prefix: string): Promise<{ bytes: number; fields: number }> {
  let bytes = 0;
  let fields = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      `${prefix}receipt-check:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    for (const key of keys) {
      bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      fields += await redis.hlen(key);
    }
  } while (cursor !== '0');
  return { bytes, fields };
}

interface Run {
  name: string;
  r: AutocannonResult;
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const ok = (r: AutocannonResult) => r.statusCodeStats['200']?.count ?? 0;

try {
  const loadStarted = performance.now();
  const { paths, entries } = await load();
  if (process.env.BENCH_KEEP_DATA) writeFileSync(join(dataDir, 'paths.txt'), paths.join('\n'));
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  console.log(`stored ${paths.length} receipts of ${KKMS} KKMs in ${loadSeconds.toFixed(1)} s`);

  const server = await spawnServer({
    cpuProfDir: process.env.BENCH_CPU_PROF,
    env: {
      DATA_DIR: dataDir,
      OFD_RECEIPT_RATE_MAX: process.env.BENCH_RATE_MAX ?? '1000000000',
      OFD_RECEIPT_URL: RECEIPT_URL,
      // Long enough that the answers cached while every receipt is opened once outlive the run.
      OFD_RECEIPT_CACHE_TTL_MS: String(CACHE_TTL_MS),
      ...(process.env.BENCH_CACHE_ENTRIES
        ? { OFD_RECEIPT_CACHE_ENTRIES: process.env.BENCH_CACHE_ENTRIES }
        : {}),
    },
  });
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    const first = await fetch(base + paths[0]!);
    if (first.status !== 200) throw new Error(`receipt check answers ${first.status}`);
    const run = async (name: string, path: () => string): Promise<Run> => {
      // autocannon measures in this process: a full collection of the load's garbage (some
      // 240 MiB, 35 ms pauses and a 100 ms stall seen) must not land in a run as latency.
      gc?.();
      const r = await autocannon({
        url: base,
        connections: CONNECTIONS,
        duration: SECONDS,
        requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }],
      });
      console.log(
        `${name}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms, ` +
          `${ok(r)} of ${r.requests.total} answered 200; load average ${loadavg()[0]!.toFixed(1)}`,
      );
      return { name, r };
    };
    const randomReceipt = () => paths[Math.floor(Math.random() * paths.length)]!;
    const cache = new ReceiptCheckCache(redis, server.redisPrefix, 30, (err) => {
      throw err;
    });
    const runs: Run[] = [await run('GET /healthz', () => '/healthz')];
    // Nothing in Redis (as after a flush): each check reads the engine and caches its answer.
    await deleteKeys(redis, `${server.redisPrefix}receipt-check:`);
    runs.push(await run('GET /receipt, Redis emptied: engine, first touch', randomReceipt));
    const written = performance.now();
    const pipelines = Math.ceil(entries.length / BATCH_ROWS);
    await writeReadModel(cache, entries);
    const writeSeconds = (performance.now() - written) / 1000;
    const memory = await readModelMemory(server.redisPrefix);
    console.log(
      `read model: ${memory.fields} entries of ${paths.length} receipts written in ` +
        `${writeSeconds.toFixed(1)} s (${pipelines} writes); ` +
        `${mib(memory.bytes)} MiB in Redis, ${Math.round(memory.bytes / memory.fields)} bytes ` +
        `per entry (MEMORY USAGE of its hashes)`,
    );
    runs.push(await run('GET /receipt, from Redis, process cache cold', randomReceipt));
    if (WARM) {
      // Every receipt opened once (as many phones would over a day), then random ones again.
      const rssBefore = server.sample().rssBytes;
      const warmStarted = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: WARMUP_CONCURRENCY }, async () => {
          while (next < paths.length) await (await fetch(base + paths[next++]!)).arrayBuffer();
        }),
      );
      const warmSeconds = (performance.now() - warmStarted) / 1000;
      console.log(
        `opened all ${paths.length} once in ${warmSeconds.toFixed(1)} s ` +
          `(${Math.round(paths.length / warmSeconds)}/s, ${WARMUP_CONCURRENCY} at a time); ` +
          `server RSS ${mib(rssBefore)} → ${mib(server.sample().rssBytes)} MiB`,
      );
      runs.push(await run('GET /receipt, random QR URLs, warm', randomReceipt));
    }

    // /healthz again at the end: the first run comes right after start-up (JIT, background
    // work), so the baseline is the better of the two.
    runs.push(await run('GET /healthz, again', () => '/healthz'));
    const healthRuns = [runs[0]!, runs.at(-1)!];
    const health = healthRuns.reduce((a, b) =>
      b.r.requests.average > a.r.requests.average ? b : a,
    ).r;
    const header = ['route', 'req/s', 'p50 ms', 'p99 ms', '200s', 'other', 'ratio to /healthz'];
    const table = runs.map(({ name, r }) => [
      name,
      String(Math.round(r.requests.average)),
      String(r.latency.p50),
      String(r.latency.p99),
      String(ok(r)),
      String(r.requests.total - ok(r) + r.errors + r.timeouts),
      (r.requests.average / health.requests.average).toFixed(2),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    console.log(
      `\n${paths.length} receipts of ${KKMS} KKMs; ${CONNECTIONS} connections, ${SECONDS} s per ` +
        `run; server in a child process, autocannon in this one`,
    );
    console.log(line(header));
    console.log(`|${widths.map((w, i) => '-'.repeat(w + 1) + (i === 0 ? '-' : ':')).join('|')}|`);
    for (const row of table) console.log(line(row));
    for (const { name, r } of runs.filter((x) => !healthRuns.includes(x))) {
      const ratio = r.requests.average / health.requests.average;
      console.log(
        `${name}: ratio ${ratio.toFixed(2)} (target ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'missed'}), ` +
          `p99 ${r.latency.p99} ms (target ≤ 20 ms: ${r.latency.p99 <= 20 ? 'met' : 'missed'})`,
      );
    }
  } finally {
    if (process.env.BENCH_TAIL) console.log(server.tail());
    await server.stop();
  }
} finally {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  if (process.env.BENCH_KEEP_DATA) console.log(`DATA_DIR kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
