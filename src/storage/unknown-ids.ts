// IDs the registry does not hold, answered without a query: frames naming random device IDs
// would otherwise each cost a ClickHouse query (and slow the cabinet's reads that queue behind
// them). IDs are allocated in sequence, so one above the highest registered is unknown (the
// highest is read again at most once per TTL); one below it that was not found is remembered
// for the TTL. Registering an ID here forgets it at once; other processes within the TTL.
import { LRUCache } from 'lru-cache';

export const UNKNOWN_ID_TTL_MS = 5000;

export class UnknownIds {
  private readonly ids: LRUCache<number, true>;
  private highest = 0;
  private highestAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(
    /** The highest ID registered so far (one query). */
    private readonly highestId: () => Promise<number>,
    private readonly ttlMs = UNKNOWN_ID_TTL_MS,
    max = 100_000,
  ) {
    this.ids = new LRUCache({ max, ttl: ttlMs });
  }

  /** True when `id` is known not to be registered; false means "look it up". */
  async absent(id: number): Promise<boolean> {
    if (this.ids.has(id)) return true;
    if (id <= this.highest) return false;
    if (performance.now() - this.highestAt >= this.ttlMs) {
      this.reading ??= this.highestId()
        .then((h) => {
          this.highest = Math.max(this.highest, h);
          this.highestAt = performance.now();
        })
        .finally(() => (this.reading = null));
      await this.reading;
    }
    return id > this.highest;
  }

  /** A lookup found nothing. */
  add(id: number): void {
    this.ids.set(id, true);
  }

  /** `id` was just registered. */
  registered(id: number): void {
    this.ids.delete(id);
    this.highest = Math.max(this.highest, id);
  }
}
