// A store of one test file without a server: the embedded ClickHouse migrated in a fresh
// DATA_DIR (one chDB path per process, so one per file) and the machine's Redis under a key
// prefix of the file's own, both removed by `close()`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openDb, type Db } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrations.js';
import { deleteKeys } from './redis-keys.js';

export interface TestStore {
  dataDir: string;
  db: Db;
  redis: Redis;
  prefix: string;
  close(): Promise<void>;
}

export async function openTestStore(name: string): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), `ofd-${name}-test-`));
  const db = openDb({ dataDir });
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  const prefix = `ofdtest:${name}:${randomBytes(6).toString('hex')}:`;
  await migrate(db);
  return {
    dataDir,
    db,
    redis,
    prefix,
    async close() {
      await deleteKeys(redis, prefix);
      await redis.quit();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
