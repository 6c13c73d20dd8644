// Removes every Redis key under a prefix (a test's or a bench's own deployment), so runs leave
// the shared Redis as they found it.
import type { Redis } from 'ioredis';

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
