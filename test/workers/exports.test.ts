// Exports end to end: a KKM's receipts over TCP, an export job through the cabinet API, progress
// polled to 100, the zip holding exactly the stored receipts (CSV and JSON) and Z reports, the
// org scope, expiry, job metrics, and the admin view of failed jobs with retry.
import t from 'tap';
import { ReportType } from '../../src/protocol/schema.js';
import { as203, emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink } from '../../src/sim/kkm-client.js';
import { cleanupExports } from '../../src/workers/exports.js';
import { startTestServer } from '../helpers/server.js';
import {
  api,
  ownerToken,
  parseCsv,
  rowsOf,
  unzip,
  userToken,
  waitFor,
} from '../helpers/workers.js';

const TICKETS = 200;

const server = await startTestServer({
  OFD_EXPORT_PAGE_ROWS: '40',
  OFD_JOB_ATTEMPTS: '2',
  OFD_JOB_BACKOFF_MS: '50',
  OFD_RECONCILE_SWEEP_MS: '3600000',
  OFD_MONITOR_INTERVAL_MS: '3600000',
});
t.teardown(async () => {
  await server.workers?.close();
  await server.stop();
});
const call = api(server);

const kkm = await server.registerKkm();
const owner = await ownerToken(server, kkm);
{
  const dev = server.tcpDevice(kkm);
  const rnd = seededRandom(21);
  const day = Date.UTC(2025, 2, 10, 6, 0, 0);
  for (let i = 0; i < TICKETS; i++) {
    const a = await dev.send(
      requests.ticket(
        ticket(rnd, {
          at: new Date(day + i * 60_000),
          items: 1 + (i % 4),
          payments: i % 3 === 0 ? [0, 1] : [0],
          offlineNumber: i % 50 === 0 ? 1000 + i : undefined,
        }),
      ),
    );
    if (a.response.result.result_code !== 0) throw new Error(a.response.result.result_text ?? '');
  }
  const at = new Date(day + TICKETS * 60_000);
  const x = await dev.send(requests.report(ReportType.REPORT_X, emptyReport(1, at), at));
  const close = await dev.send(requests.closeShift(x.response.report!.zx_report!, at));
  if (close.response.result.result_code !== 0) throw new Error('close failed');
}

async function runExport(body: Record<string, unknown>) {
  const queued = await call('POST', '/api/v1/exports', owner, body);
  if (queued.status !== 202) throw new Error(JSON.stringify(queued.json));
  const jobId = queued.json.jobId as string;
  const samples: number[] = [];
  const status = await waitFor(
    `export ${jobId}`,
    async () => {
      const s = await call('GET', `/api/v1/exports/${jobId}`, owner);
      samples.push(s.json.progress as number);
      if (s.json.state === 'failed') throw new Error(s.json.error);
      return s.json.state === 'completed' ? s.json : null;
    },
    60_000,
    5,
  );
  return { jobId, status, samples };
}

t.test('tickets as CSV: exactly the stored receipts, items and payments', async (t) => {
  const { jobId, status, samples } = await runExport({
    kkmId: kkm.kkmId,
    kind: 'tickets',
    shift: 1,
    format: 'csv',
  });
  t.equal(status.progress, 100, 'progress reaches 100');
  t.equal(status.rows, TICKETS);
  t.ok(
    samples.every((p, i) => i === 0 || p >= samples[i - 1]!),
    `progress never goes back (${samples.join(' ')})`,
  );
  t.equal(samples[samples.length - 1], 100);

  const file = await call('GET', `/api/v1/exports/${jobId}/file`, owner);
  t.equal(file.status, 200);
  t.equal(file.headers.get('content-type'), 'application/zip');
  t.match(file.headers.get('content-disposition'), /attachment; filename="tickets-kkm\d+-exp-/);
  t.equal(file.bytes.length, status.bytes);
  const entries = await unzip(file.bytes);
  t.same([...entries.keys()], ['tickets.csv', 'items.csv', 'payments.csv']);

  const stored = await rowsOf<{ doc_seq: number; ticket_number: string; total: string }>(
    server,
    `SELECT doc_seq, ticket_number, total FROM documents FINAL
     WHERE kkm_id = {k:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
    { k: kkm.kkmId },
  );
  t.equal(stored.length, TICKETS);
  const tickets = parseCsv(entries.get('tickets.csv')!.toString());
  const header = tickets.shift()!;
  t.equal(header[0], 'doc_seq', 'a header row');
  t.equal(tickets.length, TICKETS, 'one row per ticket');
  const col = (name: string) => header.indexOf(name);
  t.same(
    tickets.map((r) => [Number(r[col('doc_seq')]), r[col('ticket_number')]]),
    stored.map((s) => [Number(s.doc_seq), s.ticket_number]),
    'the stored tickets, in order',
  );
  const tenge = (tiyn: string) =>
    `${BigInt(tiyn) / 100n}.${String(BigInt(tiyn) % 100n).padStart(2, '0')}`;
  t.same(
    tickets.map((r) => r[col('total')]),
    stored.map((s) => tenge(s.total)),
    'totals in tenge',
  );
  t.equal(tickets.filter((r) => r[col('is_offline')] === '1').length, Math.ceil(TICKETS / 50));

  const [counts] = await rowsOf<{ items: string; payments: string }>(
    server,
    `SELECT sum(length(items.type)) AS items, sum(length(payments.type)) AS payments
     FROM documents FINAL WHERE kkm_id = {k:UInt32} AND doc_type = 'ticket'`,
    { k: kkm.kkmId },
  );
  const items = parseCsv(entries.get('items.csv')!.toString());
  const payments = parseCsv(entries.get('payments.csv')!.toString());
  t.equal(items.length - 1, Number(counts!.items), 'one row per item');
  t.equal(payments.length - 1, Number(counts!.payments), 'one row per payment');
  t.same(items[1]!.slice(0, 4), [tickets[0]![0], tickets[0]![1], '1', 'commodity']);
});

t.test('tickets as JSON by period, and Z reports', async (t) => {
  const json = await runExport({
    kkmId: kkm.kkmId,
    kind: 'tickets',
    from: '2025-03-10',
    to: '2025-03-10',
    format: 'json',
  });
  const entries = await unzip(
    (await call('GET', `/api/v1/exports/${json.jobId}/file`, owner)).bytes,
  );
  t.same([...entries.keys()], ['tickets.json']);
  const list = JSON.parse(entries.get('tickets.json')!.toString()) as any[];
  t.equal(list.length, TICKETS);
  t.ok(list.every((x) => x.items.length >= 1 && x.payments.length >= 1));

  // A period that holds only the first hour of receipts (to is exclusive).
  const hour = await runExport({
    kkmId: kkm.kkmId,
    kind: 'tickets',
    from: '2025-03-10T06:00',
    to: '2025-03-10T07:00',
    format: 'json',
  });
  t.equal(hour.status.rows, 60);

  const reports = await runExport({ kkmId: kkm.kkmId, kind: 'reports', shift: 1 });
  const r = await unzip((await call('GET', `/api/v1/exports/${reports.jobId}/file`, owner)).bytes);
  const rows = parseCsv(r.get('reports.csv')!.toString());
  t.equal(rows.length, 2, 'header and the one Z report');
  const head = rows[0]!;
  t.equal(rows[1]![head.indexOf('shift_number')], '1');
  t.equal(rows[1]![head.indexOf('differences')], '0', 'device and server agree');
  t.equal(rows[1]![head.indexOf('server_sell_count')], String(TICKETS));
});

t.test('2.0.3 receipts: the new columns in CSV and JSON', async (t) => {
  const kkm203 = await server.registerKkm({ orgId: kkm.orgId });
  const link = new TcpLink(server.tcp!.port);
  t.teardown(() => link.close());
  const dev = new KkmDevice(kkm203.kkmId, kkm203.token, link.send, 203);
  const tk = ticket(seededRandom(5), { items: 1, payments: [1] });
  tk.items![0]!.commodity!.ntin = '0487000123456';
  tk.items![0]!.commodity!.list_excise_stamp = ['S1', 'S2'];
  tk.payments![0]!.card_payment_fields = { pos_terminal_id: 'T-9', pos_rrn: 77 };
  const a = await dev.send(as203(requests.ticket(tk)));
  t.equal(a.response.result.result_code, 0, a.response.result.result_text ?? '');
  const csv = await runExport({ kkmId: kkm203.kkmId, kind: 'tickets', shift: 1 });
  const files = await unzip((await call('GET', `/api/v1/exports/${csv.jobId}/file`, owner)).bytes);
  const [ticketHead, ticketRow] = parseCsv(files.get('tickets.csv')!.toString());
  t.equal(ticketRow![ticketHead!.indexOf('protocol_version')], '203');
  t.equal(ticketRow![ticketHead!.indexOf('domain')], '0');
  const [itemHead, itemRow] = parseCsv(files.get('items.csv')!.toString());
  t.equal(itemRow![itemHead!.indexOf('ntin')], '0487000123456');
  t.equal(itemRow![itemHead!.indexOf('excise_stamps')], 'S1 S2');
  const [payHead, payRow] = parseCsv(files.get('payments.csv')!.toString());
  t.equal(payRow![payHead!.indexOf('card_terminal_id')], 'T-9');
  t.equal(payRow![payHead!.indexOf('card_rrn')], '77');
  const json = await runExport({ kkmId: kkm203.kkmId, kind: 'tickets', shift: 1, format: 'json' });
  const list = JSON.parse(
    (await unzip((await call('GET', `/api/v1/exports/${json.jobId}/file`, owner)).bytes))
      .get('tickets.json')!
      .toString(),
  ) as any[];
  t.match(list[0], {
    protocolVersion: 203,
    parentTicket: null,
    items: [{ ntin: '0487000123456', excise_stamps: ['S1', 'S2'] }],
    payments: [{ type: 'card', card: { terminalId: 'T-9', rrn: 77 }, mobile: null }],
  });
});

t.test('scope, permission and validation', async (t) => {
  const { jobId } = await runExport({ kkmId: kkm.kkmId, kind: 'tickets', shift: 1 });
  const other = await server.registerKkm();
  const stranger = await ownerToken(server, other);
  t.equal((await call('GET', `/api/v1/exports/${jobId}`, stranger)).status, 404);
  t.equal((await call('GET', `/api/v1/exports/${jobId}/file`, stranger)).status, 404);
  const foreign = await call('POST', '/api/v1/exports', stranger, {
    kkmId: kkm.kkmId,
    kind: 'tickets',
    shift: 1,
  });
  t.equal(foreign.status, 404, "another org's KKM cannot be exported");
  t.equal((await call('GET', `/api/v1/exports/${jobId}`, null)).status, 401);
  const reader = await userToken(server, kkm, ['transactions']);
  t.equal(
    (await call('POST', '/api/v1/exports', reader, { kkmId: kkm.kkmId, kind: 'tickets', shift: 1 }))
      .status,
    403,
    "the 'exports' permission is needed",
  );
  t.equal((await call('GET', `/api/v1/exports/${jobId}`, reader)).status, 403);
  const exporter = await userToken(server, kkm, ['exports']);
  t.equal((await call('GET', `/api/v1/exports/${jobId}`, exporter)).status, 200);
  t.equal(
    (await call('GET', '/api/v1/exports/exp-00000000-0000-0000-0000-000000000000', owner)).status,
    404,
  );

  for (const [body, message] of [
    [{ kkmId: kkm.kkmId, kind: 'tickets' }, /give shift, or from and to/],
    [{ kkmId: kkm.kkmId, kind: 'tickets', shift: 1, from: '2025-03-10' }, /not both/],
    [{ kkmId: kkm.kkmId, kind: 'tickets', from: '2025-03-10', to: '2025-02-10' }, /after from/],
    [{ kkmId: kkm.kkmId, kind: 'tickets', from: '2025-02-31', to: '2025-03-10' }, /from is not/],
    [{ kkmId: kkm.kkmId, kind: 'receipts', shift: 1 }, /kind must be one of/],
    [{ kkmId: kkm.kkmId, kind: 'tickets', shift: 1, format: 'xml' }, /format must be one of/],
  ] as const) {
    const res = await call('POST', '/api/v1/exports', owner, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.json.message, message);
  }
});

t.test('files expire; metrics show the jobs', async (t) => {
  const { jobId } = await runExport({ kkmId: kkm.kkmId, kind: 'reports', shift: 1 });
  t.ok((await cleanupExports(server.config.dataDir, 0, Date.now() + 1000)) >= 1);
  const gone = await call('GET', `/api/v1/exports/${jobId}/file`, owner);
  t.equal(gone.status, 410);
  t.match(gone.json.message, /expired/);

  await server.workers!.refreshDepths();
  const metrics = (await call('GET', '/metrics', null)).bytes.toString();
  t.match(metrics, /ofd_job_seconds_count\{queue="exports",name="export",status="completed"\} \d+/);
  t.match(metrics, /ofd_queue_jobs\{queue="exports",state="completed"\} \d+/);
  t.match(metrics, /ofd_queue_jobs\{queue="reconciliation",state="waiting"\} 0/);
});

t.test('failed jobs: listed and retried by the admin', async (t) => {
  // An export whose period ClickHouse cannot read fails every attempt.
  const bad = await server.jobs.exports.add(
    'export',
    {
      orgId: kkm.orgId,
      userId: 0,
      kkmId: kkm.kkmId,
      kind: 'tickets',
      format: 'csv',
      from: 'not a date',
      to: 'not a date',
    },
    { jobId: 'exp-broken-1' },
  );
  await waitFor('the job to fail', async () => (await bad.getState()) === 'failed');
  const failed = await server.admin('GET', '/api/v1/admin/jobs/failed');
  t.equal(failed.status, 200);
  const item = failed.json.items.find((j: any) => j.id === 'exp-broken-1');
  t.match(item, { queue: 'exports', name: 'export', attemptsMade: 2 });
  t.match(item.failedReason, /./);
  t.equal(failed.json.counts.exports, 1);

  const retried = await server.admin('POST', '/api/v1/admin/jobs/exp-broken-1/retry');
  t.equal(retried.status, 200);
  t.equal(retried.json.id, 'exp-broken-1');
  await waitFor('the retried job to fail again', async () => {
    const j = await server.jobs.exports.getJob('exp-broken-1');
    return j && (await j.getState()) === 'failed' && j.attemptsMade === 2;
  });
  t.equal((await server.admin('POST', '/api/v1/admin/jobs/nope/retry')).status, 404);
  const notFailed = await server.admin(
    'POST',
    '/api/v1/admin/jobs/exp-broken-1/retry?queue=maintenance',
  );
  t.equal(notFailed.status, 404, 'looked up in the named queue only');

  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/admin/jobs/failed`);
  t.equal(res.status, 401, 'admin bearer needed');
});

t.test('closing the workers lets a running export finish and keeps queued jobs', async (t) => {
  const body = { kkmId: kkm.kkmId, kind: 'tickets', shift: 1, format: 'json' };
  const { json } = await call('POST', '/api/v1/exports', owner, body);
  const running = await waitFor(
    'the export to start',
    async () => {
      const state = await (await server.jobs.exports.getJob(json.jobId))?.getState();
      return state === 'active' || state === 'completed' ? state : null;
    },
    30_000,
    2,
  );
  t.comment(`state at close: ${running}`);
  await server.workers!.close();
  const job = await server.jobs.exports.getJob(json.jobId);
  t.equal(await job!.getState(), 'completed', 'the running export finished before close returned');
  t.equal(job!.returnvalue.rows, TICKETS);

  const later = await call('POST', '/api/v1/exports', owner, body);
  t.equal(later.status, 202, 'the API still queues exports');
  await new Promise((r) => setTimeout(r, 300));
  const waiting = await server.jobs.exports.getJob(later.json.jobId);
  t.equal(await waiting!.getState(), 'waiting', 'kept in Redis for the next worker');
});
