// Abuse limits against a real server: a slow sender is cut off at its frame deadline while a
// well-behaved register keeps being answered; a connection flood from one address is refused
// past the per-address (and the global) limit while established connections keep working; a
// device hammering past its rate gets 254 for the excess, without reaching Redis, while another
// device behind the same address is unaffected; an address over its rate gets 429 on HTTP and
// 254 on TCP and WebSocket frames. Abusers use other loopback addresses (127.0.0.x) than the
// well-behaved registers (127.0.0.1), as they would come from other hosts.
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { FrameDecoder } from '../../src/protocol/framer.js';
import { AuthResult, ResultCode } from '../../src/protocol/schema.js';
import { DEFAULT_CASHIER_AUTH_LIMITS } from '../../src/storage/cashier-auth-limits.js';
import {
  decodeAnswer,
  httpTransport,
  KkmDevice,
  TcpLink,
  type Answer,
} from '../../src/sim/kkm-client.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { patchMethod, rows } from '../helpers/kkm.js';
import { startTestServer } from '../helpers/server.js';

const FRAME_DEADLINE_MS = 1000;
const PER_ADDRESS = 5;
const MAX_CONNECTIONS = 30;
const DEVICE_RATE = 10;
const ADDRESS_RATE = 100;
const WRONG_TOKEN_RATE = 2;
const IDLE_TIMEOUT_MS = 3000;
/**
 * How often a well-behaved register asks: within DEVICE_RATE whatever the machine's speed (at
 * 50 ms a fast run spent the device's burst and got rate-limited answers).
 */
const REQUEST_EVERY_MS = 150;

const server = await startTestServer({
  OFD_FRAME_DEADLINE_MS: String(FRAME_DEADLINE_MS),
  OFD_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
  OFD_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
  OFD_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  OFD_DEVICE_RATE: String(DEVICE_RATE),
  OFD_DEVICE_BURST: String(DEVICE_RATE),
  OFD_ADDRESS_RATE: String(ADDRESS_RATE),
  OFD_ADDRESS_BURST: String(ADDRESS_RATE),
  OFD_WRONG_TOKEN_RATE: String(WRONG_TOKEN_RATE),
  OFD_WRONG_TOKEN_BURST: String(2 * WRONG_TOKEN_RATE),
  // A request slowed past a short lease by a loaded machine would be taken over (and its state
  // rebuilt) by a stranger's request: the production lease, as the flood tests need.
  OFD_DEVICE_LEASE_MS: '5000',
});
t.teardown(() => server.stop());

const OK = ResultCode.RESULT_TYPE_OK;
const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const code = (a: Answer) => a.response.result.result_code;
const base = `http://127.0.0.1:${server.httpPort}`;

/** A register on its own TCP connection from 127.0.0.1, closed when the test ends (the
 * per-address limit counts well-behaved connections too). */
async function tcpDevice(t: Test) {
  const kkm = await server.registerKkm();
  const link = new TcpLink(server.tcp!.port);
  t.teardown(() => link.close());
  return Object.assign(new KkmDevice(kkm.kkmId, kkm.token, link.send), { kkm });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const key = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(key));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A TCP connection from a chosen loopback address. */
function connectFrom(localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: server.tcp!.port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with how long the socket stayed open (ms), or null if still open after `ms`. */
function closedWithin(socket: net.Socket, ms: number, from = performance.now()) {
  return new Promise<number | null>((resolve) => {
    if (socket.destroyed) return resolve(performance.now() - from);
    const timer = setTimeout(() => resolve(null), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - from);
    });
    socket.on('error', () => {});
  });
}

/** A register's transport over one TCP connection from `localAddress`, answers in order. */
async function tcpFrom(localAddress: string) {
  const socket = await connectFrom(localAddress);
  const decoder = new FrameDecoder();
  const waiting: ((b: Buffer) => void)[] = [];
  socket.on('data', (chunk) =>
    decoder.push(
      chunk,
      (f) => waiting.shift()?.(f.bytes),
      () => socket.destroy(),
    ),
  );
  socket.on('error', () => {});
  return {
    socket,
    send: (frame: Buffer) =>
      new Promise<Buffer>((resolve) => {
        waiting.push(resolve);
        socket.write(frame);
      }),
  };
}

/** A register asking INFO every `everyMs` until stopped; the slowest answer it got. */
function wellBehaved(dev: KkmDevice, everyMs = 200) {
  let stop = false;
  const latencies: number[] = [];
  const codes: number[] = [];
  const done = (async () => {
    while (!stop) {
      const started = performance.now();
      const a = await dev.send(requests.info());
      latencies.push(performance.now() - started);
      codes.push(code(a));
      await sleep(everyMs);
    }
  })();
  return {
    async finish() {
      stop = true;
      await done;
      return { latencies, codes, maxMs: Math.max(...latencies) };
    },
  };
}

t.test(
  'a slow sender is cut off at its frame deadline; others are answered promptly',
  async (t) => {
    const goodDev = await tcpDevice(t);
    const kkm = goodDev.kkm;
    t.equal(code(await goodDev.send(requests.info())), OK, 'a register at work');
    const good = wellBehaved(goodDev, REQUEST_EVERY_MS);
    const before = await metric('ofd_tcp_limit_closed_total', 'reason="frame_deadline"');

    // One valid frame, a byte every 200 ms: the idle timeout never fires, the deadline must.
    const slowDev = new KkmDevice(kkm.kkmId + 1_000_000, 1, async () => Buffer.alloc(0));
    const frame = slowDev.frame(requests.info());
    const slow = await connectFrom('127.0.0.2');
    const received: Buffer[] = [];
    slow.on('data', (c) => received.push(c));
    const started = performance.now();
    const closed = closedWithin(slow, 10_000, started);
    let sent = 0;
    while (!slow.destroyed && sent < frame.length) {
      slow.write(frame.subarray(sent, sent + 1));
      sent++;
      await Promise.race([sleep(200), closed]);
    }
    const openMs = await closed;
    const { latencies, codes, maxMs } = await good.finish();

    t.ok(openMs !== null, 'the server closed the slow connection');
    t.ok(openMs! >= FRAME_DEADLINE_MS - 50, `not before the deadline (${Math.round(openMs!)} ms)`);
    t.ok(openMs! < FRAME_DEADLINE_MS + 1500, `soon after it (${Math.round(openMs!)} ms)`);
    t.ok(sent < frame.length, `the frame never completed (${sent} of ${frame.length} bytes)`);
    t.equal(Buffer.concat(received).length, 0, 'and it got no answer');
    t.ok(latencies.length >= 4, `the good register kept asking (${latencies.length} answers)`);
    t.ok(
      codes.every((c) => c === OK),
      'and every answer was OK',
    );
    t.ok(maxMs < 2000, `its slowest answer took ${Math.round(maxMs)} ms`);
    t.equal(
      await metric('ofd_tcp_limit_closed_total', 'reason="frame_deadline"'),
      before + 1,
      'counted',
    );
  },
);

t.test('frames arriving steadily are never cut off by the deadline', async (t) => {
  // Each chunk ends one frame and begins the next, so bytes are always buffered, for twice the
  // deadline: the deadline runs from each frame's first byte, not from the first frame's.
  const kkm = await server.registerKkm();
  const dev = new KkmDevice(kkm.kkmId, kkm.token, async () => Buffer.alloc(0));
  const frames = Array.from({ length: 8 }, () => dev.frame(requests.info()));
  const stream = Buffer.concat(frames);
  const link = await connectFrom('127.0.0.1');
  const decoder = new FrameDecoder();
  const answers: Answer[] = [];
  link.on('data', (c) =>
    decoder.push(
      c,
      (f) => answers.push(decodeAnswer(f.bytes)),
      () => {},
    ),
  );
  const closed = closedWithin(link, 10_000);
  const cut = Math.floor(frames[0]!.length / 2);
  let at = 0;
  const startedAt = performance.now();
  while (at < stream.length) {
    const next = Math.min(stream.length, at === 0 ? cut : at + frames[0]!.length);
    link.write(stream.subarray(at, next));
    at = next;
    await sleep(300);
  }
  await sleep(200);
  t.ok(performance.now() - startedAt > 2 * FRAME_DEADLINE_MS, 'streamed past the deadline');
  t.equal(answers.length, frames.length, 'every frame answered');
  t.ok(
    answers.every((a) => code(a) === OK),
    'all OK',
  );
  t.notOk(link.destroyed, 'the connection is still open');
  link.destroy();
  await closed;
});

t.test(
  'a connection flood past the per-address limit is refused; established ones work',
  async (t) => {
    const dev = await tcpDevice(t);
    t.equal(code(await dev.send(requests.info())), OK, 'established before the flood');
    const before = await metric('ofd_tcp_limit_closed_total', 'reason="address_connections"');
    const good = wellBehaved(dev, REQUEST_EVERY_MS);

    const FLOOD = 40;
    const flood = await Promise.all(
      Array.from({ length: FLOOD }, () => connectFrom('127.0.0.3').catch(() => null)),
    );
    const lifetimes = await Promise.all(flood.map((s) => (s ? closedWithin(s, 1500) : 0)));
    const refused = lifetimes.filter((ms) => ms !== null);
    const held = flood.filter((s, i) => s && lifetimes[i] === null) as net.Socket[];
    t.equal(held.length, PER_ADDRESS, `the address holds ${PER_ADDRESS} connections`);
    t.equal(refused.length, FLOOD - PER_ADDRESS, 'every other one was refused');
    t.ok(
      refused.every((ms) => ms! < 1000),
      `quickly (slowest ${Math.round(Math.max(...refused.map(Number)))} ms)`,
    );

    // Another address is not affected, and the flooding one gets in again once it lets go.
    const other = await tcpDevice(t);
    t.equal(code(await other.send(requests.info())), OK, 'a new register from another address');
    const { codes, maxMs } = await good.finish();
    t.ok(
      codes.every((c) => c === OK),
      `the established register was answered throughout (${codes.length} answers: ${codes})`,
    );
    t.ok(maxMs < 2000, `its slowest answer took ${Math.round(maxMs)} ms`);
    t.equal(
      await metric('ofd_tcp_limit_closed_total', 'reason="address_connections"'),
      before + FLOOD - PER_ADDRESS,
      'each refusal counted',
    );
    held.forEach((s) => s.destroy());
    await sleep(100);
    const again = await connectFrom('127.0.0.3');
    t.equal(await closedWithin(again, 300), null, 'the address may connect again');
    again.destroy();
  },
);

t.test('past the global connection limit new connections are refused, not old ones', async (t) => {
  const dev = await tcpDevice(t);
  t.equal(code(await dev.send(requests.info())), OK);
  const before = await metric('ofd_tcp_limit_closed_total', 'reason="max_connections"');
  // PER_ADDRESS from each of 8 addresses: more than MAX_CONNECTIONS in all.
  const attempts = await Promise.all(
    Array.from({ length: 8 * PER_ADDRESS }, (_, i) =>
      connectFrom(`127.0.0.${10 + (i % 8)}`).catch(() => null),
    ),
  );
  const lifetimes = await Promise.all(attempts.map((s) => (s ? closedWithin(s, 1000) : 0)));
  const held = attempts.filter((s, i) => s && lifetimes[i] === null) as net.Socket[];
  t.ok(server.tcp!.connections <= MAX_CONNECTIONS, `at most ${MAX_CONNECTIONS} open`);
  t.ok(held.length < attempts.length, `${attempts.length - held.length} refused`);
  t.ok(
    (await metric('ofd_tcp_limit_closed_total', 'reason="max_connections"')) > before,
    'counted',
  );
  t.equal(code(await dev.send(requests.info())), OK, 'the established register still works');
  held.forEach((s) => s.destroy());
  await sleep(100);
  const next = await tcpDevice(t);
  t.equal(code(await next.send(requests.info())), OK, 'and new ones get in once there is room');
});

t.test(
  'a device past its rate gets 254 without reaching Redis; others are unaffected',
  async (t) => {
    const hammerDev = await tcpDevice(t);
    const hammer = hammerDev.kkm;
    const calmDev = await tcpDevice(t); // the same address (127.0.0.1), another device
    const claims = new Map<number, number>();
    const claim = server.states.claim.bind(server.states);
    const restore = patchMethod(server.states, 'claim', (kkmId: number) => {
      claims.set(kkmId, (claims.get(kkmId) ?? 0) + 1);
      return claim(kkmId);
    });
    t.teardown(restore);
    const before = await metric('ofd_ingest_rate_limited_total', 'scope="device"');

    const started = performance.now();
    const hammering = (async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < 40; i++) answers.push(await hammerDev.send(requests.info()));
      return answers;
    })();
    const random = seededRandom(7);
    const calmCodes: number[] = [];
    for (let i = 0; i < 4; i++) {
      calmCodes.push(code(await calmDev.send(requests.ticket(ticket(random)))));
    }
    const answers = await hammering;
    const elapsedS = (performance.now() - started) / 1000;

    const ok = answers.filter((a) => code(a) === OK).length;
    const limited = answers.filter((a) => code(a) === UNAVAILABLE);
    t.equal(ok + limited.length, answers.length, 'every answer is OK or 254');
    t.ok(ok >= DEVICE_RATE, `the burst was served (${ok} OK)`);
    t.ok(ok <= DEVICE_RATE + Math.ceil(DEVICE_RATE * elapsedS) + 1, 'no more than the rate allows');
    t.ok(limited.length >= 40 - ok && limited.length > 0, `${limited.length} answered 254`);
    t.match(limited[0]!.response.result.result_text, /too many requests from this KKM/);
    t.ok(
      limited.every((a) => a.header.token === hammer.token),
      'the token stays as it was',
    );
    t.equal(claims.get(hammer.kkmId), ok, 'only the admitted requests reached Redis');
    t.same(calmCodes, [OK, OK, OK, OK], 'the other device was served');
    t.equal(
      await metric('ofd_ingest_rate_limited_total', 'scope="device"'),
      before + limited.length,
      'each refusal counted',
    );

    await sleep(1000 / DEVICE_RATE + 50);
    t.equal(code(await hammerDev.send(requests.info())), OK, 'served again once it slows down');
  },
);

/** POST /kkm from a chosen loopback address. */
function postFrom(localAddress: string, frame: Buffer, agent: http.Agent) {
  return new Promise<{ status: number; body: Buffer; retryAfter?: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.httpPort,
        path: '/kkm',
        method: 'POST',
        localAddress,
        agent,
        headers: { 'content-type': 'application/octet-stream' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks),
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(frame);
  });
}

t.test('an address past its rate gets 429 over HTTP; other addresses are served', async (t) => {
  const kkm = await server.registerKkm();
  const dev = new KkmDevice(kkm.kkmId, kkm.token, async () => Buffer.alloc(0));
  const frame = dev.frame(requests.info());
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: PER_ADDRESS, // HTTP connections are capped per address as TCP ones are
    localAddress: '127.0.0.4',
  } as http.AgentOptions);
  t.teardown(() => agent.destroy());
  let claims = 0;
  const claim = server.states.claim.bind(server.states);
  const restore = patchMethod(server.states, 'claim', (kkmId: number) => {
    claims++;
    return claim(kkmId);
  });
  t.teardown(restore);

  const other = await server.registerKkm();
  const otherDev = new KkmDevice(other.kkmId, other.token, httpTransport(base));
  let otherCode = -1;
  let refusedMeanwhile = 0;
  const started = performance.now();
  const results: Awaited<ReturnType<typeof postFrom>>[] = [];
  const BATCH = 25;
  for (let sent = 0; sent < 3 * ADDRESS_RATE; sent += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: BATCH }, () => postFrom('127.0.0.4', frame, agent)),
    );
    results.push(...batch);
    if (sent === 2 * ADDRESS_RATE) {
      // A register elsewhere, in the middle of the flood.
      refusedMeanwhile = batch.filter((r) => r.status === 429).length;
      otherCode = code(await otherDev.send(requests.info()));
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  const served = results.filter((r) => r.status === 200).length;
  const tooMany = results.filter((r) => r.status === 429);
  t.equal(served + tooMany.length, results.length, 'every answer is 200 or 429');
  t.ok(served >= ADDRESS_RATE, `the burst was served (${served})`);
  t.ok(served <= ADDRESS_RATE + Math.ceil(ADDRESS_RATE * elapsedS) + 1, 'no more than the rate');
  t.ok(tooMany.length > 0, `${tooMany.length} answered 429`);
  t.same(Object.keys(JSON.parse(tooMany[0]!.body.toString())).sort(), ['error', 'message']);
  t.equal(tooMany[0]!.retryAfter, '1', 'with Retry-After');
  t.ok(claims <= served, 'refused requests never reached Redis');
  t.ok(refusedMeanwhile > 0, 'the flooding address was being refused…');
  t.equal(otherCode, OK, '…while another address was served');
});

t.test('frames from an address past its rate get 254 over TCP and WebSocket', async (t) => {
  const link = await tcpFrom('127.0.0.5');
  t.teardown(() => link.socket.destroy());
  // One device: past its own rate its frames are refused cheaply, and still count against
  // the address, which runs out after ADDRESS_RATE frames.
  const kkm = await server.registerKkm();
  const dev = new KkmDevice(kkm.kkmId, kkm.token, link.send);
  const frames = Array.from({ length: 3 * ADDRESS_RATE }, () => dev.frame(requests.info()));
  const before = await metric('ofd_ingest_rate_limited_total', 'scope="address"');
  const answers: Answer[] = [];
  for (const f of frames) answers.push(decodeAnswer(await link.send(f)));
  const text = (a: Answer) => a.response.result.result_text ?? '';
  const byAddress = answers.filter((a) => /too many requests from here/.test(text(a)));
  t.ok(byAddress.length > 0, `${byAddress.length} of ${answers.length} refused for the address`);
  t.ok(
    byAddress.every((a) => code(a) === UNAVAILABLE),
    'answered 254',
  );
  t.ok(
    answers.every((a) => code(a) === OK || code(a) === UNAVAILABLE),
    'the others OK or over the device rate',
  );

  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/kkm/ws`, {
    localAddress: '127.0.0.5',
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  t.teardown(() => ws.close());
  const wsAnswers: Answer[] = [];
  const all = new Promise<void>((resolve) =>
    ws.on('message', (data: Buffer) => {
      wsAnswers.push(decodeAnswer(Buffer.from(data)));
      if (wsAnswers.length === 50) resolve();
    }),
  );
  for (const f of frames.slice(0, 50)) ws.send(f, { binary: true });
  await all;
  t.ok(
    wsAnswers.some((a) => /too many requests from here/.test(text(a))),
    'WebSocket frames too (the address is still over its rate)',
  );
  t.ok(
    (await metric('ofd_ingest_rate_limited_total', 'scope="address"')) >= before + byAddress.length,
    'counted',
  );
});

/** Wrong token; REQNUM that was the register's last; over the address's wrong-token rate. */
const STRANGER_CODES: number[] = [
  ResultCode.RESULT_TYPE_INVALID_TOKEN,
  ResultCode.RESULT_TYPE_INVALID_REQUEST_NUMBER,
  UNAVAILABLE,
];

/** Sends `count` INFO frames naming `kkm` with a wrong token from `address`; their answers. */
async function wrongTokenFlood(
  kkm: { kkmId: number; token: number },
  address: string,
  count: number,
) {
  const link = await tcpFrom(address);
  const stranger = new KkmDevice(kkm.kkmId, (kkm.token ^ 0x5a5a5a5a) >>> 0, link.send);
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await stranger.send(requests.info()));
  link.socket.destroy();
  return answers;
}

for (const where of ['in front of Redis', 'at the core’s gate'] as const) {
  t.test(
    `a wrong-token flood from another address cannot stop a register (${where})`,
    async (t) => {
      const dev = await tcpDevice(t);
      const kkm = dev.kkm;
      t.equal(code(await dev.send(requests.info())), OK, 'the register at work');
      // Without this process's copy of the state the token is checked after the Redis claim.
      if (where === 'at the core’s gate')
        t.teardown(patchMethod(server.states, 'known', () => undefined));
      let claims = 0;
      const claim = server.states.claim.bind(server.states);
      t.teardown(
        patchMethod(server.states, 'claim', (kkmId: number) => {
          if (kkmId === kkm.kkmId) claims++;
          return claim(kkmId);
        }),
      );
      const wrongBefore = await metric('ofd_ingest_wrong_token_total', '');
      const limitedBefore = await metric('ofd_ingest_rate_limited_total', 'scope="wrong_token"');

      // 150 frames at once, then ~30 a second while the register sells and resends.
      const burst = await wrongTokenFlood(kkm, '127.0.0.6', 150);
      let flooding = true;
      const trickle = (async () => {
        const answers: Answer[] = [];
        while (flooding) {
          answers.push(...(await wrongTokenFlood(kkm, '127.0.0.6', 3)));
          await sleep(100);
        }
        return answers;
      })();
      const random = seededRandom(11);
      const codes: number[] = [];
      let busyRetries = 0;
      // Without the state in memory a stranger's request may hold the device's claim for a
      // moment: the register is told 254 "busy" and, as registers do, sends the request again.
      const answered = async (a: Answer) => {
        if (where === 'at the core’s gate' && code(a) === UNAVAILABLE && busyRetries < 2) {
          busyRetries++;
          return code(await dev.resend());
        }
        return code(a);
      };
      for (let i = 0; i < 6; i++) {
        codes.push(await answered(await dev.send(requests.ticket(ticket(random)))));
        codes.push(await answered(await dev.resend()));
        await sleep(150);
      }
      flooding = false;
      const junk = [...burst, ...(await trickle)];

      t.same(codes, Array(codes.length).fill(OK), `the register was answered OK (${codes.length})`);
      const text = (a: Answer) => a.response.result.result_text ?? '';
      const refused = junk.filter((a) => /wrong-token requests from here/.test(text(a)));
      t.ok(
        junk.every((a) => STRANGER_CODES.includes(code(a))),
        `the stranger got 2, 8 or 254 (${[...new Set(junk.map(code))].join(', ')})`,
      );
      t.ok(
        refused.length > 60,
        `its address ran out of wrong-token budget (${refused.length} × 254)`,
      );
      t.ok(
        refused.every((a) => code(a) === UNAVAILABLE),
        'answered 254',
      );
      // Every one but those refused for the address's overall rate; one answered "busy" (its
      // claim met the register's) is counted when the check came before Redis.
      const wrongCounted = (await metric('ofd_ingest_wrong_token_total', '')) - wrongBefore;
      const checked = junk.filter((a) => !/^too many requests from here/.test(text(a)));
      const busy = checked.filter((a) => /busy/.test(text(a))).length;
      t.ok(
        wrongCounted <= checked.length && wrongCounted >= checked.length - busy,
        `each wrong-token request counted (${wrongCounted})`,
      );
      t.ok(
        (await metric('ofd_ingest_rate_limited_total', 'scope="wrong_token"')) >=
          limitedBefore + refused.length,
        'and each refusal',
      );
      if (where === 'in front of Redis') {
        t.ok(
          claims <= 12 + 2 * WRONG_TOKEN_RATE + 10,
          `refused junk never reached Redis (${claims} claims)`,
        );
      }
      let notices: { title: string }[] = [];
      for (let i = 0; i < 50 && !notices.length; i++) {
        await sleep(100);
        notices = await rows(
          server,
          "SELECT title FROM notifications WHERE kkm_id = {k:UInt32} AND kind = 'kkm_wrong_token'",
          { k: kkm.kkmId },
        );
      }
      t.equal(notices.length, 1, 'the organization is told once, not per frame');
      t.match(notices[0]?.title, /wrong token/);
    },
  );
}

/** A WebSocket register connection from `localAddress`, open (or the error that refused it). */
function wsFrom(localAddress: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/kkm/ws`, { localAddress });
  ws.on('error', () => {});
  return new Promise<WebSocket | null>((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('close', () => resolve(null));
    ws.once('unexpected-response', () => resolve(null));
  });
}

/** Resolves with how long the WebSocket stayed open (ms), or null if still open after `ms`. */
function wsClosedWithin(ws: WebSocket, ms: number, from = performance.now()) {
  return new Promise<number | null>((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve(performance.now() - from);
    const timer = setTimeout(() => resolve(null), ms);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - from);
    });
  });
}

/** Sends a piece every 200 ms while `open()`; checks the server cut it at the frame deadline. */
async function cutAtDeadline(
  t: Test,
  closed: Promise<number | null>,
  open: () => boolean,
  send: (i: number) => void,
) {
  for (let i = 0; i < 40 && open(); i++) {
    send(i);
    await Promise.race([sleep(200), closed]);
  }
  const openMs = await closed;
  t.ok(openMs !== null, 'closed');
  t.ok(
    openMs! >= FRAME_DEADLINE_MS - 50 && openMs! < FRAME_DEADLINE_MS + 1500,
    `at ${Math.round(openMs!)} ms`,
  );
}

t.test('HTTP and WebSocket registers get the TCP deadlines and per-address cap', async (t) => {
  const kkm = await server.registerKkm();
  const dev = new KkmDevice(kkm.kkmId, kkm.token, async () => Buffer.alloc(0));
  const limited = (reason: string) => metric('ofd_tcp_limit_closed_total', `reason="${reason}"`);
  const before = {
    post: await limited('http_frame_deadline'),
    fragments: await limited('ws_frame_deadline'),
    idle: await limited('ws_idle_timeout'),
    cap: await limited('http_address_connections'),
  };

  t.test('a POST /kkm body trickled a byte at a time is cut at the frame deadline', async (t) => {
    const frame = dev.frame(requests.info());
    const socket = net.connect({
      port: server.httpPort,
      host: '127.0.0.1',
      localAddress: '127.0.0.7',
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /kkm HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${frame.length}\r\n\r\n`,
    );
    const closed = closedWithin(socket, 10_000);
    await cutAtDeadline(
      t,
      closed,
      () => !socket.destroyed,
      (i) => socket.write(frame.subarray(i, i + 1)),
    );
  });

  t.test('a WebSocket message fragmented for ever is cut at the frame deadline', async (t) => {
    const ws = (await wsFrom('127.0.0.7'))!;
    const frame = dev.frame(requests.info());
    const closed = wsClosedWithin(ws, 10_000);
    await cutAtDeadline(
      t,
      closed,
      () => ws.readyState === ws.OPEN,
      (i) =>
        ws.send(frame.subarray(i % frame.length, (i % frame.length) + 1), {
          binary: true,
          fin: false,
        }),
    );
  });

  t.test('an idle WebSocket is closed at the idle timeout; a busy one is not', async (t) => {
    const idle = (await wsFrom('127.0.0.7'))!;
    const busy = (await wsFrom('127.0.0.7'))!;
    const answers: Buffer[] = [];
    busy.on('message', (d: Buffer) => answers.push(d));
    const started = performance.now();
    const idleClosed = wsClosedWithin(idle, IDLE_TIMEOUT_MS + 3000, started);
    while (performance.now() - started < IDLE_TIMEOUT_MS + 1000) {
      busy.send(dev.frame(requests.info()), { binary: true });
      await sleep(500);
    }
    const openMs = await idleClosed;
    t.ok(
      openMs !== null && openMs >= IDLE_TIMEOUT_MS - 50,
      `the idle one closed at ${Math.round(openMs ?? -1)} ms`,
    );
    t.equal(busy.readyState, busy.OPEN, 'the busy one is open');
    t.ok(answers.length >= 6, `and answered (${answers.length})`);
    t.ok(answers.map(decodeAnswer).every((a) => code(a) === OK || code(a) === UNAVAILABLE));
    busy.close();
  });

  t.test('WebSocket connections past the per-address cap are refused', async (t) => {
    await sleep(200); // the sockets of the tests above are gone
    const attempts = await Promise.all(
      Array.from({ length: PER_ADDRESS + 4 }, () => wsFrom('127.0.0.8')),
    );
    const open = attempts.filter((ws) => ws !== null) as WebSocket[];
    t.equal(open.length, PER_ADDRESS, `${PER_ADDRESS} held`);
    const elsewhere = await wsFrom('127.0.0.9');
    t.ok(elsewhere, 'another address connects');
    elsewhere?.close();
    open.forEach((ws) => ws.close());
  });

  await t.test('each cut counted', async (t) => {
    t.ok((await limited('http_frame_deadline')) > before.post, 'POST deadline');
    t.ok((await limited('ws_frame_deadline')) > before.fragments, 'WebSocket deadline');
    t.ok((await limited('ws_idle_timeout')) > before.idle, 'WebSocket idle timeout');
    t.ok((await limited('http_address_connections')) >= before.cap + 4, 'per-address cap');
  });
});

t.test('frames naming unknown device IDs do not reach ClickHouse each', async (t) => {
  await server.registerKkm(); // so the highest registered ID is known
  let kkmQueries = 0;
  const rows = server.db.rows.bind(server.db);
  t.teardown(
    patchMethod(server.db, 'rows', (query: string, params?: Record<string, unknown>) => {
      if (/\bkkms\b/.test(query)) kkmQueries++;
      return rows(query, params) as never;
    }),
  );
  const link = await tcpFrom('127.0.0.10');
  t.teardown(() => link.socket.destroy());
  const random = seededRandom(99);
  const ids = [
    ...Array.from({ length: 60 }, () => 1_000_000 + Math.floor(random() * 4_000_000_000)),
    ...Array<number>(30).fill(3_999_999_999),
  ];
  const codes: number[] = [];
  for (const id of ids) {
    const stranger = new KkmDevice(id, 12345, link.send);
    codes.push(code(await stranger.send(requests.info())));
  }
  t.same(
    [...new Set(codes)],
    [ResultCode.RESULT_TYPE_UNKNOWN_ID],
    'every one answered "unknown ID"',
  );
  t.ok(kkmQueries <= 2, `${ids.length} frames, ${kkmQueries} registry queries`);
  const kkm = await server.registerKkm();
  const dev = new KkmDevice(kkm.kkmId, kkm.token, link.send);
  t.equal(code(await dev.send(requests.info())), OK, 'a register registered just now is served');
});

t.test('COMMAND_AUTH: weak cashier passwords refused, guessing locked out', async (t) => {
  const dev = await tcpDevice(t);
  const kkm = dev.kkm;
  const cashier = (login: string, password: string, code = 1) =>
    server.admin('POST', `/api/v1/admin/orgs/${kkm.orgId}/cashiers`, {
      code,
      name: 'Кассир',
      login,
      password,
      roles: [1],
    });
  for (const weak of ['1234', '000000', '123456', '654321', 'qwerty']) {
    const res = await cashier('weak', weak);
    t.equal(res.status, 400, `"${weak}" refused`);
    t.match(res.json.message, /^body\/password/);
  }
  t.equal((await cashier('aliya', '739164')).status, 201, 'a six-digit PIN that is no pattern');
  t.equal((await cashier('bolat', '582047', 2)).status, 201);

  const auth = async (login: string, password: string) => {
    const a = await dev.send(requests.auth(login, password));
    await sleep(1000 / DEVICE_RATE); // within the device's own rate
    return a;
  };
  const limits = DEFAULT_CASHIER_AUTH_LIMITS;
  for (let i = 0; i < limits.perCashier; i++) {
    const a = await auth('aliya', `${100000 + i}`);
    t.equal(
      a.response.auth?.result,
      AuthResult.RESULT_TYPE_INVALID_LOGIN_PASSWORD,
      `guess ${i + 1}`,
    );
  }
  const locked = await auth('aliya', '739164');
  t.equal(code(locked), UNAVAILABLE, 'then refused, even with the right password');
  t.match(locked.response.result.result_text, /too many failed cashier logins/);
  t.notOk(locked.response.auth?.operator_code, 'and no operator');
  const colleague = await auth('bolat', '582047');
  t.equal(colleague.response.auth?.result, AuthResult.RESULT_TYPE_OK, 'another cashier logs in');
  const elsewhere = await tcpDevice(t);
  await server.admin('POST', `/api/v1/admin/orgs/${elsewhere.kkm.orgId}/cashiers`, {
    code: 1,
    name: 'Кассир',
    login: 'aliya',
    password: '739164',
    roles: [1],
  });
  const other = await elsewhere.send(requests.auth('aliya', '739164'));
  t.equal(other.response.auth?.result, AuthResult.RESULT_TYPE_OK, 'on another register too');
});
