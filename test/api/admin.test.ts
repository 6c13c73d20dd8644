import t from 'tap';
import { openTestStore } from '../harness/store.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { adminApi } from '../../src/api/admin.js';
import { checkBearer, resolveAdminToken, secretsEqual } from '../../src/api/admin-token.js';
import { checkPasswordPolicy, passwordPolicyFailures } from '../../src/api/password-policy.js';
import { verifyPassword } from '../../src/storage/passwords.js';
import { Registry } from '../../src/storage/registry.js';
import { createHttpApp } from '../../src/api/http/app.js';

const store = await openTestStore('admin');
const { db, redis, prefix } = store;
const registry = new Registry(db, redis, prefix);

const ADMIN_TOKEN = randomBytes(32).toString('hex');
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});
const changed: number[] = [];
let failNotify = false;
const app = createHttpApp({ loggerInstance: pino({ level: 'debug' }, logStream) });
app.get('/health', async () => ({ ok: true }));
await app.register(adminApi, {
  registry,
  adminToken: ADMIN_TOKEN,
  onKkmChanged: async (kkmId: number) => {
    if (failNotify) throw new Error('redis is down');
    changed.push(kkmId);
  },
});
await app.ready();

t.teardown(async () => {
  await app.close();
  await store.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
async function call(
  method: Method,
  url: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await app.inject({
    method,
    url: `/api/v1/admin${url}`,
    headers,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

const ORG = {
  bin: '123456789012',
  title: 'ИП Иванов',
  address: 'Астана, ул. Кенесары 1',
  okved: '47111',
  password: 'Owner@Pass1',
};
const KKM = { serialNumber: 'SN-1', model: 'Webkassa 2', fnsKkmId: '010203' };

let orgId = 0;
let pointId = 0;
let kkmId = 0;

t.test('the happy path through every route', async (t) => {
  const org = await call('POST', '/orgs', ORG);
  t.equal(org.status, 201);
  t.same(org.body, { id: 1, bin: ORG.bin });
  orgId = org.body.id as number;

  const point = await call('POST', `/orgs/${orgId}/points`, { title: 'Магазин 1', address: 'A' });
  t.equal(point.status, 201);
  t.same(point.body, { id: 1 });
  pointId = point.body.id as number;

  const kkm = await call('POST', `/points/${pointId}/kkms`, KKM);
  t.equal(kkm.status, 201);
  t.same(kkm.body, { id: 1 });
  kkmId = kkm.body.id as number;

  const view = await call('GET', `/kkms/${kkmId}`);
  t.equal(view.status, 200);
  t.match(view.body, { id: kkmId, orgId, pointId, ...KKM, status: 'active', tokenEpoch: 1 });
  t.type(view.body.createdAt, 'string');
  t.notOk('token' in view.body, 'the token is never shown by GET');

  changed.length = 0;
  const before = (await registry.kkms.getKkm(kkmId))!;
  const token = await call('POST', `/kkms/${kkmId}/token`);
  t.equal(token.status, 200);
  t.same(Object.keys(token.body), ['token']);
  t.not(token.body.token, before.token, 'a new token');
  t.ok(Number.isInteger(token.body.token) && (token.body.token as number) > 0);
  const afterToken = (await registry.kkms.getKkm(kkmId))!;
  t.equal(afterToken.token, token.body.token);
  t.equal(afterToken.tokenEpoch, 2, 'token_epoch bumped');
  t.equal((await call('GET', `/kkms/${kkmId}`)).body.tokenEpoch, 2);

  t.same(await call('POST', `/kkms/${kkmId}/block`), {
    status: 200,
    body: { id: kkmId, status: 'blocked' },
  });
  t.equal((await registry.kkms.getKkm(kkmId))!.status, 'blocked');
  t.same(await call('POST', `/kkms/${kkmId}/unblock`), {
    status: 200,
    body: { id: kkmId, status: 'active' },
  });
  t.same(changed, [kkmId, kkmId, kkmId], 'onKkmChanged after token, block and unblock');

  const cashier = await call('POST', `/orgs/${orgId}/cashiers`, {
    code: 5,
    name: 'Кассир',
    login: 'cashier5',
    password: '739164',
    roles: [1, 2],
  });
  t.equal(cashier.status, 201);
  t.same(cashier.body, { code: 5, login: 'cashier5' });
  const stored = await registry.cashiers.findCashier(orgId, 'cashier5');
  t.match(stored, { code: 5, name: 'Кассир', roles: [1, 2] });
  t.ok(await verifyPassword('739164', stored!.passwordHash));

  const elements = [
    { type: 0, title: 'Группа', id: 10 },
    {
      type: 1,
      title: 'Товар',
      id: 11,
      parent_group_id: 10,
      item: {
        article: 'A-1',
        purchase_price: 100,
        sell_price: 150,
        taxes: [{ taxation_type: 100, tax_type: 100, tax_percent: 12000 }],
      },
    },
  ];
  t.same(await call('PUT', `/orgs/${orgId}/nomenclature`, { elements }), {
    status: 200,
    body: { version: 1 },
  });
  t.same(await call('PUT', `/orgs/${orgId}/nomenclature`, { elements: [] }), {
    status: 200,
    body: { version: 2 },
  });
  const nom = await registry.nomenclature.latestNomenclature(orgId);
  t.equal(nom!.version, 2);

  changed.length = 0;
  t.same(await call('DELETE', `/kkms/${kkmId}`), {
    status: 200,
    body: { id: kkmId, status: 'deregistered' },
  });
  t.same(changed, [kkmId], 'onKkmChanged after deregistration');
});

t.test('deregistration is final', async (t) => {
  const { body } = await call('POST', `/points/${pointId}/kkms`, { ...KKM, serialNumber: 'SN-2' });
  const id = body.id as number;
  t.equal((await call('DELETE', `/kkms/${id}`)).status, 200);
  changed.length = 0;
  for (const path of ['unblock', 'block', 'token']) {
    const res = await call('POST', `/kkms/${id}/${path}`);
    t.equal(res.status, 409, path);
    t.equal(res.body.error, 'Conflict');
    t.match(res.body.message, /deregistered/);
  }
  t.same(changed, [], 'nothing changed, nobody notified');
  t.equal((await registry.kkms.getKkm(id))!.status, 'deregistered');
  t.equal((await call('DELETE', `/kkms/${id}`)).status, 200, 'deregistering again is harmless');
});

t.test('every route needs the admin bearer token', async (t) => {
  const routes: [Method, string, unknown?][] = [
    ['POST', '/orgs', { ...ORG, bin: '555555555555' }],
    ['POST', `/orgs/${orgId}/points`, { title: 't', address: 'a' }],
    ['POST', `/points/${pointId}/kkms`, KKM],
    ['POST', `/kkms/${kkmId}/token`],
    ['POST', `/kkms/${kkmId}/block`],
    ['POST', `/kkms/${kkmId}/unblock`],
    ['DELETE', `/kkms/${kkmId}`],
    [
      'POST',
      `/orgs/${orgId}/cashiers`,
      { code: 1, name: 'n', login: 'l', password: 'p', roles: [1] },
    ],
    ['PUT', `/orgs/${orgId}/nomenclature`, { elements: [] }],
    ['GET', `/kkms/${kkmId}`],
  ];
  const kkmsBefore = await db.rows('SELECT count() AS n FROM kkms');
  const countBefore = kkmsBefore;
  for (const [method, url, body] of routes) {
    const missing = await call(method, url, body, null);
    t.equal(missing.status, 401, `${method} ${url} without a token`);
    t.equal(missing.body.error, 'Unauthorized');
    t.type(missing.body.message, 'string');
    const wrong = await call(method, url, body, ADMIN_TOKEN.slice(0, -1) + 'x');
    t.equal(wrong.status, 401, `${method} ${url} with a wrong token`);
    t.same(wrong.body, { error: 'Unauthorized', message: 'invalid admin token' });
  }
  const basic = await app.inject({
    method: 'GET',
    url: `/api/v1/admin/kkms/${kkmId}`,
    headers: { authorization: `Basic ${ADMIN_TOKEN}` },
  });
  t.equal(basic.statusCode, 401, 'only the Bearer scheme');
  const kkmsAfter = await db.rows('SELECT count() AS n FROM kkms');
  t.same(kkmsAfter, countBefore, 'refused requests changed nothing');
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200, 'the admin hook stays inside the admin plugin');
});

t.test('bad bodies and params are 400 naming the field', async (t) => {
  const cases: [Method, string, unknown, RegExp][] = [
    ['POST', '/orgs', { ...ORG, bin: '12345' }, /^body\/bin must match pattern/],
    ['POST', '/orgs', { ...ORG, bin: '12345678901a' }, /^body\/bin must match pattern/],
    ['POST', '/orgs', { ...ORG, bin: 123456789012 }, /^body\/bin must be string/],
    ['POST', '/orgs', { ...ORG, title: undefined }, /^body\/title is required/],
    ['POST', '/orgs', { ...ORG, title: '' }, /^body\/title must NOT have fewer than 1/],
    ['POST', '/orgs', { ...ORG, title: 'x'.repeat(501) }, /^body\/title must NOT have more/],
    ['POST', '/orgs', { ...ORG, extra: 1 }, /^body\/extra is not allowed/],
    ['POST', '/orgs', [], /^body must be object/],
    ['POST', `/orgs/abc/points`, { title: 't', address: 'a' }, /^params\/orgId must be integer/],
    ['POST', `/orgs/0/points`, { title: 't', address: 'a' }, /^params\/orgId must be >= 1/],
    ['POST', `/orgs/${orgId}/points`, { title: 't' }, /^body\/address is required/],
    ['POST', `/points/${pointId}/kkms`, { model: 'm', fnsKkmId: 'f' }, /body\/serialNumber/],
    ['POST', `/points/${pointId}/kkms`, { ...KKM, model: 5 }, /^body\/model must be string/],
    ['POST', `/points/1.5/kkms`, KKM, /^params\/pointId must be integer/],
    [
      'POST',
      `/orgs/${orgId}/cashiers`,
      { code: 1, name: 'n', login: 'l', password: 'p', roles: [4] },
      /^body\/roles\/0 must be one of 1, 2, 3/,
    ],
    [
      'POST',
      `/orgs/${orgId}/cashiers`,
      { code: 1, name: 'n', login: 'l', password: 'p', roles: [] },
      /^body\/roles must NOT have fewer than 1 items/,
    ],
    [
      'POST',
      `/orgs/${orgId}/cashiers`,
      { code: '1', name: 'n', login: 'l', password: 'p', roles: [1] },
      /^body\/code must be integer/,
    ],
    ['PUT', `/orgs/${orgId}/nomenclature`, {}, /^body\/elements is required/],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      { elements: [{ type: 1, title: 'no item', id: 1 }] },
      /^body\/elements\/0\/item is required/,
    ],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      {
        elements: [{ type: 1, title: 't', id: 1, item: { purchase_price: 1, sell_price: 1.5 } }],
      },
      /^body\/elements\/0\/item\/sell_price must be integer/,
    ],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      { elements: [{ type: 0, title: 'g', id: 1, item: { purchase_price: 1, sell_price: 1 } }] },
      /^body\/elements\/0\/item is only allowed for ITEM/,
    ],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      {
        elements: [
          { type: 0, title: 'g', id: 1 },
          { type: 0, title: 'h', id: 1 },
        ],
      },
      /^body\/elements\/1\/id 1 is used by another element/,
    ],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      {
        elements: [
          { type: 1, title: 'i', id: 1, item: { purchase_price: 1, sell_price: 1 } },
          { type: 0, title: 'h', id: 2, parent_group_id: 1 },
        ],
      },
      /^body\/elements\/1\/parent_group_id 1 is not a GROUP element/,
    ],
    [
      'PUT',
      `/orgs/${orgId}/nomenclature`,
      {
        elements: [
          { type: 0, title: 'a', id: 1, parent_group_id: 2 },
          { type: 0, title: 'b', id: 2, parent_group_id: 1 },
        ],
      },
      /makes a cycle of groups/,
    ],
  ];
  for (const [method, url, body, message] of cases) {
    const res = await call(method, url, body);
    t.equal(res.status, 400, `${method} ${url} ${JSON.stringify(body).slice(0, 80)}`);
    t.equal(res.body.error, 'Bad Request');
    t.match(res.body.message, message);
  }
  const malformed = await app.inject({
    method: 'POST',
    url: '/api/v1/admin/orgs',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: '{"bin":',
  });
  t.equal(malformed.statusCode, 400);
  t.equal(malformed.json().error, 'Bad Request');
});

t.test('the owner password follows the cabinet policy', async (t) => {
  const cases: [string, RegExp][] = [
    ['Ab@1', /at least 8 characters/],
    ['abcdefg@1', /uppercase Latin letter/],
    ['ABCDEFG@1', /lowercase Latin letter/],
    ['Abcdefgh1', /special character from @ \? \* = \+ ! \//],
    ['Абвгдеж@', /uppercase Latin letter.*lowercase|lowercase Latin letter.*uppercase/],
    ['', /at least 8 characters/],
  ];
  for (const [password, message] of cases) {
    const res = await call('POST', '/orgs', { ...ORG, bin: '777777777777', password });
    t.equal(res.status, 400, JSON.stringify(password));
    t.equal(res.body.error, 'Bad Request');
    t.match(res.body.message, /^body\/password /);
    t.match(res.body.message, message);
  }
  t.equal(await registry.orgs.findOrgByBin('777777777777'), null, 'nothing stored');
  for (const ok of ['Abcdefg@', 'xY/zzzzz', 'Pass=word', 'aB!45678', 'aB?45678', 'aB*45678']) {
    t.equal(checkPasswordPolicy(ok), null, ok);
  }
  t.same(
    passwordPolicyFailures('abc').map((r) => r.id),
    ['length', 'uppercase', 'special'],
  );
  t.equal((await call('POST', '/orgs', { ...ORG, bin: '777777777777' })).status, 201);
});

t.test('unknown ids are 404, a duplicate BIN is 409', async (t) => {
  const cases: [Method, string, unknown?][] = [
    ['POST', '/orgs/9999/points', { title: 't', address: 'a' }],
    ['POST', '/points/9999/kkms', KKM],
    ['POST', '/kkms/9999/token'],
    ['POST', '/kkms/9999/block'],
    ['POST', '/kkms/9999/unblock'],
    ['DELETE', '/kkms/9999'],
    ['GET', '/kkms/9999'],
    [
      'POST',
      '/orgs/9999/cashiers',
      { code: 1, name: 'n', login: 'l', password: 'Pass-7391', roles: [1] },
    ],
    ['PUT', '/orgs/9999/nomenclature', { elements: [] }],
  ];
  changed.length = 0;
  for (const [method, url, body] of cases) {
    const res = await call(method, url, body);
    t.equal(res.status, 404, `${method} ${url}`);
    t.equal(res.body.error, 'Not Found');
    t.match(res.body.message, /9999 not found/);
  }
  t.same(changed, []);
  const dup = await call('POST', '/orgs', { ...ORG, password: 'Another@1' });
  t.equal(dup.status, 409);
  t.equal(dup.body.error, 'Conflict');
  t.match(dup.body.message, new RegExp(ORG.bin));
  const clash = await call('POST', `/orgs/${orgId}/cashiers`, {
    code: 5,
    name: 'Другой',
    login: 'other',
    password: 'Other-pass7',
    roles: [1],
  });
  t.equal(clash.status, 409, 'a cashier code belongs to one login');
});

t.test('ids keep growing after the Redis counter is lost', async (t) => {
  const first = await call('POST', `/points/${pointId}/kkms`, { ...KKM, serialNumber: 'SN-R1' });
  const oldMax = first.body.id as number;
  await redis.del(`${prefix}seq:kkm`);
  const second = await call('POST', `/points/${pointId}/kkms`, { ...KKM, serialNumber: 'SN-R2' });
  t.equal(second.status, 201);
  t.ok((second.body.id as number) > oldMax, `${String(second.body.id)} > ${oldMax}`);
});

t.test('a failed ingest notification is reported, the change is kept', async (t) => {
  const { body } = await call('POST', `/points/${pointId}/kkms`, { ...KKM, serialNumber: 'SN-3' });
  const id = body.id as number;
  failNotify = true;
  t.teardown(() => {
    failNotify = false;
  });
  const res = await call('POST', `/kkms/${id}/block`);
  t.equal(res.status, 500);
  t.match(res.body.message, /repeat the request/);
  t.equal((await registry.kkms.getKkm(id))!.status, 'blocked');
  failNotify = false;
  t.equal((await call('POST', `/kkms/${id}/block`)).status, 200, 'the repeat succeeds');
  t.same(changed.slice(-1), [id]);
});

t.test('logs never carry tokens or passwords', async (t) => {
  const { body } = await call('POST', `/points/${pointId}/kkms`, { ...KKM, serialNumber: 'SN-4' });
  const res = await call('POST', `/kkms/${body.id as number}/token`);
  const log = logLines.join('');
  t.ok(log.includes('admin: KKM token issued'), 'actions are logged');
  t.notOk(log.includes(ADMIN_TOKEN), 'no admin token');
  t.notOk(log.includes(`"token":${String(res.body.token)}`), 'no KKM token');
  t.notOk(log.includes(ORG.password), 'no owner password');
  t.notOk(log.includes('Owner@Pass1'));
});

t.test('the admin token: configured, stored or generated once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofd-admin-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logged: { obj: object; msg?: string }[] = [];
  const log = { info: (obj: object, msg?: string) => logged.push({ obj, msg }) };

  t.equal(resolveAdminToken('configured-token-123', dir, log), 'configured-token-123');
  t.equal(logged.length, 0);

  const generated = resolveAdminToken(undefined, join(dir, 'data'), log);
  t.match(generated, /^[0-9a-f]{64}$/);
  const file = join(dir, 'data', 'admin-token');
  t.equal(readFileSync(file, 'utf8').trim(), generated);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(logged.length, 1, 'logged once');
  t.match(logged[0]!.msg, /admin/);
  t.notOk(JSON.stringify(logged[0]).includes(generated), 'the token itself is never logged');
  t.ok(JSON.stringify(logged[0]).includes(file), 'its file is');

  t.equal(resolveAdminToken(undefined, join(dir, 'data'), log), generated, 'read back');
  t.equal(logged.length, 1, 'not logged again');

  writeFileSync(join(dir, 'admin-token'), 'short\n');
  t.throws(() => resolveAdminToken(undefined, dir, log), /at least 16 characters/);
});

t.test('bearer checks', async (t) => {
  t.ok(checkBearer(`Bearer ${ADMIN_TOKEN}`, ADMIN_TOKEN));
  t.ok(checkBearer(`bearer  ${ADMIN_TOKEN}`, ADMIN_TOKEN));
  t.notOk(checkBearer(undefined, ADMIN_TOKEN));
  t.notOk(checkBearer('', ADMIN_TOKEN));
  t.notOk(checkBearer(ADMIN_TOKEN, ADMIN_TOKEN), 'the scheme is required');
  t.notOk(checkBearer(`Bearer ${ADMIN_TOKEN}x`, ADMIN_TOKEN));
  t.notOk(checkBearer(`Bearer ${ADMIN_TOKEN} extra`, ADMIN_TOKEN));
  t.notOk(checkBearer('Bearer ', ''), 'an empty expected token never matches');
  t.ok(secretsEqual('a', 'a'));
  t.notOk(secretsEqual('a', 'ab'));
});
