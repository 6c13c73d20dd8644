// Group commit. Callers hand in rows and wait; rows that arrive while an insert is running, or
// within the linger of the first waiting row, share the next insert (one per table).
//
// An insert costs about as much empty as with a few hundred rows (a part and its merge), and a
// register sends its next document only once answered, so after a commit most of the fleet's
// next rows are still on their way. The linger therefore follows the load: after a commit that
// carried company (`busyRows` or more) the next one waits as long as that commit took, at most
// `maxLingerMs`, unless `maxRows` are there first; after a lone row it is `maxDelayMs` again. Every
// caller is resolved only after the insert carrying its row has returned, and rejected when it
// failed: an acknowledged document is always committed. Pending rows are bounded, so an
// unavailable store turns into fast refusals instead of unbounded memory.
import type { Db } from './db.js';

/** One insert of a table's rows; `budgetMs`: how long its rows may still wait for it. */
export type InsertRows = (
  table: string,
  rows: Record<string, unknown>[],
  budgetMs: number,
) => Promise<void>;

export interface BatchWriterOptions {
  maxRows: number;
  /** The linger when idle. */
  maxDelayMs: number;
  /** The longest linger under load (default 0: never longer than `maxDelayMs`). */
  maxLingerMs?: number;
  /** A commit with at least this many rows counts as load (default 16). */
  busyRows?: number;
  /**
   * Commits that may run at once (default 1). More only where a commit waits on a disk rather
   * than on the CPU (the spool's synced transactions): the next batch then starts beside it.
   */
  lanes?: number;
  /** Rows allowed to wait; beyond it `write` refuses at once. */
  maxPending: number;
  /**
   * A row not committed this long after it was handed in fails (the insert itself may still
   * land): counted from `write`, so rows queued behind a hung commit do not wait twice.
   */
  commitTimeoutMs: number;
}

export interface FlushStats {
  rows: number;
  tables: number;
  ms: number;
  ok: boolean;
}

export class StoreUnavailableError extends Error {
  /** True when the row never reached an insert: it is certainly not stored. */
  readonly notWritten: boolean;

  constructor(message: string, options?: { cause?: unknown; notWritten?: boolean }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.notWritten = options?.notWritten ?? false;
  }
}

interface Waiter {
  table: string;
  row: Record<string, unknown>;
  resolve: () => void;
  reject: (error: Error) => void;
  /** performance.now() when it was handed in. */
  at: number;
  /** performance.now() after which it must not be inserted. */
  deadline: number;
}

export class BatchWriter {
  private queue: Waiter[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** How long the next rows wait for company: grows with the load (see above). */
  private lingerMs: number;
  /** Ends a linger between commits early, once `maxRows` rows wait. */
  private wakeLinger: (() => void) | null = null;
  /** Commits running now (more than one only with `lanes`). */
  private readonly running = new Set<Promise<void>>();
  /** Ends the wait for a free lane once new rows arrive. */
  private wakeLanes: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Inserts whose commit gave up on them at the deadline, while they still run. */
  private readonly abandoned = new Set<Promise<void>>();
  private sweepAt = Infinity;

  constructor(
    private readonly insert: InsertRows,
    private readonly opts: BatchWriterOptions,
    private readonly onFlush: (stats: FlushStats) => void = () => {},
  ) {
    this.lingerMs = opts.maxDelayMs;
  }

  /** The linger the next commit waits (ms). */
  get currentLingerMs(): number {
    return this.lingerMs;
  }

  get pendingRows(): number {
    return this.queue.length;
  }

  /**
   * Hands in a row; `deadline` (performance.now() ms) ends its time sooner than the commit
   * timeout: a request whose device claim runs out then must not have its rows land after
   * another request took the claim over and rebuilt from what is stored.
   */
  write(table: string, row: Record<string, unknown>, deadline = Infinity): Promise<void> {
    if (this.closed) {
      return Promise.reject(new StoreUnavailableError('writer is closed', { notWritten: true }));
    }
    if (this.queue.length >= this.opts.maxPending) {
      return Promise.reject(
        new StoreUnavailableError(`${this.queue.length} rows already wait for the store`, {
          notWritten: true,
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const at = performance.now();
      const own = Math.min(deadline, at + this.opts.commitTimeoutMs);
      this.queue.push({ table, row, resolve, reject, at, deadline: own });
      // A caller's deadline sooner than the commit timeout is swept for (see armSweep).
      if (deadline < at + this.opts.commitTimeoutMs) this.armSweep(own);
      this.schedule();
    });
  }

  /** Resolves once every row handed in so far has been committed or failed. */
  async drain(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.abandoned.size) {
      await within(Promise.allSettled([...this.abandoned]), this.opts.commitTimeoutMs);
    }
    this.closed = true;
  }

  private schedule(): void {
    const full = this.queue.length >= this.opts.maxRows;
    if (full && this.wakeLinger) this.wakeLinger();
    if (this.flushing) {
      this.wakeLanes?.();
      return;
    }
    if (this.timer && !full) return;
    if (full || this.lingerMs === 0) {
      void this.flushLoop();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flushLoop();
    }, this.lingerMs);
  }

  /** After a commit of `rows` that took `ms`: the linger of the next one. */
  private adapt(rows: number, ms: number): void {
    const max = this.opts.maxLingerMs ?? 0;
    const busy = rows >= (this.opts.busyRows ?? 16);
    this.lingerMs = busy
      ? Math.min(Math.max(max, this.opts.maxDelayMs), Math.max(this.opts.maxDelayMs, ms))
      : this.opts.maxDelayMs;
  }

  /** Waits the linger between two commits, or less once `maxRows` rows wait. */
  private async linger(): Promise<void> {
    if (this.lingerMs <= this.opts.maxDelayMs || this.queue.length >= this.opts.maxRows) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.lingerMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeLinger = done;
    });
    this.wakeLinger = null;
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.flushing = true;
    const lanes = this.opts.lanes ?? 1;
    for (;;) {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.maxRows);
        const started = performance.now();
        const committed = this.commit(batch).then(() =>
          this.adapt(batch.length, performance.now() - started),
        );
        this.running.add(committed);
        void committed.finally(() => this.running.delete(committed));
        while (this.running.size >= lanes) await Promise.race(this.running);
        if (this.queue.length > 0 && !this.closed) await this.linger();
      }
      if (!this.running.size) break;
      // Commits still run in other lanes: rows that arrive meanwhile start in a free one.
      await new Promise<void>((resolve) => {
        this.wakeLanes = resolve;
        void Promise.race(this.running).then(resolve);
      });
      this.wakeLanes = null;
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Waiting rows whose time runs out fail when it does, not when their turn comes behind a slow
   * commit: one timer at the soonest deadline, set going by a caller's deadline sooner than the
   * commit timeout (a claim's), which rows queued behind a commit would otherwise outwait.
   */
  private armSweep(deadline: number): void {
    if (this.sweepTimer && this.sweepAt <= deadline) return;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepAt = deadline;
    this.sweepTimer = setTimeout(
      () => {
        this.sweepTimer = null;
        const now = performance.now();
        const late = this.queue.filter((w) => w.deadline <= now);
        if (late.length) {
          this.queue = this.queue.filter((w) => w.deadline > now);
          this.failLate(late);
        }
        let soonest = Infinity;
        for (const w of this.queue) if (w.deadline < soonest) soonest = w.deadline;
        if (soonest !== Infinity) this.armSweep(soonest);
      },
      Math.max(0, deadline - performance.now()),
    );
  }

  private failLate(late: Waiter[]): void {
    const error = new StoreUnavailableError(
      `no commit within the row's time (${this.opts.commitTimeoutMs} ms, or its claim's)`,
      { notWritten: true },
    );
    for (const w of late) w.reject(error);
    this.onFlush({ rows: late.length, tables: 0, ms: 0, ok: false });
  }

  private async commit(waiting: Waiter[]): Promise<void> {
    const started = performance.now();
    // Rows that already waited out their time (behind a hung commit) fail without an insert;
    // the oldest remaining row's deadline bounds the insert of the rest.
    const batch: Waiter[] = [];
    const late: Waiter[] = [];
    let soonest = Infinity;
    for (const w of waiting) {
      if (started >= w.deadline) late.push(w);
      else {
        batch.push(w);
        if (w.deadline < soonest) soonest = w.deadline;
      }
    }
    if (late.length) {
      this.failLate(late);
      if (!batch.length) return;
    }
    const budget = soonest - started;
    const byTable = new Map<string, Record<string, unknown>[]>();
    for (const w of batch) {
      let rows = byTable.get(w.table);
      if (!rows) byTable.set(w.table, (rows = []));
      rows.push(w.row);
    }
    let timeout: NodeJS.Timeout | undefined;
    let inserted = 0;
    let pastDeadline = false;
    let inserts: Promise<void> | undefined;
    try {
      inserts = (async () => {
        for (const [table, rows] of byTable) {
          // Past the deadline the rows were answered 254 and their resends may already be
          // rebuilding from what is stored: a table not started by then must stay unwritten,
          // or its rows would land beside the resend's copies.
          if (pastDeadline) return;
          await this.insert(table, rows, soonest - performance.now());
          inserted++;
        }
      })();
      const expired = new Promise<never>((_, reject) => {
        timeout = setTimeout(() => {
          pastDeadline = true;
          reject(new StoreUnavailableError(`commit not done within its rows' time`));
        }, budget);
      });
      await Promise.race([inserts, expired]);
      for (const w of batch) w.resolve();
      this.onFlush({
        rows: batch.length,
        tables: byTable.size,
        ms: performance.now() - started,
        ok: true,
      });
    } catch (cause) {
      // "Not written" holds for the batch only if no table of it was: once one insert landed,
      // some of these rows are stored.
      const error =
        cause instanceof StoreUnavailableError && (inserted === 0 || !cause.notWritten)
          ? cause
          : new StoreUnavailableError(`commit failed: ${(cause as Error).message}`, { cause });
      for (const w of batch) w.reject(error);
      this.onFlush({
        rows: batch.length,
        tables: byTable.size,
        ms: performance.now() - started,
        ok: false,
      });
      // The insert may still be running in the store: closing waits for it (a store closed
      // under a running statement can take the process down).
      if (pastDeadline && inserts) {
        const running = inserts.catch(() => {});
        this.abandoned.add(running);
        void running.finally(() => this.abandoned.delete(running));
      }
    } finally {
      clearTimeout(timeout);
    }
  }
}

/** Waits for `promise`, at most `ms`. */
export async function within(promise: Promise<unknown> | null, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The insert function of a store: one statement per table and flush. */
export const dbInsert =
  (db: Pick<Db, 'insert'>): InsertRows =>
  (table, rows) =>
    db.insert(table, rows);
