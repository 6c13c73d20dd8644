// The live feed over the machine's Redis: the events of one turn of the event loop go out as one
// message per organization, and every listener still gets each event of its organization, in
// order, and none of another's.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import t from 'tap';
import { LiveFeed, type LiveEvent } from '../../src/telemetry/live-feed.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const prefix = `ofdtest:live-feed:${randomBytes(4).toString('hex')}:`;
const feed = new LiveFeed(redis, prefix, pino({ level: 'silent' }));
t.teardown(async () => {
  await feed.close();
  await redis.quit();
});

const event = (orgId: number, n: number): LiveEvent => ({
  type: 'receipt',
  orgId,
  pointId: 1,
  kkmId: 10 + orgId,
  ticketNumber: String(n),
  at: new Date(0).toISOString(),
});

t.test('one message per organization and turn; each event delivered', async (t) => {
  const got = new Map<number, string[]>([
    [1, []],
    [2, []],
  ]);
  for (const org of [1, 2]) {
    await feed.subscribe(org, (e) => got.get(org)!.push(String(e.ticketNumber)));
  }
  // subscribe() resolves once the pattern subscription is active.
  let published = 0;
  const publish = redis.publish.bind(redis);
  redis.publish = ((channel: string, message: string) => {
    published++;
    return publish(channel, message);
  }) as typeof redis.publish;

  for (let n = 1; n <= 5; n++) feed.publish(event(1, n));
  feed.publish(event(2, 100));
  feed.publish(event(2, 101));
  for (let i = 0; i < 100 && got.get(1)!.length + got.get(2)!.length < 7; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same(got.get(1), ['1', '2', '3', '4', '5'], 'organization 1: its five events, in order');
  t.same(got.get(2), ['100', '101'], 'organization 2: its two');
  t.equal(published, 2, 'two PUBLISH commands for seven events of one turn');

  feed.publish(event(1, 6));
  for (let i = 0; i < 100 && got.get(1)!.length < 6; i++)
    await new Promise((r) => setTimeout(r, 20));
  t.same(got.get(1)!.at(-1), '6', 'a lone event of a later turn, too');
  t.equal(published, 3, 'as a message of its own');
});
