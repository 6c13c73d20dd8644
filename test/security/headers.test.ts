// What every HTTP answer tells the browser: no MIME sniffing, no framing, no caching of personal
// data or archives, HSTS on TLS only; and /metrics and the docs page guarded by configuration.
import t from 'tap';
import { cabinetClient } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const METRICS_TOKEN = 'metrics-token-0123456789';
const server = await startTestServer({
  OFD_METRICS_TOKEN: METRICS_TOKEN,
  OFD_API_DOCS: 'off',
  OFD_TRUST_PROXY: '127.0.0.1',
});
t.teardown(() => server.stop());
const base = `http://127.0.0.1:${server.httpPort}`;
const { login } = cabinetClient(server);
const kkm = await server.registerKkm();
const owner = await login(kkm.bin);

const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });

t.test('personal data: nosniff, no framing, no-store', async (t) => {
  for (const [path, auth] of [
    ['/api/v1/kkms', `Bearer ${owner}`],
    [`/api/v1/admin/kkms/${kkm.kkmId}`, `Bearer ${server.adminToken}`],
  ] as const) {
    const res = await get(path, { authorization: auth });
    t.equal(res.status, 200, path);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.equal(res.headers.get('x-frame-options'), 'DENY');
    t.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    t.equal(res.headers.get('cache-control'), 'no-store', `${path} is not cached`);
    t.equal(res.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
  }
  const refused = await get('/api/v1/kkms');
  t.equal(refused.status, 401);
  t.equal(refused.headers.get('cache-control'), 'no-store', 'errors neither');
});

t.test('HSTS when the request came over TLS (at a trusted proxy)', async (t) => {
  const res = await get('/api/v1/kkms', {
    authorization: `Bearer ${owner}`,
    'x-forwarded-proto': 'https',
  });
  t.match(res.headers.get('strict-transport-security'), /max-age=\d+/);
});

t.test('the KKM HTTP route gets nosniff too', async (t) => {
  const res = await fetch(`${base}/kkm`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from('not a frame'),
  });
  t.equal(res.status, 400);
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

t.test('/metrics needs its token when one is configured; the docs page can be off', async (t) => {
  t.equal((await get('/metrics')).status, 401, 'no token');
  t.equal((await get('/metrics', { authorization: 'Bearer wrong-token-0000000' })).status, 401);
  const ok = await get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
  t.equal(ok.status, 200);
  t.match(await ok.text(), /ofd_ingest_answers_total/);
  t.equal((await get('/api/v1/docs')).status, 404, 'no docs page');
  t.equal((await get('/healthz')).status, 200, 'health stays open');
});
