// The cabinet's reads of the documents table: KKM activity (last contact, open shift), receipts
// by shift or device-time period with keyset pagination on doc_seq, one whole receipt, Z reports
// by shift or period, and the analytics summary. Every function takes KKM ids the caller was
// already allowed to see; scoping is the routes' business.
//
// Device times are the device's wall clock stored as UTC-less DateTime('UTC') text
// ('YYYY-MM-DD hh:mm:ss'), so periods are compared as the same text, never converted.
// Reads that count or sum rows use FINAL (one logical copy of a retried document); reads
// of max(doc_seq), of the last document's state or of a set of cancelled receipts skip it,
// since every copy of a document (a retry recomputes the same row) gives the same answer.
// Receipts are listed and read from cabinet_receipts (migration 50), a narrow copy keyed by
// (kkm_id, doc_seq) in small granules, taking one copy of each with LIMIT 1 BY.
import { TupleParam } from '@clickhouse/client';
import type { StoredState } from '../fiscal/device-state.js';
import type { Db } from './db.js';
import { readTicket203, TICKET_203_SELECT, type Ticket203 } from './ticket-columns-203.js';

// JSONEachRow quotes 64-bit integers; every money column is Int64.
const num = (v: unknown): number => Number(v);
const nums = (v: unknown): number[] => ((v as unknown[]) ?? []).map(Number);

/**
 * Whether a receipt (doc_seq) was annulled: receipt_cancellations (migration 20) holds the few
 * receipts a cancel_ticket named, keyed by (kkm_id, doc_seq), so this reads a handful of rows.
 */
const ANNULLED = `doc_seq IN (SELECT doc_seq FROM receipt_cancellations
  WHERE kkm_id = {kkm:UInt32} AND doc_seq > {after:UInt32})`;

export interface KkmOverview {
  kkmId: number;
  pointId: number;
  pointTitle: string;
  serialNumber: string;
  model: string;
  fnsKkmId: string;
  status: 'active' | 'blocked' | 'deregistered';
  /** Registration time, UTC ms. */
  createdAt: number;
  /** received_at (UTC ms) of the last document, or null when none was stored. */
  lastDocumentAt: number | null;
  /** received_at (UTC ms) of the last event the device itself caused (not an admin's). */
  lastEventAt: number | null;
  /** The shift a ticket or money placement opened and no close_shift closed yet. */
  openShift: { number: number; openedAt: string } | null;
  /** The open shift, or the last closed one (0: none yet). */
  lastShiftNumber: number;
}

export interface TicketSummary {
  docSeq: number;
  ticketNumber: string;
  deviceTime: string;
  receivedAt: number;
  shiftNumber: number;
  operation: number;
  total: number;
  payments: { type: number; sum: number }[];
  offline: boolean;
  offlineNumber: number;
  annulled: boolean;
}

export interface TicketDetail extends TicketSummary {
  kkmId: number;
  printedNumber: number;
  operatorCode: number;
  operatorName: string;
  taken: number;
  change: number;
  discount: number;
  markup: number;
  items: {
    type: number;
    name: string;
    section: string;
    quantity: number;
    price: number;
    sum: number;
    code: number;
    barcode: string;
    unit: string;
    taxPercent: number;
    taxSum: number;
  }[];
  taxes: { type: number; percent: number; sum: number; turnover: number }[];
  customerIin: string;
  customerEmail: string;
  customerPhone: string;
  /** The answer frame sent to the device, base64 (header + protobuf Response). */
  response: string;
  /** What protocol 2.0.3 added (defaults for a 2.0.2 receipt). */
  v203: Ticket203;
}

export interface ClosedShiftRow {
  docSeq: number;
  shiftNumber: number;
  closedAt: string;
  receivedAt: number;
  offline: boolean;
  operatorCode: number;
  deviceReport: string;
  serverReport: string;
}

/** Receipts of a shift, or of a device-time period [from, to). */
export type DocumentFilter =
  { shift: number } | { from: string; to: string } | Record<string, never>;

/** One group of the analytics summary: a KKM's receipts of one operation on one device day. */
export interface SummaryRow {
  kkmId: number;
  day: string;
  operation: number;
  receipts: number;
  sum: number;
  payments: { type: number; count: number; sum: number }[];
  taxes: { type: number; percent: number; count: number; sum: number; turnover: number }[];
}

function filterSql(f: DocumentFilter, column: string): string {
  if ('shift' in f) return ' AND shift_number = {shift:UInt32}';
  if ('from' in f) {
    return ` AND ${column} >= {from:DateTime('UTC')} AND ${column} < {to:DateTime('UTC')}`;
  }
  return '';
}

/** The Nested item, payment and tax columns of a receipt row as lists of objects. */
export function receiptLinesOfRow(
  r: Record<string, unknown>,
): Pick<TicketDetail, 'items' | 'payments' | 'taxes'> {
  const col = (name: string) => nums(r[name]);
  const str = (name: string) => (r[name] as string[]) ?? [];
  return {
    items: col('items.type').map((type, i) => ({
      type,
      name: str('items.name')[i] ?? '',
      section: str('items.section')[i] ?? '',
      quantity: col('items.quantity')[i] ?? 0,
      price: col('items.price')[i] ?? 0,
      sum: col('items.sum')[i] ?? 0,
      code: col('items.code')[i] ?? 0,
      barcode: str('items.barcode')[i] ?? '',
      unit: str('items.unit')[i] ?? '',
      taxPercent: col('items.tax_percent')[i] ?? 0,
      taxSum: col('items.tax_sum')[i] ?? 0,
    })),
    payments: col('payments.type').map((type, i) => ({ type, sum: col('payments.sum')[i] ?? 0 })),
    taxes: col('taxes.type').map((type, i) => ({
      type,
      percent: col('taxes.percent')[i] ?? 0,
      sum: col('taxes.sum')[i] ?? 0,
      turnover: col('taxes.turnover')[i] ?? 0,
    })),
  };
}

/** What a receipt's list entry and its whole view share, from one row. */
const ticketHead = (r: Record<string, unknown>) => ({
  docSeq: num(r.doc_seq),
  ticketNumber: String(r.ticket_number),
  deviceTime: String(r.wall_time),
  receivedAt: num(r.received_ms),
  shiftNumber: num(r.shift_number),
  operation: num(r.operation),
  total: num(r.total),
  offline: num(r.is_offline) === 1,
  offlineNumber: num(r.offline_number),
  annulled: num(r.annulled) === 1,
});

/** What a receipt's list entry reads (with `annulled` beside). */
const TICKET_SUMMARY_COLUMNS = `doc_seq, ticket_number, toString(device_time) AS wall_time,
  toUnixTimestamp64Milli(received_at) AS received_ms, shift_number, operation, total,
  payments.type, payments.sum, is_offline, offline_number`;

/** What a whole receipt reads (with `annulled` beside). */
const TICKET_DETAIL_COLUMNS = `doc_seq, ticket_number, toString(device_time) AS wall_time,
  toUnixTimestamp64Milli(received_at) AS received_ms, shift_number, operation,
  is_offline, offline_number, printed_number, operator_code, operator_name,
  total, taken, change, discount, markup,
  items.type, items.name, items.section, items.quantity, items.price, items.sum,
  items.code, items.barcode, items.unit, items.tax_percent, items.tax_sum,
  payments.type, payments.sum, taxes.type, taxes.percent, taxes.sum, taxes.turnover,
  customer_iin, customer_email, customer_phone, response, ${TICKET_203_SELECT}`;

/** Some device days of some KKMs: (kkm_id, day) pairs. */
const CELLS = '{cells:Array(Tuple(UInt32, Date))}';

/** A receipt's place: its KKM and document number. */
export interface KkmSeq {
  kkmId: number;
  docSeq: number;
}

/** Whether a receipt of any of {kkms} was annulled (what ANNULLED tells of one KKM's). */
const ANNULLED_OF_PAIRS = `(kkm_id, doc_seq) IN (SELECT kkm_id, doc_seq FROM receipt_cancellations
  WHERE kkm_id IN {kkms:Array(UInt32)})`;

/** Query parameters of (kkm_id, x) pairs: `kkms` (distinct) and `pairs`. */
const pairParams = (pairs: [number, number][]) => ({
  kkms: [...new Set(pairs.map(([k]) => k))],
  pairs: pairs.map((p) => new TupleParam(p)),
});

const ticketSummary = (r: Record<string, unknown>): TicketSummary => {
  const types = nums(r['payments.type']);
  const sums = nums(r['payments.sum']);
  return { ...ticketHead(r), payments: types.map((type, i) => ({ type, sum: sums[i]! })) };
};

const ticketDetail = (kkmId: number, r: Record<string, unknown>): TicketDetail => ({
  kkmId,
  ...ticketHead(r),
  taken: num(r.taken),
  change: num(r.change),
  discount: num(r.discount),
  markup: num(r.markup),
  printedNumber: num(r.printed_number),
  operatorCode: num(r.operator_code),
  operatorName: String(r.operator_name),
  ...receiptLinesOfRow(r),
  customerIin: String(r.customer_iin),
  customerEmail: String(r.customer_email),
  customerPhone: String(r.customer_phone),
  response: String(r.response),
  v203: readTicket203(r),
});

const CLOSED_SHIFT_COLUMNS = `doc_seq, shift_number, toString(device_time) AS closed_at,
  toUnixTimestamp64Milli(received_at) AS received_ms, is_offline, operator_code,
  device_report, server_report`;

const closedShiftRow = (r: Record<string, unknown>): ClosedShiftRow => ({
  docSeq: num(r.doc_seq),
  shiftNumber: num(r.shift_number),
  closedAt: String(r.closed_at),
  receivedAt: num(r.received_ms),
  offline: num(r.is_offline) === 1,
  operatorCode: num(r.operator_code),
  deviceReport: String(r.device_report),
  serverReport: String(r.server_report),
});

/** One group of the summary as read (64-bit integers and sumMap tuples). */
function summaryRow(r: Record<string, unknown>): SummaryRow {
  const [payTypes, payCounts, paySums] = r.pay as [unknown[], unknown[], unknown[]];
  const [taxKeys, taxCounts, taxSums, taxTurnovers] = r.tax as [
    [unknown, unknown][],
    unknown[],
    unknown[],
    unknown[],
  ];
  return {
    kkmId: num(r.kkm_id),
    day: String(r.day),
    operation: num(r.operation),
    receipts: num(r.receipts),
    sum: num(r.total_sum),
    payments: payTypes.map((type, i) => ({
      type: num(type),
      count: num(payCounts[i]),
      sum: num(paySums[i]),
    })),
    taxes: taxKeys.map(([type, percent], i) => ({
      type: num(type),
      percent: num(percent),
      count: num(taxCounts[i]),
      sum: num(taxSums[i]),
      turnover: num(taxTurnovers[i]),
    })),
  };
}

export class CabinetQueries {
  constructor(private readonly db: Db) {}

  /**
   * Registry row, last contact and open shift of each KKM, by kkm_id. The open shift comes from
   * the state stored with the KKM's last document (what ingest rebuilds a device from): a
   * ticket or money placement opens a shift, only a close_shift closes it. kkm_activity
   * (migration 52) holds that last document and the last device event per KKM, maintained by
   * every insert, so this reads a few rows per KKM, not its history.
   */
  async overview(kkmIds: number[]): Promise<KkmOverview[]> {
    if (!kkmIds.length) return [];
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT k.kkm_id AS kkm_id, k.point_id AS point_id, p.title AS point_title,
         k.serial_number AS serial_number, k.model AS model, k.fns_kkm_id AS fns_kkm_id,
         k.status AS status, toUnixTimestamp64Milli(k.created_at) AS created_ms,
         a.last_seq AS last_seq, a.document_ms AS document_ms, a.state AS state,
         a.event_ms AS last_event_ms
       FROM (SELECT * FROM kkms FINAL WHERE kkm_id IN {ids:Array(UInt32)}) AS k
       LEFT JOIN (SELECT point_id, title FROM points FINAL) AS p ON p.point_id = k.point_id
       LEFT JOIN (
         SELECT kkm_id, maxMerge(last_seq) AS last_seq,
           toUnixTimestamp64Milli(maxMerge(last_document_at)) AS document_ms,
           argMaxMerge(last_state) AS state,
           toUnixTimestamp64Milli(maxMerge(last_event_at)) AS event_ms
         FROM kkm_activity WHERE kkm_id IN {ids:Array(UInt32)} GROUP BY kkm_id
       ) AS a ON a.kkm_id = k.kkm_id
       ORDER BY kkm_id`,
      { ids: kkmIds },
    );
    const last = new Map<number, { receivedAt: number; state: Partial<StoredState> }>();
    for (const r of raw) {
      if (!(num(r.last_seq) > 0)) continue;
      let state: Partial<StoredState> = {};
      try {
        state = JSON.parse(String(r.state)) as Partial<StoredState>;
      } catch {
        // a row without state reads as "no shift open"
      }
      last.set(num(r.kkm_id), { receivedAt: num(r.document_ms), state });
    }
    return raw.map((r) => {
      const kkmId = num(r.kkm_id);
      const doc = last.get(kkmId);
      const st = doc?.state ?? {};
      const eventAt = num(r.last_event_ms);
      return {
        kkmId,
        pointId: num(r.point_id),
        pointTitle: String(r.point_title ?? ''),
        serialNumber: String(r.serial_number),
        model: String(r.model),
        fnsKkmId: String(r.fns_kkm_id),
        status: r.status as KkmOverview['status'],
        createdAt: num(r.created_ms),
        lastDocumentAt: doc ? doc.receivedAt : null,
        lastEventAt: eventAt > 0 ? eventAt : null,
        openShift:
          st.shiftOpen && st.shiftNumber
            ? { number: st.shiftNumber, openedAt: st.shiftOpenedAt ?? '' }
            : null,
        lastShiftNumber: st.shiftNumber ?? 0,
      };
    });
  }

  /**
   * Up to `limit` receipts after doc_seq `after`, in doc_seq order, and whether more exist.
   * doc_seq is the device's document counter: a document is committed before the device may
   * send the next one, so a page boundary never moves and arrivals only ever come after it.
   */
  async tickets(
    kkmId: number,
    filter: DocumentFilter,
    after: number,
    limit: number,
  ): Promise<{ items: TicketSummary[]; more: boolean }> {
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT ${TICKET_SUMMARY_COLUMNS}, ${ANNULLED} AS annulled
       FROM cabinet_receipts
       WHERE kkm_id = {kkm:UInt32} AND doc_seq > {after:UInt32}
         ${filterSql(filter, 'device_time')}
       ORDER BY doc_seq LIMIT 1 BY doc_seq LIMIT {limit:UInt32}`,
      { kkm: kkmId, after, limit: limit + 1, ...filter },
    );
    return { more: raw.length > limit, items: raw.slice(0, limit).map(ticketSummary) };
  }

  /**
   * The receipts of whole shifts, many in one read, keyed `kkm:shift`, each in doc_seq order
   * with at most `max` + 1 receipts (more than `max`: too long to keep whole). A shift without
   * receipts is absent. What tickets() reads of each.
   */
  async shiftsReceipts(
    shifts: readonly { kkmId: number; shift: number }[],
    max: number,
  ): Promise<Map<string, TicketSummary[]>> {
    const out = new Map<string, TicketSummary[]>();
    if (!shifts.length) return out;
    // One select per shift, so each finds its KKM by the key and its shift by the minmax index
    // (a tuple IN over all of them would read every granule of each KKM its shifts' range spans).
    const params: Record<string, unknown> = {
      kkms: [...new Set(shifts.map((s) => s.kkmId))],
      max: max + 1,
    };
    const selects = shifts.map((s, i) => {
      params[`k${i}`] = s.kkmId;
      params[`s${i}`] = s.shift;
      return `SELECT * FROM cabinet_receipts
        WHERE kkm_id = {k${i}:UInt32} AND shift_number = {s${i}:UInt32}`;
    });
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT kkm_id, ${TICKET_SUMMARY_COLUMNS}, ${ANNULLED_OF_PAIRS} AS annulled
       FROM (
         SELECT * FROM (${selects.join(' UNION ALL ')})
         ORDER BY kkm_id, doc_seq LIMIT 1 BY kkm_id, doc_seq)
       ORDER BY kkm_id, doc_seq LIMIT {max:UInt32} BY kkm_id, shift_number`,
      params,
    );
    for (const r of raw) {
      const key = `${num(r.kkm_id)}:${num(r.shift_number)}`;
      const list = out.get(key) ?? [];
      list.push(ticketSummary(r));
      out.set(key, list);
    }
    return out;
  }

  /** One whole receipt by its fiscal number, or null. */
  async ticket(kkmId: number, ticketNumber: string, docSeq?: number): Promise<TicketDetail | null> {
    const [r] = await this.db.rows<Record<string, unknown>>(
      `SELECT ${TICKET_DETAIL_COLUMNS}, ${ANNULLED.replace('>', '>=')} AS annulled
       FROM cabinet_receipts
       WHERE kkm_id = {kkm:UInt32} AND ticket_number = {number:String}
         ${docSeq === undefined ? '' : 'AND doc_seq = {after:UInt32}'}
       LIMIT 1`,
      { kkm: kkmId, number: ticketNumber, after: docSeq ?? 0 },
    );
    return r ? ticketDetail(kkmId, r) : null;
  }

  /**
   * Whole receipts by (kkm_id, doc_seq), many in one point read, keyed `kkm:seq`; a receipt
   * not stored is absent. What ticket() reads of each.
   */
  async ticketsBySeq(keys: readonly KkmSeq[]): Promise<Map<string, TicketDetail>> {
    const out = new Map<string, TicketDetail>();
    if (!keys.length) return out;
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT kkm_id, ${TICKET_DETAIL_COLUMNS}, ${ANNULLED_OF_PAIRS} AS annulled
       FROM cabinet_receipts
       WHERE kkm_id IN {kkms:Array(UInt32)} AND (kkm_id, doc_seq) IN {pairs:Array(Tuple(UInt32, UInt32))}
       LIMIT 1 BY kkm_id, doc_seq`,
      pairParams(keys.map((k) => [k.kkmId, k.docSeq])),
    );
    for (const r of raw)
      out.set(`${num(r.kkm_id)}:${num(r.doc_seq)}`, ticketDetail(num(r.kkm_id), r));
    return out;
  }

  /** Closed shifts (with both Z reports) after doc_seq `after`, by shift or close time. */
  async closedShifts(
    kkmId: number,
    filter: DocumentFilter,
    after: number,
    limit: number,
  ): Promise<{ items: ClosedShiftRow[]; more: boolean }> {
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT ${CLOSED_SHIFT_COLUMNS}
       FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_type = 'close_shift' AND doc_seq > {after:UInt32}
         ${filterSql(filter, 'device_time')}
       ORDER BY doc_seq LIMIT {limit:UInt32}`,
      { kkm: kkmId, after, limit: limit + 1, ...filter },
    );
    return { more: raw.length > limit, items: raw.slice(0, limit).map(closedShiftRow) };
  }

  /**
   * The closures of shifts by number, many in one read, keyed `kkm:shift`, each in doc_seq
   * order (a KKM closes a shift number once, but nothing here relies on it). What
   * closedShifts() reads of each.
   */
  async closuresOf(
    shifts: readonly { kkmId: number; shift: number }[],
  ): Promise<Map<string, ClosedShiftRow[]>> {
    const out = new Map<string, ClosedShiftRow[]>();
    if (!shifts.length) return out;
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT kkm_id, ${CLOSED_SHIFT_COLUMNS}
       FROM documents FINAL
       WHERE kkm_id IN {kkms:Array(UInt32)} AND doc_type = 'close_shift'
         AND shift_number IN {shifts:Array(UInt32)}
         AND (kkm_id, shift_number) IN {pairs:Array(Tuple(UInt32, UInt32))}
       ORDER BY kkm_id, doc_seq`,
      {
        ...pairParams(shifts.map((s) => [s.kkmId, s.shift])),
        shifts: [...new Set(shifts.map((s) => s.shift))],
      },
    );
    for (const r of raw) {
      const key = `${num(r.kkm_id)}:${num(r.shift_number)}`;
      out.set(key, [...(out.get(key) ?? []), closedShiftRow(r)]);
    }
    return out;
  }

  /**
   * Receipts of these KKMs in the device-time period [from, to) grouped by KKM, device day and
   * operation, with payments by type and taxes by (type, percent). Annulled receipts are left
   * out, as the Z report leaves them out. A cancellation is received after the receipt it
   * annuls and stamped with the server's clock, so it is never dated more than a time-zone
   * offset (< 1 day) before that receipt's device time: that bounds the cancellations read.
   */
  async summary(kkmIds: number[], from: string, to: string): Promise<SummaryRow[]> {
    // Whole device days are read from daily_receipts (migration 53), unless a group summed a
    // retried receipt twice; anything else from the receipts themselves.
    const wholeDays = from.endsWith(' 00:00:00') && to.endsWith(' 00:00:00');
    if (wholeDays) {
      const daily = await this.dailySummary(kkmIds, from, to);
      if (daily) return daily;
    }
    return this.summaryOfReceipts(kkmIds, from, to);
  }

  /**
   * The summary of some device days of some KKMs (`cells`), many in one read: what summary()
   * gives for each KKM and whole day, rows of other days left out.
   */
  async summaryOfDays(cells: readonly { kkmId: number; day: string }[]): Promise<SummaryRow[]> {
    if (!cells.length) return [];
    const days = cells.map((c) => c.day).sort();
    const from = `${days[0]} 00:00:00`;
    const to = `${new Date(Date.parse(`${days[days.length - 1]}T00:00:00Z`) + 86_400_000)
      .toISOString()
      .slice(0, 10)} 00:00:00`;
    const kkmIds = [...new Set(cells.map((c) => c.kkmId))];
    const only = cells.map((c) => new TupleParam([c.kkmId, c.day]));
    return (
      (await this.dailySummary(kkmIds, from, to, only)) ??
      (await this.summaryOfReceipts(kkmIds, from, to, only))
    );
  }

  /**
   * The summary from daily_receipts, less the receipts annulled (read from cabinet_receipts:
   * cancellations are few); null when a group counted more rows than receipts.
   */
  private async dailySummary(
    kkmIds: number[],
    from: string,
    to: string,
    cells?: TupleParam[],
  ): Promise<SummaryRow[] | null> {
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT kkm_id, toString(day) AS day, operation, sum(n) AS receipts, sum(c) AS copies,
         sum(s) AS total_sum, sumMap(pk, pc, ps) AS pay, sumMap(tk, tc, ts, tt) AS tax
       FROM (
         SELECT kkm_id, day, operation, toInt64(uniqExactMerge(receipts)) AS n,
           toInt64(sum(copies)) AS c, sum(total) AS s, sumMapMerge(pay) AS pm,
           pm.1 AS pk, arrayMap(x -> toInt64(x), pm.2) AS pc, pm.3 AS ps,
           sumMapMerge(tax) AS tm, tm.1 AS tk, arrayMap(x -> toInt64(x), tm.2) AS tc, tm.3 AS ts,
           tm.4 AS tt
         FROM daily_receipts
         WHERE kkm_id IN {ids:Array(UInt32)}
           AND day >= toDate({from:DateTime('UTC')}) AND day < toDate({to:DateTime('UTC')})
           ${cells ? `AND (kkm_id, day) IN ${CELLS}` : ''}
         GROUP BY kkm_id, day, operation
         UNION ALL
         SELECT kkm_id, toDate(device_time) AS day, operation, -count() AS n, -count() AS c,
           -sum(total) AS s, sumMap(payments.type, arrayMap(x -> toInt64(1), payments.type),
             payments.sum) AS pm, pm.1 AS pk, arrayMap(x -> -x, pm.2) AS pc,
           arrayMap(x -> -x, pm.3) AS ps,
           sumMap(arrayMap((ty, pct) -> (ty, pct), taxes.type, taxes.percent),
             arrayMap(x -> toInt64(1), taxes.type), taxes.sum, taxes.turnover) AS tm,
           tm.1 AS tk, arrayMap(x -> -x, tm.2) AS tc, arrayMap(x -> -x, tm.3) AS ts,
           arrayMap(x -> -x, tm.4) AS tt
         FROM (
           SELECT kkm_id, device_time, operation, total, payments.type, payments.sum,
             taxes.type, taxes.percent, taxes.sum, taxes.turnover
           FROM cabinet_receipts
           WHERE kkm_id IN {ids:Array(UInt32)}
             AND device_time >= {from:DateTime('UTC')} AND device_time < {to:DateTime('UTC')}
             ${cells ? `AND (kkm_id, toDate(device_time)) IN ${CELLS}` : ''}
             AND (kkm_id, doc_seq) IN (
               SELECT kkm_id, doc_seq FROM receipt_cancellations WHERE kkm_id IN {ids:Array(UInt32)})
           LIMIT 1 BY kkm_id, doc_seq)
         GROUP BY kkm_id, day, operation)
       GROUP BY kkm_id, day, operation
       HAVING receipts != 0 OR copies != 0
       ORDER BY kkm_id, day, operation`,
      { ids: kkmIds, from, to, cells },
    );
    if (raw.some((r) => num(r.receipts) !== num(r.copies))) return null;
    return raw.map(summaryRow);
  }

  private async summaryOfReceipts(
    kkmIds: number[],
    from: string,
    to: string,
    cells?: TupleParam[],
  ): Promise<SummaryRow[]> {
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT kkm_id, toString(toDate(device_time)) AS day, operation,
         count() AS receipts, sum(total) AS total_sum,
         sumMap(payments.type, arrayMap(x -> toUInt64(1), payments.type), payments.sum) AS pay,
         sumMap(arrayMap((t, p) -> (t, p), taxes.type, taxes.percent),
           arrayMap(x -> toUInt64(1), taxes.type), taxes.sum, taxes.turnover) AS tax
       FROM documents FINAL
       WHERE kkm_id IN {ids:Array(UInt32)} AND doc_type = 'ticket'
         AND device_time >= {from:DateTime('UTC')} AND device_time < {to:DateTime('UTC')}
         ${cells ? `AND (kkm_id, toDate(device_time)) IN ${CELLS}` : ''}
         AND (kkm_id, doc_seq) NOT IN (
           SELECT kkm_id, cancelled_seq FROM documents
           WHERE kkm_id IN {ids:Array(UInt32)} AND doc_type = 'cancel_ticket'
             AND device_time >= {from:DateTime('UTC')} - INTERVAL 1 DAY)
       GROUP BY kkm_id, day, operation
       ORDER BY kkm_id, day, operation`,
      { ids: kkmIds, from, to, cells },
    );
    return raw.map(summaryRow);
  }
}
