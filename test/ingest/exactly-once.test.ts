// Exactly once, seen from the device (DESIGN §4): a retry after a lost answer, after Redis lost
// every key of this deployment, or after an operator token reissue gets the right answer and
// leaves exactly one stored row.
import t from 'tap';
import net from 'node:net';
import { startTestServer, type RegisteredKkm } from '../helpers/server.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { ticketNumber } from '../../src/fiscal/device-state.js';
import { ticketCashDelta } from '../../src/fiscal/zx-report.js';
import { ticketFigures } from '../../src/fiscal/document-rows.js';
import { decodeAnswer, tcpPerRequest, type KkmDevice } from '../../src/sim/kkm-client.js';
import { deleteKeys } from '../harness/redis-keys.js';

const server = await startTestServer();
t.teardown(() => server.stop());

// Every row handed to ClickHouse, so "no duplicate insert" does not rest on merges not having
// happened yet.
const inserted = new Map<number, number>();
const realInsert = server.db.insert.bind(server.db);
server.db.insert = (table, rows) => {
  if (table === 'documents') {
    for (const row of rows as { kkm_id: number }[]) {
      inserted.set(row.kkm_id, (inserted.get(row.kkm_id) ?? 0) + 1);
    }
  }
  return realInsert(table, rows);
};

const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const random = seededRandom(42);
const sell = () => requests.ticket(ticket(random, { items: 3 }));

async function count(kkmId: number, final: boolean, docSeq?: number): Promise<number> {
  const [row] = await server.db.rows<{ n: number }>(
    `SELECT count() AS n FROM documents ${final ? 'FINAL' : ''}
      WHERE kkm_id = {kkm:UInt32} ${docSeq === undefined ? '' : 'AND doc_seq = {seq:UInt32}'}`,
    { kkm: kkmId, seq: docSeq ?? 0 },
  );
  return row!.n;
}

/** Deletes this server's keys only: other test files share the Redis instance. */
async function flushOurKeys(): Promise<number> {
  return deleteKeys(server.redis, server.config.redisPrefix);
}

interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
}

async function okTicket(t: Asserts, dev: KkmDevice, what: string) {
  const a = await dev.send(sell());
  t.equal(a.response.result.result_code, ResultCode.RESULT_TYPE_OK, `${what}: OK`);
  return a;
}

t.test(
  'a lost answer: the resent frame gets the same bytes and nothing is stored twice',
  async (t) => {
    const kkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    const first = await okTicket(t, dev, 'ticket');
    t.equal(first.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 1));
    t.not(first.header.token, kkm.token, 'token rotated');
    for (let i = 0; i < 3; i++) {
      const again = await dev.resend();
      t.same(again.bytes, first.bytes, `resend ${i + 1}: byte-identical answer`);
    }
    t.equal(await count(kkm.kkmId, true), 1, 'one row (FINAL)');
    t.equal(await count(kkm.kkmId, false), 1, 'one row without FINAL: no duplicate insert');
    t.equal(inserted.get(kkm.kkmId), 1, 'one documents row ever handed to ClickHouse');

    // The device goes on with the rotated token.
    const next = await okTicket(t, dev, 'next ticket');
    t.equal(next.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2));
    t.equal(await count(kkm.kkmId, true), 2);
  },
);

t.test('an answer lost on the wire: the connection drops before it arrives', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  await okTicket(t, dev, 'ticket 1');
  // Ticket 2 goes out on a connection the device drops at once, before any answer.
  const frame = dev.frame(sell());
  const socket = net.connect({ port: server.tcp!.port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.write(frame, () => resolve());
  });
  socket.destroy();
  // The resend comes on a new connection, possibly while the first is still being handled.
  const link = tcpPerRequest(server.tcp!.port);
  let answer = decodeAnswer(await link(frame));
  for (let i = 0; answer.response.result.result_code === UNAVAILABLE && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    answer = decodeAnswer(await link(frame));
  }
  t.equal(answer.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'the resend is answered');
  t.equal(answer.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2), 'as ticket 2');
  t.same(decodeAnswer(await link(frame)).bytes, answer.bytes, 'and again identically');
  t.equal(await count(kkm.kkmId, false), 2, 'two rows without FINAL');
  t.equal(inserted.get(kkm.kkmId), 2, 'two documents rows ever handed to ClickHouse');
  dev.token = answer.header.token;
  const next = await okTicket(t, dev, 'ticket 3 with the token of the recovered answer');
  t.equal(next.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 3));
});

t.test('a claim left by a dead process: 254 until its lease ends, then the answer', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const first = await okTicket(t, dev, 'ticket 1');
  // What a process killed between claim and release leaves behind: a fresh claim of its own.
  const [seconds, micros] = await server.redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  await server.redis.hset(server.states.key(kkm.kkmId), 'p', `${now}:dead-process`);
  const started = Date.now();
  const busy = await dev.resend();
  t.equal(busy.response.result.result_code, UNAVAILABLE, 'busy while the lease runs');
  let answer = busy;
  const waitMs = server.config.deviceLeaseMs + 3000;
  while (answer.response.result.result_code === UNAVAILABLE && Date.now() - started < waitMs) {
    await new Promise((r) => setTimeout(r, 50));
    answer = await dev.resend();
  }
  t.ok(Date.now() - started >= server.config.deviceLeaseMs - 50, 'not before the lease ended');
  t.same(answer.bytes, first.bytes, 'then the stored answer, byte for byte');
  const next = await okTicket(t, dev, 'ticket 2');
  t.equal(next.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2));
  t.equal(inserted.get(kkm.kkmId), 2);
});

t.test('Redis loses every key of this deployment between two tickets', async (t) => {
  t.test('resend of the first ticket after the flush, then the next ticket', async (t) => {
    const kkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    const first = await okTicket(t, dev, 'first ticket');
    t.ok((await flushOurKeys()) > 0, 'our keys deleted');
    const again = await dev.resend();
    t.same(again.bytes, first.bytes, 'resend after the flush: byte-identical answer');
    t.equal(await count(kkm.kkmId, true), 1, 'one row (FINAL)');
    t.equal(await count(kkm.kkmId, false), 1, 'one row without FINAL');
    t.equal(inserted.get(kkm.kkmId), 1, 'no second insert');

    t.ok((await flushOurKeys()) > 0, 'flushed again');
    const next = await okTicket(t, dev, 'next ticket with the rotated token');
    t.equal(next.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2));
    t.not(next.header.token, first.header.token, 'token rotated again');
    t.same((await dev.resend()).bytes, next.bytes, 'its resend is identical too');
    t.equal(await count(kkm.kkmId, true, 1), 1);
    t.equal(await count(kkm.kkmId, true, 2), 1);
    t.equal(await count(kkm.kkmId, false), 2);
    t.equal(inserted.get(kkm.kkmId), 2);
  });

  t.test('the next ticket right after the flush, no resend', async (t) => {
    const kkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    const first = await okTicket(t, dev, 'first ticket');
    const firstFrame = dev.lastFrame!;
    await flushOurKeys();
    const next = await okTicket(t, dev, 'next ticket');
    t.equal(next.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2));
    t.not(next.header.token, first.header.token);
    // The first frame is no longer the last request: replaying it is refused, not stored.
    const replay = decodeAnswer(await dev.transport(firstFrame));
    t.equal(replay.response.result.result_code, ResultCode.RESULT_TYPE_INVALID_TOKEN);
    t.equal(await count(kkm.kkmId, false), 2);
    t.equal(inserted.get(kkm.kkmId), 2);
  });

  t.test('the drawer cash comes back from ClickHouse after a flush', async (t) => {
    const kkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    const deposit = await dev.send(requests.moneyPlacement(true, 50_000, new Date()));
    t.equal(deposit.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'deposit');
    const sale = ticket(random, { items: 2 });
    const a = await dev.send(requests.ticket(sale));
    t.equal(a.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'cash sale');
    const cash =
      50_000 +
      ticketCashDelta({
        ...(ticketFigures(sale) as unknown as Parameters<typeof ticketCashDelta>[0]),
        operation: sale.operation ?? 0,
      });
    await flushOurKeys();
    const tooMuch = await dev.send(requests.moneyPlacement(false, cash + 1, new Date()));
    t.equal(
      tooMuch.response.result.result_code,
      ResultCode.RESULT_TYPE_NOT_ENOUGH_CASH,
      'more than the drawer → 14',
    );
    const all = await dev.send(requests.moneyPlacement(false, cash, new Date()));
    t.equal(all.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'the whole drawer → OK');
    t.equal(await count(kkm.kkmId, false), 3);
  });
  t.end();
});

t.test(
  'an admin token reissue replaces the device token, also after its state was dropped',
  async (t) => {
    const kkm: RegisteredKkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    await okTicket(t, dev, 'ticket before the reissue');
    const oldToken = dev.token;

    const issued = await server.admin('POST', `/api/v1/admin/kkms/${kkm.kkmId}/token`);
    t.equal(issued.status, 200);
    const newToken = issued.json.token as number;
    t.not(newToken, oldToken);

    const refused = await dev.send(sell());
    t.equal(
      refused.response.result.result_code,
      ResultCode.RESULT_TYPE_INVALID_TOKEN,
      'old token → 2',
    );
    t.equal(refused.header.token, oldToken, 'a refusal rotates nothing');

    // Drop the state the reissue left (it was already invalidated; make sure of a rebuild).
    await server.states.invalidate(kkm.kkmId);
    dev.token = oldToken;
    const refusedAgain = await dev.send(sell());
    t.equal(
      refusedAgain.response.result.result_code,
      ResultCode.RESULT_TYPE_INVALID_TOKEN,
      'old token → 2 after a rebuild from ClickHouse',
    );

    dev.token = newToken;
    const accepted = await okTicket(t, dev, 'new token');
    t.equal(accepted.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 2));
    const rotated = dev.token;
    t.not(rotated, newToken, 'the new token rotated');

    // The stored state now descends from the issued token; a rebuild must agree.
    await server.states.invalidate(kkm.kkmId);
    for (const [name, token] of [
      ['old', oldToken],
      ['issued (already used)', newToken],
    ] as const) {
      dev.token = token;
      const a = await dev.send(sell());
      t.equal(a.response.result.result_code, ResultCode.RESULT_TYPE_INVALID_TOKEN, `${name} → 2`);
    }
    dev.token = rotated;
    const after = await okTicket(t, dev, 'rotated token after the state was dropped');
    t.equal(after.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 3));

    // A reissue with nothing sent in between, then the state dropped: the issued token works.
    const second = await server.admin('POST', `/api/v1/admin/kkms/${kkm.kkmId}/token`);
    await server.states.invalidate(kkm.kkmId);
    dev.token = after.header.token;
    const stale = await dev.send(sell());
    t.equal(stale.response.result.result_code, ResultCode.RESULT_TYPE_INVALID_TOKEN, 'rotated → 2');
    dev.token = second.json.token as number;
    const fresh = await okTicket(t, dev, 'second issued token');
    t.equal(fresh.response.ticket?.ticket_number, ticketNumber(kkm.kkmId, 4));

    t.equal(await count(kkm.kkmId, true), 4, 'only the accepted tickets are stored');
    t.equal(await count(kkm.kkmId, false), 4);
    t.equal(inserted.get(kkm.kkmId), 4);
  },
);
