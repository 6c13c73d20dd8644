// The reads of an export job: the documents of one KKM's shift or device-time period, counted
// first and then read a page (one query) at a time in doc_seq order, up to the newest document
// counted, so that rows arriving meanwhile neither shift the pages nor reach the archive.
import type { Db, Params } from './db.js';
import { TICKET_203_SCALARS } from './ticket-columns-203.js';

type Row = Record<string, unknown>;

// (Aliases never reuse a column name: in ClickHouse an alias would replace the column in WHERE.)
const TICKET_SELECT = `doc_seq, ticket_number, shift_number, toString(device_time) AS device_text,
  toString(received_at) AS received_text, operation, total, taken, change, discount, markup,
  is_offline, offline_number, printed_number, operator_code, operator_name, customer_iin,
  customer_email, customer_phone, ${TICKET_203_SCALARS},
  doc_seq IN (SELECT cancelled_seq FROM documents
              WHERE kkm_id = {kkm:UInt32} AND doc_type = 'cancel_ticket') AS annulled`;
const ITEM_ARRAYS = `items.type, items.name, items.section, items.quantity, items.price,
  items.sum, items.code, items.barcode, items.unit, items.tax_percent, items.tax_sum,
  items.ntin, items.excise_stamps`;
const PAYMENT_ARRAYS = `payments.type, payments.sum, payments.card_terminal_id, payments.card_type,
  payments.card_auth_code, payments.card_rrn, payments.card_receipt_number,
  payments.mobile_qr_type, payments.mobile_qr_id`;
const ITEM_SELECT = `doc_seq, ticket_number, ${ITEM_ARRAYS}`;
const PAYMENT_SELECT = `doc_seq, ticket_number, ${PAYMENT_ARRAYS}`;
const REPORT_SELECT = `doc_seq, shift_number, toString(device_time) AS closed_text,
  toString(received_at) AS received_text, is_offline, printed_number, operator_code,
  device_report, server_report`;

const SELECTS = {
  tickets: TICKET_SELECT,
  items: ITEM_SELECT,
  payments: PAYMENT_SELECT,
  ticketsWithLines: `${TICKET_SELECT}, ${ITEM_ARRAYS}, ${PAYMENT_ARRAYS}`,
  reports: REPORT_SELECT,
};
export type ExportColumns = keyof typeof SELECTS;

/** What an export covers: receipts or Z reports of a KKM, by shift or by period. */
export interface ExportSelection {
  kkmId: number;
  kind: 'tickets' | 'reports';
  shift?: number;
  from?: string;
  to?: string;
}

function where(sel: ExportSelection): { where: string; params: Params } {
  const docType = sel.kind === 'tickets' ? 'ticket' : 'close_shift';
  const params: Params = { kkm: sel.kkmId };
  let where = `kkm_id = {kkm:UInt32} AND doc_type = '${docType}'`;
  if (sel.shift !== undefined) {
    where += ' AND shift_number = {shift:UInt32}';
    params.shift = sel.shift;
  } else {
    where +=
      " AND device_time >= toDateTime({from:String}, 'UTC') AND device_time < toDateTime({to:String}, 'UTC')";
    params.from = sel.from;
    params.to = sel.to;
  }
  return { where, params };
}

export class ExportReads {
  constructor(private readonly db: Db) {}

  /** How many documents, item and payment lines the selection has, and its newest doc_seq. */
  async totals(sel: ExportSelection) {
    const w = where(sel);
    const [row] = await this.db.rows<{
      n: number;
      items: number;
      payments: number;
      max_seq: number;
    }>(
      `SELECT count() AS n, sum(length(items.type)) AS items,
         sum(length(payments.type)) AS payments, max(doc_seq) AS max_seq
       FROM documents FINAL WHERE ${w.where}`,
      w.params,
    );
    return {
      documents: row?.n ?? 0,
      items: row?.items ?? 0,
      payments: row?.payments ?? 0,
      maxSeq: row?.max_seq ?? 0,
    };
  }

  /** The selection's rows up to `maxSeq`, `pageRows` per query. */
  async *pages(
    sel: ExportSelection,
    columns: ExportColumns,
    maxSeq: number,
    pageRows: number,
  ): AsyncGenerator<Row[]> {
    const w = where(sel);
    let after = 0;
    for (;;) {
      const rows = await this.db.rows<Row>(
        `SELECT ${SELECTS[columns]} FROM documents FINAL
         WHERE ${w.where} AND doc_seq > {after:UInt32} AND doc_seq <= {max:UInt32}
         ORDER BY doc_seq LIMIT {limit:UInt32}`,
        { ...w.params, after, max: maxSeq, limit: pageRows },
      );
      if (!rows.length) return;
      yield rows;
      if (rows.length < pageRows) return;
      after = Number(rows[rows.length - 1]!.doc_seq);
    }
  }
}
