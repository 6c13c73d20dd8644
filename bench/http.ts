// The cabinet read API under load: months of receipts of many KKMs loaded into the embedded
// engine (a temporary DATA_DIR, the local Redis under a key prefix of its own), the HTTP ingest
// route measured in this process, then the server started as `npm start` runs it (a child
// process on that DATA_DIR, so autocannon here does not share its thread) and autocannon
// against GET /healthz (the baseline) and the receipts-by-shift, one-receipt, KKM-list, X and Z
// report and analytics routes with an owner session; then the same routes again while a fleet
// of registers (bench/fleet) sends receipts over TCP at BENCH_INGEST_RATE, and a check that
// the fleet's acknowledged receipts are stored exactly once. Prints req/s, p50, p99 and the
// ratio to /healthz per route, and the load average.
//
// Loading takes the fast path: the rows ingest would store (same row builder, ticketFigures,
// the same answer frame with its QR code, the same Z reports with buildReport) are inserted in
// large batches; a few of the last shifts are then closed through TCP like a real KKM, and
// every other KKM sends one COMMAND_SYSTEM, so ingest keeps its device state in Redis as it
// does for a KKM in service.
//
//   npm run bench:http        BENCH_KKMS (200) BENCH_DAYS (60) BENCH_TICKETS_PER_DAY (83):
//                             about 1,000,000 receipts; BENCH_SECONDS (10) per route,
//                             BENCH_CONNECTIONS (50), BENCH_INGEST_RATE (500 receipts/s;
//                             0 skips that pass), BENCH_INGEST_KKMS (200),
//                             BENCH_KEEP_DATA=1 keeps the DATA_DIR for inspection,
//                             BENCH_CPU_PROF=DIR writes the server's V8 CPU profile there
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- autocannon ships no type declarations; the part used is typed below
import autocannonModule from 'autocannon';
import pino from 'pino';
import { Sessions } from '../src/api/cabinet/sessions.js';
import { loadConfig } from '../src/config/config.js';
import { reportJson } from '../src/fiscal/zx-report.js';
import {
  freshState,
  nextToken,
  storedPart,
  ticketNumber,
  type DeviceState,
} from '../src/fiscal/device-state.js';
import { buildReport, ticketCashDelta, totalsAfter, zeroTotals } from '../src/fiscal/zx-report.js';
import { encodeResponse } from '../src/protocol/codec.js';
import { fromWallClock, wallClockAt } from '../src/protocol/datetime.js';
import { encodeFrame } from '../src/protocol/header.js';
import { receiptUrl } from '../src/fiscal/receipt-url.js';
import {
  Command,
  Operation,
  PaymentType,
  ReportType,
  Request,
  ResultCode,
} from '../src/protocol/schema.js';
import { startServer } from '../src/app/server.js';
import { KkmDevice, TcpLink } from '../src/sim/kkm-client.js';
import { emptyReport, requests, seededRandom, ticket } from '../src/sim/documents.js';
import { ticketFigures, type DocumentFigures } from '../src/fiscal/document-rows.js';
import { tokenSecret } from '../src/storage/settings.js';
import { ticketColumns203 } from '../src/storage/ticket-columns-203.js';
import { deleteKeys } from '../test/harness/redis-keys.js';
import { spawnServer, type ServerProcess, spawnedTarget } from './fleet/server-process.js';
import { Fleet } from '../test/harness/index.js';
import { phaseText, verifyText } from './fleet/report.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}
type Context = Record<string, unknown>;
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  requests: {
    setupRequest: (req: AutocannonRequest, context: Context) => AutocannonRequest;
    onResponse?: (status: number, body: string, context: Context) => void;
  }[];
}) => Promise<AutocannonResult>;
const autocannon = autocannonModule as Autocannon;

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const KKMS = env('BENCH_KKMS', 200);
const DAYS = env('BENCH_DAYS', 60);
const PER_DAY = env('BENCH_TICKETS_PER_DAY', 83);
const SECONDS = env('BENCH_SECONDS', 10);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const INGEST_RATE = env('BENCH_INGEST_RATE', 500);
const INGEST_KKMS = env('BENCH_INGEST_KKMS', 200);
/** Registers sending receipts over HTTP in the POST /kkm pass. */
const HTTP_REGISTERS = 10;
const CLOSE_VIA_TCP = Math.min(3, KKMS);
const BATCH_ROWS = 10_000;

const dataDir = mkdtempSync(join(tmpdir(), 'ofd-bench-http-'));
const prefix = `ofdbench:${randomBytes(4).toString('hex')}:`;
const config = loadConfig(
  {
    DATA_DIR: dataDir,
    OFD_TCP_PORT: '0',
    OFD_HTTP_PORT: '0',
    OFD_HOST: '127.0.0.1',
    OFD_REDIS_PREFIX: prefix,
    OFD_ADMIN_TOKEN: randomBytes(16).toString('hex'),
    // One address sends for every register and each register far faster than a real one.
    OFD_DEVICE_RATE: '0',
    OFD_ADDRESS_RATE: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
  [],
);
const server = await startServer(config, pino({ level: config.logLevel }));

/** The server `npm start` runs, on the loaded DATA_DIR (after the in-process one closed). */
let child: ServerProcess | null = null;

async function cleanup() {
  await server.close();
  await child?.stop();
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redisUrl);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  if (process.env.BENCH_KEEP_DATA) console.log(`DATA_DIR kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

try {
  // ---- registry: one organization, 4 points of sale, KKMS cash registers ------------------
  const bin = String(100_000_000_000 + (Date.now() % 899_999_999_999)).slice(0, 12);
  const { orgId } = await server.registry.orgs.createOrg({
    bin,
    title: 'ТОО Bench',
    address: 'Almaty',
    okved: '47111',
    password: 'Bench-pass1!',
  });
  const points: number[] = [];
  for (let p = 0; p < 4; p++) {
    points.push(
      (await server.registry.orgs.createPoint(orgId, { title: `Shop ${p + 1}`, address: 'Abay' }))
        .pointId,
    );
  }
  const kkms: { kkmId: number; pointId: number; token: number; fnsKkmId: string }[] = [];
  for (let k = 0; k < KKMS; k++) {
    const pointId = points[k % points.length]!;
    const { kkmId } = await server.registry.kkms.createKkm(pointId, {
      serialNumber: `BENCH${k}`,
      model: 'Bench KKM',
      fnsKkmId: `FNS${k}`,
    });
    const { token } = await server.registry.kkms.issueToken(kkmId);
    kkms.push({ kkmId, pointId, token, fnsKkmId: `FNS${k}` });
  }

  // ---- a month of receipts, one shift a day (the last one left open) -----------------------
  const random = seededRandom(2026);
  const today = new Date();
  const firstDay =
    Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) -
    (DAYS - 1) * 86_400_000;
  const dayText = (d: number) => new Date(firstDay + d * 86_400_000).toISOString().slice(0, 10);
  const numbers = new Map<number, string[]>();
  let pending: Record<string, unknown>[] = [];
  let tickets = 0;
  const started = performance.now();
  const flush = async () => {
    if (!pending.length) return;
    await server.db.insert('documents', pending);
    pending = [];
  };
  const paymentMix = [
    [PaymentType.PAYMENT_CASH],
    [PaymentType.PAYMENT_CASH],
    [PaymentType.PAYMENT_CARD],
    [PaymentType.PAYMENT_CARD],
    [PaymentType.PAYMENT_MOBILE],
    [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD],
  ];

  for (const kkm of kkms) {
    const list: string[] = [];
    numbers.set(kkm.kkmId, list);
    let seq = 0;
    let before = zeroTotals();
    const identity = { ...kkm, orgId, orgBin: bin, status: 'active' as const };
    // tokenEpoch 0, older than the registry's: a KKM that connects uses its issued token.
    const state = (s: Partial<DeviceState>) =>
      JSON.stringify(storedPart({ ...freshState({ ...identity, tokenEpoch: 0 }), seq, ...s }));
    for (let day = 0; day < DAYS; day++) {
      const shift = day + 1;
      const dayStart = firstDay + day * 86_400_000 + 8 * 3_600_000;
      const step = Math.floor((14 * 3_600_000) / PER_DAY);
      const docs: DocumentFigures[] = [];
      let cash = 0;
      let openedAt = '';
      for (let i = 0; i < PER_DAY; i++) {
        const at = dayStart + i * step + Math.floor(random() * step * 0.8);
        const deviceTime = wallClockAt(at);
        if (!openedAt) openedAt = deviceTime;
        const operation =
          random() < 0.03 ? Operation.OPERATION_SELL_RETURN : Operation.OPERATION_SELL;
        const request = ticket(random, {
          at: new Date(at),
          operation,
          payments: paymentMix[Math.floor(random() * paymentMix.length)],
        });
        const figures = ticketFigures(request) as ReturnType<typeof ticketFigures> &
          Omit<DocumentFigures, 'doc_seq' | 'doc_type' | 'operation' | 'is_offline'>;
        seq += 1;
        const number = ticketNumber(kkm.kkmId, seq);
        list.push(number);
        const reqNum = seq & 0xffff;
        const rawRequest = encodeFrame(
          { version: 202, deviceId: kkm.kkmId, token: kkm.token, reqNum },
          Request.encode(requests.ticket(request)).finish(),
        );
        const answer = encodeResponse({ version: 202, deviceId: kkm.kkmId, reqNum }, kkm.token, {
          command: Command.COMMAND_TICKET,
          result: { result_code: ResultCode.RESULT_TYPE_OK },
          ticket: {
            ticket_number: number,
            qr_code: Buffer.from(
              receiptUrl(config.receiptUrl, {
                number,
                kgdNumber: kkm.fnsKkmId,
                total: figures.total,
                deviceTime,
              }),
            ),
          },
        });
        const delta = ticketCashDelta({ ...figures, operation });
        cash += delta;
        docs.push({
          ...figures,
          doc_seq: seq,
          doc_type: 'ticket',
          operation,
          is_offline: 0,
          placement: 0,
          cancelled_seq: 0,
        });
        pending.push({
          kkm_id: kkm.kkmId,
          doc_seq: seq,
          doc_type: 'ticket',
          org_id: orgId,
          point_id: kkm.pointId,
          shift_number: shift,
          device_time: deviceTime,
          received_at: wallClockAt(at + 1500) + '.000',
          is_offline: 0,
          offline_number: 0,
          printed_number: 0,
          req_num: reqNum,
          token_in: 0,
          token_out: kkm.token,
          operator_code: 1,
          operator_name: 'Cashier',
          ticket_number: number,
          operation,
          customer_iin: '',
          customer_email: '',
          customer_phone: '',
          state: state({
            shiftNumber: shift,
            shiftOpen: true,
            shiftOpenedAt: openedAt,
            cash,
            cancellableSeq: seq,
            cancellableCash: delta,
          }),
          raw_request: rawRequest.toString('base64'),
          response: answer.toString('base64'),
          ...figures,
          ...ticketColumns203(request),
        });
        tickets++;
        if (pending.length >= BATCH_ROWS) await flush();
      }
      if (day === DAYS - 1) break; // today's shift stays open
      const closeAt = wallClockAt(dayStart + 14.5 * 3_600_000);
      const report = buildReport(docs, before, {
        shiftNumber: shift,
        dateTime: fromWallClock(closeAt),
        openedAt: fromWallClock(openedAt),
        closedAt: fromWallClock(closeAt),
      });
      before = totalsAfter(before, report);
      seq += 1;
      const json = reportJson(report);
      pending.push({
        kkm_id: kkm.kkmId,
        doc_seq: seq,
        doc_type: 'close_shift',
        org_id: orgId,
        point_id: kkm.pointId,
        shift_number: shift,
        device_time: closeAt,
        received_at: `${closeAt}.500`,
        req_num: seq & 0xffff,
        token_out: kkm.token,
        operator_code: 1,
        device_report: json,
        server_report: json,
        state: state({ shiftNumber: shift }),
      });
    }
  }
  await flush();
  const loadSeconds = (performance.now() - started) / 1000;

  // ---- a few of today's shifts closed by the KKM itself, over TCP -------------------------
  for (const kkm of kkms.slice(0, CLOSE_VIA_TCP)) {
    const link = new TcpLink(server.tcp!.port);
    const dev = new KkmDevice(kkm.kkmId, kkm.token, link.send);
    const at = new Date(firstDay + (DAYS - 1) * 86_400_000 + 22.75 * 3_600_000);
    const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(DAYS, at), at));
    const close = await dev.send(requests.closeShift(x.response.report!.zx_report!, at));
    link.close();
    if (close.response.result.result_code !== ResultCode.RESULT_TYPE_OK) {
      throw new Error(`close over TCP: ${close.response.result.result_text}`);
    }
  }

  // ---- every other KKM heard from once (a COMMAND_SYSTEM), as a running fleet is ---------------
  // Ingest rebuilds each device's state from what is stored and keeps it in Redis, where the
  // cabinet reads each KKM's newest document (src/api/cabinet/read-cache.ts).
  const heardStarted = performance.now();
  for (const kkm of kkms.slice(CLOSE_VIA_TCP)) {
    const link = new TcpLink(server.tcp!.port);
    const dev = new KkmDevice(kkm.kkmId, kkm.token, link.send);
    const answer = await dev.send(requests.system());
    link.close();
    if (answer.response.result.result_code !== ResultCode.RESULT_TYPE_OK) {
      throw new Error(`system over TCP: ${answer.response.result.result_text}`);
    }
  }
  const heardSeconds = (performance.now() - heardStarted) / 1000;

  const counts = await server.db.rows<{ doc_type: string; n: string }>(
    `SELECT doc_type, count() AS n FROM documents FINAL GROUP BY doc_type ORDER BY doc_type`,
  );
  console.log(
    `loaded ${tickets} receipts of ${KKMS} KKMs over ${DAYS} days in ${loadSeconds.toFixed(1)} s ` +
      `(${Math.round(tickets / loadSeconds)}/s); stored: ` +
      counts.map((c) => `${c.doc_type} ${c.n}`).join(', ') +
      `; ${KKMS - CLOSE_VIA_TCP} KKMs sent COMMAND_SYSTEM in ${heardSeconds.toFixed(1)} s`,
  );

  // ---- the HTTP ingest route: POST /kkm, new receipts from fresh registers ------------------
  // One register per connection at a time (a register sends its next request only after its
  // answer). autocannon hands the answer body over as UTF-8 text, which mangles a binary frame,
  // so a register does not read its new token from the answer: it computes it, as the server
  // does (nextToken with the deployment's secret), and the stored receipts are counted after.
  const secret = await tokenSecret(server.db);
  const ingestKkms: { dev: KkmDevice; seq: number; sent: number }[] = [];
  for (let k = 0; k < HTTP_REGISTERS; k++) {
    const { kkmId } = await server.registry.kkms.createKkm(points[k % points.length]!, {
      serialNumber: `BENCHHTTP${k}`,
      model: 'Bench KKM',
      fnsKkmId: `FNSHTTP${k}`,
    });
    const { token: kkmToken } = await server.registry.kkms.issueToken(kkmId);
    const dev = new KkmDevice(kkmId, kkmToken, async () => Buffer.alloc(0));
    ingestKkms.push({ dev, seq: 0, sent: 0 });
  }
  const idle = [...ingestKkms];
  const receipts = Array.from({ length: 64 }, () => requests.ticket(ticket(random)));
  const ingest = await autocannon({
    url: `http://127.0.0.1:${server.httpPort}`,
    connections: HTTP_REGISTERS,
    duration: SECONDS,
    headers: { 'content-type': 'application/octet-stream' },
    requests: [
      {
        setupRequest: (req, context) => {
          const kkm = idle.pop()!;
          context.kkm = kkm;
          kkm.sent++;
          const body = kkm.dev.frame(receipts[kkm.sent % receipts.length]!);
          return { ...req, method: 'POST', path: '/kkm', body };
        },
        onResponse: (status, _body, context) => {
          const kkm = context.kkm as (typeof ingestKkms)[number];
          if (status === 200) {
            kkm.seq++;
            kkm.dev.token = nextToken(secret, kkm.dev.id, kkm.dev.token, kkm.seq);
          }
          idle.push(kkm);
        },
      },
    ],
  });
  // Requests cut off at the deadline may still be committing.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const [storedRow] = await server.db.rows<{ n: string }>(
    `SELECT count() AS n FROM documents FINAL WHERE kkm_id IN {ids:Array(UInt32)}`,
    { ids: ingestKkms.map((k) => k.dev.id) },
  );
  const sent = ingestKkms.reduce((a, k) => a + k.sent, 0);
  const answered = ingestKkms.reduce((a, k) => a + k.seq, 0);
  // Each request was a new receipt; those still in flight at the deadline (at most one per
  // register) got no answer the bench saw, but were stored all the same.
  const ingestCheck =
    `POST /kkm: ${sent} receipts sent, ${answered} answered before the deadline, ` +
    `${storedRow!.n} stored` +
    (Number(storedRow!.n) === sent ? '' : ' — MISMATCH');
  console.log(`POST /kkm: ${Math.round(ingest.requests.average)} req/s; ${ingestCheck}`);

  // ---- an owner session, then the server as npm start runs it, on the same data -----------
  const [owner] = await server.db.rows<{ user_id: number }>(
    `SELECT user_id FROM users FINAL WHERE login = {bin:String}`,
    { bin },
  );
  const { token } = await new Sessions(server.redis, config.redisPrefix).create(
    Number(owner!.user_id),
    orgId,
  );
  // Merged parts, as a server that has been running has them.
  for (const table of ['documents', 'cabinet_receipts', 'kkm_activity']) {
    await server.db.command(`OPTIMIZE TABLE ${table} FINAL`);
  }
  await server.close();
  child = await spawnServer({
    env: {
      DATA_DIR: dataDir,
      OFD_REDIS_PREFIX: prefix,
      OFD_ADMIN_TOKEN: config.adminToken!,
      // Lifts the per-address cap of the cabinet's HTTP connections and of the fleet.
      OFD_MAX_CONNECTIONS_PER_ADDRESS: '0',
    },
    cpuProfDir: process.env.BENCH_CPU_PROF,
  });
  const base = `http://127.0.0.1:${child.httpPort}`;
  const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;
  const ids = kkms.map((k) => k.kkmId);
  const routes: { name: string; path: () => string }[] = [
    { name: 'GET /healthz (baseline)', path: () => '/healthz' },
    {
      name: 'GET /kkms/:id/tickets?shift=N&limit=50',
      path: () =>
        `/api/v1/kkms/${pick(ids)}/tickets?shift=${1 + Math.floor(Math.random() * DAYS)}&limit=50`,
    },
    {
      name: 'GET /kkms/:id/tickets/:number',
      path: () => {
        const id = pick(ids);
        return `/api/v1/kkms/${id}/tickets/${pick(numbers.get(id)!)}`;
      },
    },
    { name: `GET /kkms (${KKMS} KKMs)`, path: () => '/api/v1/kkms' },
    {
      name: 'GET /kkms/:id/reports?type=x',
      path: () => `/api/v1/kkms/${pick(ids)}/reports?type=x`,
    },
    {
      name: 'GET /kkms/:id/reports?type=z&shift=N',
      path: () =>
        `/api/v1/kkms/${pick(ids)}/reports?type=z&shift=${1 + Math.floor(Math.random() * (DAYS - 1))}`,
    },
    {
      name: `GET /analytics/summary (1 KKM, ${Math.min(DAYS, 31)} days)`,
      path: () =>
        `/api/v1/analytics/summary?kkmIds=${pick(ids)}&from=${dayText(Math.max(0, DAYS - 31))}` +
        `&to=${dayText(DAYS - 1)}`,
    },
    {
      name: `GET /analytics/summary (${Math.min(KKMS, 20)} KKMs, 7 days)`,
      path: () => {
        const start = Math.floor(Math.random() * Math.max(1, DAYS - 6));
        const from = Math.floor(Math.random() * Math.max(1, KKMS - 19));
        return (
          `/api/v1/analytics/summary?kkmIds=${ids.slice(from, from + 20).join(',')}` +
          `&from=${dayText(start)}&to=${dayText(Math.min(DAYS - 1, start + 6))}`
        );
      },
    },
  ];

  // Every route answers 200 with data before it is measured.
  for (const r of routes) {
    const res = await fetch(base + r.path(), { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${r.name}: ${res.status} ${body}`);
  }

  const measure = async (label: string) => {
    const out: { name: string; r: AutocannonResult; load: string }[] = [];
    for (const route of routes) {
      const r = await autocannon({
        url: base,
        connections: CONNECTIONS,
        duration: SECONDS,
        headers: { authorization: `Bearer ${token}` },
        requests: [{ setupRequest: (req) => ({ ...req, method: 'GET', path: route.path() }) }],
      });
      const load = loadavg()[0]!.toFixed(1);
      out.push({ name: route.name, r, load });
      console.log(
        `${label} ${route.name}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms ` +
          `(load ${load})`,
      );
    }
    return out;
  };
  const quiet = await measure('idle:');

  let busy: Awaited<ReturnType<typeof measure>> | null = null;
  let fleetCheck = '';
  if (INGEST_RATE > 0) {
    const fleet = await Fleet.create(
      { ...spawnedTarget(child), adminToken: config.adminToken! },
      {
        devices: INGEST_KKMS,
        progress: false,
      },
    );
    await fleet.hello();
    const durationS = routes.length * (SECONDS + 1) + 5;
    const phase = fleet.runPhase({
      name: `fleet at ${INGEST_RATE}/s`,
      mode: 'persistent',
      rate: INGEST_RATE,
      durationS,
      warmupS: 3,
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    busy = await measure(`ingesting ${INGEST_RATE}/s:`);
    const result = await phase;
    console.log(phaseText(result));
    const v = await fleet.verify();
    fleetCheck = verifyText(v);
    console.log(fleetCheck);
    fleet.close();
  }

  const health = (list: typeof quiet) => list[0]!.r.requests.average;
  const header = ['route', 'req/s', 'p50 ms', 'p99 ms', 'ratio to /healthz', 'non-2xx', 'load'];
  const table = (list: typeof quiet) =>
    list.map(({ name, r, load }) => [
      name,
      String(Math.round(r.requests.average)),
      r.latency.p50.toFixed(1),
      r.latency.p99.toFixed(1),
      (r.requests.average / health(list)).toFixed(3),
      String(r.non2xx + r.errors + r.timeouts),
      load,
    ]);
  const print = (title: string, rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    console.log(`\n${title}`);
    console.log(line(header));
    console.log(
      `|${widths.map((w, i) => (i === 0 ? '-' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    );
    for (const row of rows) console.log(line(row));
  };
  console.log(
    `\n${tickets} receipts, ${KKMS} KKMs, ${DAYS} days; ${CONNECTIONS} connections, ` +
      `${SECONDS} s per route; server in a child process, autocannon in this one`,
  );
  print('reads alone', table(quiet));
  if (busy)
    print(`reads while ${INGEST_KKMS} registers send ${INGEST_RATE} receipts/s`, table(busy));
  console.log(
    `POST /kkm (${HTTP_REGISTERS} registers, in-process server): ` +
      `${Math.round(ingest.requests.average)} req/s, p99 ${ingest.latency.p99} ms; ${ingestCheck}`,
  );
  if (fleetCheck) console.log(fleetCheck);
} finally {
  await cleanup();
}
