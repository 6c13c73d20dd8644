// The ingest spool (OFD_SPOOL=lmdb). A group commit is acknowledged once its rows are synced
// into a local LMDB file; from there they are drained into ClickHouse in large batches, because
// the engine's cost is per insert and per table (bench/RESULTS.md, "What a commit costs"), not
// per row: 40 rows cost ~76 ms of CPU, 2,000 rows ~260 ms.
//
// Exactly once, as without the spool:
// - An entry leaves the file only after its rows were inserted. A stop between the insert and
//   the removal leaves it in the file, and the drain then marks it uncertain: before inserting
//   an uncertain entry it reads which of its documents ClickHouse already holds (by their
//   idempotency key, kkm_id and doc_seq), inserts the others and repairs the read models of
//   those found, as a resend answered from a stored document does (document-repair.ts).
//   device_events are keyed by their whole identity (ReplacingMergeTree, read FINAL) and feed
//   only max() aggregates, so a repeated copy changes nothing a reader sees.
// - A rebuild of a device state reads through `behind()`: its reads wait until every entry
//   handed in before them has been drained, so a document is never missed because it was
//   still in the file.
// - Entries are read back from the file at start and drained before anything newer.
// Memory and disk are bounded by `maxRows`: beyond it a commit is refused at once (254 to the
// register, which retries), as the writer does when the store is down.
//
// An entry holds its rows encoded as the insert sends them (JSONEachRow lines), so the drain
// only joins bytes and hands them to the engine, which parses them on its own threads: encoded
// at the drain, 5,000 rows held the event loop, and every register waiting on it, for 120–210 ms.
import { open, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { StoreUnavailableError, within, type InsertRows } from './batch-writer.js';
import { jsonLines, type Db, type Params, type Row } from './db.js';
import { documentKeysIn, repairDocuments, type DocumentKey } from './document-repair.js';

/** What the spool needs of the store: rows inserted as bytes. */
export type SpoolStore = Pick<Db, 'rows' | 'insert' | 'command'> &
  Required<Pick<Db, 'insertLines'>>;

export interface SpoolOptions {
  /** The LMDB directory. */
  path: string;
  /** Drain once this many rows wait. */
  drainRows: number;
  /** Or once the oldest has waited this long (ms). */
  drainDelayMs: number;
  /** Rows the spool holds at most; beyond it a commit is refused. */
  maxRows: number;
  /** How long a read behind the spool waits for the drain before it fails (ms). */
  catchUpTimeoutMs: number;
  log: Logger;
  onDrain?: (stats: DrainStats) => void;
}

export interface DrainStats {
  rows: number;
  entries: number;
  ms: number;
  ok: boolean;
  /** Rows of uncertain entries found already stored (not inserted again). */
  found: number;
  /** Rows still to drain after it. */
  backlog: number;
}

/** An entry as the spool keeps it in memory: its rows are read back from the file to drain. */
interface Entry {
  seq: number;
  table: string;
  /** Its rows. */
  count: number;
  state: 'writing' | 'stored' | 'failed';
  /** Its insert may have landed before (read back at start, or after a failed drain). */
  uncertain: boolean;
}

interface CatchUp {
  seq: number;
  resolve: () => void;
}

/** What the file holds per entry: its rows as JSONEachRow lines (`rows`: an entry of 4 December). */
interface StoredEntry {
  table: string;
  count?: number;
  lines?: Uint8Array;
  rows?: Row[];
}

const rowsIn = (stored: StoredEntry) => stored.count ?? stored.rows?.length ?? 0;
const linesOf = (stored: StoredEntry): Uint8Array => stored.lines ?? jsonLines(stored.rows ?? []);

/**
 * The drain's insert threads run niced: on a small machine they would otherwise take the cores
 * from the event loop that answers the registers for the length of each large insert.
 */
const DRAIN_SETTINGS = { os_thread_priority: 19, os_threads_nice_value_materialized_view: 19 };

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

export class Spool {
  private readonly entries: Entry[] = [];
  private lastSeq = 0;
  /** Every entry up to this seq is drained (or failed to be written). */
  private drainedSeq = 0;
  /** Rows held, written or being written. */
  private heldRows = 0;
  /** Rows written and not yet drained. */
  private storedRows = 0;
  private draining: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  /** Closed and done draining: no drain starts any more. */
  private stopped = false;
  private catchUps: CatchUp[] = [];

  private constructor(
    private readonly file: RootDatabase<StoredEntry, number>,
    private readonly db: SpoolStore,
    private readonly opts: SpoolOptions,
  ) {}

  /** Opens the file and starts draining what a previous run left in it. */
  static open(db: SpoolStore, opts: SpoolOptions): Spool {
    // Synced commits: a put resolves once its transaction is on disk.
    const file = open<StoredEntry, number>({ path: opts.path, overlappingSync: false });
    const spool = new Spool(file, db, opts);
    for (const { key, value } of file.getRange()) {
      const count = rowsIn(value);
      spool.entries.push({ seq: key, table: value.table, count, state: 'stored', uncertain: true });
      spool.heldRows += count;
      spool.storedRows += count;
      spool.lastSeq = key;
    }
    spool.drainedSeq = spool.entries.length ? spool.entries[0]!.seq - 1 : spool.lastSeq;
    if (spool.entries.length) {
      opts.log.info(
        { entries: spool.entries.length, rows: spool.storedRows },
        'spool: entries of a previous run, draining',
      );
      spool.drainSoon();
    }
    return spool;
  }

  /** Rows written and not yet in ClickHouse. */
  get backlogRows(): number {
    return this.storedRows;
  }

  /** The group commit's insert: resolves once the rows are on disk. */
  readonly append: InsertRows = async (table, rows) => {
    if (this.closed) {
      throw new StoreUnavailableError('spool is closed', { notWritten: true });
    }
    if (this.heldRows + rows.length > this.opts.maxRows) {
      throw new StoreUnavailableError(`${this.heldRows} rows wait in the spool for the store`, {
        notWritten: true,
      });
    }
    // The rows themselves are not kept: held for a second or more they would outlive the young
    // generation, and the drain reads them back from the file's memory map instead.
    const entry: Entry = {
      seq: ++this.lastSeq,
      table,
      count: rows.length,
      state: 'writing',
      uncertain: false,
    };
    this.entries.push(entry);
    this.heldRows += rows.length;
    try {
      await this.file.put(entry.seq, { table, count: rows.length, lines: jsonLines(rows) });
    } catch (cause) {
      entry.state = 'failed';
      this.heldRows -= rows.length;
      if (this.catchUps.length) this.drainSoon();
      this.opts.log.error({ err: (cause as Error).message }, 'spool: write failed');
      // A failed transaction is not on disk.
      throw new StoreUnavailableError(`spool write failed: ${(cause as Error).message}`, {
        cause,
        notWritten: true,
      });
    }
    entry.state = 'stored';
    this.storedRows += rows.length;
    if (this.storedRows >= this.opts.drainRows || this.catchUps.length) this.drainSoon();
    else this.drainLater(this.opts.drainDelayMs);
  };

  /** Resolves once everything handed in before the call is in ClickHouse. */
  caughtUp(): Promise<void> {
    const seq = this.lastSeq;
    if (this.drainedSeq >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.catchUps = this.catchUps.filter((c) => c !== waiter);
        reject(
          new StoreUnavailableError(
            `spool not drained within ${this.opts.catchUpTimeoutMs} ms (${this.storedRows} rows wait)`,
          ),
        );
      }, this.opts.catchUpTimeoutMs);
      const waiter: CatchUp = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.catchUps.push(waiter);
      this.drainSoon();
    });
  }

  /** The store as a rebuild must read it: behind the spool (and the inserts in flight). */
  behind(db: Db): Db {
    const ordered = db.afterWrites?.() ?? db;
    return {
      ...ordered,
      rows: async <T>(query: string, params?: Params) => {
        await this.caughtUp();
        return ordered.rows<T>(query, params);
      },
    };
  }

  /** Drains everything (at most `timeoutMs`), then closes the file. */
  async close(timeoutMs = this.opts.catchUpTimeoutMs): Promise<void> {
    this.closed = true;
    await within(
      this.caughtUp().catch(() => {}),
      timeoutMs,
    );
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // The batch being inserted ends before the store is closed under it (no further one
    // starts); a hung insert is left to itself after as long again, its entries in the file.
    await within(this.draining, timeoutMs);
    if (this.storedRows) {
      this.opts.log.warn({ rows: this.storedRows }, 'spool: closed with rows still to drain');
    }
    await this.file.close();
  }

  private drainSoon(): void {
    // After a failure the retry's backoff holds, whoever waits.
    if (this.stopped || this.draining || (this.failures > 0 && this.timer)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const run = this.drainLoop().then((ok) => {
      this.draining = null;
      if (this.stopped) return;
      if (!ok) {
        this.failures++;
        const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
        this.timer = setTimeout(() => {
          this.timer = null;
          this.drainSoon();
        }, ms);
      } else if (this.catchUps.length && this.entries[0]?.state === 'stored') this.drainSoon();
      else if (this.storedRows && !this.closed) this.drainLater(this.opts.drainDelayMs);
    });
    this.draining = run;
  }

  private drainLater(ms: number): void {
    if (this.timer || this.draining) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drainSoon();
    }, ms);
  }

  /** Drains batch after batch while there is reason to; false when an insert failed. */
  private async drainLoop(): Promise<boolean> {
    for (;;) {
      const batch = this.stopped ? [] : this.takeBatch();
      if (!batch.length) return true;
      if (!(await this.drainBatch(batch))) return false;
      this.failures = 0;
      this.entries.splice(0, batch.length);
      this.drainedSeq = batch.at(-1)!.seq;
      for (const e of batch) {
        this.heldRows -= e.count;
        this.storedRows -= e.count;
      }
      this.settleCatchUps();
      // Go on at once only while a whole batch waits or a reader waits for the drain.
      if (this.storedRows < this.opts.drainRows && !this.catchUps.length) return true;
    }
  }

  /** Written entries from the head, up to `drainRows` rows; failed writes are dropped. */
  private takeBatch(): Entry[] {
    while (this.entries[0]?.state === 'failed') {
      this.drainedSeq = this.entries.shift()!.seq;
    }
    let rows = 0;
    let n = 0;
    for (const e of this.entries) {
      if (e.state !== 'stored' || (n > 0 && rows + e.count > this.opts.drainRows)) break;
      rows += e.count;
      n++;
    }
    this.settleCatchUps();
    return this.entries.slice(0, n);
  }

  private settleCatchUps(): void {
    if (!this.catchUps.length) return;
    const done = this.catchUps.filter((c) => c.seq <= this.drainedSeq);
    if (!done.length) return;
    this.catchUps = this.catchUps.filter((c) => c.seq > this.drainedSeq);
    for (const c of done) c.resolve();
  }

  /** Inserts a batch's rows, one insert per table, then removes its entries from the file. */
  private async drainBatch(batch: Entry[]): Promise<boolean> {
    const started = performance.now();
    const byTable = new Map<string, Uint8Array[]>();
    let found: DocumentKey[] = [];
    let rows = 0;
    try {
      for (const e of batch) {
        let list = byTable.get(e.table);
        if (!list) byTable.set(e.table, (list = []));
        const stored = this.file.get(e.seq);
        if (!stored) {
          // Cannot happen short of a damaged file; retrying would hold up every later entry.
          this.opts.log.error({ seq: e.seq, rows: e.count }, 'spool: entry missing from the file');
          continue;
        }
        list.push(linesOf(stored));
        rows += e.count;
      }
      const inserts = new Map([...byTable].map(([table, list]) => [table, Buffer.concat(list)]));
      const documents = inserts.get('documents');
      if (documents && batch.some((e) => e.uncertain)) {
        const lines = documentLines(documents);
        found = await this.storedDocuments(lines.map((l) => l.key));
        const stored = new Set(found.map((k) => `${k.kkmId}:${k.docSeq}`));
        const rest = lines.filter((l) => !stored.has(`${l.key.kkmId}:${l.key.docSeq}`));
        inserts.set('documents', Buffer.concat(rest.map((l) => l.line)));
      }
      for (const [table, lines] of inserts) {
        if (lines.length) await this.db.insertLines(table, lines, DRAIN_SETTINGS);
      }
      if (found.length) await repairDocuments(this.db, found);
    } catch (err) {
      for (const e of batch) e.uncertain = true;
      this.opts.log.error(
        { err: (err as Error).message, rows, failures: this.failures + 1 },
        'spool: drain failed, retrying',
      );
      this.opts.onDrain?.({
        rows,
        entries: batch.length,
        ms: performance.now() - started,
        ok: false,
        found: 0,
        backlog: this.storedRows,
      });
      return false;
    }
    try {
      // One transaction: the removals of a tick are batched together.
      await Promise.all(batch.map((e) => this.file.remove(e.seq)));
    } catch (err) {
      // Left in the file, the entries are read back as uncertain at the next start.
      this.opts.log.warn({ err: (err as Error).message }, 'spool: drained entries not removed');
    }
    this.opts.onDrain?.({
      rows,
      entries: batch.length,
      ms: performance.now() - started,
      ok: true,
      found: found.length,
      backlog: this.storedRows - rows,
    });
    return true;
  }

  /** Which of these documents ClickHouse holds already. */
  private async storedDocuments(documents: DocumentKey[]): Promise<DocumentKey[]> {
    const keys = documentKeysIn(documents);
    if (!keys) return [];
    const stored = await this.db.rows<{ kkm_id: number; doc_seq: number }>(
      `SELECT DISTINCT kkm_id, doc_seq FROM documents WHERE (kkm_id, doc_seq) IN ${keys}`,
    );
    return stored.map((r) => ({ kkmId: r.kkm_id, docSeq: r.doc_seq }));
  }
}

/** The lines of documents rows (the rare uncertain drain), each with its idempotency key. */
function documentLines(lines: Buffer): { key: DocumentKey; line: Buffer }[] {
  const out: { key: DocumentKey; line: Buffer }[] = [];
  for (let start = 0; start < lines.length;) {
    const end = lines.indexOf(10, start) + 1 || lines.length;
    const line = lines.subarray(start, end);
    const row = JSON.parse(line.toString()) as Row;
    out.push({ key: { kkmId: row.kkm_id as number, docSeq: row.doc_seq as number }, line });
    start = end;
  }
  return out;
}

/** The store, its rebuild reads behind the spool, closed after the spool's last drain. */
export function spooledDb(db: Db, spool: Spool): Db {
  return {
    ...db,
    afterWrites: () => spool.behind(db),
    async close() {
      await spool.close();
      await db.close();
    },
  };
}
