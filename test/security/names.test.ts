// Text and names as an attacker shapes them: a lone surrogate in a cabinet or admin text is a
// 400 naming the field (not a 500); control and bidirectional-override characters are refused
// in names; logins are Latin only, so "subА1" (Cyrillic А) cannot stand beside "subA1"; a
// sub-user limited to points sees only the users of its points; the generated admin token is
// written to its file and never logged; admin and cabinet read the bearer scheme alike.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { resolveAdminToken } from '../../src/api/admin-token.js';
import { createLogger } from '../../src/app/logger.js';
import { cabinetClient } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const { call, login, createSubUser } = cabinetClient(server);
const base = `http://127.0.0.1:${server.httpPort}`;
const kkm = await server.registerKkm();
const other = await server.registerKkm({ orgId: kkm.orgId, bin: kkm.bin }); // another point
const owner = await login(kkm.bin);

/** A JSON body sent as raw text, so "\ud800" reaches the server as JSON wrote it. */
async function rawJson(method: string, url: string, json: string, auth: string) {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: json,
  });
  return { status: res.status, json: (await res.json()) as { error: string; message: string } };
}

const userBody = (fields: string) =>
  `{"login":"surr${process.pid}","password":"Sub-user-pass1!","email":"a@b.kz",` +
  `"pointIds":[${kkm.pointId}],"permissions":["transactions"],${fields}}`;

t.test('a lone surrogate is a 400 naming the field, never a 500', async (t) => {
  const cases: [string, string, string, string, RegExp][] = [
    ['POST', '/api/v1/users', userBody('"name":"x\\ud800y"'), `Bearer ${owner}`, /body\/name/],
    [
      'POST',
      '/api/v1/groups',
      `{"name":"\\udfff","pointIds":[],"permissions":[]}`,
      `Bearer ${owner}`,
      /body\/name/,
    ],
    [
      'POST',
      `/api/v1/admin/orgs/${kkm.orgId}/points`,
      `{"title":"Shop \\ud83d","address":"Almaty"}`,
      `Bearer ${server.adminToken}`,
      /body\/title/,
    ],
  ];
  for (const [method, url, json, auth, field] of cases) {
    const res = await rawJson(method, url, json, auth);
    t.equal(res.status, 400, `${method} ${url}`);
    t.match(res.json.message, field, res.json.message);
    t.match(res.json.message, /surrogate/);
  }
  const pair = await rawJson(
    'POST',
    '/api/v1/groups',
    `{"name":"Smile \\ud83d\\ude00","pointIds":[],"permissions":[]}`,
    `Bearer ${owner}`,
  );
  t.equal(pair.status, 201, 'a surrogate pair (an emoji) is fine');
});

t.test('control and bidirectional-override characters are refused in names', async (t) => {
  for (const name of ['Evil\u202Etxt.exe', 'Tab\there', 'Null\u0000', 'Iso\u2066late']) {
    const res = await call('POST', '/api/v1/groups', {
      token: owner,
      body: { name, pointIds: [], permissions: [] },
    });
    t.equal(res.status, 400, JSON.stringify(name));
    t.match(res.json.message, /body\/name contains a control or bidirectional-override/);
  }
  const point = await server.admin('POST', `/api/v1/admin/orgs/${kkm.orgId}/points`, {
    title: 'Shop\u202E1',
    address: 'Almaty',
  });
  t.equal(point.status, 400, 'admin names too');
  t.match(point.json.message, /body\/title/);
  const ok = await call('POST', '/api/v1/groups', {
    token: owner,
    body: { name: 'Кассиры «Абай» №1', pointIds: [], permissions: [] },
  });
  t.equal(ok.status, 201, 'Cyrillic, quotes and symbols are fine');
});

t.test('logins are Latin only: subА1 cannot stand beside subA1', async (t) => {
  const create = (loginName: string) =>
    call('POST', '/api/v1/users', {
      token: owner,
      body: {
        login: loginName,
        password: 'Sub-user-pass1!',
        name: 'Sub',
        email: 'sub@example.kz',
        pointIds: [kkm.pointId],
        permissions: ['transactions'],
      },
    });
  const latin = `subA${process.pid}`;
  t.equal((await create(latin)).status, 201);
  const lookalike = await create(latin.replace('A', '\u0410'));
  t.equal(lookalike.status, 400, 'the Cyrillic look-alike is refused');
  t.match(lookalike.json.message, /body\/login/);
});

t.test('a sub-user limited to points sees only the users of its points', async (t) => {
  const manager = await createSubUser(owner, {
    pointIds: [kkm.pointId],
    permissions: ['users', 'transactions'],
  });
  const colleague = await createSubUser(owner, {
    pointIds: [kkm.pointId],
    permissions: ['transactions'],
  });
  const stranger = await createSubUser(owner, {
    pointIds: [other.pointId],
    permissions: ['transactions'],
  });
  const list = await call('GET', '/api/v1/users', { token: manager.token });
  t.equal(list.status, 200);
  const ids = list.json.items.map((u: { id: number }) => u.id);
  t.ok(ids.includes(manager.id) && ids.includes(colleague.id), 'itself and its colleague');
  t.notOk(ids.includes(stranger.id), 'not another point’s user');
  t.notOk(
    list.json.items.some((u: { role: string }) => u.role === 'owner'),
    'nor the owner',
  );
  t.equal(
    (await call('GET', `/api/v1/users/${stranger.id}`, { token: manager.token })).status,
    404,
  );
  const all = await call('GET', '/api/v1/users', { token: owner });
  t.ok(
    all.json.items.some((u: { id: number }) => u.id === stranger.id),
    'the owner sees everyone',
  );
});

t.test('the generated admin token is written to its file, never logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofd-admin-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const token = resolveAdminToken(undefined, dir, createLogger({ logLevel: 'debug' }, sink));
  const file = join(dir, 'admin-token');
  t.equal(readFileSync(file, 'utf8').trim(), token);
  const log = lines.join('');
  t.ok(log.includes(file), 'its path is logged');
  t.notOk(log.includes(token), 'the token is not');
});

t.test('admin and cabinet read the bearer scheme alike', async (t) => {
  const headers = (auth: string) => ({ authorization: auth });
  const both = async (scheme: (token: string) => string) => [
    (
      await fetch(`${base}/api/v1/admin/kkms/${kkm.kkmId}`, {
        headers: headers(scheme(server.adminToken)),
      })
    ).status,
    (await fetch(`${base}/api/v1/kkms`, { headers: headers(scheme(owner)) })).status,
  ];
  t.same(await both((x) => `Bearer ${x}`), [200, 200], 'Bearer');
  t.same(await both((x) => `bearer ${x}`), [200, 200], 'the scheme is case-insensitive');
  t.same(await both((x) => `Bearer  ${x} `), [200, 200], 'spaces around the token');
  t.same(await both((x) => `Bearer ${x} extra`), [401, 401], 'two tokens: refused by both');
  t.same(await both((x) => `Basic ${x}`), [401, 401], 'another scheme: refused by both');
});
