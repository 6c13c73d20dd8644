// Reads of the buyer's receipt check: a receipt by what its QR code names, and who sold it.
// Lookups that arrive in one turn of the event loop share two queries (DataLoader): the
// receipt_lookup rows by their primary key, then the documents by theirs — each receipt with
// the document after it, which is its cancellation when there is one (only the last ticket
// can be cancelled, before any other document, so a cancellation is always doc_seq + 1).
import DataLoader from 'dataloader';
import type { ReceiptKey } from '../protocol/receipt-url.js';
import type { ClickHouseClient } from './clickhouse.js';
import { TICKET_DETAIL_COLUMNS, ticketDetail, type TicketDetail } from './cabinet-queries.js';

export interface FoundReceipt {
  ticket: TicketDetail;
  orgId: number;
  pointId: number;
  /** When a cancel_ticket annulled it: wall clock of the cancellation (the server's, UTC). */
  cancelledAt: string | null;
}

export interface Seller {
  org: { title: string; bin: string };
  point: { title: string; address: string };
  kkm: { serialNumber: string; kgdNumber: string };
}

/** Keys per query: bounds how long one lookup holds the engine. */
const MAX_BATCH = 256;

const keyId = (k: ReceiptKey) => `${k.kgdNumber}\n${k.number}\n${k.deviceTime}`;

interface LookupRow {
  fns_kkm_id: string;
  number: string;
  device_time: string;
  total: string;
  kkm_id: string;
  doc_seq: string;
}

export class ReceiptLookup {
  private readonly loader: DataLoader<ReceiptKey, FoundReceipt | null, string>;

  constructor(private readonly ch: ClickHouseClient) {
    // No DataLoader cache: answers are cached above, with an expiry (a receipt can be cancelled).
    this.loader = new DataLoader((keys) => this.findMany(keys), {
      cache: false,
      maxBatchSize: MAX_BATCH,
    });
  }

  /** The receipt all four facts name (KGD number, number, device time and total), or null. */
  find(key: ReceiptKey): Promise<FoundReceipt | null> {
    return this.loader.load(key);
  }

  /** The organization, point of sale and KKM of a receipt, as the registry has them now. */
  async seller(orgId: number, pointId: number, kkmId: number): Promise<Seller | null> {
    const [r] = await this.rows<{ org: string[]; point: string[]; kkm: string[] }>(
      `SELECT
         (SELECT tuple(title, bin) FROM orgs FINAL WHERE org_id = {org:UInt32}) AS org,
         (SELECT tuple(title, address) FROM points FINAL WHERE point_id = {point:UInt32}) AS point,
         (SELECT tuple(serial_number, fns_kkm_id) FROM kkms FINAL WHERE kkm_id = {kkm:UInt32})
           AS kkm`,
      { org: orgId, point: pointId, kkm: kkmId },
    );
    if (!r || !r.org[1] || !r.kkm[1]) return null;
    return {
      org: { title: r.org[0]!, bin: r.org[1] },
      point: { title: r.point[0] ?? '', address: r.point[1] ?? '' },
      kkm: { serialNumber: r.kkm[0]!, kgdNumber: r.kkm[1] },
    };
  }

  private async findMany(keys: readonly ReceiptKey[]): Promise<(FoundReceipt | null)[]> {
    const found = await this.rows<LookupRow>(
      `SELECT fns_kkm_id, number, toString(device_time) AS device_time, total, kkm_id, doc_seq
       FROM receipt_lookup
       WHERE fns_kkm_id IN {f:Array(String)} AND number IN {n:Array(String)}
         AND has(arrayZip({f:Array(String)}, {n:Array(String)}, {t:Array(String)}),
           (fns_kkm_id, number, toString(device_time)))`,
      {
        f: keys.map((k) => k.kgdNumber),
        n: keys.map((k) => k.number),
        t: keys.map((k) => k.deviceTime),
      },
    );
    const byKey = new Map<string, LookupRow>();
    for (const row of found) {
      byKey.set(
        keyId({
          kgdNumber: row.fns_kkm_id,
          number: row.number,
          deviceTime: row.device_time,
          total: 0,
        }),
        row,
      );
    }
    const hits = keys.map((k) => {
      const row = byKey.get(keyId(k));
      return row && Number(row.total) === k.total ? row : undefined;
    });
    const docs = await this.documents(hits.filter((h): h is LookupRow => !!h));
    return hits.map((hit) => {
      if (!hit) return null;
      const ticket = docs.get(`${hit.kkm_id}:${hit.doc_seq}`);
      if (!ticket || ticket.doc_type !== 'ticket') return null;
      const next = docs.get(`${hit.kkm_id}:${Number(hit.doc_seq) + 1}`);
      const cancelled =
        next?.doc_type === 'cancel_ticket' && Number(next.cancelled_seq) === Number(hit.doc_seq);
      return {
        ticket: ticketDetail(Number(hit.kkm_id), { ...ticket, annulled: cancelled ? 1 : 0 }),
        orgId: Number(ticket.org_id),
        pointId: Number(ticket.point_id),
        cancelledAt: cancelled ? String(next.wall_time) : null,
      };
    });
  }

  /** Each receipt's document and the one after it, by primary key, as `kkm:seq` → row. */
  private async documents(hits: LookupRow[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    if (!hits.length) return out;
    const ids = hits.flatMap((h) => [Number(h.kkm_id), Number(h.kkm_id)]);
    const seqs = hits.flatMap((h) => [Number(h.doc_seq), Number(h.doc_seq) + 1]);
    // Every copy of a document is the same row (a retry recomputes it): no FINAL needed.
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT kkm_id, org_id, point_id, doc_type, cancelled_seq, ${TICKET_DETAIL_COLUMNS}
       FROM documents
       WHERE kkm_id IN {ids:Array(UInt32)} AND doc_seq IN {seqs:Array(UInt32)}
         AND has(arrayZip({ids:Array(UInt32)}, {seqs:Array(UInt32)}), (kkm_id, doc_seq))
       LIMIT 1 BY kkm_id, doc_seq`,
      { ids, seqs },
    );
    for (const r of rows) out.set(`${r.kkm_id}:${r.doc_seq}`, r);
    return out;
  }

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }
}
