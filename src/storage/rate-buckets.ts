// Request-rate token buckets kept in Redis, so every ingest process spends one budget per
// device and per address (the ingest guard leases tokens from here in small chunks and spends
// them locally, so a request rarely waits on Redis). One script takes up to `want` tokens,
// refilling the bucket by Redis's own clock; an idle bucket expires once it would be full.
import type { Redis } from 'ioredis';

const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local got = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return got`;

export class SharedRateBuckets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Takes up to `want` tokens from bucket `scope`/`key` (`rate` a second, up to `burst`). */
  async take(scope: string, key: string | number, want: number, rate: number, burst: number) {
    const got = await this.redis.eval(
      TAKE,
      1,
      `${this.prefix}rate:${scope}:${key}`,
      String(rate),
      String(burst),
      String(want),
    );
    return Number(got);
  }
}
