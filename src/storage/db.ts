// The one port every repository talks to: rows of a SELECT, an insert of rows, a statement.
// It is implemented once over a ClickHouse client (embedded chDB or a server, clickhouse.ts)
// and once over the IPC link of an ingest process (src/cluster/ipc-db.ts); nothing else in
// the code sees a ClickHouse client.
import {
  linesThroughClient,
  openClickHouseClients,
  type ClickHouseClient,
  type ClickHouseOptions,
  type LinesInsert,
} from './clickhouse.js';

export type Params = Record<string, unknown>;
export type Row = Record<string, unknown>;
export type InsertSettings = Record<string, string | number>;

export interface Db {
  /** The rows of a query, 64-bit integers as JSON numbers. */
  rows<T>(query: string, params?: Params): Promise<T[]>;
  /** Inserts rows (one JSONEachRow statement), with `settings` of the statement if any. */
  insert(table: string, rows: readonly object[], settings?: InsertSettings): Promise<void>;
  /**
   * Inserts rows already encoded (`jsonLines`), as bytes: the spool's drain. Absent where the
   * store is reached over IPC.
   */
  insertLines?(table: string, lines: Buffer, settings?: InsertSettings): Promise<void>;
  /** A statement without rows (DDL, OPTIMIZE). */
  command(query: string): Promise<void>;
  /**
   * The same store, its queries queued behind the inserts already handed to it (the writer's
   * session). A device state is rebuilt through it: an insert that outlived its commit's
   * deadline may still land, and a read that overtook it would let the resend store the
   * document a second time. Absent: every query already is (one session, or IPC to one).
   */
  afterWrites?(): Db;
  /** Queries the store runs side by side (read sessions; 1 when absent). */
  readonly parallelReads?: number;
  /** Whether the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A store this process owns (not reached over IPC): it takes rows as bytes too. */
export type OwnedDb = Db & Required<Pick<Db, 'insertLines'>>;

/**
 * 64-bit integers come back as numbers rather than quoted strings. Every such column here
 * (tiyn, thousandths, ids, versions in milliseconds) stays below 2^53.
 */
const READ_SETTINGS = { output_format_json_quote_64bit_integers: 0 } as const;

/**
 * The port over a writer's client (inserts, statements) and readers' clients (queries). A query
 * goes to the reader with the fewest queries in flight, so reads neither wait behind a commit
 * nor, while another reader is free, behind each other.
 */
export function clickHouseDb(
  writer: ClickHouseClient,
  readers: readonly ClickHouseClient[] = [writer],
  insertLines: LinesInsert = linesThroughClient(writer),
): OwnedDb {
  const inFlight = readers.map(() => 0);
  const leastBusy = () => {
    let best = 0;
    for (let i = 1; i < inFlight.length; i++) if (inFlight[i]! < inFlight[best]!) best = i;
    return best;
  };
  const onWriter = readers.length === 1 && readers[0] === writer;
  const db: OwnedDb = {
    parallelReads: readers.length,
    async rows<T>(query: string, params: Params = {}) {
      const i = leastBusy();
      inFlight[i]!++;
      try {
        return await rowsOf<T>(readers[i]!, query, params);
      } finally {
        inFlight[i]!--;
      }
    },
    async insert(table, rows, settings) {
      await writer.insert({
        table,
        values: rows as object[],
        format: 'JSONEachRow',
        ...(settings && { clickhouse_settings: settings }),
      });
    },
    insertLines,
    async command(query) {
      await writer.command({ query });
    },
    async ping() {
      return (await writer.ping()).success;
    },
    async close() {
      const others = readers.filter((r) => r !== writer);
      await Promise.all(others.map((r) => r.close()));
      await writer.close();
    },
  };
  if (!onWriter) {
    const ordered: Db = { ...db, parallelReads: 1, rows: (q, p = {}) => rowsOf(writer, q, p) };
    db.afterWrites = () => ordered;
  }
  return db;
}

async function rowsOf<T>(client: ClickHouseClient, query: string, params: Params): Promise<T[]> {
  const rs = await client.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  return rs.json<T>();
}

/** The configured store: a ClickHouse server by URL, else the embedded engine. */
export function openDb(opts: ClickHouseOptions): OwnedDb {
  const { writer, readers, insertLines } = openClickHouseClients(opts);
  return clickHouseDb(writer, readers, insertLines);
}

/** Rows as JSONEachRow lines: each row's JSON and a newline, as `Db.insert` would send them. */
export function jsonLines(rows: readonly object[]): Buffer {
  let text = '';
  for (const row of rows) text += `${JSON.stringify(row)}\n`;
  return Buffer.from(text);
}
