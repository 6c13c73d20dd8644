// ClickHouse for an ingest process whose server process owns the embedded engine (chDB keeps
// its data directory in one process): the few calls the ingest path makes — reads answered as
// JSONEachRow rows, small inserts, commands, ping — go over IPC and run on the owner's client.
// Fiscal documents do not come this way: they go to the owner's group-commit writer
// ('store.write'), so every process's rows share its inserts.
import type { ClickHouseClient } from '../storage/clickhouse.js';
import {
  StoreUnavailableError,
  type BatchWriter,
  type InsertRows,
} from '../storage/batch-writer.js';

interface Caller {
  call<T>(op: string, payload?: unknown): Promise<T>;
}

interface QueryParams {
  query: string;
  query_params?: Record<string, unknown>;
  format?: string;
}

/** The subset of ClickHouseClient the ingest path uses, answered by the server process. */
export function ipcClickHouse(peer: Caller): ClickHouseClient {
  const client = {
    async query(params: QueryParams) {
      if (params.format !== 'JSONEachRow') {
        throw new Error(`over IPC only JSONEachRow reads are served, not ${params.format}`);
      }
      const rows = await peer.call<unknown[]>('ch.query', {
        query: params.query,
        query_params: params.query_params,
      });
      return { json: async () => rows };
    },
    async insert(params: { table: string; values: unknown[]; format: string }) {
      if (params.format !== 'JSONEachRow' || !Array.isArray(params.values)) {
        throw new Error('over IPC only inserts of JSONEachRow row arrays are served');
      }
      await peer.call('ch.insert', { table: params.table, values: params.values });
      return { executed: true };
    },
    async command(params: { query: string }) {
      await peer.call('ch.command', { query: params.query });
      return {};
    },
    async ping() {
      try {
        await peer.call('ch.ping');
        return { success: true };
      } catch (error) {
        return { success: false, error };
      }
    },
    async close() {},
  };
  // Structurally the part of the client the ingest modules call; the rest is never reached.
  return client as unknown as ClickHouseClient;
}

/** Rows for the server process's group-commit writer, from an ingest process's own writer. */
export function ipcInsertRows(peer: Caller): InsertRows {
  return (table, rows) => peer.call('store.write', { table, rows });
}

/** The server process's side: what an ingest process may ask of its ClickHouse and writer. */
export function clickHouseHandlers(ch: ClickHouseClient, writer: BatchWriter) {
  return {
    'ch.query': async (p: { query: string; query_params?: Record<string, unknown> }) => {
      const rs = await ch.query({ ...p, format: 'JSONEachRow' });
      return rs.json();
    },
    'ch.insert': async (p: { table: string; values: unknown[] }) => {
      await ch.insert({ table: p.table, values: p.values, format: 'JSONEachRow' });
    },
    'ch.command': async (p: { query: string }) => {
      await ch.command({ query: p.query });
    },
    'ch.ping': async () => {
      const r = await ch.ping();
      if (!r.success) throw r.error;
    },
    'store.write': async (p: { table: string; rows: Record<string, unknown>[] }) => {
      const results = await Promise.allSettled(p.rows.map((row) => writer.write(p.table, row)));
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
