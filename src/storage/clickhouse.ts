// One ClickHouse client for the whole process: the embedded engine (chDB, in-process, data
// under DATA_DIR/clickhouse) by default, or a ClickHouse server when CLICKHOUSE_URL is set
// (its path names the database, e.g. http://user:pass@host:8123/ofd). The same SQL runs on both.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export type { ClickHouseClient };

export interface ClickHouseOptions {
  url?: string;
  dataDir: string;
}

export function openClickHouse(opts: ClickHouseOptions): ClickHouseClient {
  if (opts.url) return createClient({ url: opts.url });
  const path = join(opts.dataDir, 'clickhouse');
  mkdirSync(path, { recursive: true });
  // The chDB connection plugs into the official client; its options type lags the hook.
  return createClient({ connection: createChdbConnection({ path }) } as Parameters<
    typeof createClient
  >[0]);
}
