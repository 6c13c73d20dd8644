// What every registry repository shares: row versions, id sequences and locks. ClickHouse is the
// only copy (ReplacingMergeTree(version) tables: an update is a new row with a higher version,
// reads use FINAL). Redis only coordinates: it hands out sequential ids (re-seeded from
// ClickHouse before every allocation, so a flushed Redis never reuses an id) and holds short
// locks that serialize read-modify-write updates across processes.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { Coordination } from './coordination.js';
import { isId } from './values.js';
import { BusyError, InvalidInputError, StoreBrokenError, type Entity } from './errors.js';

let lastVersion = 0;

/**
 * A row version above every version this process handed out before and above `after`
 * (the stored row's version, so an update wins even if another host's clock ran ahead).
 */
export function nextVersion(after = 0): number {
  const v = Math.max(Date.now() * 1000, lastVersion + 1, after + 1);
  lastVersion = v;
  return v;
}

export function requireId(entity: Entity, id: number): void {
  if (!isId(id)) throw new InvalidInputError(`${entity}Id`, 'must be an integer from 1 to 2^32-1');
}

export function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidInputError(field, 'must be a non-empty string');
  }
  return value;
}

/** Id sequences by name, with the table and column whose maximum is their floor. */
const SEQ_SOURCE = {
  org: { table: 'orgs', column: 'org_id' },
  point: { table: 'points', column: 'point_id' },
  kkm: { table: 'kkms', column: 'kkm_id' },
  user: { table: 'users', column: 'user_id' },
  group: { table: 'groups', column: 'group_id' },
  application: { table: 'applications', column: 'application_id' },
  grant: { table: 'service_grants', column: 'grant_id' },
} as const;
export type SeqKind = keyof typeof SEQ_SOURCE;

export abstract class Repository {
  protected readonly coordination: Coordination;

  constructor(
    protected readonly db: Db,
    redis: Redis,
    keyPrefix: string,
  ) {
    this.coordination = new Coordination(redis, keyPrefix);
  }

  /** The next id of a kind (or the last of `count`): never at or below ClickHouse's max. */
  protected async allocate(kind: SeqKind, count = 1): Promise<number> {
    const { table, column } = SEQ_SOURCE[kind];
    return this.nextSeq(kind, () => this.maxOf(`SELECT max(${column}) AS m FROM ${table}`), count);
  }

  protected async maxOf(sql: string, params?: Record<string, unknown>): Promise<number> {
    const rows = await this.db.rows<{ m: number | null }>(sql, params);
    return Number(rows[0]?.m ?? 0);
  }

  /** The next value of a sequence, or with `count` the last of `count` consecutive values. */
  protected async nextSeq(name: string, floor: () => Promise<number>, count = 1): Promise<number> {
    return this.coordination.next(name, await floor(), count, (m) => new StoreBrokenError(m));
  }

  /** Runs `fn` holding a Redis lock, so read-modify-write updates do not interleave. */
  protected withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.coordination.withLock(name, fn, (m) => new BusyError(m));
  }

  protected async insert(table: string, row: Record<string, unknown>): Promise<void> {
    await this.db.insert(table, [row]);
  }
}
