// The store port for an ingest process whose server process owns the embedded engine (chDB
// keeps its data directory in one process): the few calls the ingest path makes go over IPC
// and run on the owner's Db. Fiscal documents do not come this way: they go to the owner's
// group-commit writer ('store.write'), so every process's rows share its inserts.
import {
  StoreUnavailableError,
  type BatchWriter,
  type InsertRows,
} from '../storage/batch-writer.js';
import type { Db, Params } from '../storage/db.js';
import type { IpcPeer } from './ipc.js';

type Peer = Pick<IpcPeer, 'call'>;

/** A Db answered by the server process. */
export function ipcDb(peer: Peer): Db {
  const db: Db = {
    rows: <T>(query: string, params?: Params) => peer.call<T[]>('db.rows', { query, params }),
    insert: (table, rows) => peer.call('db.insert', { table, rows }),
    command: (query) => peer.call('db.command', { query }),
    async ping() {
      return peer.call<boolean>('db.ping').catch(() => false);
    },
    async close() {},
  };
  const ordered: Db = {
    ...db,
    rows: <T>(query: string, params?: Params) =>
      peer.call<T[]>('db.rowsAfterWrites', { query, params }),
  };
  db.afterWrites = () => ordered;
  return db;
}

/** Rows for the server process's group-commit writer, from an ingest process's own writer. */
export function ipcInsertRows(peer: Peer): InsertRows {
  return (table, rows, budgetMs) => peer.call('store.write', { table, rows, budgetMs });
}

/** The server process's side: what an ingest process may ask of its Db and writer. */
export function dbHandlers(db: Db, writer: BatchWriter) {
  return {
    'db.rows': (p: { query: string; params?: Params }) => db.rows(p.query, p.params),
    'db.rowsAfterWrites': (p: { query: string; params?: Params }) =>
      (db.afterWrites?.() ?? db).rows(p.query, p.params),
    'db.insert': (p: { table: string; rows: object[] }) => db.insert(p.table, p.rows),
    'db.command': (p: { query: string }) => db.command(p.query),
    'db.ping': () => db.ping(),
    'store.write': async (p: {
      table: string;
      rows: Record<string, unknown>[];
      budgetMs?: number;
    }) => {
      // The caller's deadline carries over, as time left (the clocks of two processes differ).
      const deadline = performance.now() + (p.budgetMs ?? Infinity);
      const results = await Promise.allSettled(
        p.rows.map((row) => writer.write(p.table, row, deadline)),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      if (!failed.length) return;
      // The caller's rows succeed or fail together: "certainly not stored" only if none was.
      const first = failed[0]!.reason as Error;
      const noneWritten =
        failed.length === results.length &&
        failed.every((r) => r.reason instanceof StoreUnavailableError && r.reason.notWritten);
      throw new StoreUnavailableError(first.message, { notWritten: noneWritten });
    },
  };
}
