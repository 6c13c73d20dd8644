// Reconnect storm: BENCH_KKMS (100,000) registered KKMs whose device states in Redis were
// flushed all send INFO within a minute; every one should be answered OK within 60 s of its
// first try. Each KKM's first try is at a random moment of the window (BENCH_WINDOW_S, 60); it
// follows the register's rules (test/harness/fleet/register.ts): a new TCP connection per
// request, and on 254 or no answer the same frame again after a pause (BENCH_RETRY_MS, 500–2000).
// Prints how many were answered OK within 60 s of their first try, p50/p99/max time to OK, the
// 254s, the server's batched queries and CPU, and the time until all were served.
//
// Loading takes the fast path (as bench/receipt-check.ts): organizations of 1,000 KKMs, each KKM
// with a receipt and the closure of its shift made by the real rules (ticketCommand,
// closeShiftCommand) and finished as the command core finishes a commit (rotated token, stored
// answer and state), inserted into the embedded engine in large batches; then the server is
// started as `npm start` runs it, in a child process, on that DATA_DIR, and its device states in
// Redis are deleted (a flush).
//
//   npm run bench:storm   BENCH_KKMS (100000) BENCH_WINDOW_S (60) BENCH_RETRY_MS (500-2000)
//                         BENCH_MAX_OPEN (4000: connections this process holds at once)
//                         BENCH_MAX_REBUILDS, BENCH_REBUILD_BATCH: the server's
//                         OFD_MAX_REBUILDS and OFD_REBUILD_BATCH (its defaults otherwise)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { closeShiftCommand, currentXReport } from '../src/ingest/commands/reports.js';
import { ticketCommand } from '../src/ingest/commands/ticket.js';
import type { CommandContext, Outcome } from '../src/ingest/commands/types.js';
import { freshState, nextToken, storedPart, type DeviceState } from '../src/fiscal/device-state.js';
import type { DocumentFigures, DocumentRow } from '../src/fiscal/document-rows.js';
import { zeroTotals } from '../src/fiscal/zx-report.js';
import { encodeResponse } from '../src/protocol/codec.js';
import { encodeFrame, readHeader } from '../src/protocol/header.js';
import { Request, type IRequest } from '../src/protocol/schema.js';
import { dateTime, requests, seededRandom, ticket } from '../src/sim/documents.js';
import { openClickHouse } from '../src/storage/clickhouse.js';
import { clickHouseDb } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrations.js';
import { OrgProfile } from '../src/storage/org-profile.js';
import { Registry } from '../src/storage/registry.js';
import { tokenSecret } from '../src/storage/settings.js';
import { deleteKeys } from '../test/harness/redis-keys.js';
import {
  FleetRegister,
  infoPayload,
  OK,
  PhaseStats,
  sleep,
  type Attempt,
} from '../test/harness/fleet/index.js';
import { spawnServer } from './fleet/server-process.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const KKMS = env('BENCH_KKMS', 100_000);
const WINDOW_MS = env('BENCH_WINDOW_S', 60) * 1000;
const [RETRY_MIN, RETRY_MAX] = (process.env.BENCH_RETRY_MS ?? '500-2000').split('-').map(Number);
const MAX_OPEN = env('BENCH_MAX_OPEN', 4000);
/** The target: answered OK within this long of the first try. */
const TARGET_MS = 60_000;
const PER_ORG = 1000;
const BATCH_ROWS = 20_000;
const VERSION = 202;

const dataDir = mkdtempSync(join(tmpdir(), 'ofd-bench-storm-'));
const prefix = `ofdbench:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const log = pino({ level: 'silent' });

interface Seeded {
  kkmId: number;
  token: number;
}

/** A request of the KKM as its frame and the context a command rule is called with. */
function context(state: DeviceState, reqNum: number, request: IRequest, extra: object) {
  const frame = encodeFrame(
    { version: VERSION, deviceId: state.kkmId, token: state.token, reqNum },
    Request.encode(request).finish(),
  );
  return {
    header: readHeader(frame),
    request: request as CommandContext['request'],
    frame,
    receivedAt: Date.now(),
    state,
    receiptUrl: 'http://localhost:8080/receipt',
    shiftMaxHours: 24,
    log,
    ...extra,
  } as Partial<CommandContext> as CommandContext;
}

/** The document as the command core commits it: the rotated token, the answer, the state. */
function committed(
  ctx: CommandContext,
  outcome: Outcome,
  secret: string,
): { state: DeviceState; row: DocumentRow } {
  if (outcome.kind !== 'answer' || !outcome.document) throw new Error('refused by its rule');
  const { header } = ctx;
  const next: DeviceState = { ...outcome.state };
  next.token = nextToken(secret, header.deviceId, ctx.state.token, next.seq);
  next.lastReqNum = header.reqNum;
  next.lastReqToken = header.token;
  next.lastCommand = ctx.request.command!;
  next.lastAnswer = encodeResponse(header, next.token, outcome.response).toString('base64');
  next.lastFromHistory = false;
  const row = outcome.document;
  row.token_out = next.token;
  row.response = next.lastAnswer;
  row.state = JSON.stringify(storedPart(next));
  return { state: next, row };
}

/** KKMs registered in batches, each with a receipt and its shift closed, stored. */
async function load(): Promise<Seeded[]> {
  const ch = openClickHouse({ dataDir });
  const db = clickHouseDb(ch);
  await migrate(db);
  const secret = await tokenSecret(db);
  const registry = new Registry(db, redis, prefix);
  const orgs = new OrgProfile(db);
  const random = seededRandom(2026);
  const seeded: Seeded[] = [];
  let rows: DocumentRow[] = [];
  const flush = async () => {
    if (rows.length) await ch.insert({ table: 'documents', values: rows, format: 'JSONEachRow' });
    rows = [];
  };
  const opened = new Date(Date.now() - 3 * 3_600_000);
  const closed = new Date(Date.now() - 3_600_000);
  for (let first = 0; first < KKMS; first += PER_ORG) {
    const count = Math.min(PER_ORG, KKMS - first);
    const bin = String(100_000_000_000 + Math.floor(first / PER_ORG) * 7 + (Date.now() % 7));
    const { orgId } = await registry.orgs.createOrg({
      bin,
      title: `ТОО Storm ${first / PER_ORG}`,
      address: 'Almaty',
      okved: '47111',
      password: 'Bench-pass1!',
    });
    const { pointId } = await registry.orgs.createPoint(orgId, {
      title: 'Shop',
      address: 'Abay 1',
    });
    const kkms = await registry.kkms.createKkms(
      pointId,
      Array.from({ length: count }, (_, k) => ({
        serialNumber: `STORM${first + k}`,
        model: 'Bench KKM',
        fnsKkmId: `0202${String(first + k).padStart(8, '0')}`,
      })),
    );
    for (const [k, { kkmId, token }] of kkms.entries()) {
      const initial = freshState({
        kkmId,
        orgId,
        pointId,
        orgBin: bin,
        fnsKkmId: `0202${String(first + k).padStart(8, '0')}`,
        status: 'active',
        token,
        tokenEpoch: 1,
      });
      const sale = context(initial, 1, requests.ticket(ticket(random, { at: opened })), { orgs });
      const sold = committed(sale, await ticketCommand(sale), secret);
      // The shift's one receipt, as the close reads it back; nothing before it.
      const docs = [sold.row as unknown as DocumentFigures];
      const queries = { shiftDocuments: async () => docs, totalsBefore: async () => zeroTotals() };
      const z = await currentXReport(queries as never, sold.state, dateTime(closed));
      const close = context(sold.state, 2, requests.closeShift(z, closed), { orgs, queries });
      const done = committed(close, await closeShiftCommand(close), secret);
      rows.push(sold.row, done.row);
      seeded.push({ kkmId, token: done.state.token });
      if (rows.length >= BATCH_ROWS) await flush();
    }
    if (first % 10_000 === 0) process.stderr.write(`  stored ${seeded.length} KKMs\r`);
  }
  await flush();
  // Merged parts, as a server that has been running has them.
  await ch.command({ query: 'OPTIMIZE TABLE documents FINAL' });
  await ch.command({ query: 'OPTIMIZE TABLE kkms FINAL' });
  await ch.close();
  return seeded;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;

/** Open connections bounded: a register waits for a free one before it connects. */
class Gate {
  private open = 0;
  private readonly queue: (() => void)[] = [];
  async enter(): Promise<void> {
    if (this.open < MAX_OPEN) {
      this.open++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  leave(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.open--;
  }
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

try {
  const loadStarted = performance.now();
  const seeded = await load();
  console.log(
    `stored ${seeded.length} KKMs (a receipt and a shift closure each) in ` +
      `${((performance.now() - loadStarted) / 1000).toFixed(1)} s`,
  );
  const server = await spawnServer({
    env: {
      DATA_DIR: dataDir,
      ...(process.env.BENCH_MAX_REBUILDS
        ? { OFD_MAX_REBUILDS: process.env.BENCH_MAX_REBUILDS }
        : {}),
      ...(process.env.BENCH_REBUILD_BATCH
        ? { OFD_REBUILD_BATCH: process.env.BENCH_REBUILD_BATCH }
        : {}),
    },
  });
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    // The flush: no device state left in Redis.
    const flushed = await deleteKeys(redis, `${server.redisPrefix}dev:`);
    const gate = new Gate();
    const firstTry = new Map<number, number>();
    const okAt = new Map<number, number>();
    const stats = new PhaseStats();
    const ref = { current: stats };
    const onAttempt = (a: Attempt) => {
      if (!firstTry.has(a.kkmId)) firstTry.set(a.kkmId, a.sentAt);
      if (a.code === OK && !okAt.has(a.kkmId)) okAt.set(a.kkmId, a.at);
    };
    const random = seededRandom(7);
    const registers = seeded.map(
      (s) =>
        new FleetRegister(s, {
          random,
          tickets: [],
          version: VERSION,
          lossRate: 0,
          shifts: false,
          shiftTickets: [1, 1],
          checkReports: false,
          ledger: false,
          giveUpMs: 2 * TARGET_MS,
          retryDelayMs: [RETRY_MIN!, RETRY_MAX!],
          onAttempt,
        }),
    );
    // One connection per request (a register reconnects for every resend anyway); this
    // process holds at most MAX_OPEN at once, within its file-descriptor limit.
    for (const r of registers) {
      r.connect('per-request', server.tcpPort, '127.0.0.1', 30_000);
      const send = r.transport;
      r.transport = async (frame) => {
        await gate.enter();
        try {
          return await send(frame);
        } finally {
          gate.leave();
        }
      };
    }
    const before = server.sample().cpuSeconds;
    const queriesBefore = await metric(base, 'ofd_ingest_batched_reads_total');
    const started = performance.now();
    const payload = infoPayload(VERSION);
    const definite = new Map<number, number>();
    await Promise.all(
      registers.map(async (r) => {
        await sleep(Math.random() * WINDOW_MS);
        const answer = await r.exchange(payload, ref);
        definite.set(r.id, answer?.response.result?.result_code ?? -1);
      }),
    );
    const servedMs = performance.now() - started;
    const cpu = server.sample().cpuSeconds - before;
    const queries = (await metric(base, 'ofd_ingest_batched_reads_total')) - queriesBefore;
    const devicesPerQuery = (await metric(base, 'ofd_ingest_batched_keys_total')) / queries;

    const times = seeded
      .filter((s) => okAt.has(s.kkmId))
      .map((s) => okAt.get(s.kkmId)! - firstTry.get(s.kkmId)!)
      .sort((a, b) => a - b);
    const inTime = times.filter((ms) => ms <= TARGET_MS).length;
    const other = [...definite.values()].filter((c) => c !== OK).length;
    console.log(
      `\nReconnect storm: ${KKMS} KKMs, device states flushed (${flushed} keys), INFO from each ` +
        `within ${WINDOW_MS / 1000} s, retry after ${RETRY_MIN}–${RETRY_MAX} ms on 254; ` +
        `server in a child process; load average ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(
      `answered OK within 60 s of first try: ${inTime} of ${KKMS} ` +
        `(${((100 * inTime) / KKMS).toFixed(2)} %; target 100 %: ${inTime === KKMS ? 'met' : 'missed'})`,
    );
    console.log(
      `time to OK: p50 ${Math.round(percentile(times, 0.5))} ms, p99 ` +
        `${Math.round(percentile(times, 0.99))} ms, max ${Math.round(times.at(-1) ?? NaN)} ms`,
    );
    console.log(
      `254s: ${stats.unavailable} (${(stats.unavailable / KKMS).toFixed(2)} per KKM); no answer: ` +
        `${stats.noAnswer}; other final codes: ${other}; gave up: ${stats.gaveUp}`,
    );
    console.log(
      `batched queries: ${queries} (${devicesPerQuery.toFixed(0)} devices each on average); ` +
        `server CPU ${cpu.toFixed(1)} s; all served in ${(servedMs / 1000).toFixed(1)} s`,
    );
    if (stats.unexpected.length) console.log('unexpected:', stats.unexpected.slice(0, 5));
    if (stats.transportErrors.size) console.log('transport errors:', stats.transportErrors);
    if (process.env.BENCH_TAIL) console.log(server.tail());
  } finally {
    await server.stop();
  }
} finally {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
}
