// Crash safety with a real process (DESIGN §4): the server is SIGKILLed at each crash point of
// a fiscal request (faults.ts), restarted on the same DATA_DIR and Redis prefix, and the device
// resends the frame it got no answer to. It must get an OK answer, the same one on every further
// resend, exactly one stored row, and a token it can go on with. Also: SIGTERM with requests in
// flight exits 0 and keeps every acknowledged ticket. All scenarios run one after another on one
// deployment (DATA_DIR, ports, Redis prefix); what was stored is read at the end by this process
// itself, once no server runs on the data dir any more (chDB: one data dir per process).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, tcpAccepts } from '../helpers/ports.js';
import { nextToken, ticketNumber } from '../../src/fiscal/device-state.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink, type Answer } from '../../src/sim/kkm-client.js';
import { openDb } from '../../src/storage/db.js';
import { uniqueBin } from '../helpers/server.js';
import { deleteKeys } from '../helpers/redis-keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_TOKEN = 'crash-test-admin-token-0123456789';
const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const code = (a: Answer) => a.response.result.result_code;
interface Asserts {
  same(found: unknown, wanted: unknown, message: string): unknown;
  ok(found: unknown, message: string): unknown;
  comment(...message: unknown[]): unknown;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const children = new Set<ChildProcess>();
const dirs: string[] = [];
const prefixes: string[] = [];
const links: TcpLink[] = [];
const startMs: number[] = [];

t.teardown(async () => {
  for (const link of links) link.close();
  await Promise.all(
    [...children]
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return gone;
      }),
  );
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  redis.disconnect();
});

interface Deployment {
  dataDir: string;
  prefix: string;
  tcpPort: number;
  httpPort: number;
}

async function deployment(): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ofd-crash-'));
  const prefix = `ofdtest:crash:${randomBytes(4).toString('hex')}:`;
  dirs.push(dataDir);
  prefixes.push(prefix);
  return { dataDir, prefix, tcpPort: await freePort(), httpPort: await freePort() };
}

interface Child {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** `node --import tsx src/main.ts` on the deployment; resolves once its TCP port answers. */
async function startChild(d: Deployment, crashAt?: string): Promise<Child> {
  // As `npm start` would run: without tap's loaders (NODE_OPTIONS) and TAP_* settings.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(k) && !k.startsWith('OFD_'),
    ),
  );
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    DATA_DIR: d.dataDir,
    OFD_HOST: '127.0.0.1',
    OFD_TCP_PORT: String(d.tcpPort),
    OFD_HTTP_PORT: String(d.httpPort),
    OFD_REDIS_PREFIX: d.prefix,
    OFD_ADMIN_TOKEN: ADMIN_TOKEN,
    OFD_DEVICE_LEASE_MS: '300',
    LOG_LEVEL: 'warn',
  };
  if (crashAt) env.OFD_CRASH_AT = crashAt;
  const began = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dead) throw new Error(`server exited during start:\n${out}`);
    if (Date.now() > deadline) throw new Error(`server did not start in 30 s:\n${out}`);
    if (await tcpAccepts(d.tcpPort)) break;
    await sleep(50);
  }
  startMs.push(Math.round(performance.now() - began));
  return { proc, exited, output: () => out };
}

async function admin(d: Deployment, method: string, url: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${d.httpPort}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function registerKkm(d: Deployment): Promise<KkmDevice> {
  const org = await admin(d, 'POST', '/api/v1/admin/orgs', {
    bin: uniqueBin(),
    title: 'ТОО Crash',
    address: 'Almaty',
    okved: '47111',
    password: 'Secret-pass1!',
  });
  const point = await admin(d, 'POST', `/api/v1/admin/orgs/${org.id}/points`, {
    title: 'Shop',
    address: 'Abay 1',
  });
  const kkm = await admin(d, 'POST', `/api/v1/admin/points/${point.id}/kkms`, {
    serialNumber: `SN${randomBytes(4).toString('hex')}`,
    model: 'Test KKM',
    fnsKkmId: `FNS${randomBytes(4).toString('hex')}`,
  });
  const issued = await admin(d, 'POST', `/api/v1/admin/kkms/${kkm.id}/token`);
  const link = new TcpLink(d.tcpPort, '127.0.0.1', 5000);
  links.push(link);
  return new KkmDevice(kkm.id as number, issued.token as number, link.send);
}

/** Resends the last frame until it is answered with something other than 254. */
async function resendUntilAnswered(dev: KkmDevice, withinMs: number) {
  const deadline = Date.now() + withinMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const a = await dev.resend();
      if (code(a) !== UNAVAILABLE) return { answer: a, attempts };
    } catch {
      // connection refused or closed: the server is not back yet
    }
    if (Date.now() > deadline) throw new Error(`no answer within ${withinMs} ms`);
    await sleep(100);
  }
}

const d = await deployment();
const random = seededRandom(2024);

interface Recovered {
  point: string;
  kkmId: number;
  tokenIn: number;
  reqNum: number;
  answer: Answer;
}
const recovered: Recovered[] = [];
/** Every ticket answered OK while a server was being stopped with SIGTERM, by KKM. */
const acked = new Map<number, string[]>();
const sale = () => requests.ticket(ticket(random, { items: 3 }));

/**
 * The devices send tickets back to back; once `before` of them were answered, the server gets
 * SIGTERM while requests are in flight. It must exit 0; what was answered OK is checked at the end.
 */
async function sigtermInFlight(t: Asserts, server: Child, devs: KkmDevice[], before: number) {
  let total = 0;
  let afterSignal = 0;
  let signalled = false;
  let enough!: () => void;
  const reached = new Promise<void>((resolve) => (enough = resolve));
  const others: number[] = [];
  const runs = devs.map(async (dev) => {
    if (!acked.has(dev.id)) acked.set(dev.id, []);
    for (;;) {
      let a: Answer;
      try {
        a = await dev.send(sale());
      } catch {
        return; // the server closed the connection
      }
      if (code(a) === ResultCode.RESULT_TYPE_OK) {
        acked.get(dev.id)!.push(a.response.ticket!.ticket_number);
        if (signalled) afterSignal++;
        if (++total === before) enough();
      } else {
        others.push(code(a));
        if (others.length > 50) return;
      }
    }
  });
  await Promise.race([reached, Promise.all(runs)]);
  signalled = server.proc.kill('SIGTERM');
  const exit = await server.exited;
  await Promise.all(runs);
  t.same(exit, { code: 0, signal: null }, 'SIGTERM with tickets in flight: exit code 0');
  if (exit.code !== 0) t.comment(server.output());
  t.ok(total >= before, `${total} tickets answered OK, ${afterSignal} of them after SIGTERM`);
  t.same(
    others.filter((c) => c !== UNAVAILABLE),
    [],
    'anything else answered during the shutdown is 254',
  );
}

for (const point of ['before-commit', 'after-commit', 'after-release'] as const) {
  t.test(`SIGKILL ${point}, restart, resend; then SIGTERM in flight`, async (t) => {
    const crashing = await startChild(d, `${point}:3`);
    const dev = await registerKkm(d);
    for (let n = 1; n <= 2; n++) {
      const a = await dev.send(sale());
      t.equal(code(a), ResultCode.RESULT_TYPE_OK, `ticket ${n} OK`);
    }
    const tokenIn = dev.token;
    const reqNum = dev.reqNum + 1;
    await t.rejects(dev.send(sale()), 'ticket 3: the connection dies without an answer');
    const exit = await crashing.exited;
    t.same(exit, { code: null, signal: 'SIGKILL' }, 'killed at the crash point');

    const server = await startChild(d);
    t.teardown(() => {
      if (server.proc.exitCode === null) server.proc.kill('SIGKILL');
    });
    const { answer, attempts } = await resendUntilAnswered(dev, 8000);
    t.comment(`answered after ${attempts} attempt(s)`);
    t.equal(code(answer), ResultCode.RESULT_TYPE_OK, 'the resend is answered OK');
    t.equal(answer.header.reqNum, reqNum, 'for the same REQNUM');
    t.equal(answer.response.ticket?.ticket_number, ticketNumber(dev.id, 3), 'as ticket 3');
    t.not(answer.header.token, tokenIn, 'with a new token');
    for (let i = 0; i < 2; i++) {
      t.same((await dev.resend()).bytes, answer.bytes, 'resending again: byte-identical');
    }
    for (let n = 4; n <= 5; n++) {
      const a = await dev.send(sale());
      t.equal(code(a), ResultCode.RESULT_TYPE_OK, `ticket ${n} with the answered token`);
      t.equal(a.response.ticket?.ticket_number, ticketNumber(dev.id, n));
    }
    recovered.push({ point, kkmId: dev.id, tokenIn, reqNum, answer });

    // The graceful stop, with this device and two more sending.
    const others = await Promise.all([1, 2].map(() => registerKkm(d)));
    await sigtermInFlight(t, server, [dev, ...others], 30);
  });
}

t.test('what was stored', async (t) => {
  t.comment(`server starts took ${startMs.join(', ')} ms`);
  const db = openDb({ dataDir: d.dataDir });
  t.teardown(() => db.close());
  const rows = <T>(query: string) => db.rows<T>(query);
  const [secret] = await rows<{ value: string }>(
    `SELECT value FROM settings FINAL WHERE name = 'token_secret'`,
  );
  t.ok(secret, 'the token secret');

  for (const r of recovered) {
    t.test(`after SIGKILL ${r.point}`, async (t) => {
      const perSeq = await rows<{ doc_seq: number; n: string }>(
        `SELECT doc_seq, count() AS n FROM documents WHERE kkm_id = ${r.kkmId}
         GROUP BY doc_seq ORDER BY doc_seq`,
      );
      t.ok(perSeq.length >= 5, `${perSeq.length} documents stored`);
      t.same(
        perSeq.map((x) => [Number(x.doc_seq), Number(x.n)]),
        perSeq.map((_, i) => [i + 1, 1]),
        'exactly one stored row per document (counted without FINAL), no gaps',
      );
      const [crashed] = await rows<Record<string, string>>(
        `SELECT token_in, token_out, req_num, response FROM documents FINAL
         WHERE kkm_id = ${r.kkmId} AND doc_seq = 3`,
      );
      t.ok(crashed, 'ticket 3 is stored');
      if (!crashed) return;
      t.equal(Number(crashed.token_in), r.tokenIn, 'with the token it came with');
      t.equal(Number(crashed.req_num), r.reqNum, 'and its REQNUM');
      t.equal(Number(crashed.token_out), r.answer.header.token, 'the answered token is stored');
      t.equal(crashed.response, r.answer.bytes.toString('base64'), 'the answer is the stored one');
      // The original would have answered the same: the rotation is a function of the request.
      t.equal(
        r.answer.header.token,
        nextToken(secret!.value, r.kkmId, r.tokenIn, 3),
        'the token the original answer would have carried',
      );
    });
  }

  t.test('after the SIGTERM stops', async (t) => {
    const stored = await rows<{ kkm_id: number; ticket_number: string; n: string }>(
      `SELECT kkm_id, ticket_number, count() AS n FROM documents
       WHERE doc_type = 'ticket' GROUP BY kkm_id, ticket_number`,
    );
    const storedSet = new Set(stored.map((r) => r.ticket_number));
    for (const [kkmId, numbers] of acked) {
      const missing = numbers.filter((n) => !storedSet.has(n));
      t.same(missing, [], `kkm ${kkmId}: all ${numbers.length} tickets answered OK are stored`);
    }
    t.same(
      stored.filter((r) => Number(r.n) !== 1),
      [],
      'no ticket stored twice',
    );
  });
});
