// ClickHouse clients for the whole process: the embedded engine (chDB, in-process, data under
// DATA_DIR/clickhouse) by default, or a ClickHouse server when CLICKHOUSE_URL is set (its path
// names the database, e.g. http://user:pass@host:8123/ofd). The same SQL runs on both.
//
// A chDB session runs one statement at a time, so one session for everything makes a cabinet
// read wait behind every group commit (and each read behind the others). Sessions on the same
// data path share one engine and run side by side: the embedded store opens one for the writer
// (inserts and DDL) and `readSessions` more for reads. A server's client pools its sockets, so
// one client does both there.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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

export interface ClickHouseClients {
  writer: ClickHouseClient;
  readers: ClickHouseClient[];
}

function embedded(path: string): ClickHouseClient {
  // The chDB connection plugs into the official client; its options type lags the hook.
  return createClient({ connection: createChdbConnection({ path }) } as Parameters<
    typeof createClient
  >[0]);
}

/** One client: the writer's session of the embedded engine, or the server. */
export function openClickHouse(opts: ClickHouseOptions): ClickHouseClient {
  if (opts.url) return createClient({ url: opts.url });
  const path = join(opts.dataDir, 'clickhouse');
  mkdirSync(path, { recursive: true });
  return embedded(path);
}

/** The writer's client and the readers' (the same one for a server). */
export function openClickHouseClients(opts: ClickHouseOptions): ClickHouseClients {
  const writer = openClickHouse(opts);
  if (opts.url) return { writer, readers: [writer] };
  const count = opts.readSessions ?? DEFAULT_READ_SESSIONS;
  const path = join(opts.dataDir, 'clickhouse');
  const readers = Array.from({ length: count }, () => embedded(path));
  return { writer, readers: readers.length ? readers : [writer] };
}
