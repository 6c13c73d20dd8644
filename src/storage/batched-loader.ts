// Reads that many requests make at once, batched (DataLoader): while as many batches are being
// read as the store may run side by side, the keys that arrive wait and go together as the next
// batch (a session runs one query at a time, so batches grow with load instead of queueing).
// Loaders given the same slots share them: a storm of first contacts after a Redis flush costs
// one query per batch of devices for each read, not one per device.
import DataLoader from 'dataloader';
import type { Db } from './db.js';

/** How many batches (of any loader given these slots) are read at once. */
export class BatchSlots {
  private reading = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly parallel: number,
    /** Called as each batch is read (a query), with the read's name and its keys. */
    readonly onBatch?: (read: string, keys: number) => void,
  ) {}

  /** DataLoader's batchScheduleFn: a batch starts now if a slot is free, else when one is. */
  readonly schedule = (dispatch: () => void): void => {
    if (this.reading < this.parallel) this.start(dispatch);
    else this.waiting.push(dispatch);
  };

  /** A batch ended: the one waiting longest takes its slot. */
  done(): void {
    this.reading--;
    const next = this.waiting.shift();
    if (next) this.start(next);
  }

  private start(dispatch: () => void): void {
    this.reading++;
    // After this turn's requests are all in.
    setImmediate(dispatch);
  }
}

/**
 * A loader without a cache of its own (every load is read, by a batch): `readMany` answers
 * each key of a batch, in order.
 */
export function batchedLoader<K, V>(
  slots: BatchSlots,
  maxBatch: number,
  readMany: (keys: readonly K[]) => Promise<V[]>,
  /** What is read, for `BatchSlots.onBatch`. */
  name = 'read',
): DataLoader<K, V> {
  return new DataLoader<K, V>(
    async (keys) => {
      try {
        slots.onBatch?.(name, keys.length);
        return await readMany(keys);
      } finally {
        slots.done();
      }
    },
    { cache: false, maxBatchSize: maxBatch, batchScheduleFn: slots.schedule },
  );
}

/** `readMany` for reads by id that answer a map (ids not found: `missing`). */
export function byId<V, M>(
  read: (ids: readonly number[]) => Promise<Map<number, V>>,
  missing: M,
): (ids: readonly number[]) => Promise<(V | M)[]> {
  return async (ids) => {
    const found = await read([...new Set(ids)]);
    return ids.map((id) => found.get(id) ?? missing);
  };
}

/** A loader of `readMany`'s answers with slots of its own: as many batches as `db` reads at once. */
export const batchedReads = <K, V>(
  db: Pick<Db, 'parallelReads'>,
  readMany: (keys: readonly K[]) => Promise<V[]>,
  maxBatch: number,
): DataLoader<K, V> =>
  batchedLoader(new BatchSlots(Math.max(1, db.parallelReads ?? 1)), maxBatch, readMany);
