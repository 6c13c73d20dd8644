// Schema of the buyer's receipt check (migration 20). A QR code names a receipt by the KKM's
// KGD number, the fiscal number, the total and the device time; `documents` is keyed by
// (kkm_id, doc_seq), so a narrow table keyed by (KGD number, number, device time) finds the
// document with one primary-key read. A materialized view fills it from every documents insert,
// so it has one writer and lands in the same insert as the receipt itself. An offline receipt
// gets a second row under the offline number the KKM printed before it was uploaded (that
// number is unique only within a day, hence the device time in the key).
import type { Migration } from './migrations.js';

const NUMBERS = `arrayJoin(if(offline_number > 0,
  [ticket_number, toString(offline_number)], [ticket_number]))`;

export const receiptLookupMigration: Migration = {
  version: 20,
  name: 'receipt_lookup',
  statements: [
    `ALTER TABLE documents ADD COLUMN IF NOT EXISTS fns_kkm_id String DEFAULT ''`,
    `CREATE TABLE IF NOT EXISTS receipt_lookup (
      fns_kkm_id String,
      number String,
      device_time DateTime('UTC'),
      total Int64,
      kkm_id UInt32,
      doc_seq UInt32
    ) ENGINE = ReplacingMergeTree
    ORDER BY (fns_kkm_id, number, device_time)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS receipt_lookup_mv TO receipt_lookup AS
      SELECT fns_kkm_id, ${NUMBERS} AS number, device_time, total, kkm_id, doc_seq
      FROM documents WHERE doc_type = 'ticket' AND fns_kkm_id != ''`,
    // Receipts stored before the column existed take the KGD number from the registry once.
    `INSERT INTO receipt_lookup
      SELECT k.fns_kkm_id, ${NUMBERS} AS number, d.device_time, d.total, d.kkm_id, d.doc_seq
      FROM documents AS d
      INNER JOIN (SELECT kkm_id, any(fns_kkm_id) AS fns_kkm_id FROM kkms GROUP BY kkm_id) AS k
        ON k.kkm_id = d.kkm_id
      WHERE d.doc_type = 'ticket' AND d.fns_kkm_id = ''`,
  ],
};
