// Read models that materialized views keep beside `documents` (migrations 50–52), so cabinet
// and receipt-check reads are point reads of narrow tables instead of granules of the wide,
// FINAL-merged documents rows (raw request, state, answer and Z reports, thousands per granule):
//
// - 50 `cabinet_receipts`: every receipt as the cabinet shows it (the receipt list and one
//   receipt), keyed by (kkm_id, doc_seq) in small granules. No raw request, no device state.
// - 51 `receipt_check` gains the 2.0.3 parts of lines and payments (NTIN, excise stamps, card
//   and mobile details), so the buyer's check shows the lines as the cabinet does. The view is
//   made again with them and the table is filled again from `documents` (a read of the
//   receipts once, at the start that applies it).
//
// - 52 `kkm_activity`: per KKM its last document (doc_seq, receive time, the device state
//   after it) and the receive time of its last device event not caused by an admin, as
//   aggregate states that every insert into documents or device_events adds to and merges
//   fold: the KKM list and the X report read a few rows per KKM instead of its history.
//
// - 53 `daily_receipts`: receipts per KKM, device day and operation with their totals, payments
//   by type and taxes by (type, percent) as aggregate states, for the analytics summary. A
//   retried copy would be summed twice, so each group also counts distinct receipts (uniqExact
//   of doc_seq) beside the rows it summed: a group where they differ is read from the receipts
//   themselves.
//
// A retried document can be stored twice; its copies are equal (the row is recomputed), so
// the copies in these tables are equal too, and reads take one with LIMIT 1 BY, never FINAL.
import type { Migration } from './migrations.js';

/** Point reads: a granule is 256 rows, not the default 8192. */
const SMALL_GRANULES = 'SETTINGS index_granularity = 256';

const LINES_203 = `items.ntin, items.excise_stamps, payments.card_terminal_id, payments.card_type,
  payments.card_auth_code, payments.card_rrn, payments.card_receipt_number,
  payments.mobile_qr_type, payments.mobile_qr_id`;

const CABINET_RECEIPT_COLUMNS = `kkm_id, doc_seq, ticket_number, shift_number, device_time,
  received_at, operation, total, is_offline, offline_number, printed_number, operator_code,
  operator_name, taken, change, discount, markup,
  items.type, items.name, items.section, items.quantity, items.price, items.sum, items.code,
  items.barcode, items.unit, items.tax_percent, items.tax_sum,
  payments.type, payments.sum, taxes.type, taxes.percent, taxes.sum, taxes.turnover,
  customer_iin, customer_email, customer_phone, response,
  protocol_version, domain, parent_number, parent_time, parent_kgd_kkm_id, parent_total,
  parent_offline, ${LINES_203}`;

const cabinetReceipts: Migration = {
  version: 50,
  name: 'cabinet_receipts',
  statements: [
    `CREATE TABLE IF NOT EXISTS cabinet_receipts (
      kkm_id UInt32,
      doc_seq UInt32,
      ticket_number String,
      shift_number UInt32,
      device_time DateTime('UTC'),
      received_at DateTime64(3, 'UTC'),
      operation UInt8,
      total Int64,
      is_offline UInt8,
      offline_number UInt32,
      printed_number UInt64,
      operator_code UInt32,
      operator_name String,
      taken Int64,
      change Int64,
      discount Int64,
      markup Int64,
      items Nested (
        type UInt8, name String, section String, quantity UInt64, price Int64, sum Int64,
        code UInt64, barcode String, unit String, tax_percent UInt32, tax_sum Int64,
        ntin String, excise_stamps Array(String)
      ),
      payments Nested (
        type UInt8, sum Int64, card_terminal_id String, card_type String,
        card_auth_code UInt32, card_rrn UInt64, card_receipt_number UInt32,
        mobile_qr_type String, mobile_qr_id String
      ),
      taxes Nested (type UInt32, percent UInt32, sum Int64, turnover Int64),
      customer_iin String,
      customer_email String,
      customer_phone String,
      response String,
      protocol_version UInt16,
      domain Int16,
      parent_number String,
      parent_time DateTime('UTC'),
      parent_kgd_kkm_id String,
      parent_total Int64,
      parent_offline UInt8,
      INDEX shift_idx shift_number TYPE minmax GRANULARITY 1,
      INDEX time_idx device_time TYPE minmax GRANULARITY 1
    ) ENGINE = ReplacingMergeTree ORDER BY (kkm_id, doc_seq) ${SMALL_GRANULES}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS cabinet_receipts_mv TO cabinet_receipts AS
      SELECT ${CABINET_RECEIPT_COLUMNS} FROM documents WHERE doc_type = 'ticket'`,
    // Receipts stored before: copied once (a start interrupted here copies them again, which
    // only adds equal copies).
    `INSERT INTO cabinet_receipts (${CABINET_RECEIPT_COLUMNS})
      SELECT ${CABINET_RECEIPT_COLUMNS} FROM documents WHERE doc_type = 'ticket'`,
  ],
};

/** What receipt_check copies of a receipt (migration 20's columns and the 2.0.3 lines). */
const CHECK_COLUMNS = `device_time, total, kkm_id, doc_seq, org_id, point_id, ticket_number,
  operation, is_offline, offline_number, taken, change, discount, markup,
  items.type, items.name, items.section, items.quantity, items.price, items.sum, items.code,
  items.barcode, items.unit, items.tax_percent, items.tax_sum,
  payments.type, payments.sum, taxes.type, taxes.percent, taxes.sum, taxes.turnover,
  ${LINES_203}`;

const CHECK_NUMBERS = `arrayJoin(if(offline_number > 0,
  [ticket_number, toString(offline_number)], [ticket_number])) AS number`;

const receiptCheckLines203: Migration = {
  version: 51,
  name: 'receipt_check 2.0.3 lines',
  statements: [
    [
      '`items.ntin` Array(String)',
      '`items.excise_stamps` Array(Array(String))',
      '`payments.card_terminal_id` Array(String)',
      '`payments.card_type` Array(String)',
      '`payments.card_auth_code` Array(UInt32)',
      '`payments.card_rrn` Array(UInt64)',
      '`payments.card_receipt_number` Array(UInt32)',
      '`payments.mobile_qr_type` Array(String)',
      '`payments.mobile_qr_id` Array(String)',
    ]
      .map((column) => `ADD COLUMN IF NOT EXISTS ${column}`)
      .concat('MODIFY COLUMN `items.quantity` Array(UInt64)')
      .reduce(
        (sql, action, i) => `${sql}${i ? ',' : ''}\n  ${action}`,
        'ALTER TABLE receipt_check',
      ),
    'DROP VIEW IF EXISTS receipt_check_mv',
    `CREATE MATERIALIZED VIEW IF NOT EXISTS receipt_check_mv TO receipt_check AS
      SELECT fns_kkm_id, ${CHECK_NUMBERS}, ${CHECK_COLUMNS}
      FROM documents WHERE doc_type = 'ticket' AND fns_kkm_id != ''`,
    // Filled again with the new columns: the rows copied before lack them.
    'TRUNCATE TABLE receipt_check',
    `INSERT INTO receipt_check (fns_kkm_id, number, ${CHECK_COLUMNS})
      SELECT if(d.fns_kkm_id != '', d.fns_kkm_id, k.kgd) AS check_kgd, ${CHECK_NUMBERS},
        ${CHECK_COLUMNS}
      FROM documents AS d
      LEFT JOIN (SELECT kkm_id, any(fns_kkm_id) AS kgd FROM kkms GROUP BY kkm_id) AS k
        USING (kkm_id)
      WHERE doc_type = 'ticket' AND check_kgd != ''`,
  ],
};

const documentActivity = (where?: string) => `SELECT kkm_id, maxState(doc_seq) AS last_seq,
  maxState(received_at) AS last_document_at, argMaxState(state, doc_seq) AS last_state
  FROM documents ${where ? `WHERE ${where} ` : ''}GROUP BY kkm_id`;
const DOCUMENT_ACTIVITY = documentActivity();
const EVENT_ACTIVITY = `SELECT kkm_id, maxState(received_at) AS last_event_at
  FROM device_events WHERE JSONExtractString(detail, 'source') != 'admin' GROUP BY kkm_id`;

const kkmActivity: Migration = {
  version: 52,
  name: 'kkm_activity',
  statements: [
    `CREATE TABLE IF NOT EXISTS kkm_activity (
      kkm_id UInt32,
      last_seq AggregateFunction(max, UInt32),
      last_document_at AggregateFunction(max, DateTime64(3, 'UTC')),
      last_state AggregateFunction(argMax, String, UInt32),
      last_event_at AggregateFunction(max, DateTime64(3, 'UTC'))
    ) ENGINE = AggregatingMergeTree ORDER BY kkm_id`,
    // Maxima are the same however often a row was stored, so retried copies change nothing.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS kkm_activity_documents_mv TO kkm_activity AS
      ${DOCUMENT_ACTIVITY}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS kkm_activity_events_mv TO kkm_activity AS
      ${EVENT_ACTIVITY}`,
    // What was stored before (a start interrupted here adds the same maxima again).
    `INSERT INTO kkm_activity (kkm_id, last_seq, last_document_at, last_state)
      ${DOCUMENT_ACTIVITY}`,
    `INSERT INTO kkm_activity (kkm_id, last_event_at) ${EVENT_ACTIVITY}`,
  ],
};

const daily = (where?: string) => `SELECT kkm_id, toDate(device_time) AS day, operation,
  uniqExactState(doc_seq) AS receipts, toUInt64(count()) AS copies, sum(total) AS total,
  sumMapState(payments.type, arrayMap(x -> toUInt64(1), payments.type), payments.sum) AS pay,
  sumMapState(arrayMap((t, p) -> (t, p), taxes.type, taxes.percent),
    arrayMap(x -> toUInt64(1), taxes.type), taxes.sum, taxes.turnover) AS tax
  FROM documents WHERE doc_type = 'ticket'${where ? ` AND ${where}` : ''} GROUP BY kkm_id, day, operation`;
const DAILY = daily();

const dailyReceipts: Migration = {
  version: 53,
  name: 'daily_receipts',
  statements: [
    // The table takes the types of the states from the select (copies and total are plain
    // sums: SimpleAggregateFunction).
    `CREATE TABLE IF NOT EXISTS daily_receipts (
      kkm_id UInt32,
      day Date,
      operation UInt8,
      receipts AggregateFunction(uniqExact, UInt32),
      copies SimpleAggregateFunction(sum, UInt64),
      total SimpleAggregateFunction(sum, Int64),
      pay AggregateFunction(sumMap, Array(UInt8), Array(UInt64), Array(Int64)),
      tax AggregateFunction(sumMap, Array(Tuple(UInt32, UInt32)), Array(UInt64), Array(Int64),
        Array(Int64))
    ) ENGINE = AggregatingMergeTree ORDER BY (kkm_id, day, operation)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS daily_receipts_mv TO daily_receipts AS ${DAILY}`,
    // A start interrupted here copies them again: those groups then count more rows than
    // receipts and are read from the receipts.
    `INSERT INTO daily_receipts ${DAILY}`,
  ],
};

/**
 * The views' inserts once more, for the documents `where` selects: what a commit cut short
 * between the parts of its INSERT (a kill) left out of these tables. A copy that was not
 * missing is harmless here: equal copies, maxima, and daily groups that then count more rows
 * than receipts (read from the receipts).
 */
export const readModelRepairs = (where: string): string[] => [
  `INSERT INTO cabinet_receipts (${CABINET_RECEIPT_COLUMNS})
    SELECT ${CABINET_RECEIPT_COLUMNS} FROM documents WHERE doc_type = 'ticket' AND ${where}`,
  `INSERT INTO receipt_check (fns_kkm_id, number, ${CHECK_COLUMNS})
    SELECT fns_kkm_id, ${CHECK_NUMBERS}, ${CHECK_COLUMNS}
    FROM documents WHERE doc_type = 'ticket' AND fns_kkm_id != '' AND ${where}`,
  `INSERT INTO kkm_activity (kkm_id, last_seq, last_document_at, last_state)
    ${documentActivity(where)}`,
  `INSERT INTO daily_receipts ${daily(where)}`,
];

export const readModelMigrations: Migration[] = [
  cabinetReceipts,
  receiptCheckLines203,
  kkmActivity,
  dailyReceipts,
];
