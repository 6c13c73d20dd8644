// The one port every repository talks to: rows of a SELECT, an insert of rows, a statement.
// It is implemented once over a ClickHouse client (embedded chDB or a server, clickhouse.ts)
// and once over the IPC link of an ingest process (src/cluster/ipc-db.ts); nothing else in
// the code sees a ClickHouse client.
import { openClickHouse, type ClickHouseClient, type ClickHouseOptions } from './clickhouse.js';

export type Params = Record<string, unknown>;
export type Row = Record<string, unknown>;

export interface Db {
  /** The rows of a query, 64-bit integers as JSON numbers. */
  rows<T>(query: string, params?: Params): Promise<T[]>;
  /** Inserts rows (one JSONEachRow statement). */
  insert(table: string, rows: readonly object[]): Promise<void>;
  /** A statement without rows (DDL, OPTIMIZE). */
  command(query: string): Promise<void>;
  /** Whether the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * 64-bit integers come back as numbers rather than quoted strings. Every such column here
 * (tiyn, thousandths, ids, versions in milliseconds) stays below 2^53.
 */
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 0 } as const;

export function clickHouseDb(client: ClickHouseClient): Db {
  return {
    async rows<T>(query: string, params: Params = {}) {
      const rs = await client.query({
        query,
        query_params: params,
        format: 'JSONEachRow',
        clickhouse_settings: READ_SETTINGS,
      });
      return rs.json<T>();
    },
    async insert(table, rows) {
      await client.insert({ table, values: rows as object[], format: 'JSONEachRow' });
    },
    async command(query) {
      await client.command({ query });
    },
    async ping() {
      return (await client.ping()).success;
    },
    close: () => client.close(),
  };
}

/** The configured store: a ClickHouse server by URL, else the embedded engine. */
export const openDb = (opts: ClickHouseOptions): Db => clickHouseDb(openClickHouse(opts));
