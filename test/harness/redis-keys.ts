// Removes every Redis key under a prefix (a test's or a bench's own deployment), so runs leave
// the shared Redis as they found it; and gives a test file a prefix of its own there.
import { Redis } from 'ioredis';

/** Deletes the keys that start with `prefix`; returns how many were deleted. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * A connection to the machine's Redis for one test file, under a prefix of its own: connected
 * before the file's tests, its keys deleted and the connection closed after them.
 */
export function testRedis(
  tap: { before(fn: () => unknown): void; teardown(fn: () => unknown): void },
  name: string,
): { redis: Redis; prefix: string } {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true });
  const prefix = `ofd-test-${name}-${process.pid}-${Date.now()}:`;
  tap.before(() => redis.connect());
  tap.teardown(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  return { redis, prefix };
}
