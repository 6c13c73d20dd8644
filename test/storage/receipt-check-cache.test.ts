// The receipt check's read model in Redis (src/storage/receipt-check-cache.ts), against real
// Redis: a commit's entries (any number of hashes) go in one script call; `put` overwrites and
// starts each hash's lifetime again, `fill` (the engine's answer after a miss) writes only what
// is not held and leaves a running lifetime alone; a failing Redis reaches onError, not the caller.
import t from 'tap';
import { Redis } from 'ioredis';
import { cachedEntry, ReceiptCheckCache } from '../../src/storage/receipt-check-cache.js';
import { testRedis } from '../harness/redis-keys.js';

const { redis, prefix } = testRedis(t, 'rcc');

const place = (kgdNumber: string, number: string, deviceTime: string) => ({
  kgdNumber,
  number,
  deviceTime,
});
const row = (total: number) => ({ total, kkm_id: 1, ticket_number: 'x' });
const hash = (kgd: string, day: string) => `${prefix}receipt-check:2:${kgd}:${day}`;

t.test('a commit of entries in several hashes: each written, each with its lifetime', async (t) => {
  const cache = new ReceiptCheckCache(redis, prefix, 2);
  // The script's first call may be two (EVALSHA, then EVAL where Redis does not hold it yet).
  await cache.put([cachedEntry(place('K0', '1', '2026-12-04T09:00:00'), row(1))]);
  let calls = 0;
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, ...rest) => (calls++, original(command, ...rest));
  t.teardown(() => {
    redis.sendCommand = original;
  });
  await cache.put([
    cachedEntry(place('K1', '1', '2026-12-04T10:00:00'), row(100)),
    cachedEntry(place('K1', '2', '2026-12-04T10:01:00'), row(200)),
    cachedEntry(place('K2', '1', '2026-12-04T10:02:00'), row(300)),
    cachedEntry(place('K1', '3', '2026-12-05T00:00:01'), row(400)),
  ]);
  t.equal(calls, 1, 'four entries in three hashes: one call');
  const got = await cache.get(place('K1', '2', '2026-12-04T10:01:00'));
  t.equal(got?.total, 200, 'an entry reads back');
  t.equal((await cache.get(place('K2', '1', '2026-12-04T10:02:00')))?.total, 300);
  t.equal((await cache.get(place('K1', '3', '2026-12-05T00:00:01')))?.total, 400);
  for (const h of [hash('K1', '2026-12-04'), hash('K2', '2026-12-04'), hash('K1', '2026-12-05')]) {
    const ttl = await redis.ttl(h);
    t.ok(ttl > 86_400 && ttl <= 2 * 86_400, `${h}: lives two days (${ttl} s)`);
  }
});

t.test('put overwrites and restarts a lifetime; fill neither', async (t) => {
  const cache = new ReceiptCheckCache(redis, prefix, 1);
  const at = place('K3', '7', '2026-12-04T11:00:00');
  const h = hash('K3', '2026-12-04');
  await cache.fill([cachedEntry(at, row(1))]);
  t.equal((await cache.get(at))?.total, 1, 'fill writes what is not held');
  t.ok((await redis.ttl(h)) > 0, 'and starts a lifetime where none runs');
  await redis.expire(h, 100);
  await cache.fill([cachedEntry(at, row(2))]);
  t.equal((await cache.get(at))?.total, 1, 'fill does not overwrite (a newer commit wins)');
  t.equal(await redis.ttl(h), 100, 'nor restart the running lifetime');
  await cache.put([cachedEntry(at, row(3))]);
  t.equal((await cache.get(at))?.total, 3, 'put overwrites (a cancellation, say)');
  t.ok((await redis.ttl(h)) > 3600, 'and starts the lifetime again');
});

t.test('a large write goes in several bounded calls, every entry in', async (t) => {
  const cache = new ReceiptCheckCache(redis, prefix, 1);
  const entries = Array.from({ length: 4500 }, (_, i) =>
    cachedEntry(place('K5', String(i + 1), '2026-12-04T13:00:00'), row(i)),
  );
  await cache.put(entries);
  t.equal(await redis.hlen(hash('K5', '2026-12-04')), 4500, 'all 4,500 fields');
});

t.test('a failing Redis reaches onError; the caller is not failed', async (t) => {
  const broken = new Redis('redis://127.0.0.1:1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  const errors: Error[] = [];
  const cache = new ReceiptCheckCache(broken, prefix, 1, (e) => errors.push(e));
  await cache.put([cachedEntry(place('K4', '1', '2026-12-04T12:00:00'), row(5))]);
  t.equal(errors.length, 1, 'reported once');
  broken.disconnect();
});
