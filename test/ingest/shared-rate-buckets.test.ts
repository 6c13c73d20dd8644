// Request-rate buckets shared in Redis: two ingest processes (two guards' buckets) spending one
// device's budget admit about one burst between them, where per-process buckets admitted two;
// a process overspends by at most a chunk between reports; without Redis each goes on alone.
// And end to end: a server with two ingest processes (OFD_INGEST_PROCESSES=2, connections dealt
// round-robin between them) admits one device about one burst over many connections with the
// Redis buckets, and about two with OFD_RATE_BUCKETS=local.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { TokenBuckets } from '../../src/ingest/request-limits.js';
import { SharedRateBuckets } from '../../src/storage/rate-buckets.js';
import { deleteKeys } from '../harness/redis-keys.js';
import {
  ChildServer,
  OK,
  UNAVAILABLE,
  newDeployment,
  registerDevices,
  removeDeployment,
} from '../harness/index.js';
import { KkmDevice, TcpLink } from '../../src/sim/kkm-client.js';
import { requests } from '../../src/sim/documents.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const prefix = `ofdtest:rates:${randomBytes(4).toString('hex')}:`;
t.teardown(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});
const shared = new SharedRateBuckets(redis, prefix);
const RATE = 1;
const BURST = 40;

/** Sends `n` requests of one key, alternating between the processes; how many were admitted. */
async function admitted(processes: TokenBuckets<number>[], n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    if (!processes[i % processes.length]!.take(7)) ok++;
    // Let leases land, as the time between frames does.
    for (let j = 0; j < 5; j++) await tick();
    await redis.ping();
  }
  return ok;
}

t.test('two processes share one budget', async (t) => {
  const source = (scope: string) => (key: string | number, spent: number) =>
    shared.spend(scope, key, spent, RATE, BURST);
  const a = new TokenBuckets<number>(RATE, BURST, 1000, source('device-a'));
  const b = new TokenBuckets<number>(RATE, BURST, 1000, source('device-a'));
  const both = await admitted([a, b], 3 * BURST);
  const chunk = Math.max(1, Math.min(Math.ceil(BURST / 10), RATE));
  t.ok(both >= BURST, `at least the burst admitted: ${both}`);
  t.ok(both <= BURST + 2 * chunk + 2, `about one burst between them: ${both} of ${3 * BURST}`);

  const localA = new TokenBuckets<number>(RATE, BURST, 1000);
  const localB = new TokenBuckets<number>(RATE, BURST, 1000);
  const separate = await admitted([localA, localB], 3 * BURST);
  t.ok(separate >= 2 * BURST, `per-process buckets admitted a burst each: ${separate}`);
});

t.test('an unreachable Redis fails open', async (t) => {
  const broken = new TokenBuckets<number>(RATE, BURST, 1000, async () => {
    throw new Error('redis down');
  });
  const ok = await admitted([broken], 10);
  t.equal(ok, 10, 'the local bucket goes on alone');
});

/** OK answers of one device's `n` INFO requests over `links` connections to a 2-process node. */
async function servedByTwoProcesses(buckets: 'redis' | 'local', n: number, burst: number) {
  const d = await newDeployment(undefined, {
    OFD_INGEST_PROCESSES: '2',
    OFD_DEVICE_RATE: '1',
    OFD_DEVICE_BURST: String(burst),
    OFD_RATE_BUCKETS: buckets,
  });
  const child = await ChildServer.start(d);
  const links = Array.from({ length: 6 }, () => new TcpLink(d.tcpPort));
  try {
    const [device] = await registerDevices(d, 1);
    // One register, its frames spread over connections that the two processes share out.
    let next = 0;
    const dev = new KkmDevice(device!.kkmId, device!.token, (frame) =>
      links[next++ % links.length]!.send(frame),
    );
    const codes: number[] = [];
    const started = performance.now();
    for (let i = 0; i < n; i++)
      codes.push((await dev.send(requests.info())).response.result.result_code);
    const elapsedS = (performance.now() - started) / 1000;
    return {
      ok: codes.filter((c) => c === OK).length,
      other: codes.filter((c) => c !== OK && c !== UNAVAILABLE),
      elapsedS,
    };
  } finally {
    links.forEach((l) => l.close());
    await child.terminate();
    await removeDeployment(d);
  }
}

t.test('two ingest processes of a node spend one budget per device', async (t) => {
  const burst = 20;
  const shared = await servedByTwoProcesses('redis', 3 * burst, burst);
  const local = await servedByTwoProcesses('local', 3 * burst, burst);
  t.same(shared.other, [], 'every answer OK or 254');
  t.same(local.other, [], 'every answer OK or 254');
  t.ok(local.ok >= 2 * burst - 2, `per-process buckets: about a burst each (${local.ok} OK)`);
  const allowed = burst + Math.ceil(shared.elapsedS) + 2 * 2;
  t.ok(
    shared.ok >= burst && shared.ok <= allowed,
    `Redis buckets: about one burst between them (${shared.ok} OK, at most ${allowed})`,
  );
});
