// The device state store against real Redis: claims and releases made in one turn share one
// script call; a state this process wrote is reused without transfer only while Redis still
// holds that very version, so another process's write, a flushed key or a lost claim is never
// answered from the local copy.
import t from 'tap';
import type { Redis } from 'ioredis';
import { freshState, type DeviceState } from '../../src/fiscal/device-state.js';
import { MAX_WAITING_CLAIMS, StateStore, type Claim } from '../../src/ingest/state-store.js';
import { testRedis } from '../harness/redis-keys.js';

const { redis, prefix } = testRedis(t, 'state');

const LEASE_MS = 2000;
const state = (kkmId: number, seq: number): DeviceState => ({
  ...freshState({
    kkmId,
    orgId: 1,
    pointId: 1,
    orgBin: '123456789012',
    status: 'active',
    token: 7,
    tokenEpoch: 1,
  }),
  seq,
});
const held = (claim: Claim) => {
  if (claim.kind !== 'held') throw new Error('expected the claim to be held');
  return claim;
};

/** Counts script calls made through `store`'s Redis connection. */
function countCalls(conn: Redis) {
  const counts = { claims: 0, releases: 0 };
  const c = conn as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const claim = c.ofdClaimMany!.bind(conn);
  const release = c.ofdReleaseMany!.bind(conn);
  c.ofdClaimMany = (...a) => (counts.claims++, claim(...a));
  c.ofdReleaseMany = (...a) => (counts.releases++, release(...a));
  return counts;
}

t.test('claims and releases of one turn go to Redis as one call each', async (t) => {
  const conn = redis.duplicate();
  t.teardown(() => conn.disconnect());
  const store = new StateStore(conn, prefix, LEASE_MS);
  const calls = countCalls(conn);
  const ids = [101, 102, 103, 104, 105];
  const claims = (await Promise.all(ids.map((id) => store.claim(id)))).map(held);
  t.equal(calls.claims, 1, 'five claims, one script call');
  t.equal(new Set(claims.map((c) => c.claim)).size, 5, 'each device has its own claim');
  t.ok(
    claims.every((c) => c.state === null && c.rebuild),
    'no state yet: every one is to be rebuilt',
  );
  await Promise.all(ids.map((id, i) => store.release(id, claims[i]!.claim, state(id, 1))));
  t.equal(calls.releases, 1, 'five releases, one script call');
  for (const id of ids) {
    t.equal(await redis.hget(store.key(id), 'p'), null, `device ${id} released`);
    t.equal(JSON.parse((await redis.hget(store.key(id), 's'))!).seq, 1, `device ${id} stored`);
  }
});

t.test(
  'with a linger, claims of quiet turns wait for each other; a full turn or a busy store does not',
  async (t) => {
    const conn = redis.duplicate();
    t.teardown(() => conn.disconnect());
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Three claims in three turns, a few ms apart: within the linger (1 s), one call.
    const store = new StateStore(conn, prefix, LEASE_MS, 100, 1000);
    const calls = countCalls(conn);
    const quiet = [store.claim(601)];
    await sleep(3);
    quiet.push(store.claim(602));
    await sleep(3);
    quiet.push(store.claim(603));
    const claims = (await Promise.all(quiet)).map(held);
    t.equal(calls.claims, 1, 'three quiet turns, one script call');
    t.equal(new Set(claims.map((c) => c.claim)).size, 3, 'each its own claim');
    // A turn of 16 or more goes at once: with a linger of ten minutes, waiting would time out.
    const patient = new StateStore(conn, prefix, LEASE_MS, 100, 600_000);
    await Promise.all(Array.from({ length: 16 }, (_, i) => patient.claim(611 + i)));
    t.equal(calls.claims, 2, 'sixteen in one turn: one more call, at once');
    // With 32 claims held, the requests in flight share their calls anyway: none lingers.
    await Promise.all(Array.from({ length: 16 }, (_, i) => patient.claim(641 + i)));
    await patient.claim(661);
    t.equal(calls.claims, 4, '32 held: a claim of a quiet turn goes at once');
    // Without a linger every turn goes by itself.
    const plain = new StateStore(conn, prefix, LEASE_MS);
    await plain.claim(631);
    await sleep(3);
    await plain.claim(632);
    t.equal(calls.claims, 6, 'no linger: a call per turn');
  },
);

t.test(
  "a device's claims in one process wait for each other; another process is busy",
  async (t) => {
    const conn = redis.duplicate();
    t.teardown(() => conn.disconnect());
    const store = new StateStore(conn, prefix, LEASE_MS);
    const other = new StateStore(redis, prefix, LEASE_MS); // another ingest process
    const calls = countCalls(conn);
    const order: string[] = [];
    const first = store.claim(201).then((c) => (order.push('first'), held(c)));
    const second = store.claim(201).then((c) => (order.push('second'), c));
    const held1 = await first;
    t.same(await other.claim(201), { kind: 'busy' }, 'another process is told busy');
    await new Promise((r) => setTimeout(r, 50));
    t.same(order, ['first'], 'the second claim waits while the first is held');
    const claimsBefore = calls.claims;
    await store.release(201, held1.claim, state(201, 1));
    const held2 = held(await second);
    t.same(order, ['first', 'second'], 'then it is held');
    t.equal(calls.claims, claimsBefore + 1, 'it went to Redis after the release');
    t.equal(held2.state?.seq, 1, 'and sees the state the first one left');
    t.notOk(held2.rebuild);

    // A few may wait; beyond MAX_WAITING_CLAIMS a claim is busy at once.
    const waiting = Array.from({ length: MAX_WAITING_CLAIMS }, () => store.claim(201));
    t.same(await store.claim(201), { kind: 'busy' }, 'one claim too many is busy');
    let current = held2;
    for (const next of waiting) {
      await store.release(201, current.claim, null);
      current = held(await next);
    }
    await store.release(201, current.claim, null);
    t.equal((await other.claim(201)).kind, 'held', 'all released: claimable by another process');
  },
);

t.test('the local copy is used only while Redis holds its version', async (t) => {
  const mine = new StateStore(redis, prefix, LEASE_MS);
  const other = new StateStore(redis, prefix, LEASE_MS); // another ingest process
  const id = 301;
  const s1 = state(id, 1);
  await mine.release(id, held(await mine.claim(id)).claim, s1);

  const again = held(await mine.claim(id));
  t.equal(again.state, s1, 'unchanged in Redis: the very object this process stored');
  t.notOk(again.rebuild);
  await mine.release(id, again.claim, null);

  const theirs = held(await other.claim(id));
  t.same(theirs.state, s1, 'another process reads it from Redis');
  t.not(theirs.state, s1, '(its own parsed copy)');
  await other.release(id, theirs.claim, state(id, 2));

  const after = held(await mine.claim(id));
  t.equal(after.state?.seq, 2, 'after their write, theirs — not the stale local copy');
  await mine.release(id, after.claim, null);

  await redis.del(mine.key(id)); // Redis flushed or restarted empty
  const flushed = held(await mine.claim(id));
  t.equal(flushed.state, null, 'a flushed key is not answered from the local copy');
  t.ok(flushed.rebuild, 'it is rebuilt');
  await mine.release(id, flushed.claim, state(id, 2));
  t.equal(await redis.hget(mine.key(id), 'v'), flushed.claim, 'stored under a new version');
});

t.test('a claim lost to another process: its release changes nothing', async (t) => {
  const mine = new StateStore(redis, prefix, 100);
  const other = new StateStore(redis, prefix, 100);
  const id = 401;
  const stale = held(await mine.claim(id));
  await new Promise((r) => setTimeout(r, 150)); // the lease ran out (this process hung)
  const taken = held(await other.claim(id));
  t.ok(taken.rebuild, 'an expired claim means the state is rebuilt');
  await mine.release(id, stale.claim, state(id, 9));
  t.equal(await redis.hget(mine.key(id), 's'), null, 'the late release stored nothing');
  t.equal(await redis.hget(mine.key(id), 'p'), taken.claim, 'the new claim stands');
  await other.release(id, taken.claim, state(id, 1));
  const next = held(await mine.claim(id));
  t.equal(next.state?.seq, 1, 'the late writer does not trust its copy either');
});

t.test('an uncertain release makes the next claim rebuild', async (t) => {
  const store = new StateStore(redis, prefix, LEASE_MS);
  const id = 501;
  await store.release(id, held(await store.claim(id)).claim, state(id, 1));
  await store.markUncertain(id, held(await store.claim(id)).claim);
  const next = held(await store.claim(id));
  t.ok(next.rebuild, 'rebuilt from ClickHouse');
  t.equal(next.state, null);
});

t.test('Redis refusing the script fails every claim of the call', async (t) => {
  const conn = redis.duplicate();
  t.teardown(() => conn.disconnect());
  const store = new StateStore(conn, prefix, LEASE_MS);
  (conn as unknown as Record<string, unknown>).ofdClaimMany = () =>
    Promise.reject(new Error('connect ECONNREFUSED'));
  const results = await Promise.allSettled([store.claim(601), store.claim(602)]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

t.test('the local copies are bounded, least recently used out first; 0 keeps none', async (t) => {
  const store = new StateStore(redis, prefix, LEASE_MS, 2);
  const stored = new Map<number, DeviceState>();
  for (const id of [701, 702]) {
    stored.set(id, state(id, 1));
    await store.release(id, held(await store.claim(id)).claim, stored.get(id)!);
  }
  const again701 = held(await store.claim(701)); // 701 used again: 702 is now the oldest
  await store.release(701, again701.claim, null);
  stored.set(703, state(703, 1));
  await store.release(703, held(await store.claim(703)).claim, stored.get(703)!);
  // (In one call, in this order: reading 702 back evicts the then oldest copy.)
  const [a, c, b] = (await Promise.all([701, 703, 702].map((id) => store.claim(id)))).map(held);
  t.equal(a!.state, stored.get(701), '701 kept (used recently)');
  t.not(b!.state, stored.get(702), '702 evicted: read back from Redis');
  t.same(b!.state, stored.get(702), '(with the same figures)');
  t.equal(c!.state, stored.get(703), '703 kept');
  await Promise.all([701, 702, 703].map((id, i) => store.release(id, [a, b, c][i]!.claim, null)));

  const none = new StateStore(redis, prefix, LEASE_MS, 0);
  const s = state(704, 1);
  await none.release(704, held(await none.claim(704)).claim, s);
  const back = held(await none.claim(704));
  t.not(back.state, s, 'no local copy kept');
  t.same(back.state, s);
  await none.release(704, back.claim, null);
});
