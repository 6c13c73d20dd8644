// Reads of the buyer's receipt check: a receipt by what its QR code names, and who sold it.
// Lookups share queries (batched-loader.ts: while as many batches are being read as the store
// has read sessions, those that arrive wait and go together as the next). A batch is one read
// of receipt_check by its primary key, with the cancellation of each receipt found from
// receipt_cancellations by theirs (migration 20).
// With a ReceiptCheckCache the engine is read only on a miss in Redis (or when Redis is
// unavailable), and its answer is cached; committed documents are cached as they are stored.
import { TupleParam } from '@clickhouse/client';
import type DataLoader from 'dataloader';
import { batchedReads } from './batched-loader.js';
import type { ReceiptKey } from '../fiscal/receipt-url.js';
import type { Db } from './db.js';
import {
  cachedEntry,
  cachedRow,
  cachedValues,
  entriesOfDocument,
  type ReceiptCheckCache,
} from './receipt-check-cache.js';
import { receiptLinesOfRow, type TicketDetail } from './cabinet-queries.js';
import { readTicket203, type Ticket203 } from './ticket-columns-203.js';

/** What the check shows of a stored receipt; money in tiyn, lines as the cabinet reads them. */
export interface FoundReceipt extends Pick<TicketDetail, 'items' | 'payments' | 'taxes'> {
  kkmId: number;
  orgId: number;
  pointId: number;
  ticketNumber: string;
  offlineNumber: number;
  deviceTime: string;
  operation: number;
  offline: boolean;
  total: number;
  taken: number;
  change: number;
  discount: number;
  markup: number;
  /** When a cancel_ticket annulled it: wall clock of the cancellation (the server's, UTC). */
  cancelledAt: string | null;
  /** What 2.0.3 added to its lines and payments (migration 51). */
  v203: Pick<Ticket203, 'items' | 'payments'>;
}

export interface Seller {
  org: { title: string; bin: string };
  point: { title: string; address: string };
  kkm: { serialNumber: string; kgdNumber: string };
}

/** Keys per query: bounds how long one lookup holds the engine. */
const MAX_BATCH = 256;

const keyId = (k: Omit<ReceiptKey, 'total'>) => `${k.kgdNumber}\n${k.number}\n${k.deviceTime}`;

export class ReceiptLookup {
  private readonly loader: DataLoader<ReceiptKey, Record<string, unknown> | null>;

  constructor(
    private readonly db: Db,
    private readonly cache?: ReceiptCheckCache,
  ) {
    // No DataLoader cache: answers are cached above, with an expiry (a receipt can be cancelled).
    this.loader = batchedReads(db, (keys) => this.findMany(keys), MAX_BATCH);
  }

  /** The receipt all four facts name (KGD number, number, device time and total), or null. */
  async find(key: ReceiptKey): Promise<FoundReceipt | null> {
    const value = await this.value(key);
    const row = value && cachedRow(key.deviceTime, cachedValues(value));
    return row && Number(row.total) === key.total ? receiptOfRow(row) : null;
  }

  /**
   * What the check shows of the receipt at that place (KGD number, number, device time; the
   * total is the caller's to compare), in the read model's form (receipt-check-cache.ts): from
   * Redis, else from the engine (and then cached), or null when there is no such receipt.
   */
  async value(key: ReceiptKey): Promise<Buffer | null> {
    // Redis unreachable: the engine answers.
    const cached = this.cache && (await this.cache.value(key).catch(() => null));
    if (cached) return cached;
    const row = await this.loader.load(key);
    if (!row) return null;
    const entry = cachedEntry(key, row);
    if (this.cache) void this.cache.fill([entry]);
    return entry.value;
  }

  /**
   * After a group commit of documents: its receipts go into the cache as they were stored, and
   * those its cancellations annul are read again (the cancellation is stored now) and replace
   * their cached answer. Not awaited by the commit; failures only cost a later engine read,
   * except a cancellation not recorded in a cached answer, which is reported.
   */
  async committed(docs: readonly Record<string, unknown>[]): Promise<void> {
    if (!this.cache) return;
    await this.cache.put(docs.flatMap(entriesOfDocument));
    const cancelled = docs.filter((d) => d.doc_type === 'cancel_ticket');
    if (!cancelled.length) return;
    // Read behind the commit that stored the cancellations. (kkm_id, doc_seq) is the documents
    // table's key: which receipts, under which numbers.
    const db = this.db.afterWrites?.() ?? this.db;
    const annulled = await db.rows<{
      fns_kkm_id: string;
      ticket_number: string;
      offline_number: number;
      wall_time: string;
    }>(
      `SELECT fns_kkm_id, ticket_number, offline_number, toString(device_time) AS wall_time
       FROM documents
       WHERE (kkm_id, doc_seq) IN {ids:Array(Tuple(UInt32, UInt32))} AND doc_type = 'ticket'
       LIMIT 1 BY kkm_id, doc_seq`,
      {
        ids: cancelled.map((d) => new TupleParam([Number(d.kkm_id), Number(d.cancelled_seq)])),
      },
    );
    const keys = annulled
      .filter((a) => a.fns_kkm_id)
      .flatMap((a) =>
        [a.ticket_number, ...(Number(a.offline_number) > 0 ? [String(a.offline_number)] : [])].map(
          (number) => ({ kgdNumber: a.fns_kkm_id, number, deviceTime: a.wall_time, total: 0 }),
        ),
      );
    if (!keys.length) return;
    const rows = await this.findMany(keys, db);
    await this.cache.put(keys.flatMap((k, i) => (rows[i] ? [cachedEntry(k, rows[i])] : [])));
  }

  /** The organization, point of sale and KKM of a receipt, as the registry has them now. */
  async seller(orgId: number, pointId: number, kkmId: number): Promise<Seller | null> {
    // A scalar subquery that finds no row is NULL.
    type Pair = [string, string] | null;
    const [r] = await this.db.rows<{ org: Pair; point: Pair; kkm: Pair }>(
      `SELECT
         (SELECT tuple(title, bin) FROM orgs FINAL WHERE org_id = {org:UInt32}) AS org,
         (SELECT tuple(title, address) FROM points FINAL WHERE point_id = {point:UInt32}) AS point,
         (SELECT tuple(serial_number, fns_kkm_id) FROM kkms FINAL WHERE kkm_id = {kkm:UInt32})
           AS kkm`,
      { org: orgId, point: pointId, kkm: kkmId },
    );
    if (!r?.org || !r.kkm) return null;
    const [pointTitle, address] = r.point ?? ['', ''];
    return {
      org: { title: r.org[0], bin: r.org[1] },
      point: { title: pointTitle, address },
      kkm: { serialNumber: r.kkm[0], kgdNumber: r.kkm[1] },
    };
  }

  /** The receipt_check rows (with their cancellation) of those places, whatever the total. */
  private async findMany(
    keys: readonly ReceiptKey[],
    db = this.db,
  ): Promise<(Record<string, unknown> | null)[]> {
    // The key picks the rows (one point range per receipt, whatever the mix of KKMs). Every
    // copy of a row is the same (a retried document recomputes it), so LIMIT 1 BY, no FINAL.
    // The cancellations of those found are a second point read: joining them in one query
    // costs several times both reads together.
    const found = await db.rows<Record<string, unknown>>(
      `SELECT *, toString(device_time) AS wall_time
       FROM receipt_check
       WHERE (fns_kkm_id, number, device_time) IN {keys:Array(Tuple(String, String, DateTime('UTC')))}
       LIMIT 1 BY fns_kkm_id, number, device_time`,
      { keys: keys.map((k) => new TupleParam([k.kgdNumber, k.number, k.deviceTime])) },
    );
    const cancelled = new Map<string, string>();
    if (found.length) {
      const cancellations = await db.rows<{ kkm_id: number; doc_seq: number; at: string }>(
        `SELECT kkm_id, doc_seq, toString(min(cancelled_at)) AS at FROM receipt_cancellations
         WHERE (kkm_id, doc_seq) IN {ids:Array(Tuple(UInt32, UInt32))}
         GROUP BY kkm_id, doc_seq`,
        { ids: found.map((r) => new TupleParam([Number(r.kkm_id), Number(r.doc_seq)])) },
      );
      for (const c of cancellations) cancelled.set(`${c.kkm_id}:${c.doc_seq}`, c.at);
    }
    for (const r of found) r.cancelled_at = cancelled.get(`${r.kkm_id}:${r.doc_seq}`) ?? null;
    const byKey = new Map<string, Record<string, unknown>>();
    for (const r of found) {
      byKey.set(
        keyId({
          kgdNumber: String(r.fns_kkm_id),
          number: String(r.number),
          deviceTime: String(r.wall_time),
        }),
        r,
      );
    }
    return keys.map((k) => byKey.get(keyId(k)) ?? null);
  }
}

/** A receipt_check row (with `wall_time` and `cancelled_at`) as the check shows it. */
export function receiptOfRow(r: Record<string, unknown>): FoundReceipt {
  return {
    kkmId: Number(r.kkm_id),
    orgId: Number(r.org_id),
    pointId: Number(r.point_id),
    ticketNumber: String(r.ticket_number),
    offlineNumber: Number(r.offline_number),
    deviceTime: String(r.wall_time),
    operation: Number(r.operation),
    offline: Number(r.is_offline) === 1,
    total: Number(r.total),
    taken: Number(r.taken),
    change: Number(r.change),
    discount: Number(r.discount),
    markup: Number(r.markup),
    ...receiptLinesOfRow(r),
    cancelledAt: r.cancelled_at ? String(r.cancelled_at) : null,
    v203: readTicket203(r),
  };
}
