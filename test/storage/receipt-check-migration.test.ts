// Migration 20 on a database that already holds receipts: documents stored before it (without
// the KGD number) are copied into receipt_check with the KGD number from the registry, their
// cancellations into receipt_cancellations, and a receipt stored afterwards arrives through
// the materialized view; the lookup finds each by its QR facts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openClickHouse } from '../../src/storage/clickhouse.js';
import { clickHouseDb } from '../../src/storage/db.js';
import { migrate, migrations } from '../../src/storage/migrations.js';
import { ReceiptLookup } from '../../src/storage/receipt-lookup.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ofd-test-'));
const ch = openClickHouse({ dataDir });
t.teardown(async () => {
  await ch.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// The schema as it was before migration 20 (and the read models after it, 50 and 51).
await migrate(clickHouseDb(ch));
await ch.command({ query: 'DROP VIEW cabinet_receipts_mv' });
await ch.command({ query: 'DROP TABLE cabinet_receipts' });
await ch.command({ query: 'DROP VIEW receipt_check_mv' });
await ch.command({ query: 'DROP VIEW receipt_cancellations_mv' });
await ch.command({ query: 'DROP TABLE receipt_check' });
await ch.command({ query: 'DROP TABLE receipt_cancellations' });
await ch.command({ query: 'ALTER TABLE documents DROP COLUMN fns_kkm_id' });
await ch.command({
  query:
    'ALTER TABLE schema_migrations DELETE WHERE version IN (20, 50, 51) SETTINGS mutations_sync = 2',
});

const doc = (seq: number, extra: Record<string, unknown>) => ({
  kkm_id: 7,
  doc_seq: seq,
  org_id: 1,
  point_id: 2,
  shift_number: 1,
  device_time: `2026-03-10 09:0${seq}:00`,
  received_at: Date.now(),
  ...extra,
});
// One commodity line: every column of the Nested items, as ticketFigures writes them.
const item = (total: number) => ({
  'items.type': [1],
  'items.ntin': [''],
  'items.excise_stamps': [[]],
  'items.name': ['Хлеб'],
  'items.section': ['1'],
  'items.quantity': [1000],
  'items.price': [total],
  'items.sum': [total],
  'items.code': [0],
  'items.barcode': [''],
  'items.unit': ['796'],
  'items.tax_percent': [0],
  'items.tax_sum': [0],
});
const sale = (seq: number, total: number, offline = 0) =>
  doc(seq, {
    doc_type: 'ticket',
    ticket_number: `7000000000${seq}`,
    operation: 2,
    total,
    is_offline: offline ? 1 : 0,
    offline_number: offline,
    ...item(total),
    'payments.type': [0],
    'payments.sum': [total],
    ...Object.fromEntries(
      ['card_terminal_id', 'card_type', 'mobile_qr_type', 'mobile_qr_id'].map((c) => [
        `payments.${c}`,
        [''],
      ]),
    ),
    ...Object.fromEntries(
      ['card_auth_code', 'card_rrn', 'card_receipt_number'].map((c) => [`payments.${c}`, [0]]),
    ),
  });
await ch.insert({
  table: 'kkms',
  values: [
    { kkm_id: 7, org_id: 1, point_id: 2, fns_kkm_id: 'KGD-7', status: 'active', version: 1 },
  ],
  format: 'JSONEachRow',
});
await ch.insert({
  table: 'documents',
  values: [
    sale(1, 15_000),
    sale(2, 2_500, 1773133200),
    doc(3, { doc_type: 'cancel_ticket', cancelled_seq: 2 }),
  ],
  format: 'JSONEachRow',
});

t.test('migration 20 over stored receipts, then the view', async (t) => {
  t.ok(migrations.some((m) => m.version === 20));
  t.same(
    await migrate(clickHouseDb(ch)),
    [20, 50, 51],
    'migrations 20, 50 and 51 applied to the stored receipts',
  );
  const lookup = new ReceiptLookup(clickHouseDb(ch));
  const key = (number: string, total: number, minute: number) => ({
    number,
    kgdNumber: 'KGD-7',
    total,
    deviceTime: `2026-03-10 09:0${minute}:00`,
  });

  const first = await lookup.find(key('70000000001', 15_000, 1));
  t.equal(first?.ticketNumber, '70000000001', 'a receipt stored before the migration');
  t.equal(first?.cancelledAt, null);
  t.same(
    first?.items.map((i) => i.name),
    ['Хлеб'],
  );
  const cancelled = await lookup.find(key('70000000002', 2_500, 2));
  t.equal(cancelled?.cancelledAt, '2026-03-10 09:03:00', 'its cancellation, with the time');
  t.equal(cancelled?.offline, true);
  const byOffline = await lookup.find(key('1773133200', 2_500, 2));
  t.equal(
    byOffline?.ticketNumber,
    '70000000002',
    'found by the offline number it was printed with',
  );
  t.equal(await lookup.find(key('70000000001', 15_001, 1)), null, 'another total: nothing');

  // After the migration the view copies each new receipt in the same insert.
  await ch.insert({
    table: 'documents',
    values: [{ ...sale(4, 700), fns_kkm_id: 'KGD-7' }],
    format: 'JSONEachRow',
  });
  const later = await lookup.find(key('70000000004', 700, 4));
  t.equal(later?.total, 700, 'a receipt stored after the migration');
  const seller = await lookup.seller(1, 2, 7);
  t.equal(seller, null, 'no organization registered: no seller (and no page)');
});
