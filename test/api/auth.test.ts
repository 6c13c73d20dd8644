import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { DEFAULT_LOGIN_THROTTLE } from '../../src/api/cabinet/login-throttle.js';
import { cabinetClient, loginApp, ORG_PASSWORD } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const { call, login } = cabinetClient(server);

const tryLogin = (loginName: string, password: string) =>
  call('POST', '/api/v1/auth/login', { body: { login: loginName, password } });

const org = await server.registerKkm();

t.test('the owner logs in with the BIN and the org password', async (t) => {
  const before = Date.now();
  const res = await tryLogin(org.bin, ORG_PASSWORD);
  t.equal(res.status, 200);
  t.same(Object.keys(res.json).sort(), ['expiresAt', 'token']);
  t.type(res.json.token, 'string');
  t.ok(res.json.token.length >= 32, 'an opaque random token');
  const expires = Date.parse(res.json.expiresAt);
  t.ok(expires > before + 3600_000, 'expires hours from now');
  const users = await call('GET', '/api/v1/users', { token: res.json.token });
  t.equal(users.status, 200, 'the token opens authenticated routes');
  t.equal(users.json.items[0].login, org.bin);
});

t.test('GET /api/v1/me tells the session its role, modules and points', async (t) => {
  const owner = await login(org.bin);
  const me = await call('GET', '/api/v1/me', { token: owner });
  t.equal(me.status, 200);
  t.match(me.json, { orgId: org.orgId, login: org.bin, role: 'owner', pointIds: 'all' });
  t.same(me.json.permissions, [
    'transactions',
    'reports',
    'analytics',
    'exports',
    'users',
    'organization',
    'kkms',
  ]);
  const sub = await cabinetClient(server).createSubUser(owner, {
    pointIds: [org.pointId],
    permissions: ['reports', 'transactions'],
  });
  const subMe = await call('GET', '/api/v1/me', { token: sub.token });
  t.match(subMe.json, { userId: sub.id, role: 'user', pointIds: [org.pointId] });
  t.same(subMe.json.permissions, ['transactions', 'reports'], 'in catalogue order');
  t.equal((await call('GET', '/api/v1/me')).status, 401, 'no session, no answer');
});

t.test('a wrong password and an unknown login get the same 401', async (t) => {
  const wrong = await tryLogin(org.bin, 'Wrong-pass1!');
  const unknown = await tryLogin('no-such-login', ORG_PASSWORD);
  t.equal(wrong.status, 401);
  t.equal(unknown.status, 401);
  t.same(wrong.json, unknown.json, 'nothing tells which logins exist');
  t.same(wrong.json, { error: 'Unauthorized', message: 'wrong login or password' });
  t.notMatch(JSON.stringify(wrong.json), /token/);
});

t.test('malformed login bodies are refused naming the field', async (t) => {
  const missing = await call('POST', '/api/v1/auth/login', { body: { login: org.bin } });
  t.equal(missing.status, 400);
  t.same(missing.json, { error: 'Bad Request', message: 'body/password is required' });
  const typed = await call('POST', '/api/v1/auth/login', {
    body: { login: Number(org.bin), password: ORG_PASSWORD },
  });
  t.equal(typed.status, 400);
  t.match(typed.json.message, /^body\/login must be string/);
  const extra = await call('POST', '/api/v1/auth/login', {
    body: { login: org.bin, password: ORG_PASSWORD, remember: true },
  });
  t.equal(extra.status, 400);
  t.match(extra.json.message, 'body/remember is not allowed');
});

t.test('authenticated routes need a valid bearer token', async (t) => {
  for (const token of [undefined, 'not-a-session-token']) {
    const res = await call('GET', '/api/v1/users', { token });
    t.equal(res.status, 401);
    t.equal(res.json.error, 'Unauthorized');
  }
  t.equal((await call('POST', '/api/v1/auth/logout')).status, 401);
});

t.test('logout revokes only its own session', async (t) => {
  const a = await login(org.bin);
  const b = await login(org.bin);
  const out = await call('POST', '/api/v1/auth/logout', { token: a });
  t.equal(out.status, 204);
  t.equal(out.json, null, 'no body');
  t.equal((await call('GET', '/api/v1/users', { token: a })).status, 401, 'the token is dead');
  t.equal((await call('POST', '/api/v1/auth/logout', { token: a })).status, 401);
  t.equal((await call('GET', '/api/v1/users', { token: b })).status, 200, 'others live on');
});

t.test('repeated failures of one login are slowed down, then refused with 429', async (t) => {
  const victim = await server.registerKkm();
  const o = DEFAULT_LOGIN_THROTTLE;
  for (let i = 1; i <= o.loginSlowAfter; i++) {
    t.equal((await tryLogin(victim.bin, `Guess-${i}!a`)).status, 401, `failure ${i}`);
  }
  const slowed: number[] = [];
  for (let i = o.loginSlowAfter + 1; i <= o.loginLockAfter; i++) {
    const started = Date.now();
    t.equal((await tryLogin(victim.bin, `Guess-${i}!a`)).status, 401, `failure ${i}`);
    slowed.push(Date.now() - started);
  }
  slowed.forEach((ms, i) =>
    t.ok(ms >= (i + 1) * o.delayStepMs - 5, `attempt ${o.loginSlowAfter + i + 1} waited ${ms} ms`),
  );

  const refused = await tryLogin(victim.bin, ORG_PASSWORD);
  t.equal(refused.status, 429, 'refused even with the right password');
  t.equal(refused.json.error, 'Too Many Requests');
  t.match(refused.json.message, /too many failed logins/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.ok(retryAfter > 0 && retryAfter <= o.lockSeconds, `Retry-After ${retryAfter}`);
  t.equal((await tryLogin(victim.bin, 'Another-guess1!')).status, 429, 'still refused');

  t.equal((await tryLogin(org.bin, ORG_PASSWORD)).status, 200, 'other logins are unaffected');

  // The lock ends with its counter: expire it as time would.
  const keys = await server.redis.keys(`${server.config.redisPrefix}login-fail:login:*`);
  t.ok(keys.length >= 1, 'counters live under the server prefix');
  for (const key of keys) t.ok((await server.redis.pttl(key)) > 0, 'every counter expires');
  await Promise.all(keys.map((k) => server.redis.del(k)));
  t.equal((await tryLogin(victim.bin, ORG_PASSWORD)).status, 200, 'allowed after the lock');
});

t.test("a successful login clears the login's failures", async (t) => {
  const other = await server.registerKkm();
  const lockAfter = DEFAULT_LOGIN_THROTTLE.loginLockAfter;
  for (let i = 0; i < lockAfter - 1; i++) await tryLogin(other.bin, `Guess-${i}!a`);
  t.equal((await tryLogin(other.bin, ORG_PASSWORD)).status, 200);
  for (let i = 0; i < lockAfter - 1; i++) await tryLogin(other.bin, `Guess-${i}!b`);
  t.equal((await tryLogin(other.bin, ORG_PASSWORD)).status, 200, 'not locked: counting restarted');
});

t.test('thresholds are options; one address guessing many logins is throttled too', async (t) => {
  const logLines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const app = await loginApp(
    server,
    { addressSlowAfter: 2, addressLockAfter: 4, delayStepMs: 100, lockSeconds: 60 },
    { loggerInstance: pino({ level: 'trace' }, stream) },
  );
  t.teardown(() => app.close());
  const attempt = (loginName: string, password: string, remoteAddress = '10.9.8.7') =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { login: loginName, password },
      remoteAddress,
    });

  const secret = 'Distinct-guess7!';
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const started = Date.now();
    t.equal((await attempt(`someone-${i}`, secret)).statusCode, 401);
    times.push(Date.now() - started);
  }
  t.ok(times[2]! >= 95 && times[3]! >= 195, `attempts 3 and 4 waited (${times.join(', ')} ms)`);
  const refused = await attempt('someone-else', secret);
  t.equal(refused.statusCode, 429, 'the address is refused, whatever the login');
  t.equal(refused.headers['retry-after'], '60');
  const elsewhere = await attempt(org.bin, ORG_PASSWORD, '10.9.8.8');
  t.equal(elsewhere.statusCode, 200, 'another address logs in');

  const log = logLines.join('');
  t.match(log, /login failed/, 'failures are logged');
  t.match(log, /logged in/, 'logins are logged');
  t.notOk(log.includes(secret), 'a guessed password never reaches the log');
  t.notOk(log.includes(ORG_PASSWORD), 'the real password never reaches the log');
  t.notOk(log.includes(elsewhere.json().token), 'nor the session token');
});

t.test('the OpenAPI document describes the identity routes', async (t) => {
  const res = await call('GET', '/api/v1/openapi.json');
  t.equal(res.status, 200);
  const paths = res.json.paths;
  const loginOp = paths['/api/v1/auth/login'].post;
  t.same(loginOp.tags, ['auth']);
  t.type(loginOp.summary, 'string');
  t.same(loginOp.security, [], 'login is public');
  t.ok(loginOp.requestBody.content['application/json'].schema.properties.password);
  t.ok(paths['/api/v1/auth/logout'].post.summary);
  for (const [path, methods] of [
    ['/api/v1/users', ['get', 'post']],
    ['/api/v1/users/{id}', ['get', 'put', 'delete']],
    ['/api/v1/groups', ['get', 'post']],
    ['/api/v1/groups/{id}', ['get', 'put', 'delete']],
  ] as const) {
    for (const m of methods) {
      const op = paths[path]?.[m];
      t.ok(op?.summary, `${m} ${path} has a summary`);
      t.ok(op?.tags?.length, `${m} ${path} has tags`);
      t.equal(op?.security, undefined, `${m} ${path} uses the default bearer security`);
    }
  }
  const view = paths['/api/v1/users/{id}'].get.responses['200'].content['application/json'].schema;
  t.notOk('password' in view.properties || 'passwordHash' in view.properties);
});
