// The live feed (GET /api/v1/live, WebSocket): receipts and KKM status changes in the
// caller's scope, pushed as they are acknowledged.
import t from 'tap';
import WebSocket from 'ws';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { cabinetClient } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const { login, createSubUser } = cabinetClient(server);

interface Received {
  at: number;
  event: Record<string, any>;
}

/** Opens the feed with a session token and collects what it pushes. */
async function openFeed(token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/live?token=${token}`);
  const received: Received[] = [];
  let closeCode = 0;
  ws.on('message', (data) => received.push({ at: Date.now(), event: JSON.parse(String(data)) }));
  ws.on('close', (code) => (closeCode = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    const wait = () =>
      received.some((r) => r.event.type === 'hello') || closeCode
        ? resolve()
        : setTimeout(wait, 10);
    wait();
  });
  return { ws, received, closeCode: () => closeCode };
}

const until = async (check: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

t.test(
  'receipts reach the owner within a second, and a sub-user only for its points',
  async (t) => {
    const a = await server.registerKkm();
    const b = await server.registerKkm({ orgId: a.orgId, bin: a.bin });
    const owner = await login(a.bin);
    const sub = await createSubUser(owner, {
      pointIds: [a.pointId],
      permissions: ['transactions'],
    });
    const ownerFeed = await openFeed(owner);
    const subFeed = await openFeed(sub.token);
    t.teardown(() => {
      ownerFeed.ws.close();
      subFeed.ws.close();
    });

    const devA = server.tcpDevice(a);
    const devB = server.tcpDevice(b);
    const soldA = await devA.send(requests.ticket(ticket(seededRandom(1), { items: 2 })));
    const answeredA = Date.now();
    const soldB = await devB.send(requests.ticket(ticket(seededRandom(2), { items: 3 })));
    const numberA = soldA.response.ticket?.ticket_number;
    const numberB = soldB.response.ticket?.ticket_number;
    const receipts = (feed: { received: Received[] }) =>
      feed.received.filter((r) => r.event.type === 'receipt');
    await until(() => receipts(ownerFeed).length >= 2 && receipts(subFeed).length >= 1);

    const ownerA = receipts(ownerFeed).find((r) => r.event.ticketNumber === numberA);
    t.ok(ownerA, 'the owner got the receipt of point A');
    t.ok(
      receipts(ownerFeed).some((r) => r.event.ticketNumber === numberB),
      'and of point B',
    );
    t.match(ownerA?.event, {
      kkmId: a.kkmId,
      pointId: a.pointId,
      orgId: a.orgId,
      docType: 'ticket',
    });
    t.ok(ownerA && ownerA.at - answeredA < 1000, 'pushed within a second of the answer');
    t.same(
      receipts(subFeed).map((r) => r.event.ticketNumber),
      [numberA],
      'the sub-user sees only its point',
    );
  },
);

t.test('KKM status changes are pushed; another organization hears nothing', async (t) => {
  const mine = await server.registerKkm();
  const other = await server.registerKkm();
  const feed = await openFeed(await login(mine.bin));
  const foreign = await openFeed(await login(other.bin));
  t.teardown(() => {
    feed.ws.close();
    foreign.ws.close();
  });
  t.equal((await server.admin('POST', `/api/v1/admin/kkms/${mine.kkmId}/block`)).status, 200);
  await until(() => feed.received.some((r) => r.event.type === 'kkm_status'));
  t.match(feed.received.find((r) => r.event.type === 'kkm_status')?.event, {
    kkmId: mine.kkmId,
    status: 'blocked',
  });
  t.same(
    foreign.received.map((r) => r.event.type),
    ['hello'],
    "another organization's feed got nothing but its greeting",
  );
});

t.test('no valid session: the feed closes with 4401', async (t) => {
  const feed = await openFeed('not-a-session');
  await until(() => feed.closeCode() !== 0);
  t.equal(feed.closeCode(), 4401);
  t.same(feed.received, []);
});
