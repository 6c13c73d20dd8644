// Sessions end when they should, everywhere: a live-feed socket closes (4401) at logout, at a
// password change and at its user's removal, loses the feed with its permission and follows a
// change of its points within seconds; a password change ends every other session of that
// user (one's own change keeps the current one), and a removal ends them all.
import t from 'tap';
import WebSocket from 'ws';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { cabinetClient } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const { call, login, createSubUser } = cabinetClient(server);
const kkmA = await server.registerKkm();
const kkmB = await server.registerKkm({ orgId: kkmA.orgId, bin: kkmA.bin });
const owner = await login(kkmA.bin);
const random = seededRandom(5);

/** Opens the feed; what it pushes, and how it closed. */
async function openFeed(token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/live?token=${token}`);
  const events: Record<string, any>[] = [];
  let closed: { code: number; at: number } | null = null;
  ws.on('message', (data) => events.push(JSON.parse(String(data))));
  ws.on('close', (code) => (closed = { code, at: Date.now() }));
  await until(() => events.some((e) => e.type === 'hello') || closed !== null);
  return { ws, events, closed: () => closed };
}

async function until(check: () => boolean, ms = 6000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

const sub = (pointIds = [kkmA.pointId], permissions = ['transactions']) =>
  createSubUser(owner, { pointIds, permissions });
const sell = async (kkm: typeof kkmA) => {
  const a = await server.tcpDevice(kkm).send(requests.ticket(ticket(random, { items: 1 })));
  return a.response.ticket!.ticket_number!;
};
const receipts = (events: Record<string, any>[]) =>
  events.filter((e) => e.type === 'receipt').map((e) => e.ticketNumber as string);

t.test('a live socket closes with 4401 at logout', async (t) => {
  const user = await sub();
  const feed = await openFeed(user.token);
  t.teardown(() => feed.ws.close());
  t.equal((await call('POST', '/api/v1/auth/logout', { token: user.token })).status, 204);
  const started = Date.now();
  t.ok(await until(() => feed.closed() !== null), 'closed');
  t.equal(feed.closed()?.code, 4401);
  t.ok(feed.closed()!.at - started < 5000, `within seconds (${feed.closed()!.at - started} ms)`);
  await sell(kkmA);
  t.same(receipts(feed.events), [], 'and received nothing after it');
});

t.test('a live socket closes when its user is removed or loses the permission', async (t) => {
  const removed = await sub();
  const demoted = await sub();
  const feeds = [await openFeed(removed.token), await openFeed(demoted.token)];
  t.teardown(() => feeds.forEach((f) => f.ws.close()));
  t.equal((await call('DELETE', `/api/v1/users/${removed.id}`, { token: owner })).status, 204);
  const put = await call('PUT', `/api/v1/users/${demoted.id}`, {
    token: owner,
    body: { permissions: ['reports'] },
  });
  t.equal(put.status, 200);
  t.ok(await until(() => feeds.every((f) => f.closed() !== null)), 'both closed');
  t.same(
    feeds.map((f) => f.closed()?.code),
    [4401, 4401],
  );
});

t.test('a change of points applies to an open socket within seconds', async (t) => {
  const user = await sub([kkmA.pointId]);
  const feed = await openFeed(user.token);
  t.teardown(() => feed.ws.close());
  const put = await call('PUT', `/api/v1/users/${user.id}`, {
    token: owner,
    body: { pointIds: [kkmB.pointId] },
  });
  t.equal(put.status, 200);
  // The change reaches the socket through the feed; give it a moment, then sell at both.
  await new Promise((r) => setTimeout(r, 1000));
  const atA = await sell(kkmA);
  const atB = await sell(kkmB);
  t.ok(await until(() => receipts(feed.events).includes(atB)), 'the newly granted point arrives');
  t.notOk(receipts(feed.events).includes(atA), 'the point taken away does not');
  t.equal(feed.closed(), null, 'the socket stays open');
});

t.test('a password change ends the other sessions of that user', async (t) => {
  const user = await sub([kkmA.pointId], ['transactions', 'users']); // may change itself
  const other = await login(user.login, user.password);
  const feed = await openFeed(other);
  t.teardown(() => feed.ws.close());
  // Its own change: the current session stays, every other one ends.
  const own = await call('PUT', `/api/v1/users/${user.id}`, {
    token: user.token,
    body: { password: 'New-sub-pass2!' },
  });
  t.equal(own.status, 200, JSON.stringify(own.json));
  t.equal((await call('GET', '/api/v1/kkms', { token: other })).status, 401, 'the other ends');
  t.equal((await call('GET', '/api/v1/kkms', { token: user.token })).status, 200, 'this stays');
  t.ok(await until(() => feed.closed() !== null), 'its live socket closes');
  t.equal(feed.closed()?.code, 4401);

  // The owner changes it: every session of the user ends.
  const again = await login(user.login, 'New-sub-pass2!');
  const byOwner = await call('PUT', `/api/v1/users/${user.id}`, {
    token: owner,
    body: { password: 'Third-pass3!' },
  });
  t.equal(byOwner.status, 200);
  for (const token of [user.token, again]) {
    t.equal((await call('GET', '/api/v1/kkms', { token })).status, 401, 'ended');
  }
  t.equal((await call('GET', '/api/v1/kkms', { token: owner })).status, 200, 'not the owner’s');
});

t.test('the owner’s own password change keeps only its current session', async (t) => {
  const second = await login(kkmA.bin);
  const me = await call('GET', '/api/v1/kkms', { token: owner });
  t.equal(me.status, 200);
  const users = await call('GET', '/api/v1/users', { token: owner });
  const ownerId = users.json.items.find((u: { role: string }) => u.role === 'owner').id;
  const put = await call('PUT', `/api/v1/users/${ownerId}`, {
    token: owner,
    body: { password: 'Secret-pass1!' }, // the same text: still a change of password
  });
  t.equal(put.status, 200, JSON.stringify(put.json));
  t.equal((await call('GET', '/api/v1/kkms', { token: second })).status, 401, 'the other ends');
  t.equal((await call('GET', '/api/v1/kkms', { token: owner })).status, 200, 'this one stays');
});
