// Cabinet KKM applications with forwarding to the tax authority (the reference receiver): a
// registration, re-registration and deregistration each record one registry event when filed
// and wait for its confirmation; only then is the registry changed (the KKM exists and takes a
// token, moves to its new point, is answered 15). Exactly one event per application reaches the
// receiver (applying it records none), a second confirmation changes nothing, and the KKM
// list's KGD status follows. (Without such a transport: applications-none.test.ts.)
import t from 'tap';
import { ReferenceReceiver } from '../../src/forwarding/receiver.js';
import { parseKey } from '../../src/forwarding/envelope.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { ConflictError } from '../../src/storage/errors.js';
import { awaitKgd } from '../../src/storage/applications.js';
import {
  applyConfirmedApplications,
  applyMissedConfirmations,
} from '../../src/app/kgd-applications.js';
import { address, registerLegalEntity, startSelfServiceServer } from '../helpers/self-service.js';
import { waitFor } from '../helpers/workers.js';
import { quickForwarding } from '../helpers/forwarding.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (what: string, check: () => boolean | Promise<boolean>) =>
  waitFor(what, async () => check());

const receiver = new ReferenceReceiver();
await receiver.start();
const s = await startSelfServiceServer({
  OFD_FORWARD: 'http',
  ...quickForwarding(receiver.url),
  // A held answer is waited for (the authority answers when it is told to).
  OFD_FORWARD_TIMEOUT_MS: '120000',
});
t.teardown(async () => {
  receiver.control({ mode: 'ok' });
  await s.stop();
  await receiver.stop();
});
const { call } = s.client;
const random = seededRandom(1616);

/** The registry events of a KKM at the receiver, as it decoded them, in order of arrival. */
const receivedEvents = (kkmId: number) =>
  receiver
    .keysOf(kkmId)
    .filter((k) => parseKey(k)?.stream === 'event')
    .map(
      (k) =>
        JSON.parse(Buffer.from(receiver.documents.get(k)!.doc.raw, 'base64').toString()) as {
          event: string;
          eventSeq: number;
          pointId: number;
          detail: { applicationId?: number };
        },
    );

/**
 * The receiver stores what it is sent and holds its answers (with their confirmations) until
 * `release`: the tax authority has the event and has not answered yet.
 */
async function holdAnswers() {
  // Everything sent before is taken first: the next batch held is the application's.
  await until('nothing left to forward', async () => {
    const state = await s.server.admin('GET', '/api/v1/admin/forwarding');
    const http = state.json.transports.find((x: { name: string }) => x.name === 'http');
    return http.backlog.documents === 0 && http.backlog.events === 0;
  });
  receiver.control({ mode: 'stall', storeFirst: true, confirmEvents: true });
}
const release = () => receiver.control({ mode: 'ok', confirmEvents: true });

t.test('registration, re-registration and deregistration wait for the tax authority', async (t) => {
  const org = await registerLegalEntity(s);
  const token = org.token;
  const p1 = (
    await call('POST', '/api/v1/points', { token, body: { title: 'A', address: address() } })
  ).json.id as number;
  const p2 = (
    await call('POST', '/api/v1/points', {
      token,
      body: { title: 'B', address: address('Сатпаева') },
    })
  ).json.id as number;
  const documents = async () =>
    (await call('GET', '/api/v1/documents', { token })).json.items as {
      id: number;
      type: string;
      status: string;
      decidedAt: string | null;
    }[];
  const statusOf = async (id: number) => (await documents()).find((d) => d.id === id)?.status;
  const listed = async (kkmId: number) =>
    ((await call('GET', '/api/v1/kkms', { token })).json.items as any[]).find(
      (k) => k.id === kkmId,
    );

  // -- registration
  await holdAnswers();
  const created = await call('POST', '/api/v1/kkms', {
    token,
    body: { pointId: p1, serialNumber: 'KGD-001', model: 'Test KKM', name: 'Касса', year: 2025 },
  });
  t.equal(created.status, 201);
  t.equal(created.json.status, 'awaiting_kgd_registration', 'waits for the tax authority');
  const kkmId = created.json.id as number;
  const registration = created.json.applicationId as number;
  await until('the registration at the receiver', () => receivedEvents(kkmId).length === 1);
  t.match(
    receivedEvents(kkmId),
    [{ event: 'registered', eventSeq: 1, pointId: p1, detail: { applicationId: registration } }],
    'the receiver has the one registration event, naming the application',
  );
  t.equal((await call('POST', `/api/v1/kkms/${kkmId}/token`, { token })).status, 404, 'no token');
  t.notOk(await listed(kkmId), 'not in the KKM list yet');
  const early = s.server.tcpDevice({
    kkmId,
    token: 1,
    orgId: org.orgId,
    pointId: p1,
    bin: org.bin,
  });
  t.equal(
    (await early.send(requests.info())).response.result.result_code,
    ResultCode.RESULT_TYPE_UNKNOWN_ID,
    'the register is not known yet',
  );
  t.equal(await statusOf(registration), 'awaiting_kgd_registration', 'the document waits');
  await sleep(300);
  t.equal(await statusOf(registration), 'awaiting_kgd_registration', 'and keeps waiting');

  release();
  await until(
    'the registration applied',
    async () => (await statusOf(registration)) === 'registered',
  );
  const kkm = await s.server.registry.kkms.getKkm(kkmId);
  t.match(kkm, { pointId: p1, status: 'active', fnsKkmId: `KGD-kkm:${kkmId}:event:1` }, 'created');
  t.match((await listed(kkmId)).kgdStatus, { status: 'registered' }, 'KGD status in the list');
  const issued = await call('POST', `/api/v1/kkms/${kkmId}/token`, { token });
  t.equal(issued.status, 200, 'the token is issued');
  const dev = s.server.tcpDevice({
    kkmId,
    token: issued.json.token,
    orgId: org.orgId,
    pointId: p1,
    bin: org.bin,
  });
  const at = new Date();
  const answer = async (request: Parameters<typeof dev.send>[0]) =>
    (await dev.send(request)).response.result.result_code;
  const sell = () => answer(requests.ticket(ticket(random, { at })));
  t.equal(await sell(), ResultCode.RESULT_TYPE_OK, 'a first ticket over TCP');

  // -- re-registration
  await holdAnswers();
  const moved = await call('POST', `/api/v1/kkms/${kkmId}/reregistration`, {
    token,
    body: { pointId: p2 },
  });
  t.equal(moved.status, 201);
  t.equal(moved.json.status, 'awaiting_reregistration');
  const reregistration = moved.json.applicationId as number;
  await until('the re-registration at the receiver', () => receivedEvents(kkmId).length === 3);
  t.match(
    receivedEvents(kkmId)[2],
    { event: 'reregistered', eventSeq: 3, pointId: p2, detail: { applicationId: reregistration } },
    'the event names the new point',
  );
  const waiting = await listed(kkmId);
  t.equal(waiting.pointId, p1, 'still at the old point');
  t.equal(waiting.kgdStatus.status, 'awaiting_reregistration', 'KGD status: awaiting');
  const deregistering = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'too early' },
  });
  t.equal(deregistering.status, 409, 'another application waits for this KKM');
  const targetDeleted = await call('DELETE', `/api/v1/points/${p2}`, { token });
  t.equal(targetDeleted.status, 409, 'the point the waiting re-registration targets stays');
  t.equal(targetDeleted.json.code, 'point_targeted');
  t.equal(await sell(), ResultCode.RESULT_TYPE_OK, 'sells meanwhile');

  release();
  await until(
    'the re-registration applied',
    async () => (await statusOf(reregistration)) === 'reregistered',
  );
  const movedKkm = await listed(kkmId);
  t.equal(movedKkm.pointId, p2, 'at the new point');
  t.equal(movedKkm.kgdStatus.status, 'registered', 'KGD status: done');
  t.equal(await sell(), ResultCode.RESULT_TYPE_OK, 'sells at the new point');
  const points = await s.server.db.rows<{ point_id: number }>(
    `SELECT point_id FROM documents FINAL
     WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
    { kkm: kkmId },
  );
  t.same(
    points.map((r) => Number(r.point_id)),
    [p1, p1, p2],
    'tickets before the confirmation are at the old point, after it at the new one',
  );

  // -- deregistration
  const z = requests.closeShift(emptyReport(1, at), at);
  t.equal(await answer(z), ResultCode.RESULT_TYPE_OK, 'the shift closed');
  await holdAnswers();
  const gone = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'the shop closes' },
  });
  t.match(gone, { status: 201, json: { status: 'awaiting_kgd_deregistration' } });
  const deregistration = gone.json.applicationId as number;
  await until('the deregistration at the receiver', () => receivedEvents(kkmId).length === 4);
  t.equal((await listed(kkmId)).kgdStatus.status, 'awaiting_kgd_deregistration');
  t.equal((await listed(kkmId)).status, 'online', 'not deregistered yet');
  t.equal(
    await answer(requests.info()),
    ResultCode.RESULT_TYPE_OK,
    'the register still works until the authority confirms',
  );
  release();
  await until(
    'the deregistration applied',
    async () => (await statusOf(deregistration)) === 'deregistered',
  );
  t.equal(
    await answer(requests.info()),
    ResultCode.RESULT_TYPE_BLOCKED,
    'then the register gets 15',
  );
  t.equal((await listed(kkmId)).kgdStatus.status, 'deregistered', 'KGD status: deregistered');

  // -- one event per application, at the receiver and in the registry
  await sleep(500);
  const expected = [
    ['registered', registration],
    ['token_reissued', undefined],
    ['reregistered', reregistration],
    ['deregistered', deregistration],
  ];
  t.same(
    receivedEvents(kkmId).map((e) => [e.event, e.detail.applicationId]),
    expected,
    'the receiver has one event per application, none from applying them',
  );
  const recorded = await s.server.registry.kkmEvents.list(kkmId);
  t.same(
    recorded.map((e) => [e.kind, e.detail.applicationId]),
    expected,
    'and so has kkm_events',
  );
  t.ok(
    recorded.every((e) => e.confirmedAt !== null),
    'every event confirmed',
  );

  // -- a second confirmation changes nothing
  const docsBefore = await documents();
  const dereg = recorded[3]!;
  await s.server.events.emit('kgd.confirmed', {
    kkmId,
    eventSeq: dereg.eventSeq,
    event: dereg.kind,
    reference: dereg.reference,
    confirmedAt: Date.now(),
    detail: dereg.detail,
  });
  t.same(await documents(), docsBefore, 'the documents are as they were');
  t.equal((await s.server.registry.kkmEvents.list(kkmId)).length, 4, 'no event recorded');
  await t.rejects(
    s.server.registry.applications.confirm(deregistration, { eventRecorded: true }),
    ConflictError,
    'confirming a decided application is a conflict',
  );
});

t.test('a confirmation stored but not applied (a stop in between) is applied later', async (t) => {
  const org = await registerLegalEntity(s);
  const token = org.token;
  const point = (
    await call('POST', '/api/v1/points', { token, body: { title: 'A', address: address() } })
  ).json.id as number;
  await holdAnswers();
  const created = await call('POST', '/api/v1/kkms', {
    token,
    body: { pointId: point, serialNumber: 'KGD-LATE', model: 'Test KKM', name: 'К', year: 2025 },
  });
  t.equal(created.json.status, 'awaiting_kgd_registration');
  const kkmId = created.json.id as number;
  await until('the registration at the receiver', () => receivedEvents(kkmId).length === 1);
  // The confirmation stored as the forwarder stores it, and no kgd.confirmed announced.
  const stored = await s.server.registry.kkmEvents.confirm([[kkmId, 1, 'KGD-LATE-REF']]);
  t.equal(stored.length, 1, 'the confirmation is stored');
  const application = await s.server.registry.applications.get(created.json.applicationId);
  t.equal(application?.status, 'awaiting_kgd_registration', 'nothing applied it');
  const apply = applyConfirmedApplications({
    registry: s.server.registry,
    onKkmChanged: async () => undefined,
    log: s.server.log,
  });
  t.equal(await applyMissedConfirmations(s.server.registry, apply), 1, 'the sweep finds it');
  t.equal(
    (await s.server.registry.applications.get(created.json.applicationId))?.status,
    'registered',
    'and applies it',
  );
  t.equal((await s.server.registry.kkms.getKkm(kkmId))?.fnsKkmId, 'KGD-LATE-REF');
  t.equal(await applyMissedConfirmations(s.server.registry, apply), 0, 'once');
  release();
  await sleep(300);
  t.same(
    (await s.server.registry.kkmEvents.list(kkmId)).map((e) => [e.kind, e.reference]),
    [['registered', 'KGD-LATE-REF']],
    'one event; the receiver’s later answer does not count again',
  );
});

t.test('an application whose event cannot be recorded fails instead of waiting', async (t) => {
  const { applications, kkms } = s.server.registry;
  const org = await registerLegalEntity(s);
  const missing = await kkms.allocateKkmId();
  const filed = await applications.file({
    orgId: org.orgId,
    kkmId: missing,
    kind: 'reregistration',
    detail: { pointId: 1 },
    signedBy: 'password',
  });
  await t.rejects(awaitKgd(kkms, applications)(filed), /kkm/, 'no such KKM: the error goes on');
  t.equal((await applications.get(filed.id))?.status, 'failed', 'the application failed');
  t.same(await s.server.registry.kkmEvents.list(missing), [], 'no event recorded');
  const again = await applications.file({
    orgId: org.orgId,
    kkmId: missing,
    kind: 'deregistration',
    detail: { reason: 'x' },
    signedBy: 'password',
  });
  t.equal(again.status, 'awaiting_kgd_deregistration', 'and holds back no other application');
});
