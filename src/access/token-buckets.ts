// Token buckets by key, in process, optionally sharing one budget with every other process
// through a source (storage/rate-buckets.ts keeps it in Redis): the ingest path's request
// limits (ingest/request-limits.ts) and the buyer's receipt check (api/public). Pure: no I/O
// of its own.
import { LRUCache } from 'lru-cache';

export interface Bucket {
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
  /** Refusals not logged yet, and when the last log line about this key was written. */
  refused: number;
  loggedAt: number;
  /** Shared buckets: tokens spent here not yet reported, and whether a report is under way. */
  unsynced?: number;
  syncing?: boolean;
}

/**
 * The bucket every process shares: takes `spent` tokens (it may go below zero) and
 * answers how many are left.
 */
export type BucketSource = (key: string | number, spent: number) => Promise<number>;

/**
 * Token buckets by key: `rate` tokens a second up to `burst`. The map is bounded: buckets that
 * have refilled are dropped by `sweep` (a new bucket starts full, so nothing is lost), and when
 * it is full anyway the least recently used bucket goes first, which only ever makes one key's
 * limit laxer.
 *
 * With a `source` the budget is shared by every process: each local bucket spends as before
 * and reports what it spent to the shared one every chunk (a tenth of the burst, at most a
 * second's worth) of requests, then takes the shared level when that is lower — what other
 * processes spent. No request waits for Redis; a process overspends a key by at most a chunk
 * between reports. When Redis fails the local bucket goes on alone.
 */
export class TokenBuckets<K extends number | string> {
  private readonly buckets: LRUCache<K, Bucket>;
  private readonly chunk: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    maxKeys = 1_000_000,
    private readonly source?: BucketSource,
    /** Tokens spent between reports to the source (default: a tenth of the burst, ≤ 1 s). */
    chunk = Math.min(Math.ceil(burst / 10), Math.ceil(rate)),
  ) {
    this.buckets = new LRUCache({ max: maxKeys });
    this.chunk = Math.max(1, chunk);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`; the bucket when there was none left, else null. */
  take(key: K, now = performance.now()): Bucket | null {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now, refused: 0, loggedAt: -Infinity };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      if (this.source) this.spent(key, bucket);
      return null;
    }
    return bucket;
  }

  /** Counts a token spent; every chunk, reports them and takes in the others' spending. */
  private spent(key: K, bucket: Bucket): void {
    bucket.unsynced = (bucket.unsynced ?? 0) + 1;
    if (bucket.syncing || bucket.unsynced < this.chunk) return;
    const reported = bucket.unsynced;
    bucket.unsynced = 0;
    bucket.syncing = true;
    this.source!(key, reported)
      .then(
        (level) => {
          // Spent here since the report was sent counts against the shared level too.
          bucket.tokens = Math.min(bucket.tokens, level - (bucket.unsynced ?? 0));
        },
        () => undefined,
      )
      .finally(() => {
        bucket.syncing = false;
      });
  }

  /** Whether `key` has a token left, without taking it. */
  available(key: K, now = performance.now()): boolean {
    const bucket = this.buckets.get(key);
    return !bucket || bucket.tokens + ((now - bucket.at) * this.rate) / 1000 >= 1;
  }

  /** Drops the buckets that are full again (their unreported spending is forgiven). */
  sweep(now = performance.now()): void {
    for (const [key, b] of this.buckets.entries()) {
      if (b.syncing) continue;
      if (b.tokens + ((now - b.at) * this.rate) / 1000 >= this.burst) this.buckets.delete(key);
    }
  }
}
