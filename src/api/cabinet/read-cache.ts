// Cabinet reads answered from this process's memory while nothing they show has changed.
//
// What a KKM's receipts, reports and figures show changes only with a new document of that
// KKM (a cancellation is one too), and every document gets the next doc_seq. So an answer is
// kept under the newest doc_seq of the KKMs it shows, as ingest's device states in Redis hold
// it, and a new document makes every kept answer of its KKM unreachable. Redis vouches for a
// seq only while no request holds the device's claim: ingest takes the claim before a
// document is committed and stores the state after, in one script with dropping the claim, so
// a state without a claim has every committed document counted. Without a state (Redis lost
// it, or the KKM has not been heard from since a restart) or with a claim held, the answer is
// read from the engine and not kept.
//
// Misses are batched (batched-loader.ts): the receipts of whole shifts, whole receipts by
// number and the analytics figures of whole device days, each many in one query, so a page
// of any cursor and a summary of any KKMs and days are cut from what is kept.
//
// Every answer here is asked for only after the route's authorization; what is kept is
// shared between callers, so nothing kept depends on who asks, and nobody changes it.
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type DataLoader from 'dataloader';
import { deviceStateKey } from '../../fiscal/device-state.js';
import { batchedReads } from '../../storage/batched-loader.js';
import type {
  CabinetQueries,
  ClosedShiftRow,
  KkmSeq,
  SummaryRow,
  TicketDetail,
  TicketSummary,
} from '../../storage/cabinet-queries.js';
import type { Db } from '../../storage/db.js';

// KEYS: device state keys. Per key: the seq of its state while no claim is held, else -1.
const NEWEST_SEQS = `
local out = {}
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'p', 's')
  out[i] = -1
  if not f[1] and f[2] then
    local ok, state = pcall(cjson.decode, f[2])
    if ok and type(state) == 'table' and type(state.seq) == 'number' then out[i] = state.seq end
  end
end
return out
`;

type VersionRedis = Redis & {
  ofdNewestSeqs(numKeys: number, ...keys: string[]): Promise<number[]>;
};

/** The newest committed doc_seq of each KKM as Redis vouches for it (null: it cannot). */
export class KkmVersions {
  private readonly redis: VersionRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('ofdNewestSeqs' in redis)) redis.defineCommand('ofdNewestSeqs', { lua: NEWEST_SEQS });
    this.redis = redis as VersionRedis;
  }

  async of(kkmIds: readonly number[]): Promise<(number | null)[]> {
    if (!kkmIds.length) return [];
    const keys = kkmIds.map((id) => deviceStateKey(this.prefix, id));
    // Redis unreachable: nothing is vouched for, the engine answers.
    const seqs = await this.redis.ofdNewestSeqs(keys.length, ...keys).catch(() => null);
    return kkmIds.map((_, i) => {
      const seq = seqs?.[i];
      return typeof seq === 'number' && seq >= 0 ? seq : null;
    });
  }
}

/** Bytes the kept answers may take, roughly (their sizes are estimates). */
export const READ_CACHE_BYTES = 256 * 1024 * 1024;
/** A shift with more receipts than this is read page by page instead of kept whole. */
export const MAX_KEPT_SHIFT = 2000;
const MAX_BATCH = 128;

interface Kept {
  value: unknown;
  size: number;
}

/** Answers kept under the versions of the KKMs they show. */
export class ReadCache {
  private readonly kept: LRUCache<string, Kept>;
  /** Loads in flight by key: requests that ask at once share one. */
  private readonly loading = new Map<string, Promise<unknown>>();

  constructor(
    readonly versions: KkmVersions,
    maxBytes = READ_CACHE_BYTES,
  ) {
    this.kept = new LRUCache({ maxSize: maxBytes, sizeCalculation: (k) => k.size });
  }

  /**
   * What `load` answers for `key`, kept under the newest documents of `kkmIds` (read fresh and
   * not kept when Redis cannot vouch for one of them). `size` estimates the answer's bytes.
   */
  async answer<T>(
    kkmIds: readonly number[],
    key: string,
    load: () => Promise<T>,
    size: (value: T) => number,
  ): Promise<T> {
    return this.at(await this.versions.of(kkmIds), key, load, size);
  }

  /** answer() with the versions already read (before anything `load` reads). */
  async at<T>(
    seqs: readonly (number | null)[],
    key: string,
    load: () => Promise<T>,
    size: (value: T) => number,
  ): Promise<T> {
    if (seqs.some((s) => s === null)) return load();
    const full = `${key}@${seqs.join(',')}`;
    const hit = this.kept.get(full);
    if (hit) return hit.value as T;
    const pending = this.loading.get(full) as Promise<T> | undefined;
    if (pending) return pending;
    // The versions were read before the engine: what it answers has at least those documents.
    const loaded = load().then((value) => {
      this.kept.set(full, { value, size: Math.max(64, size(value)) });
      return value;
    });
    this.loading.set(full, loaded);
    try {
      return await loaded;
    } finally {
      this.loading.delete(full);
    }
  }
}

/** Rough bytes of a receipt list entry and of a whole receipt, as kept. */
const SUMMARY_BYTES = 400;
const detailBytes = (t: TicketDetail) =>
  1500 + t.response.length + t.items.length * 400 + t.payments.length * 200;
const rowBytes = (rows: readonly SummaryRow[]) =>
  64 + rows.reduce((a, r) => a + 200 + (r.payments.length + r.taxes.length) * 100, 0);

/** The page after doc_seq `after` of a list in doc_seq order, as a keyset-paged query reads it. */
export function pageAfter<T extends { docSeq: number }>(
  list: readonly T[],
  after: number,
  limit: number,
): { items: T[]; more: boolean } {
  let start = list.findIndex((t) => t.docSeq > after);
  if (start < 0) start = list.length;
  return { items: list.slice(start, start + limit), more: list.length - start > limit };
}

/** A shift's receipts as kept: all of them, or `long` when there are too many to keep. */
export type KeptShift = { receipts: TicketSummary[] } | { long: true };

/** The cabinet's cached reads: the batched loaders of the engine and the kept answers. */
export class CabinetReads {
  private readonly shifts: DataLoader<{ kkmId: number; shift: number }, KeptShift>;
  private readonly receipts: DataLoader<KkmSeq, TicketDetail | null>;
  private readonly days: DataLoader<{ kkmId: number; day: string }, SummaryRow[]>;
  private readonly closures: DataLoader<{ kkmId: number; shift: number }, ClosedShiftRow[]>;

  constructor(
    db: Db,
    queries: CabinetQueries,
    readonly cache: ReadCache,
  ) {
    this.shifts = batchedReads(
      db,
      async (keys) => {
        const found = await queries.shiftsReceipts(keys, MAX_KEPT_SHIFT);
        return keys.map((k): KeptShift => {
          const receipts = found.get(`${k.kkmId}:${k.shift}`) ?? [];
          return receipts.length > MAX_KEPT_SHIFT ? { long: true } : { receipts };
        });
      },
      MAX_BATCH,
    );
    this.receipts = batchedReads(
      db,
      async (keys) => {
        const found = await queries.ticketsBySeq(keys);
        return keys.map((k) => found.get(`${k.kkmId}:${k.docSeq}`) ?? null);
      },
      MAX_BATCH,
    );
    this.closures = batchedReads(
      db,
      async (keys) => {
        const found = await queries.closuresOf(keys);
        return keys.map((k) => found.get(`${k.kkmId}:${k.shift}`) ?? []);
      },
      MAX_BATCH,
    );
    this.days = batchedReads(
      db,
      async (keys) => {
        const rows = await queries.summaryOfDays(keys);
        const byCell = new Map<string, SummaryRow[]>();
        for (const r of rows) {
          const cell = `${r.kkmId}:${r.day}`;
          byCell.set(cell, [...(byCell.get(cell) ?? []), r]);
        }
        return keys.map((k) => byCell.get(`${k.kkmId}:${k.day}`) ?? []);
      },
      // A day of a KKM is a few rows; a summary asks for up to 140 of them. Kept to about two
      // summaries a query: the days of many read together span all their KKMs and days.
      280,
    );
  }

  /** The receipts of a shift, whole (in doc_seq order), or `long`. */
  shift(kkmId: number, shift: number): Promise<KeptShift> {
    return this.cache.answer(
      [kkmId],
      `shift:${kkmId}:${shift}`,
      () => this.shifts.load({ kkmId, shift }),
      (s) => ('long' in s ? 64 : 64 + s.receipts.length * SUMMARY_BYTES),
    );
  }

  /** The closures (Z reports) of a shift, in doc_seq order. */
  closuresOfShift(kkmId: number, shift: number): Promise<ClosedShiftRow[]> {
    return this.cache.answer(
      [kkmId],
      `z:${kkmId}:${shift}`,
      () => this.closures.load({ kkmId, shift }),
      (list) => 256 + list.reduce((n, r) => n + r.deviceReport.length + r.serverReport.length, 0),
    );
  }

  /** A whole receipt by its doc_seq, or null; `ticketNumber` must be its number too. */
  async receipt(kkmId: number, docSeq: number, ticketNumber: string): Promise<TicketDetail | null> {
    const t = await this.cache.answer(
      [kkmId],
      `receipt:${kkmId}:${docSeq}`,
      () => this.receipts.load({ kkmId, docSeq }),
      (r) => (r ? detailBytes(r) : 64),
    );
    return t && t.ticketNumber === ticketNumber ? t : null;
  }

  /** The summary rows of whole device days [days] of these KKMs, in (kkm, day, operation) order. */
  async summaryOfDays(kkmIds: readonly number[], days: readonly string[]): Promise<SummaryRow[]> {
    const seqs = await this.cache.versions.of(kkmIds);
    // A KKM Redis cannot vouch for: its days fresh from the engine, not kept.
    const cells = await Promise.all(
      kkmIds.map((kkmId, i) =>
        Promise.all(
          days.map((day) => {
            const load = () => this.days.load({ kkmId, day });
            return this.cache.at([seqs[i]!], `day:${kkmId}:${day}`, load, rowBytes);
          }),
        ),
      ),
    );
    // kkmIds and days in order already; a day's rows are in operation order.
    return cells.flat(2);
  }
}
