// Schema of the buyer's receipt check (migration 20). A QR code names a receipt by the KKM's
// KGD number, the fiscal number, the total and the device time, while `documents` is keyed by
// (kkm_id, doc_seq) in granules of thousands of wide rows: a point read there costs a whole
// granule of every column. So the check has its own copy of what it shows, keyed by (KGD
// number, number, device time) in small granules, and the cancellations keyed by the receipt
// they annul. Materialized views fill both from every documents insert: one writer each, in
// the same insert as the document itself. An offline receipt gets a second row under the
// offline number the KKM printed before it was uploaded (unique only within a day, hence the
// device time in the key). Customer contacts, cashier and raw frames are not copied.
import type { Migration } from './migrations.js';

const RECEIPT_COLUMNS = `device_time, total, kkm_id, doc_seq, org_id, point_id, ticket_number,
  operation, is_offline, offline_number, taken, change, discount, markup,
  items.type, items.name, items.section, items.quantity, items.price, items.sum, items.code,
  items.barcode, items.unit, items.tax_percent, items.tax_sum,
  payments.type, payments.sum, taxes.type, taxes.percent, taxes.sum, taxes.turnover`;

const NUMBERS = `arrayJoin(if(offline_number > 0,
  [ticket_number, toString(offline_number)], [ticket_number])) AS number`;

const CANCELLATIONS = `SELECT kkm_id, cancelled_seq AS doc_seq, device_time AS cancelled_at
      FROM documents WHERE doc_type = 'cancel_ticket'`;

/** The cancellations view's insert once more, for the documents `where` selects. */
export const cancellationRepair = (where: string) =>
  `INSERT INTO receipt_cancellations (kkm_id, doc_seq, cancelled_at) ${CANCELLATIONS} AND ${where}`;

/** Point reads: a granule is 256 rows, not the default 8192. */
const SMALL_GRANULES = 'SETTINGS index_granularity = 256';

export const receiptLookupMigration: Migration = {
  version: 20,
  name: 'receipt_check',
  statements: [
    `ALTER TABLE documents ADD COLUMN IF NOT EXISTS fns_kkm_id String DEFAULT ''`,
    `CREATE TABLE IF NOT EXISTS receipt_check (
      fns_kkm_id String,
      number String,
      device_time DateTime('UTC'),
      total Int64,
      kkm_id UInt32,
      doc_seq UInt32,
      org_id UInt32,
      point_id UInt32,
      ticket_number String,
      operation UInt8,
      is_offline UInt8,
      offline_number UInt32,
      taken Int64,
      change Int64,
      discount Int64,
      markup Int64,
      items Nested (
        type UInt8, name String, section String, quantity UInt32, price Int64, sum Int64,
        code UInt64, barcode String, unit String, tax_percent UInt32, tax_sum Int64
      ),
      payments Nested (type UInt8, sum Int64),
      taxes Nested (type UInt32, percent UInt32, sum Int64, turnover Int64)
    ) ENGINE = ReplacingMergeTree
    ORDER BY (fns_kkm_id, number, device_time) ${SMALL_GRANULES}`,
    `CREATE TABLE IF NOT EXISTS receipt_cancellations (
      kkm_id UInt32,
      doc_seq UInt32,
      cancelled_at DateTime('UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY (kkm_id, doc_seq) ${SMALL_GRANULES}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS receipt_check_mv TO receipt_check AS
      SELECT fns_kkm_id, ${NUMBERS}, ${RECEIPT_COLUMNS}
      FROM documents WHERE doc_type = 'ticket' AND fns_kkm_id != ''`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS receipt_cancellations_mv TO receipt_cancellations AS
      ${CANCELLATIONS}`,
    // Documents stored before this migration: receipts take the KGD number from the registry.
    `INSERT INTO receipt_check
      SELECT k.kgd, ${NUMBERS}, ${RECEIPT_COLUMNS}
      FROM documents
      INNER JOIN (SELECT kkm_id, any(fns_kkm_id) AS kgd FROM kkms GROUP BY kkm_id) AS k
        USING (kkm_id)
      WHERE doc_type = 'ticket' AND fns_kkm_id = ''`,
    `INSERT INTO receipt_cancellations
      SELECT kkm_id, cancelled_seq, device_time FROM documents
      WHERE doc_type = 'cancel_ticket'
        AND (kkm_id, cancelled_seq) NOT IN (SELECT kkm_id, doc_seq FROM receipt_cancellations)`,
  ],
};
