// Redis connections of a process: the request path's (no offline queue: while Redis is down a
// command fails at once, so registers get 254 at once) and one of its copies for job producers.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis not ready')), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function connectRedis(url: string, log: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
  });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  await redisReady(redis, 5000).catch(() => log.error('redis unreachable at start; answering 254'));
  return redis;
}

/**
 * BullMQ defines some sixty scripts on a connection it is given, and ioredis copies every
 * script defined on a connection into each auto-pipeline it builds: the job producers get a
 * connection of their own, so the request path's pipelines stay cheap.
 */
export async function jobsConnection(redis: Redis, log: Logger): Promise<Redis> {
  const jobsRedis = redis.duplicate();
  jobsRedis.on('error', (err) => log.warn({ err: err.message }, 'redis error (jobs)'));
  // Its copy is waited for only when the connection it copies is up: when Redis is down at
  // start, connectRedis has waited for it already (a second wait doubled a start-up with Redis
  // down, 12.7 s, to no purpose).
  if (redis.status === 'ready') await redisReady(jobsRedis, 5000).catch(() => {});
  return jobsRedis;
}
