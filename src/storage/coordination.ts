// Coordination between processes through Redis, with ClickHouse as the truth behind it:
// sequences that never fall back below what is stored, and short locks for read-modify-write
// updates of registry rows.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { MAX_UINT32 } from '../protocol/numbers.js';

/** Seed the counter up to the floor if Redis lost or lags it, then INCRBY (default 1). */
const SEQ_NEXT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if cur == nil or cur < floor then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCRBY', KEYS[1], tonumber(ARGV[2] or '1'))`;

const LOCK_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Extends a lease only while its owner still holds it. */
const LEASE_RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Coordination {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /**
   * The next value of sequence `name` (or, with `count`, the last of `count` consecutive
   * values), never at or below `floor` (the highest id ClickHouse holds). Throws `broken` when
   * the sequence left the uint32 range.
   */
  async next(
    name: string,
    floor: number,
    count: number,
    broken: (message: string) => Error,
  ): Promise<number> {
    const key = `${this.keyPrefix}seq:${name}`;
    const value = Number(await this.redis.eval(SEQ_NEXT, 1, key, String(floor), String(count)));
    if (!Number.isInteger(value) || value < 1 || value > MAX_UINT32) {
      throw broken(`sequence ${name} is exhausted or broken (${value})`);
    }
    return value;
  }

  /**
   * Runs `fn` holding lock `name` (held at most `ttlMs`); throws `busy` when it is not free
   * within `waitMs` (5 s by default; 0: not at all).
   */
  async withLock<T>(
    name: string,
    fn: () => Promise<T>,
    busy: (message: string) => Error,
    { ttlMs = LOCK_TTL_MS, waitMs = LOCK_WAIT_MS } = {},
  ): Promise<T> {
    const key = `${this.keyPrefix}lock:${name}`;
    const owner = randomBytes(12).toString('hex');
    const deadline = Date.now() + waitMs;
    while ((await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) !== 'OK') {
      if (Date.now() >= deadline) throw busy(`${name} is busy; try again`);
      await sleep(20);
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(LOCK_RELEASE, 1, key, owner).catch(() => undefined);
    }
  }

  /**
   * A long-held lock: null when another holds `name`, else a lease that lasts `ttlMs` from
   * each renewal. Its holder renews it well within `ttlMs` and stops the guarded work as soon
   * as a renewal fails (another process may take it over from then on).
   */
  async lease(name: string, ttlMs: number): Promise<Lease | null> {
    const key = `${this.keyPrefix}lease:${name}`;
    const owner = randomBytes(12).toString('hex');
    if ((await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) !== 'OK') return null;
    const redis = this.redis;
    return {
      async renew() {
        return Number(await redis.eval(LEASE_RENEW, 1, key, owner, String(ttlMs))) === 1;
      },
      async release() {
        await redis.eval(LOCK_RELEASE, 1, key, owner).catch(() => undefined);
      },
    };
  }
}

export interface Lease {
  /** Extends the lease; false when it was lost (expired, or Redis forgot it). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}
