// Deployment-wide settings kept in ClickHouse so every node of a scale-out sees the same value.
import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';

/** The value of a setting, created with `make()` on first use (first writer wins on read). */
export async function sharedSetting(db: Db, name: string, make: () => string): Promise<string> {
  const read = async () =>
    (
      await db.rows<{ value: string }>(
        `SELECT value FROM settings FINAL WHERE name = {name:String}`,
        { name },
      )
    )[0]?.value;
  const existing = await read();
  if (existing !== undefined) return existing;
  // version 1 for every first write: concurrent creators collapse to one row either way, and
  // all of them re-read the survivor below.
  await db.insert('settings', [{ name, value: make(), version: 1 }]);
  await db.command('OPTIMIZE TABLE settings FINAL');
  return (await read())!;
}

/** The key of the token rotation hash (device-state.ts nextToken). */
export const tokenSecret = (db: Db) =>
  sharedSetting(db, 'token_secret', () => randomBytes(32).toString('hex'));
