// The group-commit writer against an insert that never returns: every row fails within the
// commit timeout of its own write, also the rows queued behind the hung commit (which used to
// wait for it and then for a timeout of their own), and the queue never outgrows its bound.
import t from 'tap';
import { BatchWriter, StoreUnavailableError } from '../../src/storage/batch-writer.js';

const TIMEOUT_MS = 300;

t.test('rows queued behind a hung commit fail within their own timeout', async (t) => {
  let inserts = 0;
  const writer = new BatchWriter(
    async () => {
      inserts++;
      await new Promise(() => {}); // hangs forever
    },
    { maxRows: 2, maxDelayMs: 0, maxPending: 10, commitTimeoutMs: TIMEOUT_MS },
  );
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      writer.write('documents', { i }).then(
        () => ({ ok: true, ms: performance.now() - started, error: null }),
        (error: Error) => ({ ok: false, ms: performance.now() - started, error }),
      ),
    ),
  );
  t.same(
    outcomes.map((o) => o.ok),
    outcomes.map(() => false),
    'every row fails',
  );
  t.ok(
    outcomes.every((o) => o.error instanceof StoreUnavailableError),
    'as store unavailable (254 for the device)',
  );
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  t.ok(slowest < TIMEOUT_MS * 1.5, `the last row failed after ${Math.round(slowest)} ms`);
  t.ok(inserts < 5, `${inserts} inserts tried: rows that waited out their time are not inserted`);
  const over = await writer.write('documents', {}).then(
    () => 'ok',
    (e: Error) => e.message,
  );
  t.match(over, /commit took over|no commit within/, 'a later row fails the same way');
});

t.test('beyond maxPending a write is refused at once', async (t) => {
  const writer = new BatchWriter(() => new Promise(() => {}), {
    maxRows: 1,
    maxDelayMs: 0,
    maxPending: 3,
    commitTimeoutMs: TIMEOUT_MS,
  });
  const writes = Array.from({ length: 8 }, () => writer.write('documents', {}).catch(() => {}));
  t.ok(writer.pendingRows <= 3, `${writer.pendingRows} rows wait (bound 3)`);
  await Promise.all(writes);
  t.equal(writer.pendingRows, 0, 'and none once they failed');
});
