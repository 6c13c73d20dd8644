// A small per-key cache of promised values for reads the ingest path makes often but that
// change rarely (an organization's cashiers, ads): each ingest process re-reads a key at most
// once per `ttlMs`, so what the operator changes takes effect within that time.
import { LRUCache } from 'lru-cache';

export class TtlCache<K extends number | string, V> {
  private readonly entries: LRUCache<K, { value: Promise<V> }>;

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.entries = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    return hit ? hit.value : this.set(key, load());
  }

  /** Caches a value being read (by another path that read it anyway). */
  set(key: K, value: Promise<V>): Promise<V> {
    const entry = { value };
    this.entries.set(key, entry);
    // A failed read is not kept: the next request tries again.
    value.catch(() => {
      if (this.entries.peek(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
