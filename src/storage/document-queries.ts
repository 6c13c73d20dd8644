// Reads of stored documents that the command rules need: one shift's documents, running
// totals before a shift, the last closed shift and the last document of a device (or of
// many devices in one query, for rebuilds in bulk).
import type { Db } from './db.js';
import type { DocumentFigures, DocType } from '../fiscal/document-rows.js';
import { zeroTotals, type RunningTotals } from '../fiscal/zx-report.js';

const FIGURES = `doc_seq, doc_type, operation, is_offline, total, taken, change, discount, markup,
  items.type, items.section, items.sum, payments.type, payments.sum,
  taxes.type, taxes.percent, taxes.sum, taxes.turnover, placement, cancelled_seq`;

export interface LastDocument {
  doc_seq: number;
  doc_type: DocType;
  shift_number: number;
  /** The server's Z report when the document is a shift closure, else empty. */
  server_report: string;
  req_num: number;
  token_in: number;
  token_out: number;
  state: string;
  response: string;
}

export interface ClosedShift {
  shift_number: number;
  doc_seq: number;
  server_report: string;
}

// JSONEachRow quotes 64-bit integers; every money column here is Int64.
const num = (v: unknown): number => Number(v);
const nums = (v: unknown): number[] => (v as unknown[]).map(Number);

/**
 * The condition of the "last document" reads below: each of the KKMs' newest doc_seq among the
 * documents `also` selects, found from the narrow key columns first, so that the wide ones
 * (state, response, reports) are read only for those rows, in practice the granules holding
 * them: reading them for every document of a batch of KKMs to keep one per KKM slowed a
 * reconnect storm. The outer read keeps FINAL, so of a document stored twice (a retried
 * insert; the table is a ReplacingMergeTree without a version) the same copy wins as before;
 * this one needs none, as duplicates share their doc_seq.
 */
const newestOfKkms = (also = '') =>
  `kkm_id IN {kkms:Array(UInt32)} AND (kkm_id, doc_seq) IN (
     SELECT kkm_id, max(doc_seq) FROM documents
     WHERE kkm_id IN {kkms:Array(UInt32)}${also} GROUP BY kkm_id)`;

export class DocumentQueries {
  constructor(private readonly db: Db) {}

  async shiftDocuments(kkmId: number, shift: number): Promise<DocumentFigures[]> {
    const raw = await this.db.rows<Record<string, unknown>>(
      `SELECT ${FIGURES} FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND shift_number = {shift:UInt32} AND doc_type != 'close_shift'
       ORDER BY doc_seq`,
      { kkm: kkmId, shift },
    );
    return raw.map((r) => ({
      doc_seq: num(r.doc_seq),
      doc_type: r.doc_type as DocType,
      operation: num(r.operation),
      is_offline: num(r.is_offline),
      total: num(r.total),
      taken: num(r.taken),
      change: num(r.change),
      discount: num(r.discount),
      markup: num(r.markup),
      'items.type': nums(r['items.type']),
      'items.section': r['items.section'] as string[],
      'items.sum': nums(r['items.sum']),
      'payments.type': nums(r['payments.type']),
      'payments.sum': nums(r['payments.sum']),
      'taxes.type': nums(r['taxes.type']),
      'taxes.percent': nums(r['taxes.percent']),
      'taxes.sum': nums(r['taxes.sum']),
      'taxes.turnover': nums(r['taxes.turnover']),
      placement: num(r.placement),
      cancelled_seq: num(r.cancelled_seq),
    }));
  }

  /** Counters since registration up to (not including) the given shift. */
  async totalsBefore(kkmId: number, shift: number): Promise<RunningTotals> {
    const totals = zeroTotals();
    const rows = await this.db.rows<{
      doc_type: DocType;
      k: number;
      n: string;
      s: string;
      annulled: string;
    }>(
      `WITH cancelled AS (
         SELECT cancelled_seq FROM documents FINAL
         WHERE kkm_id = {kkm:UInt32} AND doc_type = 'cancel_ticket' AND shift_number < {shift:UInt32})
       SELECT doc_type, if(doc_type = 'ticket', operation, placement) AS k,
         countIf(doc_seq NOT IN cancelled) AS n, sumIf(total, doc_seq NOT IN cancelled) AS s,
         countIf(doc_seq IN cancelled) AS annulled
       FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND shift_number < {shift:UInt32}
         AND (doc_type IN ('ticket', 'money_placement') OR (doc_type = 'close_shift' AND total > 0))
       GROUP BY doc_type, k`,
      { kkm: kkmId, shift },
    );
    for (const r of rows) {
      const k = num(r.k);
      if (r.doc_type === 'ticket') {
        totals.ticketCount[k] = num(r.n);
        totals.ticketSum[k] = num(r.s);
        totals.annulledCount += num(r.annulled);
      } else {
        // A close_shift with a total withdrew all cash (withdraw_money): a withdrawal too.
        totals.placementCount[k]! += num(r.n);
      }
    }
    return totals;
  }

  async lastClosedShift(kkmId: number): Promise<ClosedShift | null> {
    return (await this.lastClosedShifts([kkmId])).get(kkmId) ?? null;
  }

  /** The last shift closure of each of these KKMs, in one query (those with none left out). */
  async lastClosedShifts(kkmIds: readonly number[]): Promise<Map<number, ClosedShift>> {
    const rows = await this.db.rows<ClosedShift & { kkm_id: number }>(
      `SELECT kkm_id, shift_number, doc_seq, server_report FROM documents FINAL
       WHERE ${newestOfKkms(" AND doc_type = 'close_shift'")}`,
      { kkms: kkmIds },
    );
    return new Map(
      rows.map(({ kkm_id, ...row }) => [
        num(kkm_id),
        { ...row, shift_number: num(row.shift_number), doc_seq: num(row.doc_seq) },
      ]),
    );
  }

  /** Whether we stored receipt `number` of the KKM the tax authority registered as `kgdKkmId`. */
  async knownTicket(kgdKkmId: string, number: string): Promise<boolean> {
    const [row] = await this.db.rows<{ n: string }>(
      `SELECT count() AS n FROM documents
       WHERE kkm_id IN (SELECT kkm_id FROM kkms FINAL WHERE fns_kkm_id = {kgd:String})
         AND doc_type = 'ticket' AND ticket_number = {number:String}`,
      { kgd: kgdKkmId, number },
    );
    return num(row?.n ?? 0) > 0;
  }

  async lastDocument(kkmId: number): Promise<LastDocument | null> {
    return (await this.lastDocuments([kkmId])).get(kkmId) ?? null;
  }

  /** The last document of each of these KKMs, in one query (those with none left out). */
  async lastDocuments(kkmIds: readonly number[]): Promise<Map<number, LastDocument>> {
    const rows = await this.db.rows<LastDocument & { kkm_id: number }>(
      `SELECT kkm_id, doc_seq, doc_type, shift_number, req_num, token_in, token_out, state,
         response, if(doc_type = 'close_shift', server_report, '') AS server_report
       FROM documents FINAL WHERE ${newestOfKkms()}`,
      { kkms: kkmIds },
    );
    return new Map(
      rows.map(({ kkm_id, ...row }) => [
        num(kkm_id),
        {
          ...row,
          doc_seq: num(row.doc_seq),
          shift_number: num(row.shift_number),
          req_num: num(row.req_num),
          token_in: num(row.token_in),
          token_out: num(row.token_out),
        },
      ]),
    );
  }

  /**
   * The last document of every KKM whose newest document within `lookbackHours` (device
   * clock) is not a shift closure, with the device state stored with it.
   */
  unclosedShifts(lookbackHours: number) {
    return this.db.rows<{
      kkm_id: number;
      org_id: number;
      point_id: number;
      last_type: string;
      shift: number;
      last_time: string;
      last_received: number;
      state: string;
    }>(
      `SELECT kkm_id, any(org_id) AS org_id, any(point_id) AS point_id,
         argMax(doc_type, doc_seq) AS last_type, argMax(shift_number, doc_seq) AS shift,
         argMax(toString(device_time), doc_seq) AS last_time,
         argMax(toUnixTimestamp64Milli(received_at), doc_seq) AS last_received,
         argMax(state, doc_seq) AS state
       FROM documents
       WHERE device_time >= now() - toIntervalHour({lookback:UInt32})
       GROUP BY kkm_id HAVING last_type != 'close_shift'`,
      { lookback: lookbackHours },
    );
  }
}
