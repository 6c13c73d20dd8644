import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ResultCode } from '../../src/protocol/schema.js';

const server = await startTestServer({ TEST_LOG_LEVEL: 'warn' });
t.teardown(() => server.stop());

t.test('a KKM session over TCP', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const info = await dev.send(requests.info());
  t.equal(info.response.result.result_code, 0, 'info ok');
  const tk = await dev.send(requests.ticket(ticket(seededRandom(1), { items: 3 })));
  t.equal(
    tk.response.result.result_code,
    ResultCode.RESULT_TYPE_OK,
    'ticket ok: ' + tk.response.result.result_text,
  );
  t.not(tk.header.token, kkm.token, 'token rotated');
  t.ok(tk.response.ticket?.ticket_number);
  console.log(
    tk.response.ticket?.ticket_number,
    Buffer.from(tk.response.ticket!.qr_code!).toString(),
  );
});

t.test('health, readiness, metrics and the OpenAPI document', async (t) => {
  const base = `http://127.0.0.1:${server.httpPort}`;
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { redis: 'ok', clickhouse: 'ok' });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /ofd_ingest_answers_total\{command="ticket",result="0"\} 1/);
  t.match(metrics, /ofd_commit_batch_rows_count/);
  t.match(metrics, /ofd_tcp_connections/);
  const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as { paths: object };
  t.ok(Object.keys(doc.paths).includes('/api/v1/admin/orgs'), 'admin routes documented');
  t.equal((await fetch(`${base}/api/v1/docs`)).status < 400, true, 'docs page served');
});
