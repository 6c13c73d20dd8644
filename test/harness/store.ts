// A store of one test file without a server: the embedded ClickHouse migrated in a fresh
// DATA_DIR (one chDB path per process, so one per file) and the machine's Redis under a key
// prefix of the file's own, both removed by `close()`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ticketNumber } from '../../src/fiscal/device-state.js';
import { ticketFigures } from '../../src/fiscal/document-rows.js';
import { wallClockAt } from '../../src/protocol/datetime.js';
import type { ticket } from '../../src/sim/documents.js';
import { openDb, type OwnedDb } from '../../src/storage/db.js';
import { ticketColumns203 } from '../../src/storage/ticket-columns-203.js';
import { migrate } from '../../src/storage/migrations.js';
import { deleteKeys } from './redis-keys.js';

export interface TestStore {
  dataDir: string;
  db: OwnedDb;
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

/**
 * A receipt's documents row as ingest builds it (figures, 2.0.3 columns), for tests that write
 * documents straight into a store: `at` is both its device and receive time.
 */
export function receiptRow(
  kkmId: number,
  seq: number,
  at: number,
  request: ReturnType<typeof ticket>,
  fields: { shift_number: number; state: Record<string, unknown> } & Record<string, unknown>,
) {
  const { state, ...rest } = fields;
  return {
    kkm_id: kkmId,
    doc_seq: seq,
    doc_type: 'ticket',
    org_id: 1,
    point_id: 1,
    device_time: wallClockAt(at),
    received_at: at,
    ticket_number: ticketNumber(kkmId, seq),
    operation: request.operation,
    state: JSON.stringify(state),
    ...ticketFigures(request),
    ...ticketColumns203(request),
    ...rest,
  };
}
