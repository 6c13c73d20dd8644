// Point reads that share queries (DataLoader): while as many batches are being read as the
// store has read sessions, those that arrive wait and go together as the next one. A session
// runs one query at a time, so batches grow with load instead of queueing, and the engine's
// fixed cost of a query is paid once per batch, not per request.
import DataLoader from 'dataloader';
import type { Db } from './db.js';

/** A loader of `find`'s answers by key, batched as above; nothing is cached here. */
export function batchedReads<K, V>(
  db: Db,
  find: (keys: readonly K[]) => Promise<V[]>,
  maxBatchSize: number,
): DataLoader<K, V, K> {
  const parallel = Math.max(1, db.parallelReads ?? 1);
  let reading = 0;
  const waiting: (() => void)[] = [];
  const start = (dispatch: () => void) => {
    reading++;
    // After this turn's requests are all in.
    setImmediate(dispatch);
  };
  return new DataLoader<K, V, K>(
    async (keys) => {
      try {
        return await find(keys);
      } finally {
        reading--;
        const next = waiting.shift();
        if (next) start(next);
      }
    },
    {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (dispatch) =>
        reading < parallel ? start(dispatch) : void waiting.push(dispatch),
    },
  );
}
