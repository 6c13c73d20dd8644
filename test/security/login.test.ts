// The login throttle against an attacker who knows the owner's login (a BIN is public): its
// failures from one address never lock the owner out at another, the client address is taken
// from a trusted reverse proxy (OFD_TRUST_PROXY), and an address locked for guessing still lets
// in the logins that have logged in from it before.
import t from 'tap';
import { DEFAULT_LOGIN_THROTTLE } from '../../src/api/cabinet/login-throttle.js';
import { loginApp, ORG_PASSWORD } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

// The server believes X-Forwarded-For from the loopback proxy, as behind nginx.
const server = await startTestServer({ OFD_TRUST_PROXY: '127.0.0.1' });
t.teardown(() => server.stop());
const base = `http://127.0.0.1:${server.httpPort}`;

const loginFrom = (client: string, login: string, password: string) =>
  fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
    body: JSON.stringify({ login, password }),
  }).then((r) => r.status);

t.test('an owner can log in while another address fails its password', async (t) => {
  const victim = await server.registerKkm();
  const attempts = DEFAULT_LOGIN_THROTTLE.loginLockAfter + 2;
  const statuses: number[] = [];
  for (let i = 0; i < attempts; i++) {
    statuses.push(await loginFrom('198.51.100.7', victim.bin, `Wrong-guess${i}!`));
  }
  t.same(statuses.slice(0, -2), Array(attempts - 2).fill(401), 'the guesses fail');
  t.same(statuses.slice(-2), [429, 429], 'then the guessing address is refused');
  t.equal(await loginFrom('203.0.113.20', victim.bin, ORG_PASSWORD), 200, 'the owner gets in');
  t.equal(
    await loginFrom('198.51.100.7', victim.bin, ORG_PASSWORD),
    429,
    'the guessing address stays refused, even with the right password',
  );
});

t.test('an address locked for guessing still lets in logins known there', async (t) => {
  const app = await loginApp(server, {
    addressSlowAfter: 100,
    addressLockAfter: 6,
    lockSeconds: 60,
  });
  t.teardown(() => app.close());
  const office = '10.20.30.40';
  const attempt = (login: string, password: string) =>
    app
      .inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { login, password },
        remoteAddress: office,
      })
      .then((r) => r.statusCode);

  const neighbour = await server.registerKkm();
  t.equal(await attempt(neighbour.bin, ORG_PASSWORD), 200, 'an organization logs in there');
  for (let i = 0; i < 6; i++) await attempt(`guess-${i}`, 'Wrong-guess1!');
  t.equal(await attempt('guess-next', 'Wrong-guess1!'), 429, 'the address is locked for guessing');
  t.equal(await attempt(neighbour.bin, ORG_PASSWORD), 200, 'the organization still logs in');
});
