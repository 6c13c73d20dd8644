// The offline reconciliation's sequence checks without a server: gaps and order of printed and
// shift numbers around offline documents, and the offline period check.
import t from 'tap';
import { SequenceCheck, wallMs, type DocFact } from '../../src/fiscal/reconciliation-rules.js';

let seq = 0;
const doc = (over: Partial<DocFact>): DocFact => ({
  seq: ++seq,
  type: 'ticket',
  shift: 1,
  time: '2025-03-01 10:00:00',
  offline: false,
  offlineNumber: 0,
  printed: 0,
  ...over,
});
const run = (
  docs: DocFact[],
  periods = [{ begin: '2025-03-01 09:00:00', end: '2025-03-01 11:00:00' }],
) => {
  const check = new SequenceCheck(42, periods);
  docs.forEach((d) => check.push(d));
  return check;
};
const kinds = (c: SequenceCheck) => c.findings.map((f) => f.kind);

t.test('online neighbours are not checked, however numbered', async (t) => {
  t.same(kinds(run([doc({ printed: 1 }), doc({ printed: 5 }), doc({ shift: 4, printed: 3 })])), []);
});

t.test('a gap in printed numbers next to an offline document', async (t) => {
  const c = run([doc({ printed: 1 }), doc({ printed: 4, offline: true, offlineNumber: 1 })]);
  t.same(kinds(c), ['printed_gap']);
  const f = c.findings[0]!;
  t.equal(f.kkmId, 42);
  t.equal(f.severity, 'warning');
  t.same(f.detail, { previous: 1, printed: 4, missing: 2, previousDocSeq: f.docSeq - 1 });
  t.match(f.message, /2…3 are missing \(2\)/);
});

t.test('printed numbers out of order are an error; unprinted documents are skipped', async (t) => {
  const c = run([
    doc({ printed: 5, offline: true }),
    doc({ printed: 0, offline: true }),
    doc({ printed: 5, offline: true }),
  ]);
  t.same(kinds(c), ['printed_order']);
  t.equal(c.findings[0]!.severity, 'error');
});

t.test('shift numbers: a gap is a warning, going back an error', async (t) => {
  t.same(kinds(run([doc({ shift: 1 }), doc({ shift: 3, offline: true })])), ['shift_gap']);
  t.same(kinds(run([doc({ shift: 3, offline: true }), doc({ shift: 2 })])), ['shift_order']);
  t.same(kinds(run([doc({ shift: 1 }), doc({ shift: 2, offline: true })])), [], 'the next shift');
});

t.test('offline documents outside the reported period, and none reported', async (t) => {
  const c = run([doc({ offline: true, time: '2025-03-01 11:30:00' })]);
  t.same(kinds(c), ['outside_offline_period']);
  t.equal(c.findings[0]!.detail.minutesOutside, 30);
  t.match(c.findings[0]!.message, /after the offline period ended/);
  const inside = run([doc({ offline: true, shift: 7, time: '2025-03-01 10:00:00' })]);
  t.same(kinds(inside), []);
  t.equal(inside.periodShift.get('2025-03-01 09:00:00'), 7, 'the period belongs to shift 7');
  const none = run(
    [doc({ offline: true }), doc({ offline: true }), doc({ offline: true, shift: 2 })],
    [],
  );
  t.same(kinds(none), ['offline_period_missing', 'offline_period_missing'], 'once per shift');
});

t.test('device wall clock', async (t) => {
  t.equal(wallMs('2025-03-01 10:00:00') - wallMs('2025-03-01 09:00:00'), 3_600_000);
});
