// Forwarding to the tax authority against the reference receiver, with a real server
// (embedded ClickHouse, real Redis): every acknowledged document goes out as the register's
// request bytes, in order per KKM, once per key at the receiver; registry events go out as
// kkm_event documents and the receiver's confirmation moves the KKM's KGD status to done; a
// replay sends again from a time; the receiver down for 20 s under load loses nothing and
// reorders nothing; the file transport's segments verify; /metrics and the admin routes report.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReferenceReceiver } from '../../src/forwarding/receiver.js';
import { healHeads } from '../../src/storage/forwarding.js';
import { verifySegments } from '../../src/forwarding/file-transport.js';
import { parseKey, type ForwardedDocument } from '../../src/forwarding/envelope.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { OK, code } from '../helpers/kkm.js';
import { deleteKeys } from '../harness/redis-keys.js';
import { cabinetClient } from '../helpers/cabinet.js';
import { quickForwarding } from '../helpers/forwarding.js';
import { startTestServer, type RegisteredKkm, type TestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(50);
  }
}

const receiver = new ReferenceReceiver();
await receiver.start();
const fileDir = mkdtempSync(join(tmpdir(), 'ofd-forward-files-'));
const server: TestServer = await startTestServer({
  OFD_FORWARD: 'http,file',
  ...quickForwarding(receiver.url),
  OFD_FORWARD_DIR: fileDir,
  OFD_FORWARD_TIMEOUT_MS: '2000',
  OFD_FORWARD_LAG_ALERT_S: '5',
  OFD_FORWARD_FILE_MAX_BYTES: '20000',
});
t.teardown(async () => {
  await server.stop();
  await receiver.stop();
  rmSync(fileDir, { recursive: true, force: true });
});

/** Receipts of one register, each answered OK; returns the frames sent. */
async function sell(
  kkm: RegisteredKkm,
  count: number,
  seed: number,
  dev = server.tcpDevice(kkm),
): Promise<Buffer[]> {
  const random = seededRandom(seed);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const frame = dev.frame(requests.ticket(ticket(random, { items: 2 })));
    const a = await dev.resend();
    if (code(a) !== OK) throw new Error(`ticket refused: ${code(a)}`);
    frames.push(frame);
  }
  return frames;
}

const docKeys = (kkmId: number) =>
  receiver.keysOf(kkmId).filter((k) => parseKey(k)?.stream === 'doc');

t.test('documents go out as the register sent them, in order, with their envelope', async (t) => {
  const kkm = await server.registerKkm();
  const frames = await sell(kkm, 5, 1);
  await until('five receipts at the receiver', () => docKeys(kkm.kkmId).length === 5);
  const keys = docKeys(kkm.kkmId);
  t.same(
    keys.map((k) => parseKey(k)!.seq),
    [1, 2, 3, 4, 5],
    'in document order',
  );
  const docs = keys.map((k) => receiver.documents.get(k)!.doc);
  t.same(
    docs.map((d) => Buffer.from(d.raw, 'base64')),
    frames,
    'raw is the whole request frame, header and body, byte for byte',
  );
  const first = docs[0]!;
  t.equal(first.kind, 'ticket');
  t.equal(first.bin, kkm.bin, 'the organization BIN');
  t.match(first.kgdNumber, /^FNS/, 'the KGD number');
  t.match(first.fiscalNumber, new RegExp(`^${kkm.kkmId}0{0,9}1$`), 'our fiscal number');
  t.match(first.documentTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'the register’s time');
  t.ok(Date.parse(first.receivedAt) <= Date.now(), 'our receive time, UTC');
  t.equal(receiver.stats().outOfOrder, 0);
});

t.test('a registry event confirmed by the receiver changes the KKM status', async (t) => {
  receiver.control({ mode: 'ok', confirmEvents: false });
  const kkm = await server.registerKkm();
  const events = () => receiver.keysOf(kkm.kkmId).filter((k) => parseKey(k)?.stream === 'event');
  // registered, then the token issued by the test helper.
  await until('the registration and the token at the receiver', () => events().length === 2);
  const view = async () => (await server.admin('GET', `/api/v1/admin/kkms/${kkm.kkmId}`)).json;
  t.equal((await view()).kgdStatus.status, 'awaiting_kgd_registration', 'not confirmed yet');
  // The owner's cabinet shows the same status in the KKM list (the manual's "ожидает…").
  const cabinet = cabinetClient(server);
  const owner = await cabinet.login(kkm.bin);
  const listed = async () =>
    (await cabinet.call('GET', '/api/v1/kkms', { token: owner })).json.items.find(
      (k: { id: number }) => k.id === kkm.kkmId,
    ).kgdStatus;
  t.match(await listed(), { status: 'awaiting_kgd_registration', since: /Z$/ }, 'in the cabinet');
  const raw = (k: string) =>
    JSON.parse(Buffer.from(receiver.documents.get(k)!.doc.raw, 'base64').toString());
  t.same(
    events().map((k) => raw(k).event),
    ['registered', 'token_reissued'],
    'kkm_event documents in order',
  );
  t.equal(receiver.documents.get(events()[0]!)!.doc.kind, 'kkm_event');

  const confirmed = new Promise((resolve) => {
    const off: () => void = server.events.on('kgd.confirmed', (c): void => {
      if (c.kkmId !== kkm.kkmId || c.event !== 'deregistered') return;
      off();
      resolve(c);
    });
  });
  // Held answers, nothing taken: the deregistration waits for the authority.
  receiver.control({ mode: 'stall', storeFirst: false, confirmEvents: true });
  t.equal((await server.admin('DELETE', `/api/v1/admin/kkms/${kkm.kkmId}`)).status, 200);
  t.equal((await view()).kgdStatus.status, 'awaiting_kgd_deregistration');
  t.equal((await listed()).status, 'awaiting_kgd_deregistration', 'in the cabinet');
  receiver.control({ mode: 'ok' });
  t.match(await confirmed, { event: 'deregistered', reference: /^KGD-kkm:/ }, 'kgd.confirmed');
  t.equal((await view()).kgdStatus.status, 'deregistered', 'done once the receiver confirmed');
  t.equal((await listed()).status, 'deregistered', 'and so in the cabinet');
});

t.test(
  'a document its head never counted still goes out once its resend is answered',
  async (t) => {
    // A kill between the two parts of one INSERT (the documents, then the heads' view) leaves a
    // stored document with no head: the forwarder never saw it, and the register, unanswered,
    // resends it. Here the view is detached for one receipt, and the device state dropped so the
    // resend is answered from what ClickHouse holds, as after a restart.
    const kkm = await server.registerKkm();
    const dev = server.tcpDevice(kkm);
    await sell(kkm, 2, 5, dev);
    await until('two receipts', () => docKeys(kkm.kkmId).length === 2);
    await server.db.command('DETACH TABLE forwarding_heads_mv');
    try {
      await sell(kkm, 1, 6, dev);
    } finally {
      await server.db.command('ATTACH TABLE forwarding_heads_mv');
    }
    const [head] = await server.db.rows<{ seq: number }>(
      `SELECT max(doc_seq) AS seq FROM forwarding_heads WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkm.kkmId },
    );
    t.equal(head?.seq, 2, 'the third receipt is stored without its head');
    await sleep(1000);
    t.equal(docKeys(kkm.kkmId).length, 2, 'and is not sent');
    await server.redis.del(`${server.config.redisPrefix}dev:${kkm.kkmId}`);
    const again = await dev.resend();
    t.equal(code(again), OK, 'the resend is answered from the stored document');
    await until('the third receipt at the receiver', () => docKeys(kkm.kkmId).length === 3);
    t.same(
      docKeys(kkm.kkmId).map((k) => parseKey(k)!.seq),
      [1, 2, 3],
      'its head healed, it went out in order',
    );

    // What a forwarder taking the lease does (after a restart): heal the last hour's heads.
    await server.db.command('DETACH TABLE forwarding_heads_mv');
    try {
      await sell(kkm, 1, 7, dev);
    } finally {
      await server.db.command('ATTACH TABLE forwarding_heads_mv');
    }
    await sleep(500);
    t.equal(docKeys(kkm.kkmId).length, 3, 'a fourth receipt without its head waits');
    const healed = await healHeads(server.db, { receivedSince: Date.now() - 3600_000 });
    t.ok(healed >= 1, `the heads of the last hour derived again (${healed} KKMs)`);
    await until('the fourth receipt at the receiver', () => docKeys(kkm.kkmId).length === 4);
  },
);

t.test('a replay sends one KKM again from a time', async (t) => {
  const kkm = await server.registerKkm();
  await sell(kkm, 3, 2);
  await until('three receipts', () => docKeys(kkm.kkmId).length === 3);
  const before = receiver.stats();
  const bad = await server.admin('POST', '/api/v1/admin/forwarding/replay', { from: 'yesterday' });
  t.equal(bad.status, 400, 'a time that is not ISO 8601');
  t.match(bad.json.message, /body\/from/);
  const res = await server.admin('POST', '/api/v1/admin/forwarding/replay', {
    from: new Date(Date.now() - 3_600_000).toISOString(),
    kkmId: kkm.kkmId,
    transport: 'http',
  });
  t.equal(res.status, 202);
  t.equal(res.json.replays.length, 1);
  await until('the replay resent', () => receiver.stats().duplicates >= before.duplicates + 3);
  t.equal(receiver.stats().unique, before.unique, 'resent documents are duplicates by key');
  const state = await server.admin('GET', '/api/v1/admin/forwarding');
  const http = state.json.transports.find((x: { name: string }) => x.name === 'http');
  t.ok(http.replays.some((r: { id: string; appliedAt: string | null }) => r.appliedAt));
  t.equal(http.destination.url, receiver.url);
});

t.test('the receiver down for 20 s under load: nothing lost, nothing reordered', async (t) => {
  const kkms = await Promise.all([1, 2, 3, 4].map(() => server.registerKkm()));
  let selling = true;
  const sold = new Map<number, number>();
  const loops = kkms.map(async (kkm, i) => {
    const dev = server.tcpDevice(kkm);
    const random = seededRandom(100 + i);
    while (selling) {
      const a = await dev.send(requests.ticket(ticket(random, { items: 1 })));
      if (code(a) !== OK) throw new Error(`ticket refused: ${code(a)}`);
      sold.set(kkm.kkmId, (sold.get(kkm.kkmId) ?? 0) + 1);
      await sleep(20);
    }
  });
  await sleep(1000);
  const downAt = Date.now();
  receiver.control({ mode: 'down', forMs: 20_000 });
  const metrics = async () => (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const figure = (text: string, name: string) =>
    Number(
      new RegExp(`${name}\\{transport="http"(?:,outcome="failed")?\\} ([\\d.]+)`).exec(text)?.[1] ??
        0,
    );
  await until(
    'a batch not taken',
    async () => figure(await metrics(), 'ofd_forward_batches_total') > 0,
  );
  await until(
    'the lag past 5 s',
    async () => figure(await metrics(), 'ofd_forward_lag_seconds') >= 5,
  );
  const text = await metrics();
  t.ok(figure(text, 'ofd_forward_batches_total') > 0, 'failed batches are counted');
  t.ok(figure(text, 'ofd_forward_lag_seconds') >= 5, 'the lag grows while the receiver is down');
  t.ok(figure(text, 'ofd_forward_backlog_documents') > 0, 'so does the backlog');
  const httpState = async () =>
    (await server.admin('GET', '/api/v1/admin/forwarding')).json.transports.find(
      (x: { name: string }) => x.name === 'http',
    );
  await until('the lag alert', async () => Boolean((await httpState()).forwarder.lagAlertSince));
  const http = await httpState();
  t.ok(http.forwarder.lagAlertSince, 'the lag alert is raised past its threshold');
  t.ok(http.forwarder.lastError, `the last error is shown (${http.forwarder.lastError})`);
  t.ok(Date.now() - downAt < 20_000, 'all seen while the receiver was still down');
  await sleep(Math.max(0, downAt + 23_000 - Date.now()));
  selling = false;
  await Promise.all(loops);
  for (const kkm of kkms) {
    await until(
      `KKM ${kkm.kkmId}'s receipts`,
      () => docKeys(kkm.kkmId).length === sold.get(kkm.kkmId),
      60_000,
    );
    t.same(
      docKeys(kkm.kkmId).map((k) => parseKey(k)!.seq),
      Array.from({ length: sold.get(kkm.kkmId)! }, (_, i) => i + 1),
      `KKM ${kkm.kkmId}: all ${sold.get(kkm.kkmId)} receipts, in order`,
    );
  }
  t.equal(receiver.stats().outOfOrder, 0, 'nothing out of order');
  t.equal(receiver.stats().gaps, 0, 'nothing missing');
  await until('the lag back to 0', async () => {
    const m = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    return /ofd_forward_lag_seconds\{transport="http"\} 0\n/.test(m);
  });
});

t.test('a Redis flush loses nothing: positions live in ClickHouse', async (t) => {
  const kkm = await server.registerKkm();
  const dev = server.tcpDevice(kkm);
  await sell(kkm, 4, 3, dev);
  await until('four receipts', () => docKeys(kkm.kkmId).length === 4);
  const before = receiver.stats();
  // Every key of this deployment: device states, the forwarders' leases, their status.
  await deleteKeys(server.redis, server.config.redisPrefix);
  await sell(kkm, 4, 4, dev);
  await until('eight receipts', () => docKeys(kkm.kkmId).length === 8);
  t.same(
    docKeys(kkm.kkmId).map((k) => parseKey(k)!.seq),
    [1, 2, 3, 4, 5, 6, 7, 8],
    'the register goes on and its receipts go out in order',
  );
  t.equal(receiver.stats().duplicates, before.duplicates, 'nothing was sent twice');
  t.equal(receiver.stats().outOfOrder, 0);
});

t.test('the file transport writes segments that verify', async (t) => {
  await until('every document in the files too', async () => {
    const state = await server.admin('GET', '/api/v1/admin/forwarding');
    const file = state.json.transports.find((x: { name: string }) => x.name === 'file');
    return file.backlog.documents === 0 && file.backlog.events === 0;
  });
  await server.forwarding!.close(); // seals the open segment
  const segments = await verifySegments(fileDir);
  t.ok(segments.length > 1, `rotated: ${segments.length} segments`);
  t.ok(
    segments.every((s) => s.ok),
    'every segment matches its checksum',
  );
  const keys = new Set<string>();
  for (const s of segments) {
    for (const line of readFileSync(join(fileDir, s.file), 'utf8').trim().split('\n')) {
      keys.add((JSON.parse(line) as ForwardedDocument).key);
    }
  }
  for (const key of receiver.documents.keys()) {
    if (!keys.has(key)) t.fail(`${key} is not in the files`);
  }
  t.ok(keys.size >= receiver.stats().unique, `${keys.size} documents in the files`);
});
