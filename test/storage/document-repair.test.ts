// A commit cut short between the parts of its INSERT: the documents stored, the materialized
// views' parts not (here: the views detached while the documents go in, as a kill would leave
// them). repairDocument makes the views' inserts again for one document: afterwards the
// cabinet's receipt, the receipt check, the cancellation, the KKM's activity, the daily sums
// and the forwarding head all hold it, and a second repair of a document that was not missing
// changes no answer.
import t from 'tap';
import { openTestStore, receiptRow } from '../harness/store.js';
import { ticketNumber } from '../../src/fiscal/device-state.js';
import { wallClockAt } from '../../src/protocol/datetime.js';
import { seededRandom, ticket } from '../../src/sim/documents.js';
import { CabinetQueries } from '../../src/storage/cabinet-queries.js';
import { repairDocument } from '../../src/storage/document-repair.js';

const store = await openTestStore('repair');
const db = store.db;
t.teardown(() => store.close());

const KKM = 77;
const KGD = '000077';
const at = Date.UTC(2026, 4, 4, 10, 0, 0);
const random = seededRandom(8);
const receipt = (seq: number) => {
  const time = at + seq * 60_000;
  return receiptRow(KKM, seq, time, ticket(random, { items: 2, at: new Date(time) }), {
    fns_kkm_id: KGD,
    shift_number: 1,
    state: { seq, shiftNumber: 1, shiftOpen: true },
  });
};
const first = receipt(1);
const second = receipt(2);
const cancel = {
  kkm_id: KKM,
  doc_seq: 3,
  doc_type: 'cancel_ticket',
  cancelled_seq: 1,
  device_time: wallClockAt(at + 3 * 60_000),
  received_at: at + 3 * 60_000,
  state: JSON.stringify({ seq: 3, shiftNumber: 1, shiftOpen: true }),
};
const VIEWS = [
  'forwarding_heads_mv',
  'cabinet_receipts_mv',
  'receipt_check_mv',
  'receipt_cancellations_mv',
  'kkm_activity_documents_mv',
  'daily_receipts_mv',
];
await db.insert('documents', [first]);
for (const view of VIEWS) await db.command(`DETACH TABLE ${view}`);
try {
  await db.insert('documents', [second, cancel]);
} finally {
  for (const view of VIEWS) await db.command(`ATTACH TABLE ${view}`);
}
const queries = new CabinetQueries(db);
const day = ['2026-05-04 00:00:00', '2026-05-05 00:00:00'] as const;
const one = async <T>(sql: string) => (await db.rows<T>(sql, { k: KKM }))[0];
const facts = async () => ({
  cabinet: (await queries.ticket(KKM, ticketNumber(KKM, 2), 2))?.total ?? null,
  check: (
    await one<{ n: number }>(
      // Equal copies are read as one (LIMIT 1 BY), so the receipts found, not the rows.
      `SELECT uniqExact(doc_seq, number) AS n FROM receipt_check
       WHERE kkm_id = {k:UInt32} AND doc_seq = 2`,
    )
  )?.n,
  firstAnnulled: (await queries.ticket(KKM, ticketNumber(KKM, 1), 1))?.annulled,
  lastSeq: (
    await one<{ seq: number }>(
      `SELECT maxMerge(last_seq) AS seq FROM kkm_activity WHERE kkm_id = {k:UInt32}`,
    )
  )?.seq,
  head: (
    await one<{ seq: number }>(
      `SELECT max(doc_seq) AS seq FROM forwarding_heads WHERE kkm_id = {k:UInt32}`,
    )
  )?.seq,
  daySum: (await queries.summary([KKM], ...day)).reduce((n, r) => n + r.sum, 0),
});

t.test('the views lack what the cut-short commit stored', async (t) => {
  const f = await facts();
  t.equal(f.cabinet, null, 'the cabinet has no second receipt');
  t.equal(f.check, 0, 'the receipt check has none');
  t.equal(f.firstAnnulled, false, 'the cancellation of the first is not seen');
  t.equal(f.lastSeq, 1, "the KKM's activity stops at the first document");
  t.equal(f.head, 1, 'the forwarding head too');
});

t.test('repairing the cut-short documents fills every view', async (t) => {
  await repairDocument(db, KKM, 2);
  await repairDocument(db, KKM, 3);
  const f = await facts();
  t.equal(f.cabinet, second.total, 'the cabinet shows the second receipt');
  t.equal(f.check, 1, 'the receipt check finds it');
  t.equal(f.firstAnnulled, true, 'the first is shown cancelled');
  t.equal(f.lastSeq, 3, "the KKM's activity reaches the cancellation");
  t.equal(f.head, 3, 'the forwarding head too');
  t.equal(f.daySum, second.total, "the day's sum: the second receipt (the first is cancelled)");

  // Repairing what was not missing (a resend after a commit that had in fact completed).
  await repairDocument(db, KKM, 1);
  await repairDocument(db, KKM, 2);
  t.same(await facts(), f, 'a second repair changes no answer');
});

t.test('ids out of range are refused without a statement', async (t) => {
  await t.resolves(repairDocument(db, 0, 1));
  await t.resolves(repairDocument(db, KKM, 2 ** 32));
});
