// Forwarding across a kill -9 in the middle of a batch. The server runs as `npm start` runs it
// (a child process), forwarding to the reference receiver in this process, while registers
// send receipts continuously. The receiver is told to store the next batch and hold its answer;
// the server is killed while it waits for that answer, so the batch is taken but its positions
// were never moved. Restarted on the same DATA_DIR and Redis prefix, the forwarder (after the
// dead one's lease ran out) sends that batch again: the receiver counts it as duplicates by key,
// and in the end holds every acknowledged receipt once, in order per KKM.
import t from 'tap';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { parseKey } from '../../src/forwarding/envelope.js';
import { ReferenceReceiver } from '../../src/forwarding/receiver.js';
import { ChildServer, Fleet, newDeployment, registerDevices, sleep } from '../harness/index.js';
import { deleteKeys } from '../harness/redis-keys.js';

const receiver = new ReferenceReceiver();
await receiver.start();
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
const d = await newDeployment('redis://127.0.0.1:6379', {
  OFD_FORWARD_URL: receiver.url,
  // Batches big enough to keep up with the fleet on a loaded machine (each batch waits for a few
  // engine queries): the backlog must be caught up within the test's time after the restart.
  OFD_FORWARD_BATCH: '200',
  OFD_FORWARD_LINGER_MS: '50',
  OFD_FORWARD_POLL_MS: '50',
  // The held answer must outlast the kill: no timeout, no retry in between.
  OFD_FORWARD_TIMEOUT_MS: '120000',
  OFD_FORWARD_LEASE_MS: '2000',
  // Were a number left unstored by the kill, the forwarder would step over it after 2 s (not
  // the default minute) and the receiver's gap count below would say so. No rest between batches.
  OFD_FORWARD_GAP_MS: '2000',
  OFD_FORWARD_DUTY_PERCENT: '100',
});
let server: ChildServer | null = null;
let fleet: Fleet | null = null;
t.teardown(async () => {
  fleet?.close();
  await server?.kill9();
  await receiver.stop();
  await deleteKeys(redis, d.prefix);
  redis.disconnect();
  rmSync(d.dataDir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean, withinMs = 60_000) {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(50);
  }
}

// The kill can also fall between the two parts of one INSERT, the documents and their heads
// (a materialized view): that receipt's head is healed when its resend is answered from
// ClickHouse and when the restarted forwarder takes the lease (storage/forwarding.ts healHeads).
t.test('kill -9 mid-batch: the batch is sent again, deduplicated, counts equal', async (t) => {
  server = await ChildServer.start(d);
  const devices = await registerDevices(d, 6);
  fleet = new Fleet({ tcpPort: d.tcpPort, devices, seed: 16, thinkMs: [5, 20] });
  fleet.start();
  await fleet.waitForAcks(60);
  await until('receipts at the receiver', () => (receiver.stats().kinds.ticket ?? 0) > 20);

  const batches = receiver.stats().batches;
  receiver.control({ mode: 'stall', storeFirst: true });
  await until('a batch stored and held', () => receiver.stats().batches > batches);
  const held = receiver.stats();
  await server.kill9();
  t.comment(`killed with ${held.unique} documents stored, the last batch unanswered`);
  receiver.control({ mode: 'ok' });

  server = await ChildServer.start(d);
  const restarted = server;
  // What the restarted server said, should it not catch up.
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(`receiver: ${JSON.stringify(receiver.stats())}`);
    t.comment(restarted.output());
  });
  await fleet.waitForAcks(60, 60_000);
  await fleet.stop();
  const acked = fleet.acked();
  const total = [...acked.values()].reduce((n, list) => n + list.length, 0);
  await until(
    'every acknowledged receipt at the receiver',
    () => (receiver.stats().kinds.ticket ?? 0) >= total,
    120_000,
  );
  const stats = receiver.stats();
  t.ok(stats.duplicates > 0, `the held batch came again: ${stats.duplicates} duplicates by key`);
  t.equal(stats.kinds.ticket, total, `receipts at the receiver = acknowledged (${total})`);
  t.equal(stats.outOfOrder, 0, 'nothing out of order');
  t.equal(stats.gaps, 0, 'nothing missing');
  for (const [kkmId, numbers] of acked) {
    const docs = receiver
      .keysOf(kkmId)
      .filter((k) => parseKey(k)?.stream === 'doc')
      .map((k) => receiver.documents.get(k)!.doc.fiscalNumber);
    t.same(docs, numbers, `KKM ${kkmId}: the acknowledged receipts, in order`);
  }
  t.same(fleet.stats.unexpected, [], 'every receipt was answered OK');
  const exit = await server.terminate();
  t.same(exit, { code: 0, signal: null }, 'SIGTERM exits 0');
});
