// Request-rate token buckets kept in Redis, so every ingest process spends one budget per
// device and per address: each process spends from its own bucket and reports what it spent
// here every few requests, taking back the shared level (so no request waits on Redis). One
// script refills the bucket by Redis's own clock, takes what was spent (it may go below zero)
// and answers the level; an idle bucket expires once it would be full.
import type { Redis } from 'ioredis';

const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local spent = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000) - spent
tokens = math.max(tokens, -burst)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return tostring(tokens)`;

export class SharedRateBuckets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Spends `spent` tokens of bucket `scope`/`key` (`rate` a second, up to `burst`); the level. */
  async spend(scope: string, key: string | number, spent: number, rate: number, burst: number) {
    const level = await this.redis.eval(
      TAKE,
      1,
      `${this.prefix}rate:${scope}:${key}`,
      String(rate),
      String(burst),
      String(spent),
    );
    return Number(level);
  }
}
