// The request limits without a server: token buckets, and the guard in front of the command
// core (per address, per device for requests that present its token, per address for those
// that do not), with a stand-in core that answers OK.
import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { encodeFrame, readHeader } from '../../src/protocol/header.js';
import { peekCommand } from '../../src/protocol/codec.js';
import { decodeAnswer } from '../../src/sim/kkm-client.js';
import type { Frame } from '../../src/protocol/framer.js';
import { Request, ResultCode } from '../../src/protocol/schema.js';
import type { DeviceState } from '../../src/fiscal/device-state.js';
import { RequestGuard, TokenBuckets, type GateCheck } from '../../src/ingest/request-limits.js';
import { requests } from '../../src/sim/documents.js';

t.test('token buckets: burst, refill, and a bounded map', async (t) => {
  const buckets = new TokenBuckets<string>(10, 3, 100);
  const taken = (now: number) => [1, 2, 3, 4].map(() => buckets.take('a', now) === null);
  t.same(taken(0), [true, true, true, false], 'the burst, then refused');
  t.not(buckets.take('a', 50), null, 'half a token is not one');
  t.equal(buckets.take('a', 100), null, 'one token back after 1/rate s');
  t.not(buckets.take('a', 100), null);
  for (let i = 0; i < 1000; i++) buckets.take(`k${i}`, 200);
  t.ok(buckets.size <= 100, `never more than maxKeys buckets (${buckets.size})`);
  buckets.sweep(10_000);
  t.equal(buckets.size, 0, 'refilled buckets are swept');
  t.equal(buckets.take('a', 10_000), null, 'and a swept key starts full');
});

t.test(
  'shared token buckets report every chunk of spending, and take the shared level',
  async (t) => {
    const reports: number[] = [];
    let shared = 100;
    const buckets = new TokenBuckets<string>(
      1,
      100,
      10,
      async (_key, spent) => {
        reports.push(spent);
        return (shared -= spent + 10); // another process spent 10 meanwhile
      },
      4,
    );
    for (let i = 0; i < 12; i++) {
      t.equal(buckets.take('a', 0), null);
      await Promise.resolve();
    }
    await new Promise((resolve) => setImmediate(resolve));
    t.same(reports, [4, 4, 4], 'a report per chunk of 4, as given');
    t.equal(shared, 100 - 12 - 30);
    let admitted = 0;
    while (buckets.take('a', 0) === null && admitted < 100) {
      admitted++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    t.ok(admitted <= 100 - 12 - 30, `what the others spent is taken off (${admitted} more)`);
    const defaults = new TokenBuckets<string>(1, 100, 10, async (_key, spent) => {
      reports.push(spent);
      return 0;
    });
    reports.length = 0;
    defaults.take('b', 0);
    await Promise.resolve();
    t.same(reports, [1], 'by default at most a second of the rate (1 here)');
  },
);

const TOKEN = 777;
const frameOf = (token: number, reqNum = 1): Frame => {
  const bytes = encodeFrame(
    { version: 202, deviceId: 5, token, reqNum },
    Request.encode(requests.info()).finish(),
  );
  return { header: readHeader(bytes), bytes, payload: bytes.subarray(18) };
};
const resultOf = (answer: Buffer) => decodeAnswer(answer).response.result?.result_code;
const OK_ANSWER = Buffer.from('ok');
// Almost no refill during a test: only the bursts count.
const SLOW = 0.001;

function guardWith(
  limits: Partial<ConstructorParameters<typeof RequestGuard>[0]>,
  known?: DeviceState,
) {
  const lines: string[] = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const refused: string[] = [];
  const wrong: string[] = [];
  const guard = new RequestGuard(
    {
      deviceRate: 0,
      deviceBurst: 0,
      addressRate: 0,
      addressBurst: 0,
      wrongTokenRate: 0,
      wrongTokenBurst: 0,
      ...limits,
    },
    log,
    {
      onRefused: (scope) => refused.push(scope),
      onWrongToken: (_kkm, address) => wrong.push(address),
      knownState: () => known,
    },
  );
  t.teardown(() => guard.close());
  // The stand-in core asks the gate as the real one does once it knows the token's verdict.
  const handler = guard.guard(async (frame, gate?: GateCheck) => {
    if (gate?.(frame.header.token === TOKEN)) return Buffer.from('gate refused');
    return OK_ANSWER;
  });
  return { handler, refused, wrong, lines };
}

t.test('an address over its rate gets 254, a log line, a metric', async (t) => {
  const g = guardWith({ addressRate: SLOW, addressBurst: 2 });
  const peer = { address: '10.0.0.1' };
  t.equal(await g.handler(frameOf(TOKEN), peer), OK_ANSWER);
  t.equal(await g.handler(frameOf(TOKEN), peer), OK_ANSWER);
  const third = await g.handler(frameOf(TOKEN), peer);
  t.equal(resultOf(third), ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE);
  t.equal(peekCommand(third.subarray(18)), peekCommand(frameOf(TOKEN).payload), 'same command');
  t.same(g.refused, ['address']);
  t.match(g.lines.join(''), /address over its request rate/);
  t.equal(await g.handler(frameOf(TOKEN), { address: '10.0.0.2' }), OK_ANSWER, 'another address');
  t.equal(
    await g.handler(frameOf(TOKEN), { address: '10.0.0.1', addressAdmitted: true }),
    OK_ANSWER,
    'a transport that already applied the address limit',
  );
});

t.test("a known device: strangers spend their address's budget, never the device's", async (t) => {
  const known = { token: TOKEN, lastReqNum: 0, lastReqToken: 0 } as DeviceState;
  const g = guardWith(
    { deviceRate: SLOW, deviceBurst: 2, wrongTokenRate: SLOW, wrongTokenBurst: 1 },
    known,
  );
  const stranger = { address: '6.6.6.6' };
  t.equal(await g.handler(frameOf(1), stranger), OK_ANSWER, 'the core answers the wrong token');
  t.equal(
    resultOf(await g.handler(frameOf(1), stranger)),
    ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
  );
  t.same(g.wrong, ['6.6.6.6', '6.6.6.6']);
  const own = { address: '10.0.0.1' };
  t.equal(await g.handler(frameOf(TOKEN), own), OK_ANSWER, 'the register itself goes on');
  t.equal(await g.handler(frameOf(TOKEN), own), OK_ANSWER);
  t.equal(
    resultOf(await g.handler(frameOf(TOKEN), own)),
    ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
    'until its own burst is spent',
  );
  t.same(g.refused, ['wrong_token', 'device']);
});

t.test('an unknown device: the core’s gate decides after its claim', async (t) => {
  const g = guardWith({
    deviceRate: SLOW,
    deviceBurst: 1,
    wrongTokenRate: SLOW,
    wrongTokenBurst: 1,
  });
  const peer = { address: '10.0.0.1' };
  t.equal(await g.handler(frameOf(TOKEN), peer), OK_ANSWER);
  t.equal(
    (await g.handler(frameOf(TOKEN), peer)).toString(),
    'gate refused',
    'device over its rate',
  );
  t.equal(await g.handler(frameOf(1), peer), OK_ANSWER, 'a wrong token spends another budget');
  t.equal((await g.handler(frameOf(1), peer)).toString(), 'gate refused');
  t.same(g.refused, ['device', 'wrong_token']);
});

t.test('no limits: everything goes to the core', async (t) => {
  const g = guardWith({});
  for (let i = 0; i < 50; i++) t.equal(await g.handler(frameOf(i), { address: 'x' }), OK_ANSWER);
  t.same(g.refused, []);
});
