// Deployment-wide settings kept in ClickHouse so every node of a scale-out sees the same value.
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from './clickhouse.js';

/** The value of a setting, created with `make()` on first use (first writer wins on read). */
export async function sharedSetting(
  ch: ClickHouseClient,
  name: string,
  make: () => string,
): Promise<string> {
  const read = async () => {
    const rs = await ch.query({
      query: `SELECT value FROM settings FINAL WHERE name = {name:String}`,
      query_params: { name },
      format: 'JSONEachRow',
    });
    return (await rs.json<{ value: string }>())[0]?.value;
  };
  const existing = await read();
  if (existing !== undefined) return existing;
  // version 1 for every first write: concurrent creators collapse to one row either way, and
  // all of them re-read the survivor below.
  await ch.insert({
    table: 'settings',
    values: [{ name, value: make(), version: 1 }],
    format: 'JSONEachRow',
  });
  await ch.command({ query: 'OPTIMIZE TABLE settings FINAL' });
  return (await read())!;
}

/** The key of the token rotation hash (device-state.ts nextToken). */
export const tokenSecret = (ch: ClickHouseClient) =>
  sharedSetting(ch, 'token_secret', () => randomBytes(32).toString('hex'));
