// The read models the materialized views keep beside documents (migrations 50–53), written
// the way ingest writes documents, including a retried document stored twice and a cancelled
// receipt: the analytics summary from daily_receipts equals the one summed from the receipts
// and counts a receipt stored twice once; the KKM overview takes the last document's state
// from kkm_activity; one receipt is read from cabinet_receipts with its annulled flag; and
// reads go to the read sessions while the writer's session is busy.
import t from 'tap';
import { openTestStore, receiptRow } from '../harness/store.js';
import { ticketNumber } from '../../src/fiscal/device-state.js';
import { wallClockAt } from '../../src/protocol/datetime.js';
import { seededRandom, ticket } from '../../src/sim/documents.js';
import { CabinetQueries } from '../../src/storage/cabinet-queries.js';

const store = await openTestStore('read-models');
const db = store.db;
t.teardown(() => store.close());

const KKM = 41;
const day0 = Date.UTC(2026, 2, 10, 9, 0, 0);
const random = seededRandom(5);
const receipt = (seq: number, at: number) =>
  receiptRow(KKM, seq, at, ticket(random, { items: 3, at: new Date(at) }), {
    shift_number: 1 + Math.floor((at - day0) / 86_400_000),
    state: { seq, shiftNumber: 9, shiftOpen: true, shiftOpenedAt: 'x' },
  });
const docs = Array.from({ length: 12 }, (_, i) => receipt(i + 1, day0 + i * 4 * 3_600_000));
const cancel = {
  kkm_id: KKM,
  doc_seq: 13,
  doc_type: 'cancel_ticket',
  cancelled_seq: 2,
  device_time: wallClockAt(day0 + 50 * 3_600_000),
  received_at: day0 + 50 * 3_600_000,
  state: JSON.stringify({ seq: 13, shiftNumber: 3, shiftOpen: false }),
};
await db.insert('documents', docs);
await db.insert('documents', [cancel]);
const queries = new CabinetQueries(db);
/** The aggregate path alone (null when it would not answer). */
const daily = (queries as unknown as { dailySummary: CabinetQueries['summary'] }).dailySummary.bind(
  queries,
) as (...a: Parameters<CabinetQueries['summary']>) => Promise<unknown[] | null>;

t.test('the daily summary equals the receipts summed, less the annulled one', async (t) => {
  const whole = ['2026-03-10 00:00:00', '2026-03-13 00:00:00'] as const;
  t.ok(await daily([KKM], ...whole), 'whole days are read from daily_receipts');
  const summary = await queries.summary([KKM], ...whole);
  // A period not on whole days is summed from the receipts themselves.
  const exact = await queries.summary([KKM], '2026-03-10 00:00:00', '2026-03-12 23:59:59');
  t.strictSame(summary, exact);
  t.equal(
    summary.reduce((n, r) => n + r.receipts, 0),
    11,
    'twelve receipts, one annulled',
  );
  const sum = summary.reduce((n, r) => n + r.sum, 0);
  t.equal(
    sum,
    docs.filter((d) => d.doc_seq !== 2).reduce((n, d) => n + d.total, 0),
  );

  // A retried receipt stored a second time: still counted once.
  await db.insert('documents', [docs[5]!]);
  t.equal(await daily([KKM], ...whole), null, 'a day with a copy is not read from the aggregate');
  t.strictSame(await queries.summary([KKM], ...whole), summary, 'a copy changes nothing');
});

t.test('the overview takes the last document and its state from kkm_activity', async (t) => {
  const [k] = await queries.overview([KKM]);
  // No registry row for this KKM: the overview lists registered KKMs only.
  t.equal(k, undefined);
  const [row] = await db.rows<{ seq: number; state: string }>(
    `SELECT maxMerge(last_seq) AS seq, argMaxMerge(last_state) AS state FROM kkm_activity
     WHERE kkm_id = {k:UInt32}`,
    { k: KKM },
  );
  t.equal(row!.seq, 13);
  t.match(JSON.parse(row!.state), { seq: 13, shiftOpen: false });
});

t.test('one receipt from cabinet_receipts, annulled or not', async (t) => {
  const annulled = await queries.ticket(KKM, ticketNumber(KKM, 2), 2);
  t.equal(annulled?.annulled, true);
  t.equal(annulled?.total, docs[1]!.total);
  const kept = await queries.ticket(KKM, ticketNumber(KKM, 6), 6);
  t.equal(kept?.annulled, false);
  t.equal(kept?.items.length, 3);
  t.equal(await queries.ticket(KKM, ticketNumber(KKM, 99), 99), null);
});

t.test('reads do not wait for the writer session', async (t) => {
  // A statement that keeps the writer's session busy for a while.
  const busy = db.command('SELECT sleepEachRow(0.5) FROM numbers(4) FORMAT Null');
  const started = performance.now();
  const [row] = await db.rows<{ n: number }>('SELECT count() AS n FROM cabinet_receipts');
  const readMs = performance.now() - started;
  await busy;
  const busyMs = performance.now() - started;
  t.ok(row!.n >= 12);
  t.ok(readMs < busyMs, `the read (${readMs.toFixed(0)} ms) ended before the writer's statement`);
});
