// ClickHouse clients for the whole process: the embedded engine (chDB, in-process, data under
// DATA_DIR/clickhouse) by default, or a ClickHouse server when CLICKHOUSE_URL is set (its path
// names the database, e.g. http://user:pass@host:8123/ofd). The same SQL runs on both.
//
// A chDB session runs one statement at a time, so one session for everything makes a cabinet
// read wait behind every group commit (and each read behind the others). Sessions on the same
// data path share one engine and run side by side: the embedded store opens one for the writer
// (inserts and DDL) and `readSessions` more for reads. A server's client pools its sockets, so
// one client does both there.
//
// Rows already encoded as JSONEachRow lines (the spool's) go in as bytes: the embedded engine
// takes the buffer as it is and parses it on its own threads (chDB's raw insert), where an
// insert of row objects is encoded, joined into one string and transcoded again on the event
// loop: 120–210 ms of it for 5,000 rows (bench/RESULTS.md, "The spool's drain off the event
// loop"). A server gets the bytes as the body of its INSERT.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export type { ClickHouseClient };

export interface ClickHouseOptions {
  url?: string;
  dataDir: string;
  /** Embedded engine: sessions for reads beside the writer's (default 2; 0 = the writer's). */
  readSessions?: number;
}

export const DEFAULT_READ_SESSIONS = 2;

/** Inserts rows encoded as JSONEachRow lines (each row's JSON and a newline). */
export type LinesInsert = (
  table: string,
  lines: Buffer,
  settings?: Record<string, string | number>,
) => Promise<void>;

export interface ClickHouseClients {
  writer: ClickHouseClient;
  readers: ClickHouseClient[];
  /** Through the writer. */
  insertLines: LinesInsert;
}

/** Table names are ours, never input; this only keeps a typo from becoming SQL. */
function tableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
  return table;
}

/** Lines as the body of an INSERT statement: any client, embedded or server. */
export function linesThroughClient(client: ClickHouseClient): LinesInsert {
  return async (table, lines, settings) => {
    const result = await client.exec({
      query: `INSERT INTO ${tableName(table)} FORMAT JSONEachRow`,
      values: Readable.from([lines]),
      ...(settings && { clickhouse_settings: settings }),
    });
    result.stream.resume();
    await finished(result.stream);
  };
}

type ChdbConnection = ReturnType<typeof createChdbConnection>;

function embedded(path: string): { client: ClickHouseClient; connection: ChdbConnection } {
  const connection = createChdbConnection({ path });
  // The chDB connection plugs into the official client; its options type lags the hook.
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  return { client, connection };
}

/** Lines handed to chDB as bytes: parsed by the engine's threads, not on the event loop. */
function linesRaw(connection: ChdbConnection): LinesInsert {
  return async (table, lines, settings) => {
    await connection.chdb.rawInsert({
      table: tableName(table),
      values: lines,
      format: 'JSONEachRow',
      ...(settings && { settings }),
    });
  };
}

function embeddedPath(opts: ClickHouseOptions): string {
  const path = join(opts.dataDir, 'clickhouse');
  mkdirSync(path, { recursive: true });
  return path;
}

/** One client: the writer's session of the embedded engine, or the server. */
export function openClickHouse(opts: ClickHouseOptions): ClickHouseClient {
  if (opts.url) return createClient({ url: opts.url });
  return embedded(embeddedPath(opts)).client;
}

/** The writer's client and the readers' (the same one for a server). */
export function openClickHouseClients(opts: ClickHouseOptions): ClickHouseClients {
  if (opts.url) {
    const writer = createClient({ url: opts.url });
    return { writer, readers: [writer], insertLines: linesThroughClient(writer) };
  }
  const path = embeddedPath(opts);
  const writer = embedded(path);
  const count = opts.readSessions ?? DEFAULT_READ_SESSIONS;
  const readers = Array.from({ length: count }, () => embedded(path).client);
  return {
    writer: writer.client,
    readers: readers.length ? readers : [writer.client],
    insertLines: linesRaw(writer.connection),
  };
}
