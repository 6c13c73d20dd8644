// The default transport, none: nothing is sent, yet positions are tracked (the backlog drains
// to 0) and registry events count as confirmed by the authority at once, so a KKM's KGD status
// is done without a receiver. A transport switched on later has positions of its own.
import t from 'tap';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ForwardingStore } from '../../src/storage/forwarding.js';
import { OK, code } from '../helpers/kkm.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer({ OFD_FORWARD_LINGER_MS: '50', OFD_FORWARD_POLL_MS: '50' });
t.teardown(() => server.stop());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('none tracks positions and confirms registry events at once', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const random = seededRandom(5);
  for (let i = 0; i < 3; i++) {
    t.equal(code(await dev.send(requests.ticket(ticket(random, { items: 1 })))), OK);
  }
  let state: any = null;
  for (let i = 0; i < 200; i++) {
    state = (await server.admin('GET', '/api/v1/admin/forwarding')).json.transports[0];
    if (state.backlog.documents === 0 && state.backlog.events === 0) break;
    await sleep(50);
  }
  t.equal(state.name, 'none');
  t.same(state.backlog, { documents: 0, events: 0, kkms: 0 }, 'the backlog drains');
  const kgd = (await server.admin('GET', `/api/v1/admin/kkms/${kkm.kkmId}`)).json.kgdStatus;
  t.equal(kgd.status, 'registered', 'registered with the authority at once');
  const store = new ForwardingStore(server.db, server.redis, server.config.redisPrefix);
  t.same((await store.positions('none')).get(kkm.kkmId), { doc: 3, event: 2 }, 'positions');
  const http = await store.pending('http');
  t.same(
    http.find((p) => p.kkmId === kkm.kkmId)?.forwarded,
    { doc: 0, event: 0 },
    'a transport switched on later starts from the beginning',
  );
});
