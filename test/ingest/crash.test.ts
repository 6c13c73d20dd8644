// Crash safety with a real process (DESIGN §4): the server is SIGKILLed at each crash point of
// a fiscal request (faults.ts), restarted on the same DATA_DIR and Redis prefix, and the device
// resends the frame it got no answer to. It must get an OK answer, the same one on every further
// resend, exactly one stored row, and a token it can go on with. Also: SIGTERM with requests in
// flight exits 0 and keeps every acknowledged ticket. All scenarios run one after another on one
// deployment (DATA_DIR, ports, Redis prefix); what was stored is read at the end by this process
// itself, once no server runs on the data dir any more (chDB: one data dir per process).
import t from 'tap';
import { nextToken, ticketNumber } from '../../src/fiscal/device-state.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import type { Answer } from '../../src/sim/kkm-client.js';
import { openDb } from '../../src/storage/db.js';
import {
  ChildServer,
  Fleet,
  PhaseStats,
  newDeployment,
  registerDevices,
  removeDeployment,
  type Deployment,
  type FleetRegister,
} from '../harness/index.js';

const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const code = (a: Answer) => a.response.result.result_code;
interface Asserts {
  same(found: unknown, wanted: unknown, message: string): unknown;
  ok(found: unknown, message: string): unknown;
  comment(...message: unknown[]): unknown;
}

const children: ChildServer[] = [];
const fleets: Fleet[] = [];

t.teardown(async () => {
  for (const fleet of fleets) fleet.close();
  await Promise.all(children.map((child) => child.kill9()));
  await removeDeployment(d);
});

type Child = ChildServer;

/** `node --import tsx src/main.ts` on the deployment; resolves once its TCP port answers. */
async function startChild(d: Deployment, crashAt?: string): Promise<Child> {
  const child = await ChildServer.start(d, {
    env: crashAt ? { OFD_CRASH_AT: crashAt } : {},
    startTimeoutMs: 30_000,
  });
  children.push(child);
  return child;
}

/** A register of the harness fleet; this test sends its requests by hand. */
async function registerKkm(d: Deployment): Promise<FleetRegister> {
  const fleet = new Fleet({
    tcpPort: d.tcpPort,
    devices: await registerDevices(d, 1),
    retryDelayMs: [100, 100],
    giveUpMs: 8000,
  });
  fleets.push(fleet);
  fleet.connect();
  return fleet.devices[0]!;
}

/**
 * Resends the last frame as the fleet's registers do (refused or unanswered: again after
 * 100 ms, on a new connection) until it is answered with something other than 254.
 */
async function resendUntilAnswered(dev: FleetRegister) {
  const stats = new PhaseStats();
  const answer = await dev.resendUntilAnswered({ current: stats });
  if (!answer) throw new Error(`no answer within 8000 ms: ${stats.notes.join('; ')}`);
  return { answer, attempts: stats.noAnswer + stats.unavailable + 1 };
}

const d = await newDeployment(undefined, { OFD_DEVICE_LEASE_MS: '300' }, 'crash');
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
async function sigtermInFlight(t: Asserts, server: Child, devs: FleetRegister[], before: number) {
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
    const { answer, attempts } = await resendUntilAnswered(dev);
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
  t.comment(`server starts took ${children.map((c) => c.startedMs).join(', ')} ms`);
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
