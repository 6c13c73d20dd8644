// Offline-queue reconciliation end to end: a KKM uploads an offline burst over TCP, the debounced
// job finds exactly what is wrong with it, stores findings and raises notifications (also on the
// live feed), re-running adds nothing, and the sweep finds a burst whose job was lost.
import t from 'tap';
import type { LiveEvent } from '../../src/telemetry/live-feed.js';
import { Command, ReportType, proto, type IZXReport } from '../../src/protocol/schema.js';
import { dateTime, emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import type { KkmDevice } from '../../src/sim/kkm-client.js';
import { Notifications } from '../../src/storage/notifications.js';
import type { RegisteredKkm } from '../helpers/server.js';
import {
  api,
  ownerToken,
  rowsOf,
  startWatchedServer,
  userToken,
  waitFor,
} from '../helpers/workers.js';

const { server, feed } = await startWatchedServer(t, {
  // A burst is the uploads of one second; its job runs 1.5 s after that second ends.
  OFD_RECONCILE_BURST_MS: '1000',
  OFD_RECONCILE_DELAY_MS: '1500',
  OFD_RECONCILE_SWEEP_MS: '3600000',
  OFD_MONITOR_INTERVAL_MS: '3600000',
});
const call = api(server);
const notifications = new Notifications(server.db);

const wall = (day: number, h: number, m = 0) => new Date(Date.UTC(2025, 2, day, h, m, 0));

async function ok(dev: KkmDevice, request: Parameters<KkmDevice['send']>[0]) {
  const answer = await dev.send(request);
  if (answer.response.result.result_code !== 0) {
    throw new Error(
      `answer ${answer.response.result.result_code}: ${answer.response.result.result_text}`,
    );
  }
  return answer;
}

const offlinePeriod = (begin: Date, end: Date) => ({
  command: Command.COMMAND_SYSTEM,
  service: { offline_period: { begin_time: dateTime(begin), end_time: dateTime(end) } },
});

const findingsOf = (kkmId: number) =>
  rowsOf<{ shift_number: number; kind: string; subject: string; doc_seq: number }>(
    server,
    `SELECT shift_number, kind, subject, doc_seq FROM reconciliation_findings FINAL
     WHERE kkm_id = {kkm:UInt32} ORDER BY kind, subject`,
    { kkm: kkmId },
  );
const rawCount = async (table: string, where: string, params: Record<string, unknown>) =>
  Number(
    (
      await rowsOf<{ n: string }>(
        server,
        `SELECT count() AS n FROM ${table} WHERE ${where}`,
        params,
      )
    )[0]!.n,
  );
const reconciliationNotes = async (kkm: RegisteredKkm) =>
  (await notifications.list(kkm.orgId, 31, 'all')).filter(
    (n) => n.kkmId === kkm.kkmId && n.kind.startsWith('reconciliation_'),
  );

t.test('an offline burst yields exactly its findings and notifications, once', async (t) => {
  const kkm = await server.registerKkm();
  const live: LiveEvent[] = [];
  const unsubscribe = await feed.subscribe(kkm.orgId, (e) => live.push(e));
  t.teardown(unsubscribe);
  const dev = server.tcpDevice(kkm);
  const rnd = seededRandom(11);

  // Online: shift 1 opens with printed document 1.
  await ok(dev, requests.ticket(ticket(rnd, { at: wall(10, 6), printedNumber: 1, items: 2 })));
  // Back from an outage 08:00–10:00, the device uploads its queue in order.
  await ok(dev, offlinePeriod(wall(10, 8), wall(10, 10)));
  const outside = await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(10, 7, 30), offlineNumber: 100, printedNumber: 2 })),
  );
  await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(10, 8, 10), offlineNumber: 101, printedNumber: 3 })),
  );
  await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(10, 8, 20), offlineNumber: 102, printedNumber: 4 })),
  );
  // Printed document 5 never came, and offline number 102 is used again the same day.
  await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(10, 8, 30), offlineNumber: 102, printedNumber: 6 })),
  );
  // The shift closed offline; the device's Z counts 1 tenge more in sales than its receipts.
  const x = await ok(
    dev,
    requests.report(ReportType.REPORT_X, emptyReport(1, wall(10, 8, 40)), wall(10, 8, 40)),
  );
  const z = proto.ZXReport.toObject(x.response.report!.zx_report as never, {
    longs: Number,
    enums: Number,
    defaults: true,
  }) as IZXReport;
  const sell = z.ticket_operations!.find((o) => o.operation === 2)!;
  sell.tickets_sum = {
    bills: Number(sell.tickets_sum!.bills) + 1,
    coins: sell.tickets_sum!.coins ?? 0,
  };
  await ok(
    dev,
    requests.closeShift(z, wall(10, 8, 40), { is_offline: true, printed_document_number: 7 }),
  );

  const expected = [
    { shift_number: 1, kind: 'duplicate_offline_number', subject: '2025-03-10:102', doc_seq: 5 },
    { shift_number: 1, kind: 'outside_offline_period', subject: '2', doc_seq: 2 },
    { shift_number: 1, kind: 'printed_gap', subject: '4-6', doc_seq: 5 },
    {
      shift_number: 1,
      kind: 'z_mismatch',
      subject: 'ticket_operations[2].tickets_sum',
      doc_seq: 6,
    },
  ];
  t.equal(outside.response.result.result_code, 0, 'offline documents are accepted as sent');

  const job = await waitFor('the burst job to complete', async () => {
    const done = await server.jobs.reconciliation.getJobs(['completed']);
    return done.find((j) => j.data.kkmId === kkm.kkmId);
  });
  t.same(await findingsOf(kkm.kkmId), expected, 'exactly the findings of the burst');
  t.match(job.returnvalue, { kkmId: kkm.kkmId, toSeq: 6, added: 4 });

  const notes = await reconciliationNotes(kkm);
  t.same(
    notes.map((n) => n.kind).sort(),
    [
      'reconciliation_duplicate_offline_number',
      'reconciliation_outside_offline_period',
      'reconciliation_printed_gap',
      'reconciliation_z_mismatch',
    ],
    'one notification per kind of finding',
  );
  const zNote = notes.find((n) => n.kind === 'reconciliation_z_mismatch')!;
  t.match(zNote.title, /shift 1: 1 figure/);
  t.match(JSON.stringify(zNote.detail), /tickets_sum: device Z .* \(device \+1\.00\)/);
  await waitFor('live notifications', async () =>
    live.filter((e) => e.type === 'notification').length >= 4 ? true : null,
  );
  t.equal(live.filter((e) => e.type === 'notification').length, 4, 'pushed on the live feed');

  // The cabinet read: the owner sees them; another org does not see the KKM at all.
  const owner = await ownerToken(server, kkm);
  const res = await call('GET', `/api/v1/kkms/${kkm.kkmId}/reconciliation`, owner);
  t.equal(res.status, 200);
  t.equal(res.json.findings.length, 4);
  t.equal(res.json.reconciledUpTo.docSeq, 6);
  const z1 = res.json.findings.find((f: any) => f.kind === 'z_mismatch');
  t.match(z1.detail, { field: 'ticket_operations[2].tickets_sum', difference: 100, unit: 'tiyn' });
  const byShift = await call('GET', `/api/v1/kkms/${kkm.kkmId}/reconciliation?shift=2`, owner);
  t.same(byShift.json.findings, [], 'filtered by shift');
  const other = await server.registerKkm();
  const stranger = await ownerToken(server, other);
  t.equal((await call('GET', `/api/v1/kkms/${kkm.kkmId}/reconciliation`, stranger)).status, 404);
  t.equal((await call('GET', `/api/v1/kkms/${kkm.kkmId}/reconciliation`, null)).status, 401);
  const noPermission = await userToken(server, kkm, ['reports']);
  t.equal(
    (await call('GET', `/api/v1/kkms/${kkm.kkmId}/reconciliation`, noPermission)).status,
    403,
  );

  // Re-running: the same job again, then everything from the first document: nothing new.
  const findingRows = () =>
    rawCount('reconciliation_findings', 'kkm_id = {k:UInt32}', { k: kkm.kkmId });
  const noteRows = () => rawCount('notifications', 'org_id = {o:UInt32}', { o: kkm.orgId });
  const [findingsBefore, notesBefore] = [await findingRows(), await noteRows()];
  t.equal(findingsBefore, 4);
  const firstFinish = job.finishedOn;
  await job.retry('completed');
  await waitFor('the re-run', async () => {
    const again = await server.jobs.reconciliation.getJob(job.id!);
    return again && (await again.getState()) === 'completed' && again.finishedOn !== firstFinish;
  });
  const full = await server.jobs.reconciliation.add(
    'reconcile',
    { kkmId: kkm.kkmId, reason: 'manual', fromSeq: 0 },
    { jobId: `recon-${kkm.kkmId}-manual-test` },
  );
  const fullDone = await waitFor('the full re-run', async () => {
    const j = await server.jobs.reconciliation.getJob(full.id!);
    return j && (await j.getState()) === 'completed' ? j : null;
  });
  t.match(fullDone.returnvalue, { fromSeq: 0, findings: 4, added: 0 }, 'found again, added none');
  t.equal(await findingRows(), findingsBefore, 'no finding row added');
  t.equal(await noteRows(), notesBefore, 'no notification row added');
  t.equal((await reconciliationNotes(kkm)).length, 4);

  // Documents stay exactly as sent.
  const [doc] = await rowsOf<{ n: string; offline: string }>(
    server,
    `SELECT count() AS n, sum(offline_number) AS offline FROM documents FINAL WHERE kkm_id = {k:UInt32}`,
    { k: kkm.kkmId },
  );
  t.same(doc, { n: '6', offline: String(100 + 101 + 102 + 102) });
});

t.test('the sweep picks up a burst whose job was deleted', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  const rnd = seededRandom(12);
  await ok(dev, requests.ticket(ticket(rnd, { at: wall(1, 0, 0), printedNumber: 1, items: 1 })));
  // Offline for 84 hours.
  await ok(dev, offlinePeriod(wall(1, 0, 30), wall(4, 12, 30)));
  await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(2, 10), offlineNumber: 201, printedNumber: 2 })),
  );
  await ok(
    dev,
    requests.ticket(ticket(rnd, { at: wall(2, 11), offlineNumber: 202, printedNumber: 3 })),
  );

  // Lose its job (as if Redis lost it, or the enqueue failed).
  const lost = async () => {
    const pending = await server.jobs.reconciliation.getJobs(['delayed', 'waiting']);
    const mine = pending.filter((j) => j.data.kkmId === kkm.kkmId);
    for (const j of mine) await j.remove();
    return mine.length;
  };
  t.ok((await lost()) >= 1, 'the burst job was queued, and is now deleted');
  await new Promise((r) => setTimeout(r, 3000));
  await lost();
  t.same(await findingsOf(kkm.kkmId), [], 'nothing reconciled without the job');

  const swept = await server.workers!.tasks.sweep(0);
  t.ok(swept.queued >= 1, 'the sweep queued it');
  const found = await waitFor('the swept burst to be reconciled', async () => {
    const rows = await findingsOf(kkm.kkmId);
    return rows.length ? rows : null;
  });
  t.same(found, [
    {
      shift_number: 1,
      kind: 'offline_period_too_long',
      subject: '2025-03-01 00:30:00',
      doc_seq: 0,
    },
  ]);
  const notes = await reconciliationNotes(kkm);
  t.same(
    notes.map((n) => n.kind),
    ['reconciliation_offline_period_too_long'],
  );
  t.match(notes[0]!.title, /84\.0 h, more than 72 h|1 offline period/);

  await waitFor('progress to be stored', async () => {
    const res = await rowsOf(
      server,
      'SELECT 1 FROM reconciliation_progress FINAL WHERE kkm_id = {k:UInt32}',
      {
        k: kkm.kkmId,
      },
    );
    return res.length > 0;
  });
  const again = await server.workers!.reconciler.unreconciled(7, 0);
  t.notOk(
    again.some((k) => k.kkmId === kkm.kkmId),
    'once reconciled, the sweep leaves it alone',
  );
});
