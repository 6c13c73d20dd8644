// The buyer's receipt check's read model in Redis, so that a check needs no engine query: what
// the check shows of each receipt (the receipt_check columns and its cancellation), written by
// the group commit that stored it (ReceiptLookup.committed), and on a miss by the engine's
// answer (only where nothing newer is held). One hash per KKM (KGD number) and device day, a
// field per number the receipt can be checked by (its fiscal number, and the number an offline
// receipt was printed with) and device time: `receipt-check:2:<kgd>:<YYYY-MM-DD>` →
// `<number> <hh:mm:ss>` → a MessagePack array of the columns in CACHED_COLUMNS' order (no
// names, no per-receipt key and expiry; the 2 is the value's format). A receipt of ten lines
// takes about 560 bytes so (760 as JSON), some 650 in Redis with the hash's own overhead
// (bench/RESULTS.md). Format 1 deflated JSON to a third of that, but inflating and parsing cost a
// first check ~15 µs of the ~35 µs a page of the process's own costs in all, and a commit ~9 µs
// a receipt; MessagePack decodes in 2–3 µs and encodes in 1–2. A hash lives
// OFD_RECEIPT_CHECK_CACHE_DAYS after its last commit. Redis is a cache here: when it is flushed
// or unreachable, the engine answers and the answer is cached again. A commit's entries go in
// one script call (its fields, then each hash's lifetime), not two commands a receipt: at a low
// rate those commands took about a tenth of the event loop's time.
import type { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import type { ReceiptKey } from '../fiscal/receipt-url.js';

/** The receipt_check columns a cached value lists, in this order, then its cancellation time. */
export const CACHED_COLUMNS = [
  'total',
  'kkm_id',
  'doc_seq',
  'org_id',
  'point_id',
  'ticket_number',
  'operation',
  'is_offline',
  'offline_number',
  'taken',
  'change',
  'discount',
  'markup',
  'items.type',
  'items.name',
  'items.section',
  'items.quantity',
  'items.price',
  'items.sum',
  'items.code',
  'items.barcode',
  'items.unit',
  'items.tax_percent',
  'items.tax_sum',
  'payments.type',
  'payments.sum',
  'taxes.type',
  'taxes.percent',
  'taxes.sum',
  'taxes.turnover',
  'items.ntin',
  'items.excise_stamps',
  'payments.card_terminal_id',
  'payments.card_type',
  'payments.card_auth_code',
  'payments.card_rrn',
  'payments.card_receipt_number',
  'payments.mobile_qr_type',
  'payments.mobile_qr_id',
  'cancelled_at',
] as const;

type Row = Record<string, unknown>;
export type CachedColumn = (typeof CACHED_COLUMNS)[number];

// KEYS: the hashes. ARGV: lifetime (s), '1' to write only fields not held yet (and to start
// only lifetimes not running), then per entry: its hash's index in KEYS, field, value.
const WRITE_ENTRIES = `
local ttl, absent = ARGV[1], ARGV[2] == '1'
for i = 3, #ARGV, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  if absent then redis.call('HSETNX', key, ARGV[i + 1], ARGV[i + 2])
  else redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2]) end
end
for _, key in ipairs(KEYS) do
  if absent then redis.call('EXPIRE', key, ttl, 'NX') else redis.call('EXPIRE', key, ttl) end
end
return #KEYS
`;

const ENTRIES_PER_CALL = 2000;

type ScriptRedis = Redis & {
  ofdWriteReceiptChecks(numKeys: number, ...args: (string | number | Buffer)[]): Promise<number>;
};

/** Where each column is in a cached value's array. */
export const COLUMN = Object.fromEntries(CACHED_COLUMNS.map((c, i) => [c, i])) as Record<
  CachedColumn,
  number
>;

/** Plain MessagePack (arrays, no record extension), so any decoder reads a value. */
const PACKR = new Packr({ useRecords: false });
type Place = Pick<ReceiptKey, 'kgdNumber' | 'number' | 'deviceTime'>;

/** One receipt as cached: where (without the prefix) and the value. */
export interface CachedEntry {
  hash: string;
  field: string;
  value: Buffer;
}

const hashOf = (k: Place) => `receipt-check:2:${k.kgdNumber}:${k.deviceTime.slice(0, 10)}`;
const fieldOf = (k: Place) => `${k.number} ${k.deviceTime.slice(11)}`;

/** The cached form of a receipt_check row (as the engine answers it, or as a commit makes it). */
export function cachedEntry(key: Place, row: Row): CachedEntry {
  const value = PACKR.pack(CACHED_COLUMNS.map((c) => row[c] ?? null));
  return { hash: hashOf(key), field: fieldOf(key), value };
}

/**
 * The entries of a committed documents row: a receipt of a KKM with a KGD number under each of
 * its numbers (what receipt_check_mv copies), nothing for any other document.
 */
export function entriesOfDocument(doc: Row): CachedEntry[] {
  const kgdNumber = String(doc.fns_kkm_id ?? '');
  if (doc.doc_type !== 'ticket' || !kgdNumber) return [];
  const deviceTime = String(doc.device_time);
  const offline = Number(doc.offline_number ?? 0);
  const numbers = [String(doc.ticket_number), ...(offline > 0 ? [String(offline)] : [])];
  const row = { ...doc, cancelled_at: null };
  return numbers.map((number) => cachedEntry({ kgdNumber, number, deviceTime }, row));
}

/** The columns of a cached value, in CACHED_COLUMNS' order. */
export const cachedValues = (value: Buffer): unknown[] => PACKR.unpack(value) as unknown[];

/** A cached value as a receipt_check row (with `wall_time`, the device time of its place). */
export function cachedRow(deviceTime: string, values: readonly unknown[]): Row {
  const row: Row = { wall_time: deviceTime };
  CACHED_COLUMNS.forEach((c, i) => (row[c] = values[i]));
  return row;
}

export class ReceiptCheckCache {
  private readonly ttlSeconds: number;
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    days: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.ttlSeconds = Math.max(1, Math.round(days * 86_400));
    if (!('ofdWriteReceiptChecks' in redis)) {
      redis.defineCommand('ofdWriteReceiptChecks', { lua: WRITE_ENTRIES });
    }
    this.redis = redis as ScriptRedis;
  }

  /** The cached row (with `wall_time`) of the receipt at that place, or null on a miss. */
  async get(key: Place): Promise<Row | null> {
    const value = await this.value(key);
    return value && cachedRow(key.deviceTime, cachedValues(value));
  }

  /** The cached value (packed columns) of the receipt at that place, or null on a miss. */
  value(key: Place): Promise<Buffer | null> {
    return this.redis.hgetBuffer(this.prefix + hashOf(key), fieldOf(key));
  }

  /**
   * Stores entries as they are now (a commit, a cancellation): one script call, not awaited by
   * the caller's answer; each hash's lifetime starts again.
   */
  put(entries: CachedEntry[]): Promise<void> {
    return this.write(entries, false);
  }

  /** Stores what the engine answered where nothing is held yet (a newer commit wins). */
  fill(entries: CachedEntry[]): Promise<void> {
    return this.write(entries, true);
  }

  private async write(entries: CachedEntry[], ifAbsent: boolean): Promise<void> {
    // Bounded calls: each holds Redis for its length, and its arguments are spread on a stack.
    for (let i = 0; i < entries.length; i += ENTRIES_PER_CALL) {
      await this.writeCall(entries.slice(i, i + ENTRIES_PER_CALL), ifAbsent);
    }
  }

  private async writeCall(entries: CachedEntry[], ifAbsent: boolean): Promise<void> {
    const index = new Map<string, number>();
    const fields: (string | number | Buffer)[] = [this.ttlSeconds, ifAbsent ? '1' : '0'];
    for (const e of entries) {
      let i = index.get(e.hash);
      if (i === undefined) index.set(e.hash, (i = index.size + 1));
      fields.push(i, e.field, e.value);
    }
    const keys = [...index.keys()].map((hash) => this.prefix + hash);
    try {
      await this.redis.ofdWriteReceiptChecks(keys.length, ...keys, ...fields);
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
