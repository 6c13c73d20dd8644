// POST /api/v1/admin/points/:pointId/kkms/bulk: many registers in one request, each active with
// its first token, ids continuing the sequence the single route uses.
import t from 'tap';
import { openTestStore } from '../harness/store.js';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { adminApi } from '../../src/api/admin.js';
import { Registry } from '../../src/storage/registry.js';
import { createHttpApp } from '../../src/api/http/app.js';

const store = await openTestStore('admin-bulk');
const { db, redis, prefix } = store;
const registry = new Registry(db, redis, prefix);
const ADMIN_TOKEN = randomBytes(32).toString('hex');
const app = createHttpApp({ loggerInstance: pino({ level: 'silent' }) });
await app.register(adminApi, { registry, adminToken: ADMIN_TOKEN, onKkmChanged: async () => {} });
await app.ready();

t.teardown(async () => {
  await app.close();
  await store.close();
});

async function call(method: 'GET' | 'POST', url: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await app.inject({
    method,
    url: `/api/v1/admin${url}`,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

const org = await call('POST', '/orgs', {
  bin: '210987654321',
  title: 'ТОО Bulk',
  address: 'Almaty',
  okved: '47111',
  password: 'Owner@Pass1',
});
const point = await call('POST', `/orgs/${org.body.id}/points`, { title: 'Shop', address: 'A' });
const pointId = point.body.id as number;
const kkm = (i: number) => ({ serialNumber: `SN-${i}`, model: 'Fleet', fnsKkmId: `F-${i}` });

t.test('registers many KKMs with their tokens, continuing the id sequence', async (t) => {
  const single = await call('POST', `/points/${pointId}/kkms`, kkm(0));
  t.equal(single.status, 201);
  const res = await call('POST', `/points/${pointId}/kkms/bulk`, {
    kkms: [1, 2, 3, 4, 5].map(kkm),
  });
  t.equal(res.status, 201);
  const created = res.body.kkms as { id: number; token: number }[];
  t.same(
    created.map((k) => k.id),
    [1, 2, 3, 4, 5].map((i) => single.body.id + i),
    'consecutive ids after the last one',
  );
  for (const [i, k] of created.entries()) {
    const stored = await registry.kkms.getKkm(k.id);
    t.equal(stored?.token, k.token, `KKM ${k.id}: the token answered is the stored one`);
    t.equal(stored?.status, 'active');
    t.equal(stored?.tokenEpoch, 1);
    t.equal(stored?.pointId, pointId);
    t.equal(stored?.serialNumber, `SN-${i + 1}`);
    t.ok(k.token >= 1, 'a token is never 0');
  }
  const next = await call('POST', `/points/${pointId}/kkms`, kkm(6));
  t.equal(next.body.id, created.at(-1)!.id + 1, 'the single route continues after the bulk');
  const reissued = await call('POST', `/kkms/${created[0]!.id}/token`);
  t.equal(reissued.status, 200, 'a bulk-registered KKM gets a new token like any other');
  t.equal((await registry.kkms.getKkm(created[0]!.id))?.tokenEpoch, 2);
});

t.test('refuses bad input', async (t) => {
  const empty = await call('POST', `/points/${pointId}/kkms/bulk`, { kkms: [] });
  t.equal(empty.status, 400);
  t.match(empty.body.message, /body\/kkms/);
  const bad = await call('POST', `/points/${pointId}/kkms/bulk`, {
    kkms: [kkm(1), { serialNumber: 'x', model: 'm' }],
  });
  t.equal(bad.status, 400);
  t.match(bad.body.message, /body\/kkms\/1\/fnsKkmId is required/);
  const unknown = await call('POST', `/points/999999/kkms/bulk`, { kkms: [kkm(1)] });
  t.equal(unknown.status, 404);
  const noToken = await call('POST', `/points/${pointId}/kkms/bulk`, { kkms: [kkm(1)] }, 'wrong');
  t.equal(noToken.status, 401);
});
