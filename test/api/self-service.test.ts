// The taxpayer's self-service, over HTTP and TCP against a real server: registration by EDS
// (a CA made here) and by one-time code, the organization card, points of sale, and one KKM
// from its registration in the cabinet to a first receipt over TCP with the token taken there,
// to re-registration and deregistration (after which the register gets 15); the 409 rules;
// documents; service centres and their grants; operator notices.
import t from 'tap';
import { makeSigner } from '../helpers/eds-ca.js';
import {
  OWNER_PASSWORD,
  address,
  registerLegalEntity,
  startSelfServiceServer,
  uniqueId,
} from '../helpers/self-service.js';
import { Command, ResultCode } from '../../src/protocol/schema.js';
import { dateTime, emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { waitFor } from '../helpers/workers.js';

const s = await startSelfServiceServer({
  // The reconciler runs a second and a half after an offline upload (the deregistration rule).
  OFD_RECONCILE_BURST_MS: '1000',
  OFD_RECONCILE_DELAY_MS: '1500',
});
t.teardown(() => s.stop());
const { call } = s.client;
const random = seededRandom(1515);

t.test('registration by EDS: BIN from the certificate, a second one is 409', async (t) => {
  const org = await registerLegalEntity(s);
  const card = await call('GET', '/api/v1/organization', { token: org.token });
  t.equal(card.status, 200);
  t.equal(card.json.bin, org.bin, 'the BIN of the certificate');
  t.equal(card.json.legalForm, 'legal_entity');
  t.same(card.json.actualAddress, card.json.legalAddress, 'actual address same as legal');
  t.equal(card.json.bank.iik, 'KZ123456789012345678');

  const again = await call('POST', '/api/v1/registration', {
    body: {
      proof: await s.edsProof(org.signer),
      password: OWNER_PASSWORD,
      legalForm: 'legal_entity',
      name: 'Again',
      head: { position: 'Директор', name: 'X' },
      legalAddress: address(),
      actualSameAsLegal: true,
      email: org.email,
      emailCode: await s.emailCode(org.email),
      phone: '+77010000001',
      agreementAccepted: true,
    },
  });
  t.equal(again.status, 409, 'the same BIN again');

  const login = await call('POST', '/api/v1/auth/login', {
    body: await s.edsProof(org.signer),
  });
  t.equal(login.status, 200, 'login by EDS');
  const invented = await call('POST', '/api/v1/auth/login', {
    body: await s.edsProof(org.signer, 'a-challenge-never-issued'),
  });
  t.equal(invented.status, 401, 'a challenge the server never issued');
  const challenge = await s.challenge();
  const first = await s.edsProof(org.signer, challenge);
  t.equal((await call('POST', '/api/v1/auth/login', { body: first })).status, 200);
  const replay = await call('POST', '/api/v1/auth/login', { body: first });
  t.equal(replay.status, 401, 'a challenge is used once');

  const person = await makeSigner(s.ca, { iin: uniqueId() });
  const noBin = await call('POST', '/api/v1/registration', {
    body: {
      proof: await s.edsProof(person),
      password: OWNER_PASSWORD,
      legalForm: 'legal_entity',
      name: 'No BIN',
      head: { position: 'Директор', name: 'X' },
      legalAddress: address(),
      actualSameAsLegal: true,
      email: 'nobin@example.kz',
      emailCode: await s.emailCode('nobin@example.kz'),
      phone: '+77010000002',
      agreementAccepted: true,
    },
  });
  t.equal(noBin.status, 400, "a legal entity needs its organization's key");

  const put = await call('PUT', '/api/v1/organization', {
    token: org.token,
    body: { phone: '+77019999999' },
  });
  t.equal(put.status, 200);
  t.equal(put.json.phone, '+77019999999');
  const name = await call('PUT', '/api/v1/organization', {
    token: org.token,
    body: { name: 'Другое имя' },
  });
  t.equal(name.status, 400, 'the name is not editable');
  const bin = await call('PUT', '/api/v1/organization', {
    token: org.token,
    body: { bin: '000000000000' },
  });
  t.equal(bin.status, 400, 'the BIN is not editable');
  t.match(bin.json.message, /bin/);
});

t.test('registration and login by one-time code; attempts are limited', async (t) => {
  const iin = uniqueId();
  const phone = `+7702${iin.slice(-7)}`;
  const email = `ie${iin}@example.kz`;
  const wrongs = await s.otpProof(iin, phone);
  const body = (proof: object, emailCode: string) => ({
    proof,
    password: OWNER_PASSWORD,
    legalForm: 'individual_entrepreneur',
    name: `ИП ${iin}`,
    legalAddress: address(),
    actualAddress: address('Сатпаева'),
    email,
    emailCode,
    phone,
    agreementAccepted: true,
  });
  const code = await s.emailCode(email);
  const other = wrongs.code === '000000' ? '111111' : '000000';
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    const res = await call('POST', '/api/v1/registration', {
      body: body({ ...wrongs, code: other }, code),
    });
    statuses.push(res.status);
  }
  t.same(statuses, [401, 401, 401, 401, 401], 'wrong codes refused');
  const late = await call('POST', '/api/v1/registration', { body: body(wrongs, code) });
  t.equal(late.status, 401, 'the right code after the attempts ran out no longer works');
  t.match(late.json.message, /ask for a new one/);

  const res = await call('POST', '/api/v1/registration', {
    body: body(await s.otpProof(iin, phone), code),
  });
  t.equal(res.status, 201, `registered: ${JSON.stringify(res.json)}`);
  t.equal(res.json.bin, iin, 'an entrepreneur registers under its IIN');

  const login = await call('POST', '/api/v1/auth/login', { body: await s.otpProof(iin, phone) });
  t.equal(login.status, 200, 'login by one-time code');
  const elsewhere = await call('POST', '/api/v1/auth/login', {
    body: await s.otpProof(iin, '+77770000000'),
  });
  t.equal(elsewhere.status, 401, "a code sent to another phone than the organization's");
});

t.test('from registration to a first ticket, re-registration and deregistration', async (t) => {
  const org = await registerLegalEntity(s);
  const token = org.token;
  const p1 = await call('POST', '/api/v1/points', {
    token,
    body: { title: 'Магазин 1', address: address(), geo: { lat: 43.25, lon: 76.9 } },
  });
  const p2 = await call('POST', '/api/v1/points', {
    token,
    body: { title: 'Магазин 2', address: address('Сатпаева') },
  });
  t.equal(p1.status, 201);
  t.equal(p1.json.addressText, 'г. Алматы, Алматы, Абая 10, кв. 5');
  const geoAgain = await call('PUT', `/api/v1/points/${p1.json.id}`, {
    token,
    body: { geo: { lat: 43.26, lon: 76.91 } },
  });
  t.equal(geoAgain.status, 409, 'the geo-position changes at most once a day');
  const geoFirst = await call('PUT', `/api/v1/points/${p2.json.id}`, {
    token,
    body: { geo: { lat: 43.2, lon: 76.8 }, title: 'Магазин 2а' },
  });
  t.equal(geoFirst.status, 200, 'a first geo-position is set');
  t.equal(geoFirst.json.title, 'Магазин 2а');

  const created = await call('POST', '/api/v1/kkms', {
    token,
    body: {
      pointId: p1.json.id,
      serialNumber: 'SS-001',
      model: 'Test KKM',
      name: 'Касса 1',
      year: 2024,
    },
  });
  t.equal(created.status, 201);
  t.equal(created.json.status, 'registered', 'no forwarding configured: complete at once');
  const kkmId = created.json.id as number;
  const issued = await call('POST', `/api/v1/kkms/${kkmId}/token`, { token });
  t.equal(issued.status, 200);
  t.equal(issued.json.kkmId, kkmId);

  const dev = s.server.tcpDevice({
    kkmId,
    token: issued.json.token,
    orgId: org.orgId,
    pointId: p1.json.id,
    bin: org.bin,
  });
  const at = new Date();
  const sold = await dev.send(requests.ticket(ticket(random, { at })));
  t.equal(sold.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'a first ticket over TCP');
  const reissued = await call('POST', `/api/v1/kkms/${kkmId}/token`, { token });
  const stale = await dev.send(requests.info());
  t.equal(
    stale.response.result.result_code,
    ResultCode.RESULT_TYPE_INVALID_TOKEN,
    'the old token stopped working',
  );
  dev.token = reissued.json.token;
  t.equal((await dev.send(requests.info())).response.result.result_code, ResultCode.RESULT_TYPE_OK);

  const busyPoint = await call('DELETE', `/api/v1/points/${p1.json.id}`, { token });
  t.equal(busyPoint.status, 409, 'a point with KKMs cannot be deleted');

  const foreign = await makeSigner(s.ca, { iin: uniqueId(), bin: uniqueId() });
  const notOurs = await call('POST', `/api/v1/kkms/${kkmId}/reregistration`, {
    token,
    body: { pointId: p2.json.id, proof: await s.edsProof(foreign) },
  });
  t.equal(notOurs.status, 403, "an application signed with another organization's key");
  const moved = await call('POST', `/api/v1/kkms/${kkmId}/reregistration`, {
    token,
    body: { pointId: p2.json.id, proof: await s.edsProof(org.signer) },
  });
  t.equal(moved.status, 201);
  t.equal(moved.json.status, 'reregistered');
  const list = await call('GET', '/api/v1/kkms', { token });
  t.equal(list.json.items.find((k: any) => k.id === kkmId).pointId, p2.json.id, 'at the new point');
  const afterMove = await dev.send(requests.ticket(ticket(random, { at })));
  t.equal(afterMove.response.result.result_code, ResultCode.RESULT_TYPE_OK, 'still sells');
  const receipts = await call('GET', `/api/v1/kkms/${kkmId}/tickets?shift=1`, { token });
  t.same(
    receipts.json.items.map((r: any) => r.ticketNumber).length,
    2,
    'both receipts in the cabinet',
  );
  const stored = await s.server.db.rows<{ ticket_number: string; point_id: number }>(
    `SELECT ticket_number, point_id FROM documents FINAL
     WHERE kkm_id = {kkm:UInt32} AND doc_type = 'ticket' ORDER BY doc_seq`,
    { kkm: kkmId },
  );
  t.same(
    stored.map((d) => [d.ticket_number, Number(d.point_id)]),
    [
      [sold.response.ticket!.ticket_number, p1.json.id],
      [afterMove.response.ticket!.ticket_number, p2.json.id],
    ],
    'documents keep their point: the first at the old one, the next at the new one',
  );

  const openShift = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'closing the shop' },
  });
  t.equal(openShift.status, 409, 'not while a shift is open');
  t.match(openShift.json.message, /shift 1 open/);
  const z = await dev.send(requests.closeShift(emptyReport(1, at), at));
  t.equal(z.response.result.result_code, ResultCode.RESULT_TYPE_OK);
  const gone = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'closing the shop' },
  });
  t.equal(gone.status, 201);
  t.equal(gone.json.status, 'deregistered');
  const refused = await dev.send(requests.info());
  t.equal(
    refused.response.result.result_code,
    ResultCode.RESULT_TYPE_BLOCKED,
    'the register gets 15',
  );
  const twice = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'again' },
  });
  t.equal(twice.status, 409, 'deregistered already');

  t.equal(
    (await call('DELETE', `/api/v1/points/${p1.json.id}`, { token })).status,
    204,
    'the emptied point goes',
  );

  const vpn = await call('POST', '/api/v1/vpn-requests', {
    token,
    body: { contact: 'Тестов', phone: '+77010000001', kkmCount: 2, comment: 'два магазина' },
  });
  t.equal(vpn.status, 201);
  const docs = await call('GET', '/api/v1/documents', { token });
  t.same(
    docs.json.items.map((d: any) => [d.type, d.status]),
    [
      ['vpn', 'awaiting_operator'],
      ['deregistration', 'deregistered'],
      ['reregistration', 'reregistered'],
      ['registration', 'registered'],
    ],
    'every application, newest first',
  );
  t.equal(docs.json.items[2].signedBy, 'eds', 're-registration signed by EDS');
  const only = await call('GET', `/api/v1/documents?kkmId=${kkmId}&type=registration`, { token });
  t.equal(only.json.items.length, 1);
  const file = await call('GET', `/api/v1/documents/${only.json.items[0].id}/file`, { token });
  t.equal(file.status, 200);
  t.equal(file.json.detail.serialNumber, 'SS-001');
  t.match(file.headers.get('content-disposition'), /attachment/);
  const kkmsAfter = await call('GET', '/api/v1/kkms', { token });
  t.equal(kkmsAfter.json.items[0].vpn, 'awaiting_operator', 'the KKM list shows the VPN status');
  for (const type of ['registration', 'reregistration', 'deregistration', 'vpn']) {
    const listed = await call('GET', `/api/v1/documents?type=${type}`, { token });
    t.same(
      listed.json.items.map((d: any) => d.type),
      [type],
      `documents of type ${type}`,
    );
    const one = await call('GET', `/api/v1/documents/${listed.json.items[0].id}/file`, { token });
    t.equal(one.status, 200, `the ${type} document as a file`);
    t.equal(one.json.type, type);
    t.equal(one.json.status, listed.json.items[0].status, 'with its status');
  }
  t.equal(
    (await call('GET', '/api/v1/documents/999999999/file', { token })).status,
    404,
    'an unknown document',
  );
});

t.test('deregistration waits for the documents a register made offline', async (t) => {
  const org = await registerLegalEntity(s);
  const token = org.token;
  const point = await call('POST', '/api/v1/points', {
    token,
    body: { title: 'Офлайн', address: address() },
  });
  const created = await call('POST', '/api/v1/kkms', {
    token,
    body: { pointId: point.json.id, serialNumber: 'OFF-1', model: 'M', name: 'K', year: 2024 },
  });
  const kkmId = created.json.id as number;
  const issued = await call('POST', `/api/v1/kkms/${kkmId}/token`, { token });
  const dev = s.server.tcpDevice({
    kkmId,
    token: issued.json.token,
    orgId: org.orgId,
    pointId: point.json.id,
    bin: org.bin,
  });
  const ok = async (request: Parameters<typeof dev.send>[0], what: string) => {
    const answer = await dev.send(request);
    const r = answer.response.result;
    t.equal(r.result_code, ResultCode.RESULT_TYPE_OK, `${what}: ${r.result_code} ${r.result_text}`);
  };
  const wall = (m: number) => new Date(Date.UTC(2026, 10, 2, 8, m));
  await ok(requests.ticket(ticket(random, { at: wall(0), printedNumber: 1 })), 'online: printed 1');
  await ok(
    {
      command: Command.COMMAND_SYSTEM,
      service: { offline_period: { begin_time: dateTime(wall(5)), end_time: dateTime(wall(50)) } },
    },
    'the outage 08:05–08:50',
  );
  const offline = (m: number, printed: number) =>
    requests.ticket(
      ticket(random, { at: wall(m), offlineNumber: 100 + printed, printedNumber: printed }),
    );
  await ok(offline(10, 2), 'offline: printed 2');
  await ok(offline(30, 4), 'offline: printed 4 (3 is still in the register)');
  await ok(
    requests.closeShift(emptyReport(1, wall(40)), wall(40), {
      is_offline: true,
      printed_document_number: 5,
    }),
    'the shift closed offline',
  );
  await waitFor(
    'the reconciler to find the gap',
    async () => {
      const r = await call('GET', `/api/v1/kkms/${kkmId}/reconciliation`, { token });
      return JSON.stringify(r.json).includes('printed_gap');
    },
    20_000,
    200,
  );
  const owed = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'closing' },
  });
  t.equal(owed.status, 409, 'printed document 3 is still expected');
  t.equal(owed.json.code, 'offline_documents_expected');
  t.match(owed.json.message, /owes documents made offline/);

  // A register uploads in order: the missing document cannot come later (result 13), so
  // the gap stays and the operator's admin route is the way out (DELETE /admin/kkms/:id).
  const late = await dev.send(offline(20, 3));
  t.equal(
    late.response.result.result_code,
    ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA,
    'late 3: 13',
  );
  const still = await call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
    token,
    body: { reason: 'closing' },
  });
  t.equal(still.status, 409, 'still expected');
  t.not(
    (await call('GET', '/api/v1/kkms', { token })).json.items[0].status,
    'deregistered',
    'and the KKM is not deregistered',
  );
});

t.test('a point a pending re-registration targets cannot be deleted', async (t) => {
  const org = await registerLegalEntity(s);
  const point = await call('POST', '/api/v1/points', {
    token: org.token,
    body: { title: 'P', address: address() },
  });
  await s.server.registry.applications.file({
    orgId: org.orgId,
    kkmId: 99_999_999,
    kind: 'reregistration',
    detail: { fromPointId: 1, pointId: point.json.id },
    signedBy: 'password',
  });
  const del = await call('DELETE', `/api/v1/points/${point.json.id}`, { token: org.token });
  t.equal(del.status, 409);
  t.match(del.json.message, /pending application/);
});

t.test('a service centre reads only what its client granted', async (t) => {
  const client = await registerLegalEntity(s);
  const point = await call('POST', '/api/v1/points', {
    token: client.token,
    body: { title: 'P', address: address() },
  });
  const kkms = [];
  for (const serial of ['C-1', 'C-2']) {
    const k = await call('POST', '/api/v1/kkms', {
      token: client.token,
      body: {
        pointId: point.json.id,
        serialNumber: serial,
        model: 'Model X',
        name: serial,
        year: 2023,
      },
    });
    kkms.push(k.json.id as number);
  }
  const tok = await call('POST', `/api/v1/kkms/${kkms[0]}/token`, { token: client.token });
  const dev = s.server.tcpDevice({
    kkmId: kkms[0]!,
    token: tok.json.token,
    orgId: client.orgId,
    pointId: point.json.id,
    bin: client.bin,
  });
  const sold = await dev.send(requests.ticket(ticket(random, { at: new Date() })));
  t.equal(sold.response.result.result_code, ResultCode.RESULT_TYPE_OK);

  const centreBin = uniqueId();
  const centre = await s.server.admin('POST', '/api/v1/admin/service-centres', {
    bin: centreBin,
    title: 'ЦТО Сервис',
    models: ['Model X'],
    password: OWNER_PASSWORD,
  });
  t.equal(centre.status, 201);
  const found = await call('GET', '/api/v1/service-centres?model=Model%20X&q=%D1%81%D0%B5%D1%80', {
    token: client.token,
  });
  t.ok(
    found.json.items.some((c: any) => c.id === centre.json.id),
    'found by model and name',
  );
  const none = await call('GET', '/api/v1/service-centres?model=Other', { token: client.token });
  t.notOk(none.json.items.some((c: any) => c.id === centre.json.id));

  const centreToken = await s.client.login(centreBin, OWNER_PASSWORD);
  const grant = await call('POST', '/api/v1/service-centre-grants', {
    token: client.token,
    body: { centreId: centre.json.id, kkmIds: [kkms[0]], modules: ['transactions'] },
  });
  t.equal(grant.status, 201);
  t.equal(grant.json.status, 'pending');
  const reads = (token: string) => ({
    kkms: () => call('GET', '/api/v1/kkms', { token }),
    tickets: (id: number) => call('GET', `/api/v1/kkms/${id}/tickets?shift=1`, { token }),
    reports: (id: number) => call('GET', `/api/v1/kkms/${id}/reports?type=x`, { token }),
  });
  const c = reads(centreToken);
  t.same((await c.kkms()).json.items, [], 'nothing before acceptance');
  t.equal((await c.tickets(kkms[0]!)).status, 404);

  const requestsSeen = await call('GET', '/api/v1/service-requests', { token: centreToken });
  t.same(
    requestsSeen.json.items.map((g: any) => g.id),
    [grant.json.id],
  );
  const notCentre = await call('POST', `/api/v1/service-requests/${grant.json.id}/accept`, {
    token: client.token,
  });
  t.equal(notCentre.status, 404, 'the client cannot accept for the centre');
  const accepted = await call('POST', `/api/v1/service-requests/${grant.json.id}/accept`, {
    token: centreToken,
  });
  t.equal(accepted.json.status, 'accepted');
  t.same(
    (await c.kkms()).json.items.map((k: any) => k.id),
    [kkms[0]],
    'the granted KKM only',
  );
  t.equal((await c.tickets(kkms[0]!)).status, 200, 'its transactions');
  t.equal((await c.reports(kkms[0]!)).status, 404, 'not a module it was granted');
  t.equal((await c.tickets(kkms[1]!)).status, 404, 'not another KKM');
  t.equal(
    (await call('POST', `/api/v1/kkms/${kkms[0]}/token`, { token: centreToken })).status,
    404,
    'no registry work on the client’s KKMs',
  );

  const changed = await call('PUT', `/api/v1/service-centre-grants/${grant.json.id}`, {
    token: client.token,
    body: { kkmIds: [kkms[1]], modules: ['transactions', 'reports'] },
  });
  t.equal(changed.status, 200);
  t.same(
    (await c.kkms()).json.items.map((k: any) => k.id),
    [kkms[1]],
    'the KKMs changed',
  );
  t.equal((await c.tickets(kkms[0]!)).status, 404);
  t.equal((await c.reports(kkms[1]!)).status, 200, 'the module granted since');

  // The centre's own sub-users: only the modules both the grant and the user have.
  const reader = await s.client.createSubUser(centreToken, {
    pointIds: [],
    permissions: ['transactions'],
  });
  const other = await s.client.createSubUser(centreToken, {
    pointIds: [],
    permissions: ['analytics'],
  });
  t.equal((await reads(reader.token).tickets(kkms[1]!)).status, 200, "a centre's sub-user reads");
  t.equal((await reads(reader.token).reports(kkms[1]!)).status, 404, 'not beyond its modules');
  t.equal((await reads(other.token).tickets(kkms[1]!)).status, 404, 'nor one without it');

  const ended = await call('POST', `/api/v1/service-centre-grants/${grant.json.id}/terminate`, {
    token: client.token,
  });
  t.equal(ended.json.status, 'terminated');
  t.same((await c.kkms()).json.items, [], 'access ends at once');
  t.equal((await c.tickets(kkms[1]!)).status, 404);
  const late = await call('POST', `/api/v1/service-requests/${grant.json.id}/accept`, {
    token: centreToken,
  });
  t.equal(late.status, 409, 'a terminated grant cannot be accepted');
  t.equal((await reads(reader.token).tickets(kkms[1]!)).status, 404, 'its sub-users neither');

  const second = await call('POST', '/api/v1/service-centre-grants', {
    token: client.token,
    body: { centreId: centre.json.id, kkmIds: [kkms[0]], modules: ['reports'] },
  });
  const rejected = await call('POST', `/api/v1/service-requests/${second.json.id}/reject`, {
    token: centreToken,
  });
  t.equal(rejected.status, 200);
  t.equal(rejected.json.status, 'rejected');
  t.same((await c.kkms()).json.items, [], 'a rejected request shows nothing');
  t.equal((await c.reports(kkms[0]!)).status, 404);
  const again = await call('POST', `/api/v1/service-requests/${second.json.id}/accept`, {
    token: centreToken,
  });
  t.equal(again.status, 409, 'a rejected request cannot be accepted afterwards');
  const mine = await call('GET', '/api/v1/service-centre-grants', { token: client.token });
  t.same(
    mine.json.items.map((g: any) => [g.id, g.status]),
    [
      [grant.json.id, 'terminated'],
      [second.json.id, 'rejected'],
    ],
    "the client's requests with their status",
  );
  t.ok(
    mine.json.items.every((g: any) => !Number.isNaN(Date.parse(g.since))),
    'each with the date of its status',
  );
  const twice = await s.server.admin('POST', '/api/v1/admin/service-centres', {
    bin: centreBin,
    title: 'Again',
    models: ['Model X'],
    password: OWNER_PASSWORD,
  });
  t.equal(twice.status, 409, 'a centre BIN registered twice');
  const notCentreId = await call('POST', '/api/v1/service-centre-grants', {
    token: client.token,
    body: { centreId: client.orgId, kkmIds: [kkms[0]], modules: ['reports'] },
  });
  t.equal(notCentreId.status, 400, 'an organization that is not a service centre');
});

t.test('operator notices reach the chosen organizations; sub-users with "users"', async (t) => {
  const org = await registerLegalEntity(s);
  const other = await registerLegalEntity(s);
  const point = await call('POST', '/api/v1/points', {
    token: org.token,
    body: { title: 'P', address: address() },
  });
  const notice = await s.server.admin('POST', '/api/v1/admin/notices', {
    title: 'Технические работы',
    body: 'В субботу с 02:00 до 04:00',
    orgIds: [org.orgId],
  });
  t.equal(notice.status, 201);
  t.equal(notice.json.organizations, 1);
  const titles = async (token: string) =>
    (await call('GET', '/api/v1/notifications', { token })).json.items.map((n: any) => n.title);
  t.ok((await titles(org.token)).includes('Технические работы'), 'the chosen organization');
  t.notOk((await titles(other.token)).includes('Технические работы'), 'not another');
  const plain = await s.client.createSubUser(org.token, {
    pointIds: [point.json.id],
    permissions: ['transactions'],
  });
  const manager = await s.client.createSubUser(org.token, {
    pointIds: [point.json.id],
    permissions: ['users'],
  });
  t.notOk((await titles(plain.token)).includes('Технические работы'), 'not without "users"');
  t.ok((await titles(manager.token)).includes('Технические работы'), 'with "users"');
  const noticeIds = (await call('GET', '/api/v1/notifications', { token: org.token })).json.items
    .filter((n: any) => n.kind === 'operator_notice')
    .map((n: any) => n.id);
  t.equal(noticeIds.length, 1);
  const blind = await call('POST', '/api/v1/notifications/read', {
    token: plain.token,
    body: { ids: noticeIds },
  });
  t.equal(blind.json.marked, 0, 'a sub-user without "users" cannot mark the notice read');
  const unread = await call('GET', '/api/v1/notifications/unread-count', { token: manager.token });
  t.equal(unread.json.unread, 1, 'it stays unread for those who see it');
  const read = await call('POST', '/api/v1/notifications/read', {
    token: manager.token,
    body: { ids: noticeIds },
  });
  t.equal(read.json.marked, 1, 'one who sees it marks it read');

  const everyone = await s.server.admin('POST', '/api/v1/admin/notices', {
    title: 'Всем',
    body: 'Для всех налогоплательщиков',
  });
  t.equal(everyone.status, 201);
  t.ok(everyone.json.organizations >= 2, 'every taxpayer when no orgIds are named');
  t.ok((await titles(other.token)).includes('Всем'), 'the other organization too');
  const unknown = await s.server.admin('POST', '/api/v1/admin/notices', {
    title: 'Никому',
    body: 'x',
    orgIds: [4_000_000_000],
  });
  t.equal(unknown.json.organizations, 0, 'an unknown organization is not told');

  const invalid = await call('POST', '/api/v1/users', {
    token: plain.token,
    body: { nonsense: 1 },
  });
  t.equal(invalid.status, 403, 'no permission: 403 before any validation message');
});
