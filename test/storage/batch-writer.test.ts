// The group-commit writer against an insert that never returns: every row fails within the
// commit timeout of its own write, also the rows queued behind the hung commit (which used to
// wait for it and then for a timeout of their own), and the queue never outgrows its bound;
// and the linger that follows the load.
import t from 'tap';
import { dbHandlers, ipcInsertRows } from '../../src/cluster/ipc-db.js';
import { BatchWriter, StoreUnavailableError } from '../../src/storage/batch-writer.js';
import type { Db } from '../../src/storage/db.js';

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
  t.match(over, /commit not done within|no commit within/, 'a later row fails the same way');
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

t.test('past the deadline, no further table of the batch is inserted', async (t) => {
  // The first table's insert outlives the commit's deadline and then lands; the rows were
  // answered 254 meanwhile, and their resends rebuild from what is stored. Were the second
  // table inserted after that, its rows would land beside the resends' copies.
  const started: string[] = [];
  let finishFirst!: () => void;
  const writer = new BatchWriter(
    async (table) => {
      started.push(table);
      if (table === 'device_events') await new Promise<void>((resolve) => (finishFirst = resolve));
    },
    { maxRows: 10, maxDelayMs: 5, maxPending: 10, commitTimeoutMs: TIMEOUT_MS },
  );
  const outcomes = await Promise.allSettled([
    writer.write('device_events', { kind: 'offline_period' }),
    writer.write('documents', { seq: 1 }),
  ]);
  t.same(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected'],
    'both rows are answered as failed at the deadline',
  );
  t.equal(
    ((outcomes[1] as PromiseRejectedResult).reason as StoreUnavailableError).notWritten,
    false,
    'as "maybe written": the device state is rebuilt',
  );
  finishFirst();
  await writer.drain();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(started, ['device_events'], 'the documents insert was never started');
});

t.test('a refusal after another table of the batch landed is not "not written"', async (t) => {
  const landed: string[] = [];
  const writer = new BatchWriter(
    async (table) => {
      if (table === 'device_events') {
        throw new StoreUnavailableError('queue full', { notWritten: true });
      }
      landed.push(table);
    },
    { maxRows: 10, maxDelayMs: 5, maxPending: 10, commitTimeoutMs: 1000 },
  );
  const outcomes = await Promise.allSettled([
    writer.write('documents', { seq: 1 }),
    writer.write('device_events', { kind: 'offline_period' }),
  ]);
  t.same(landed, ['documents'], 'the documents insert landed first');
  for (const o of outcomes) {
    t.equal(o.status, 'rejected');
    const error = (o as PromiseRejectedResult).reason as StoreUnavailableError;
    t.ok(error instanceof StoreUnavailableError, 'a store error');
    t.equal(error.notWritten, false, 'that may have been written: the device state is rebuilt');
  }

  const refusing = new BatchWriter(
    async () => {
      throw new StoreUnavailableError('queue full', { notWritten: true });
    },
    { maxRows: 10, maxDelayMs: 5, maxPending: 10, commitTimeoutMs: 1000 },
  );
  const refused = await refusing.write('documents', { seq: 1 }).catch((e: unknown) => e);
  t.equal((refused as StoreUnavailableError).notWritten, true, 'refused before any insert: kept');
});

t.test(
  'the linger follows the load: as long as a busy commit took, a lone row resets it',
  async (t) => {
    const commits: number[] = [];
    const writer = new BatchWriter(
      async (_table, rows) => {
        commits.push(rows.length);
        await new Promise((resolve) => setTimeout(resolve, 40));
      },
      {
        maxRows: 5,
        maxDelayMs: 1,
        maxLingerMs: 30,
        busyRows: 3,
        maxPending: 100,
        commitTimeoutMs: 5000,
      },
    );
    t.equal(writer.currentLingerMs, 1, 'idle: the short linger');
    await Promise.all([1, 2, 3].map((n) => writer.write('t', { n })));
    t.equal(
      writer.currentLingerMs,
      30,
      'after a busy commit: its duration, bounded by maxLingerMs',
    );
    // Rows that come in a while apart share one commit within the linger.
    const first = writer.write('t', { n: 4 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all([first, writer.write('t', { n: 5 })]);
    t.same(commits, [3, 2], 'two rows 10 ms apart went together');
    t.equal(writer.currentLingerMs, 1, 'a commit without company: idle again');
    // maxRows waiting ends a linger at once.
    await Promise.all([1, 2, 3].map((n) => writer.write('t', { n })));
    const started = performance.now();
    await Promise.all([1, 2, 3, 4, 5].map((n) => writer.write('t', { n })));
    t.ok(performance.now() - started < 30 + 40, 'a full batch does not wait out the linger');
    t.same(commits.slice(2), [3, 5]);
  },
);

t.test("a row's own deadline ends its time before the commit timeout", async (t) => {
  // The device claim's deadline: past it another request may own the device, so the row must
  // neither wait longer nor be inserted later.
  const inserted: unknown[] = [];
  let release!: () => void;
  const blocker = new Promise<void>((resolve) => (release = resolve));
  const writer = new BatchWriter(
    async (_table, rows) => {
      if (rows.some((r) => r.block)) await blocker;
      inserted.push(...rows);
    },
    { maxRows: 1, maxDelayMs: 0, maxPending: 10, commitTimeoutMs: 5000 },
  );
  const began = performance.now();
  const first = writer.write('documents', { block: true });
  const second = writer.write('documents', { seq: 2 }, performance.now() + 100);
  const outcome = await second.then(
    () => 'stored',
    (e: StoreUnavailableError) => (e.notWritten ? 'not written' : 'maybe'),
  );
  const waited = performance.now() - began;
  release();
  await first;
  await writer.drain();
  t.equal(outcome, 'not written', 'the row behind the slow commit fails, certainly unwritten');
  t.ok(waited < 1000, `after ${Math.round(waited)} ms, not the 5 s commit timeout`);
  t.same(inserted, [{ block: true }], 'and is never inserted after its deadline');
});

t.test('an ingest process hands its time left to the server process', async (t) => {
  let budget = -1;
  const writer = new BatchWriter(
    async () => {
      await new Promise(() => {}); // hangs
    },
    { maxRows: 10, maxDelayMs: 0, maxPending: 10, commitTimeoutMs: 5000 },
  );
  const handlers = dbHandlers({} as Db, writer);
  const rows = ipcInsertRows({
    call: async (method: string, params: unknown) => {
      budget = (params as { budgetMs: number }).budgetMs;
      return handlers[method as 'store.write'](
        params as Parameters<(typeof handlers)['store.write']>[0],
      );
    },
  } as Parameters<typeof ipcInsertRows>[0]);
  const began = performance.now();
  const error = await rows('documents', [{ seq: 1 }], 150).catch((e: unknown) => e);
  const waited = performance.now() - began;
  t.equal(budget, 150, 'the time left goes with the rows');
  t.ok(error instanceof StoreUnavailableError, 'the rows fail as store unavailable');
  t.ok(waited < 1000, `within their time left (${Math.round(waited)} ms), not the server's 5 s`);
});

t.test(
  'lanes: the next batch starts beside a running commit, at most `lanes` at once',
  async (t) => {
    for (const lanes of [1, 3]) {
      let running = 0;
      let most = 0;
      const releases: (() => void)[] = [];
      const writer = new BatchWriter(
        async () => {
          most = Math.max(most, ++running);
          await new Promise<void>((resolve) => releases.push(resolve));
          running--;
        },
        { maxRows: 1, maxDelayMs: 0, maxPending: 100, commitTimeoutMs: 5000, lanes },
      );
      const writes = Array.from({ length: 6 }, (_, i) => writer.write('documents', { i }));
      // Rows arriving while every lane is busy wait; one more once a lane frees up.
      await new Promise((r) => setTimeout(r, 20));
      t.equal(running, lanes, `lanes ${lanes}: ${lanes} commit(s) running`);
      releases.shift()!();
      await new Promise((r) => setTimeout(r, 20));
      t.equal(running, lanes, `lanes ${lanes}: a finished commit's lane is taken by the next`);
      const late = writer.write('documents', { late: true });
      while (releases.length || running) {
        releases.shift()?.();
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all([...writes, late]);
      t.equal(most, lanes, `lanes ${lanes}: never more than ${lanes} at once`);
      await writer.close();
    }
  },
);
