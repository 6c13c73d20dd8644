// Exports as an attacker or a careless tenant meets them: text that a spreadsheet would run as a
// formula (item names, cashier names, customer e-mails) is neutralised in every CSV while JSON
// keeps it exact; an expired export is not served even before the cleanup deletes it; and an
// organization cannot queue more exports at once than its quota.
import t from 'tap';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { startTestServer } from '../helpers/server.js';
import { api, ownerToken, parseCsv, unzip, waitFor } from '../helpers/workers.js';

const TTL_MS = 4000;
const PER_ORG = 2;
const server = await startTestServer({
  OFD_EXPORT_TTL_MS: String(TTL_MS),
  OFD_EXPORTS_PER_ORG: String(PER_ORG),
  OFD_RECONCILE_SWEEP_MS: '3600000',
  OFD_MONITOR_INTERVAL_MS: '3600000',
});
t.teardown(() => server.stop());
const call = api(server);
const kkm = await server.registerKkm();
const owner = await ownerToken(server, kkm);

const FORMULAS = ['=HYPERLINK("http://evil")', '+1+cmd|calc', '-2+3', '@SUM(A1)', '\tTAB', '\rCR'];
{
  const dev = server.tcpDevice(kkm);
  const random = seededRandom(3);
  for (const text of FORMULAS) {
    const request = ticket(random, { items: 1 });
    request.items![0]!.commodity!.name = text;
    request.operator = { code: 1, name: text };
    request.extension_options = { customer_email: text };
    const a = await dev.send(requests.ticket(request));
    if (a.response.result.result_code !== 0) throw new Error(a.response.result.result_text ?? '');
  }
}

async function finished(format: 'csv' | 'json') {
  const queued = await call('POST', '/api/v1/exports', owner, {
    kkmId: kkm.kkmId,
    kind: 'tickets',
    shift: 1,
    format,
  });
  if (queued.status !== 202) throw new Error(JSON.stringify(queued.json));
  const jobId = queued.json.jobId as string;
  await waitFor(`export ${jobId}`, async () => {
    const s = await call('GET', `/api/v1/exports/${jobId}`, owner);
    return s.json.state === 'completed';
  });
  const file = await call('GET', `/api/v1/exports/${jobId}/file`, owner);
  return { jobId, file };
}

t.test('formula text is neutralised in every CSV; JSON keeps it exact', async (t) => {
  const { file } = await finished('csv');
  t.equal(file.status, 200);
  const entries = await unzip(file.bytes);
  const column = (entry: string, name: string) => {
    const [header, ...rows] = parseCsv(entries.get(entry)!.toString());
    return rows.map((r) => r[header!.indexOf(name)]);
  };
  const expected = FORMULAS.map((f) => `'${f}`);
  t.same(column('tickets.csv', 'operator_name'), expected, 'cashier names');
  t.same(column('tickets.csv', 'customer_email'), expected, 'customer e-mails');
  t.same(column('items.csv', 'name'), expected, 'item names');
  const raw = entries.get('items.csv')!.toString();
  t.ok(raw.includes(`"'=HYPERLINK(""http://evil"")"`), 'quoted, with the apostrophe inside');
  t.ok(
    column('tickets.csv', 'total').every((v) => /^\d+\.\d\d$/.test(v!)),
    'numbers are left alone',
  );

  const json = await finished('json');
  const tickets = JSON.parse((await unzip(json.file.bytes)).get('tickets.json')!.toString());
  t.same(
    tickets.map((x: { operator: { name: string } }) => x.operator.name),
    FORMULAS,
    'JSON is exact',
  );
});

t.test('an expired export is not served, even before the cleanup runs', async (t) => {
  const { jobId, file } = await finished('csv');
  t.equal(file.status, 200, 'served while fresh');
  await new Promise((r) => setTimeout(r, TTL_MS + 200));
  const late = await call('GET', `/api/v1/exports/${jobId}/file`, owner);
  t.equal(late.status, 410, 'gone once expiresAt has passed');
  t.same(Object.keys(late.json).sort(), ['error', 'message']);
});

t.test('an organization may have only its quota of exports queued at once', async (t) => {
  await server.jobs.exports.pause(); // nothing finishes meanwhile
  t.teardown(() => server.jobs.exports.resume());
  const body = { kkmId: kkm.kkmId, kind: 'tickets', from: '2025-01-01', to: '2025-12-31' };
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => call('POST', '/api/v1/exports', owner, body)),
  );
  const statuses = answers.map((a) => a.status).sort();
  t.same(statuses, [202, 202, 429, 429, 429, 429], `${PER_ORG} accepted, the rest 429`);
  const refused = answers.find((a) => a.status === 429)!;
  t.match(refused.json.message, /at most 2 exports/);
  t.ok(refused.headers.get('retry-after'), 'with Retry-After');

  const other = await server.registerKkm();
  const otherOwner = await ownerToken(server, other);
  const elsewhere = await call('POST', '/api/v1/exports', otherOwner, {
    ...body,
    kkmId: other.kkmId,
  });
  t.equal(elsewhere.status, 202, 'another organization is not affected');
});
