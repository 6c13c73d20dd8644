// The ingest spool (src/storage/spool.ts) on a real LMDB file and the embedded engine: rows are
// acknowledged from the file and drained into ClickHouse in batches; a read behind the spool
// sees what is still in the file; what a stop left in the file is drained at the next open, and
// documents whose insert had landed before are not stored twice (their read models repaired);
// a full spool refuses at once; a failing store is retried until it answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import t from 'tap';
import pino from 'pino';
import { seededRandom, ticket } from '../../src/sim/documents.js';
import { StoreUnavailableError } from '../../src/storage/batch-writer.js';
import type { Row } from '../../src/storage/db.js';
import {
  Spool,
  type DrainStats,
  type SpoolOptions,
  type SpoolStore,
} from '../../src/storage/spool.js';
import { openTestStore, receiptRow } from '../harness/store.js';

const store = await openTestStore('spool');
const dirs: string[] = [];
t.teardown(async () => {
  await store.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const random = seededRandom(11);
const AT = Date.UTC(2026, 11, 4, 9, 0, 0);
const receipt = (kkmId: number, seq: number): Row =>
  receiptRow(kkmId, seq, AT + seq * 1000, ticket(random, { items: 2 }), {
    shift_number: 1,
    state: { seq },
  });

const log = pino({ level: 'silent' });

/** A spool on a new file (or `path`), draining into `db`; its drains are recorded. */
function openSpool(db: SpoolStore, opts: Partial<SpoolOptions> = {}) {
  const drains: DrainStats[] = [];
  const path = opts.path ?? mkdtempSync(join(tmpdir(), 'ofd-spool-test-'));
  dirs.push(path);
  const spool = Spool.open(db, {
    path,
    drainRows: 1000,
    drainDelayMs: 50,
    maxRows: 10_000,
    catchUpTimeoutMs: 4000,
    log,
    onDrain: (s) => drains.push(s),
    ...opts,
  });
  return { spool, drains, path };
}

async function count(kkmId: number, table = 'documents'): Promise<number> {
  const [row] = await store.db.rows<{ n: number }>(
    `SELECT count() AS n FROM ${table} WHERE kkm_id = {kkm:UInt32}`,
    { kkm: kkmId },
  );
  return row!.n;
}

t.test('acknowledged from the file, drained in batches, read behind the spool', async (t) => {
  // A long linger: nothing drains on its own during the test until a reader asks.
  const { spool, drains } = openSpool(store.db, { drainDelayMs: 60_000, drainRows: 250 });
  const commits = Array.from({ length: 6 }, (_, c) =>
    spool.append(
      'documents',
      Array.from({ length: 100 }, (_, i) => receipt(101, c * 100 + i + 1)),
      1000,
    ),
  );
  await Promise.all(commits);
  t.equal(spool.backlogRows, 600, 'acknowledged: 600 rows in the file');
  t.equal(await count(101), 0, 'none in ClickHouse yet');
  const behind = spool.behind(store.db);
  const [row] = await behind.rows<{ n: number }>(
    'SELECT count() AS n FROM documents WHERE kkm_id = 101',
  );
  t.equal(row!.n, 600, 'a read behind the spool sees every acknowledged row');
  t.equal(spool.backlogRows, 0, 'nothing left to drain');
  t.same(
    drains.map((d) => d.rows),
    [200, 200, 200],
    'drained in batches of whole commits up to drainRows',
  );
  t.ok(
    drains.every((d) => d.ok && d.found === 0),
    'each drain ok, none uncertain',
  );
  const [cabinet] = await store.db.rows<{ n: number }>(
    'SELECT count() AS n FROM cabinet_receipts WHERE kkm_id = 101',
  );
  t.equal(cabinet!.n, 600, "the views' read models filled by the drain's insert");
  await spool.close();
});

t.test('drains on its own once drainRows wait or the linger passes', async (t) => {
  const { spool, drains } = openSpool(store.db, { drainDelayMs: 100, drainRows: 50 });
  await spool.append(
    'documents',
    Array.from({ length: 60 }, (_, i) => receipt(102, i + 1)),
    1000,
  );
  await spool.append('documents', [receipt(103, 1)], 1000);
  for (let i = 0; i < 100 && spool.backlogRows > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(spool.backlogRows, 0, 'drained without a reader asking');
  t.equal((await count(102)) + (await count(103)), 61, 'every row stored once');
  t.ok(drains.length >= 1, `${drains.length} drain(s)`);
  await spool.close();
});

t.test('what a stop left in the file is drained at the next open, once', async (t) => {
  // The first run's inserts fail: its rows stay in the file, as after a kill.
  let refused = 0;
  const down: SpoolStore = {
    rows: store.db.rows.bind(store.db),
    command: store.db.command.bind(store.db),
    insert: store.db.insert.bind(store.db),
    async insertLines() {
      refused++;
      throw new Error('store down');
    },
  };
  const first = openSpool(down, { drainDelayMs: 20 });
  const rows = Array.from({ length: 40 }, (_, i) => receipt(104, i + 1));
  // Half of them had landed before the stop (the insert returned, the removal did not happen).
  await store.db.insert('documents', rows.slice(0, 20));
  await first.spool.append('documents', rows.slice(0, 20), 1000);
  await first.spool.append('documents', rows.slice(20), 1000);
  await first.spool.append(
    'device_events',
    [{ kkm_id: 104, received_at: AT, kind: 'spool_test', detail: '{}' }],
    1000,
  );
  for (let i = 0; i < 100 && refused < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(refused >= 2, `the failing store was retried (${refused} inserts refused)`);
  t.ok(
    first.drains.every((d) => !d.ok),
    'every drain against it failed',
  );
  await first.spool.close(100);
  t.equal(await count(104), 20, 'before the next open: only the 20 that had landed');

  const second = openSpool(store.db, { path: first.path });
  await second.spool.caughtUp();
  t.equal(await count(104), 40, 'after it: all 40, each once (counted without FINAL)');
  t.equal(await count(104, 'device_events'), 1, 'the device event stored');
  t.equal(second.drains.at(-1)!.found, 20, 'the 20 found stored were not inserted again');
  const [cabinet] = await store.db.rows<{ n: number }>(
    'SELECT count(DISTINCT doc_seq) AS n FROM cabinet_receipts WHERE kkm_id = 104',
  );
  t.equal(cabinet!.n, 40, 'read models hold every receipt (the found ones repaired)');
  await second.spool.close();

  const third = openSpool(store.db, { path: first.path });
  t.equal(third.spool.backlogRows, 0, 'a third open finds the file empty');
  await third.spool.close();
});

t.test('an entry written as rows (the spool of 4 December) is drained as well', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ofd-spool-test-'));
  dirs.push(path);
  const file = open({ path });
  await file.put(1, { table: 'documents', rows: [receipt(106, 1), receipt(106, 2)] });
  await file.close();
  const { spool, drains } = openSpool(store.db, { path });
  t.equal(spool.backlogRows, 2, 'its rows counted');
  await spool.caughtUp();
  t.equal(await count(106), 2, 'both stored');
  t.equal(drains.at(-1)!.found, 0, 'checked as uncertain, none found before');
  await spool.close();
});

t.test('a full spool refuses at once; a closed one too', async (t) => {
  const never: SpoolStore = {
    rows: store.db.rows.bind(store.db),
    command: store.db.command.bind(store.db),
    insert: store.db.insert.bind(store.db),
    insertLines: () => new Promise(() => {}),
  };
  const { spool } = openSpool(never, {
    maxRows: 1000,
    drainDelayMs: 60_000,
    catchUpTimeoutMs: 300,
  });
  await spool.append(
    'documents',
    Array.from({ length: 1000 }, (_, i) => receipt(105, i + 1)),
    1000,
  );
  const refused = await spool.append('documents', [receipt(105, 1001)], 1000).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(refused instanceof StoreUnavailableError, 'beyond maxRows: StoreUnavailableError');
  t.ok((refused as StoreUnavailableError).notWritten, 'certainly not written');
  await t.rejects(spool.caughtUp(), StoreUnavailableError, 'a reader behind a stuck drain fails');
  await spool.close(50);
  const late = await spool.append('documents', [receipt(105, 1002)], 1000).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(late instanceof StoreUnavailableError, 'closed: refused');
});
