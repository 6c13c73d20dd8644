// Access control against a real server. Every cabinet route — taken from the app's own route
// table, so a new route fails this test until it is listed below — is tried with no token, a
// malformed one, an expired one (Redis expired it, or its expiresAt passed), a revoked one
// (logout), a deleted user's, another organization's and a sub-user's outside its points:
// 401, 403 or 404 with {error, message} and nothing else, or the caller's own data without a
// trace of the victim's. Admin routes refuse a missing or wrong admin token with 401; the admin
// token is compared in constant time. And no password, device token or session token ever
// reaches a log line, with the production logger at level debug.
import { createHash, randomBytes } from 'node:crypto';
import * as crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { Sessions } from '../../src/api/cabinet/sessions.js';
import { ResultCode } from '../../src/protocol/schema.js';
import { createLogger } from '../../src/app/logger.js';
import { emptyReport, requests, seededRandom, ticket } from '../../src/sim/documents.js';
import { KkmDevice, httpTransport } from '../../src/sim/kkm-client.js';
import { cabinetClient, ORG_PASSWORD, type CabinetResponse } from '../helpers/cabinet.js';
import { rows } from '../helpers/kkm.js';
import { startTestServer, uniqueBin } from '../helpers/server.js';

// ---- a server whose production logger (redaction and all) writes to memory at debug --------
const logLines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const server = await startTestServer(
  { LOG_LEVEL: 'debug' },
  { log: createLogger({ logLevel: 'debug' }, capture) },
);
t.teardown(() => server.stop());
const { call, login, createSubUser } = cabinetClient(server);
const base = `http://127.0.0.1:${server.httpPort}`;
const OK = ResultCode.RESULT_TYPE_OK;

/** Secrets that must never be logged: passwords, device tokens, session and admin tokens. */
const secrets = {
  passwords: new Set<string>([ORG_PASSWORD, 'Sub-user-pass1!']),
  deviceTokens: new Set<number>(),
  sessionTokens: new Set<string>(),
};
const seen = (dev: KkmDevice) => secrets.deviceTokens.add(dev.token);
const remember = (token: string) => (secrets.sessionTokens.add(token), token);

// ---- the victim: organization A ---------------------------------------------------------
const kA1 = await server.registerKkm(); // point P1
const orgA = { orgId: kA1.orgId, bin: kA1.bin };
const kA2 = await server.registerKkm(orgA); // point P2
const kA3 = await server.registerKkm(orgA); // point P3: the deregistration case's KKM
const devA1 = server.tcpDevice(kA1);
secrets.deviceTokens.add(kA1.token).add(kA2.token).add(kA3.token);
const random = seededRandom(4242);
const at = new Date('2026-05-04T10:00:00Z');
const sold: string[] = [];
for (let i = 0; i < 2; i++) {
  const a = await devA1.send(requests.ticket(ticket(random, { at })));
  if (a.response.result.result_code !== OK) throw new Error('victim ticket refused');
  sold.push(a.response.ticket!.ticket_number!);
  seen(devA1);
}
const z = await devA1.send(requests.closeShift(emptyReport(1, at), at));
if (z.response.result.result_code !== OK) throw new Error('victim close shift refused');
seen(devA1);

const ownerA = remember(await login(orgA.bin));
const victimUser = await createSubUser(ownerA, {
  pointIds: [kA1.pointId],
  permissions: ['transactions'],
});
remember(victimUser.token);
const victimGroup = await call('POST', '/api/v1/groups', {
  token: ownerA,
  body: { name: 'Victim group', pointIds: [kA1.pointId], permissions: ['reports'] },
});
const victimExport = await call('POST', '/api/v1/exports', {
  token: ownerA,
  body: { kkmId: kA1.kkmId, kind: 'tickets', shift: 1 },
});
if (victimGroup.status !== 201 || victimExport.status !== 202) {
  throw new Error(`victim setup: ${JSON.stringify([victimGroup.json, victimExport.json])}`);
}
// KKM status changes at P1 raise notifications for A.
await server.admin('POST', `/api/v1/admin/kkms/${kA1.kkmId}/block`);
await server.admin('POST', `/api/v1/admin/kkms/${kA1.kkmId}/unblock`);
const victimNotes = (await call('GET', '/api/v1/notifications', { token: ownerA })).json.items as {
  id: string;
  pointId: number;
}[];
const victimNoteIds = victimNotes.filter((n) => n.pointId === kA1.pointId).map((n) => n.id);
if (victimNoteIds.length < 2) throw new Error('victim notifications missing');
const victimUnread = (await call('GET', '/api/v1/notifications/unread-count', { token: ownerA }))
  .json.unread as number;

/** Strings only the victim's data contains. */
const victimMarkers = [
  orgA.bin,
  ...sold,
  victimUser.login,
  'Victim group',
  victimExport.json.jobId as string,
  ...victimNoteIds,
];

// ---- the callers who must see nothing of it ---------------------------------------------
const kB1 = await server.registerKkm(); // organization B
secrets.deviceTokens.add(kB1.token);
const ownerB = remember(await login(kB1.bin));
const ALL_BUT_USERS = ['transactions', 'reports', 'analytics', 'exports'];
const outsider = await createSubUser(ownerA, {
  pointIds: [kA2.pointId],
  permissions: ALL_BUT_USERS,
});
const outsideManager = await createSubUser(ownerA, {
  pointIds: [kA2.pointId],
  permissions: [...ALL_BUT_USERS, 'users'],
});
remember(outsider.token);
remember(outsideManager.token);
// A sub-user with every module but "users" (kkms and organization too), at a point of its own
// with no KKMs: every KKM of A is outside its points.
const emptyPoint = await call('POST', '/api/v1/points', {
  token: ownerA,
  body: { title: 'Empty', address: { region: 'R', locality: 'L', street: 'S', house: '4' } },
});
const keeper = await createSubUser(ownerA, {
  pointIds: [emptyPoint.json.id],
  permissions: [...ALL_BUT_USERS, 'kkms', 'organization'],
});
remember(keeper.token);
// A KKM registered in the cabinet at P1: its registration is a document of point P1.
const victimRegistration = await call('POST', '/api/v1/kkms', {
  token: ownerA,
  body: {
    pointId: kA1.pointId,
    serialNumber: 'VICTIM-REG',
    model: 'Test KKM',
    name: 'V',
    year: 2024,
  },
});
if (emptyPoint.status !== 201 || victimRegistration.status !== 201) {
  throw new Error(`keeper setup: ${JSON.stringify([emptyPoint.json, victimRegistration.json])}`);
}
const victimKkmIds = [kA1.kkmId, kA2.kkmId, kA3.kkmId, victimRegistration.json.id as number];
const victimDocuments = (
  await call('GET', `/api/v1/documents?kkmId=${victimRegistration.json.id}`, { token: ownerA })
).json.items as { id: number }[];
if (victimDocuments.length !== 1) throw new Error('victim registration document missing');
const victimDocument = victimDocuments[0]!.id;

// A service centre that organization A lets see KKM A2's transactions: outside that grant it
// sees nothing of A's.
const centreBin = uniqueBin();
const centreOrg = await server.admin('POST', '/api/v1/admin/service-centres', {
  bin: centreBin,
  title: 'ЦТО Access',
  models: ['Test KKM'],
  password: ORG_PASSWORD,
});
const victimGrant = await call('POST', '/api/v1/service-centre-grants', {
  token: ownerA,
  body: { centreId: centreOrg.json.id, kkmIds: [kA2.kkmId], modules: ['transactions'] },
});
const centre = remember(await login(centreBin));
const accepted = await call('POST', `/api/v1/service-requests/${victimGrant.json.id}/accept`, {
  token: centre,
});
const victimVpn = await call('POST', '/api/v1/vpn-requests', {
  token: ownerA,
  body: { contact: 'Victim', phone: '+77010000099', kkmCount: 1 },
});
if (accepted.status !== 200 || victimVpn.status !== 201) {
  throw new Error(`centre setup: ${JSON.stringify([accepted.json, victimVpn.json])}`);
}
const PUBLIC_ROUTES = new Set([
  '/api/v1/auth/login',
  '/api/v1/auth/challenge',
  '/api/v1/auth/otp',
  '/api/v1/registration',
  '/api/v1/registration/email-code',
]);

const ownerSession = async () => {
  const [row] = await rows<{ user_id: number }>(
    server,
    `SELECT user_id FROM users FINAL WHERE login = {login:String}`,
    { login: orgA.bin },
  );
  return { userId: Number(row!.user_id), orgId: orgA.orgId };
};
const sessionKey = (token: string) =>
  `${server.config.redisPrefix}session:${createHash('sha256').update(token).digest('hex')}`;
const works = async (token: string) =>
  (await call('GET', '/api/v1/kkms', { token })).status === 200;

/** Tokens that must get 401 everywhere, each shown to work before it was made invalid. */
async function deadTokens(): Promise<Record<string, string | undefined>> {
  const owner = await ownerSession();
  // Expired by Redis: a session made with a 1-second lifetime.
  const shortLived = await new Sessions(server.redis, server.config.redisPrefix, 1).create(
    owner.userId,
    owner.orgId,
  );
  if (!(await works(shortLived.token))) throw new Error('short-lived session never worked');
  // Expired by its expiresAt while the key lingers in Redis.
  const lingering = remember(await login(orgA.bin));
  if (!(await works(lingering))) throw new Error('session never worked');
  const raw = JSON.parse((await server.redis.get(sessionKey(lingering)))!) as object;
  await server.redis.set(
    sessionKey(lingering),
    JSON.stringify({ ...raw, expiresAt: Date.now() - 1000 }),
    'KEEPTTL',
  );
  // Revoked by logout.
  const revoked = remember(await login(orgA.bin));
  if ((await call('POST', '/api/v1/auth/logout', { token: revoked })).status !== 204) {
    throw new Error('logout failed');
  }
  // A deleted user's session.
  const doomed = await createSubUser(ownerA, {
    pointIds: [kA1.pointId],
    permissions: ALL_BUT_USERS,
  });
  remember(doomed.token);
  if (!(await works(doomed.token))) throw new Error('sub-user session never worked');
  if ((await call('DELETE', `/api/v1/users/${doomed.id}`, { token: ownerA })).status !== 204) {
    throw new Error('delete failed');
  }
  await sleep(1100 - (Date.now() - (shortLived.expiresAt.getTime() - 1000)));
  return {
    'no token': undefined,
    'a malformed token': 'not-a-session-token',
    'a random token': randomBytes(32).toString('base64url'),
    'an expired token (Redis TTL)': shortLived.token,
    'an expired token (expiresAt passed)': lingering,
    'a revoked token': revoked,
    "a deleted user's token": doomed.token,
  };
}

// ---- every cabinet route, and what each caller may get ----------------------------------
type Outcome =
  | { refused: number[] }
  /** The caller's own data (a list, a count): must not contain the victim's. */
  | { own: true; check?: (json: any) => string | null }
  /** Not asserted here (see the note at the case). */
  | { skip: string }
  /** Its own organization's data, which its permission shows: the status only. */
  | { allowed: number[]; why: string };

interface Case {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The route as Fastify has it, e.g. /api/v1/kkms/:kkmId/tickets. */
  route: string;
  url: string;
  body?: () => unknown;
  otherOrg: Outcome;
  outsider: Outcome;
  outsideManager: Outcome;
  /** A service centre outside its grant (as otherOrg when left out). */
  centre?: Outcome;
  /** A sub-user with the module (kkms, organization), all KKMs outside its points (as outsider). */
  keeper?: Outcome;
  /** The victim owner's status, run last: the request itself is well-formed. */
  control: number[];
}

let loginCounter = 0;
const newUserBody = () => ({
  login: `poacher${process.pid}x${++loginCounter}`,
  password: 'Poacher-pass1!',
  name: 'Poacher',
  email: 'p@example.kz',
  pointIds: [kA1.pointId],
  permissions: ['transactions'],
});
secrets.passwords.add('Poacher-pass1!');
const refused = (...codes: number[]) => ({ refused: codes });
const own = (check?: (json: any) => string | null) => ({ own: true as const, check });
const notFound = refused(404);
const forbidden = refused(403);
const kkmIdsOf = (json: any) => (json.items as { id: number }[]).map((k) => k.id);
const period = 'from=2026-05-01&to=2026-05-10';
const jobId = victimExport.json.jobId as string;
const CARD = 'the organization card, which the "organization" permission shows its sub-users';
const DIRECTORY =
  'a user manager reads the whole user directory of its organization (it manages only ' +
  'users within its access: PUT/DELETE are checked)';

const cases: Case[] = [
  {
    method: 'POST',
    route: '/api/v1/auth/logout',
    url: '/api/v1/auth/logout',
    // Logging out ends only the caller's own session (checked in its own test).
    otherOrg: { skip: 'ends only its own session' },
    outsider: { skip: 'ends only its own session' },
    outsideManager: { skip: 'ends only its own session' },
    control: [204],
  },
  {
    method: 'GET',
    route: '/api/v1/me',
    url: '/api/v1/me',
    // Who the session is: always the caller itself, never the organization's owner.
    otherOrg: own((me) => (me.orgId === orgA.orgId ? 'the victim organization' : null)),
    outsider: own((me) => (me.role !== 'user' ? `role ${me.role}` : null)),
    outsideManager: own((me) => (me.role !== 'user' ? `role ${me.role}` : null)),
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/users',
    url: '/api/v1/users',
    body: newUserBody,
    otherOrg: refused(400), // "pointIds contains N, which is not a point of this organization"
    outsider: forbidden,
    outsideManager: forbidden,
    control: [201],
  },
  {
    method: 'GET',
    route: '/api/v1/users',
    url: '/api/v1/users',
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: { skip: DIRECTORY },
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/users/:id',
    url: `/api/v1/users/${victimUser.id}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: { skip: DIRECTORY },
    control: [200],
  },
  {
    method: 'PUT',
    route: '/api/v1/users/:id',
    url: `/api/v1/users/${victimUser.id}`,
    body: () => ({ name: 'Taken', password: 'Hijack-pass1!' }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/groups',
    url: '/api/v1/groups',
    body: () => ({ name: 'Poach', pointIds: [kA1.pointId], permissions: [] }),
    otherOrg: refused(400),
    outsider: forbidden,
    outsideManager: forbidden,
    control: [201],
  },
  {
    method: 'GET',
    route: '/api/v1/groups',
    url: '/api/v1/groups',
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: { skip: DIRECTORY },
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/groups/:id',
    url: `/api/v1/groups/${victimGroup.json.id}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: { skip: DIRECTORY },
    control: [200],
  },
  {
    method: 'PUT',
    route: '/api/v1/groups/:id',
    url: `/api/v1/groups/${victimGroup.json.id}`,
    body: () => ({ name: 'Taken' }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/notifications',
    url: '/api/v1/notifications',
    otherOrg: own(),
    outsider: own(),
    outsideManager: own(),
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/notifications/read',
    url: '/api/v1/notifications/read',
    body: () => ({ ids: victimNoteIds }),
    otherOrg: own((j) => (j.marked === 0 ? null : `marked ${j.marked}`)),
    outsider: own((j) => (j.marked === 0 ? null : `marked ${j.marked}`)),
    outsideManager: own((j) => (j.marked === 0 ? null : `marked ${j.marked}`)),
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/notifications/unread-count',
    url: '/api/v1/notifications/unread-count',
    otherOrg: own(),
    outsider: own(),
    outsideManager: own(),
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/kkms',
    url: '/api/v1/kkms',
    otherOrg: own((j) => (kkmIdsOf(j).includes(kA1.kkmId) ? 'lists the victim KKM' : null)),
    outsider: own((j) =>
      kkmIdsOf(j).join() === String(kA2.kkmId) ? null : `lists ${kkmIdsOf(j).join()}`,
    ),
    outsideManager: own((j) =>
      kkmIdsOf(j).join() === String(kA2.kkmId) ? null : `lists ${kkmIdsOf(j).join()}`,
    ),
    centre: own((j) =>
      kkmIdsOf(j).join() === String(kA2.kkmId) ? null : `lists ${kkmIdsOf(j).join()}`,
    ),
    keeper: own((j) => (kkmIdsOf(j).length ? `lists ${kkmIdsOf(j).join()}` : null)),
    control: [200],
  },
  ...[`shift=1`, period].map((q): Case => ({
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/tickets',
    url: `/api/v1/kkms/${kA1.kkmId}/tickets?${q}`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200],
  })),
  {
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/tickets/:ticketNumber',
    url: `/api/v1/kkms/${kA1.kkmId}/tickets/${sold[0]}`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200],
  },
  ...['type=z&shift=1', `type=z&${period}`, 'type=x'].map((q): Case => ({
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/reports',
    url: `/api/v1/kkms/${kA1.kkmId}/reports?${q}`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200],
  })),
  // KKM A2: the centre's grant shows its transactions, not its reports.
  {
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/tickets',
    url: `/api/v1/kkms/${kA2.kkmId}/tickets?${period}`,
    otherOrg: notFound,
    outsider: own(),
    outsideManager: own(),
    centre: own(), // the module and the KKM it was granted
    keeper: notFound,
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/reports',
    url: `/api/v1/kkms/${kA2.kkmId}/reports?type=z&${period}`,
    otherOrg: notFound,
    outsider: own(),
    outsideManager: own(),
    centre: notFound, // the KKM granted, the module not
    keeper: notFound,
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/kkms/:kkmId/reconciliation',
    url: `/api/v1/kkms/${kA1.kkmId}/reconciliation`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200],
  },
  ...[String(kA1.kkmId), `${kA1.kkmId},${kA2.kkmId}`, `${kB1.kkmId},${kA1.kkmId}`].map(
    (ids): Case => ({
      method: 'GET',
      route: '/api/v1/analytics/summary',
      url: `/api/v1/analytics/summary?kkmIds=${ids}&from=2026-05-01&to=2026-05-07`,
      otherOrg: notFound,
      outsider: notFound,
      outsideManager: notFound,
      control: ids.includes(String(kB1.kkmId)) ? [404] : [200],
    }),
  ),
  {
    method: 'POST',
    route: '/api/v1/exports',
    url: '/api/v1/exports',
    body: () => ({ kkmId: kA1.kkmId, kind: 'reports', from: '2026-05-01', to: '2026-05-07' }),
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [202],
  },
  {
    method: 'GET',
    route: '/api/v1/exports/:jobId',
    url: `/api/v1/exports/${jobId}`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/exports/:jobId/file',
    url: `/api/v1/exports/${jobId}/file`,
    otherOrg: notFound,
    outsider: notFound,
    outsideManager: notFound,
    control: [200, 409], // 409 while the job still runs
  },
  // ---- self-service (issue 15)
  {
    method: 'GET',
    route: '/api/v1/organization',
    url: '/api/v1/organization',
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: own(),
    keeper: { allowed: [200], why: CARD },
    control: [200],
  },
  {
    method: 'PUT',
    route: '/api/v1/organization',
    url: '/api/v1/organization',
    body: () => ({ phone: '+77011112233' }),
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: own(),
    keeper: { allowed: [200], why: CARD },
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/points',
    url: '/api/v1/points',
    otherOrg: own((j) =>
      j.items.some((p: any) => p.id === kA1.pointId) ? 'lists the victim point' : null,
    ),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: own((j) =>
      j.items.map((p: any) => p.id).join() === String(emptyPoint.json.id)
        ? null
        : `lists points ${j.items.map((p: any) => p.id).join()}`,
    ),
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/points',
    url: '/api/v1/points',
    body: () => ({
      title: 'Point',
      address: { region: 'R', locality: 'L', street: 'S', house: '1' },
    }),
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: forbidden, // adding a point takes access to all points
    control: [201],
  },
  {
    method: 'PUT',
    route: '/api/v1/points/:pointId',
    url: `/api/v1/points/${kA1.pointId}`,
    body: () => ({ title: 'Shop 1' }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/kkms',
    url: '/api/v1/kkms',
    body: () => ({
      pointId: kA1.pointId,
      serialNumber: 'POACH',
      model: 'Test KKM',
      name: 'Poached',
      year: 2024,
    }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [201],
  },
  {
    method: 'POST',
    route: '/api/v1/kkms/:kkmId/token',
    url: `/api/v1/kkms/${kA2.kkmId}/token`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/kkms/:kkmId/reregistration',
    url: `/api/v1/kkms/${kA1.kkmId}/reregistration`,
    // The owner's request names the KKM's own point: 409, and nothing moves.
    body: () => ({ pointId: kA1.pointId }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [409],
  },
  {
    method: 'POST',
    route: '/api/v1/vpn-requests',
    url: '/api/v1/vpn-requests',
    body: () => ({ contact: 'Poacher', phone: '+77010000098', kkmCount: 1 }),
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: own(),
    control: [201],
  },
  {
    method: 'GET',
    route: '/api/v1/documents',
    url: '/api/v1/documents',
    otherOrg: own((j) =>
      j.items.some((d: any) => d.id === victimVpn.json.id) ? 'lists the victim document' : null,
    ),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: own((j) => {
      const shown = j.items.filter((d: any) => victimKkmIds.includes(d.kkmId));
      return shown.length ? `lists documents of KKMs ${shown.map((d: any) => d.kkmId)}` : null;
    }),
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/documents/:id/file',
    url: `/api/v1/documents/${victimVpn.json.id}/file`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: { allowed: [200], why: 'a VPN request is the organization’s, not a point’s' },
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/documents/:id/file',
    url: `/api/v1/documents/${victimDocument}/file`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound, // the registration of a KKM at P1
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/service-centres',
    url: '/api/v1/service-centres',
    otherOrg: own(),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: own(),
    keeper: own(),
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/service-centre-grants',
    url: '/api/v1/service-centre-grants',
    otherOrg: own((j) => (j.items.length === 0 ? null : `lists ${j.items.length} grants`)),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: own((j) => (j.items.length === 0 ? null : `lists ${j.items.length} grants`)),
    keeper: own((j) => (j.items.length === 0 ? null : `lists ${j.items.length} grants`)),
    control: [200],
  },
  {
    method: 'POST',
    route: '/api/v1/service-centre-grants',
    url: '/api/v1/service-centre-grants',
    body: () => ({
      centreId: centreOrg.json.id,
      kkmIds: [kA1.kkmId],
      modules: ['transactions'],
    }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [201],
  },
  {
    method: 'PUT',
    route: '/api/v1/service-centre-grants/:id',
    url: `/api/v1/service-centre-grants/${victimGrant.json.id}`,
    body: () => ({ kkmIds: [kA2.kkmId] }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [200],
  },
  {
    method: 'GET',
    route: '/api/v1/service-requests',
    url: '/api/v1/service-requests',
    otherOrg: own((j) => (j.items.length === 0 ? null : `lists ${j.items.length} requests`)),
    outsider: forbidden,
    outsideManager: forbidden,
    centre: own(),
    keeper: own((j) => (j.items.length === 0 ? null : `lists ${j.items.length} requests`)),
    control: [200],
  },
  ...(['accept', 'reject'] as const).map((action): Case => ({
    method: 'POST',
    route: `/api/v1/service-requests/:id/${action}`,
    url: `/api/v1/service-requests/${victimGrant.json.id}/${action}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    // The centre's own request, decided already.
    centre: refused(409),
    // Only the centre decides; the client owner is answered as if there were nothing.
    keeper: notFound,
    control: [404],
  })),
  // Deletions last, so the cases above find their targets.
  {
    method: 'DELETE',
    route: '/api/v1/users/:id',
    url: `/api/v1/users/${victimUser.id}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    control: [204],
  },
  {
    method: 'DELETE',
    route: '/api/v1/groups/:id',
    url: `/api/v1/groups/${victimGroup.json.id}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    control: [204],
  },
  {
    method: 'DELETE',
    route: '/api/v1/points/:pointId',
    url: `/api/v1/points/${kA1.pointId}`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [409], // the point has KKMs
  },
  {
    method: 'POST',
    route: '/api/v1/kkms/:kkmId/deregistration',
    url: `/api/v1/kkms/${kA3.kkmId}/deregistration`,
    body: () => ({ reason: 'access test' }),
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [201],
  },
  {
    method: 'POST',
    route: '/api/v1/service-centre-grants/:id/terminate',
    url: `/api/v1/service-centre-grants/${victimGrant.json.id}/terminate`,
    otherOrg: notFound,
    outsider: forbidden,
    outsideManager: forbidden,
    centre: notFound,
    keeper: notFound,
    control: [200],
  },
];

/** The WebSocket live feed, checked on its own below. */
const WS_ROUTES = new Set(['GET /api/v1/live']);
/** Public or not the cabinet's: login, the API documents, the admin API. */
const isCabinetRoute = (route: string) =>
  route.startsWith('/api/v1/') &&
  !route.startsWith('/api/v1/admin/') &&
  !route.startsWith('/api/v1/docs') &&
  // The buyer's receipt check is public (test/public covers what it reveals).
  !route.startsWith('/api/v1/public/') &&
  route !== '/api/v1/openapi.json' &&
  // Public: login, the EDS challenge, one-time codes, registration (test/api/self-service).
  !PUBLIC_ROUTES.has(route);

/** Every method and route of the app, from Fastify's route tree (HEAD left out). */
function routeTable(): { method: string; route: string }[] {
  const out: { method: string; route: string }[] = [];
  const stack: string[] = [];
  for (const line of server.app!.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const parent = stack[depth - 1] ?? '';
    const path =
      parent.endsWith('/') && m[2]!.startsWith('/') ? parent + m[2]!.slice(1) : parent + m[2]!;
    stack.push(path);
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD') out.push({ method, route: path });
    }
  }
  return out;
}

/** A victim marker in the answer that the caller did not send itself (errors echo ids). */
const leakIn = (res: CabinetResponse, sent: string) =>
  victimMarkers.find((m) => JSON.stringify(res.json).includes(m) && !sent.includes(m));

function expectRefusal(t: Test, res: CabinetResponse, codes: number[], what: string, sent = '') {
  t.ok(codes.includes(res.status), `${what}: ${res.status}, expected ${codes.join('/')}`);
  // A conflict names its reason (code), which its message says in words anyway.
  const keys = Object.keys(res.json ?? {}).sort();
  const allowed =
    res.status === 409 && keys.includes('code')
      ? ['code', 'error', 'message']
      : ['error', 'message'];
  t.same(keys, allowed, `${what}: only {error, message} (and a conflict's code)`);
  const leaked = leakIn(res, sent);
  t.notOk(leaked, `${what}: nothing of the victim's${leaked ? ` (${leaked})` : ''}`);
}

t.test('the route table is what this test covers', async (t) => {
  const table = routeTable();
  const doc = server.app!.swagger() as { paths: Record<string, object> };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const route = path.replace(/\{(\w+)\}/g, ':$1');
      t.ok(
        table.some((r) => r.route === route && r.method === method.toUpperCase()),
        `the parsed route table has ${method.toUpperCase()} ${route} (OpenAPI)`,
      );
    }
  }
  const covered = new Set(cases.map((c) => `${c.method} ${c.route}`));
  const cabinet = table.filter((r) => isCabinetRoute(r.route));
  t.ok(cabinet.length >= 20, `${cabinet.length} cabinet routes found`);
  for (const r of cabinet) {
    const key = `${r.method} ${r.route}`;
    t.ok(covered.has(key) || WS_ROUTES.has(key), `${key} is exercised by this test`);
  }
  for (const key of covered) {
    t.ok(
      cabinet.some((r) => `${r.method} ${r.route}` === key),
      `${key} exists`,
    );
  }
});

t.test('invalid tokens get 401 and nothing else on every cabinet route', async (t) => {
  const tokens = await deadTokens();
  for (const [what, token] of Object.entries(tokens)) {
    for (const c of cases) {
      const res = await call(c.method, c.url, { token, body: c.body?.() });
      expectRefusal(t, res, [401], `${what}: ${c.method} ${c.url}`, c.url);
      t.equal(res.json?.error, 'Unauthorized');
    }
    // Not a Bearer header at all.
    const basic = await fetch(`${base}/api/v1/kkms`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${orgA.bin}:${ORG_PASSWORD}`).toString('base64')}`,
      },
    });
    t.equal(basic.status, 401, 'Basic credentials are not a session');
  }
});

for (const who of ['otherOrg', 'outsider', 'outsideManager', 'centre', 'keeper'] as const) {
  t.test(`${who}: refused, or only its own data, on every cabinet route`, async (t) => {
    const token = {
      otherOrg: ownerB,
      outsider: outsider.token,
      outsideManager: outsideManager.token,
      centre,
      keeper: keeper.token,
    }[who];
    for (const c of cases) {
      const outcome =
        who === 'centre'
          ? (c.centre ?? c.otherOrg)
          : who === 'keeper'
            ? (c.keeper ?? c.outsider)
            : c[who];
      const what = `${c.method} ${c.url}`;
      if ('skip' in outcome) continue;
      const body = c.body?.();
      const res = await call(c.method, c.url, { token, body });
      const sent = c.url + JSON.stringify(body ?? null);
      if ('allowed' in outcome) {
        t.ok(outcome.allowed.includes(res.status), `${what}: ${res.status} (${outcome.why})`);
      } else if ('refused' in outcome) {
        expectRefusal(t, res, outcome.refused, what, sent);
      } else {
        t.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status}`);
        const leaked = leakIn(res, sent);
        t.notOk(leaked, `${what}: nothing of the victim's${leaked ? ` (${leaked})` : ''}`);
        const problem = outcome.check?.(res.json) ?? null;
        t.equal(problem, null, `${what}: ${problem ?? 'as expected'}`);
      }
    }
  });
}

t.test('without the permission: 403 before any validation of the request', async (t) => {
  // Each route the outsider may not use, with a query and a body no schema accepts: the
  // answer is still 403, never a validation message naming what is wrong.
  const guarded = cases.filter((c) => 'refused' in c.outsider && c.outsider.refused.includes(403));
  t.ok(guarded.length >= 20, `${guarded.length} routes guarded by a permission`);
  for (const c of guarded) {
    const url = `${c.url}${c.url.includes('?') ? '&' : '?'}nonsense=1`;
    const body = c.method === 'GET' || c.method === 'DELETE' ? undefined : { nonsense: 1 };
    const res = await call(c.method, url, { token: outsider.token, body });
    expectRefusal(t, res, [403], `invalid ${c.method} ${url}`, url);
    t.notMatch(String(res.json?.message), /body|querystring|must/, 'no validation message');
  }
});

t.test('logout ends only the caller’s own session', async (t) => {
  for (const who of [kB1.bin, outsider.login]) {
    const password = who === kB1.bin ? ORG_PASSWORD : outsider.password;
    const mine = remember(await login(who, password));
    t.equal((await call('POST', '/api/v1/auth/logout', { token: mine })).status, 204);
    t.equal((await call('GET', '/api/v1/kkms', { token: mine })).status, 401, 'its session ended');
  }
  t.ok(await works(ownerA), "the victim's session lives on");
  t.ok(await works(ownerB), "and the other callers' other sessions too");
});

/** A live-feed socket; resolves with the messages it got and how it was closed. */
async function liveFeed(opts: { token?: string; header?: boolean }) {
  const query = opts.token && !opts.header ? `?token=${encodeURIComponent(opts.token)}` : '';
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/v1/live${query}`, {
    headers: opts.header && opts.token ? { authorization: `Bearer ${opts.token}` } : {},
  });
  const messages: any[] = [];
  let closeCode: number | null = null;
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<void>((resolve) =>
    ws.on('close', (code: number) => {
      closeCode = code;
      resolve();
    }),
  );
  ws.on('error', () => {});
  return {
    messages,
    closed,
    get closeCode() {
      return closeCode;
    },
    close: () => ws.close(),
  };
}

t.test('the live feed: no data without a valid session, none of another scope', async (t) => {
  const tokens = await deadTokens();
  for (const [what, token] of Object.entries(tokens)) {
    for (const header of [false, true]) {
      const feed = await liveFeed({ token, header });
      await Promise.race([feed.closed, sleep(3000)]);
      t.equal(feed.closeCode, 4401, `${what} (${header ? 'header' : 'query'}): closed 4401`);
      t.same(feed.messages, [], 'without a message');
    }
  }
  const plain = await fetch(`${base}/api/v1/live`);
  t.ok(plain.status >= 400, `plain HTTP without a token: ${plain.status}`);

  const victim = await liveFeed({ token: ownerA, header: true });
  const others = await Promise.all(
    [ownerB, outsider.token, outsideManager.token].map((token) => liveFeed({ token })),
  );
  await sleep(300);
  const a = await devA1.send(requests.ticket(ticket(random, { at })));
  seen(devA1);
  t.equal(a.response.result.result_code, OK);
  const fresh = a.response.ticket!.ticket_number!;
  for (let i = 0; i < 50 && !victim.messages.some((m) => m.ticketNumber === fresh); i++) {
    await sleep(100);
  }
  t.ok(
    victim.messages.some((m) => m.ticketNumber === fresh),
    'the victim sees its receipt',
  );
  await sleep(300);
  for (const [i, feed] of others.entries()) {
    t.same(
      feed.messages.map((m) => m.type),
      ['hello'],
      `caller ${i}: nothing but its hello`,
    );
    t.notOk(JSON.stringify(feed.messages).includes(fresh), 'no trace of the receipt');
  }
  [victim, ...others].forEach((f) => f.close());
});

t.test('the victim’s data is untouched; its own calls all succeed', async (t) => {
  const user = await call('GET', `/api/v1/users/${victimUser.id}`, { token: ownerA });
  t.equal(user.json.name, 'Sub User', 'user not renamed');
  t.ok(await works(victimUser.token), 'nor its password changed or session ended');
  const group = await call('GET', `/api/v1/groups/${victimGroup.json.id}`, { token: ownerA });
  t.equal(group.json.name, 'Victim group', 'group not renamed');
  const unread = await call('GET', '/api/v1/notifications/unread-count', { token: ownerA });
  t.equal(unread.json.unread, victimUnread, 'notifications not marked read');
  const users = (await call('GET', '/api/v1/users', { token: ownerA })).json.items as any[];
  t.notOk(
    users.some((u) => u.name === 'Poacher'),
    'no user planted',
  );

  for (const c of cases) {
    const token = c.route === '/api/v1/auth/logout' ? remember(await login(orgA.bin)) : ownerA;
    const body = c.body?.();
    const res = await fetch(base + c.url, {
      method: c.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    t.ok(c.control.includes(res.status), `owner: ${c.method} ${c.url}: ${res.status}`);
  }
});

// ---- the admin API ------------------------------------------------------------------------

t.test('admin routes refuse a missing or wrong admin token with 401', async (t) => {
  const adminToken = server.adminToken;
  const epoch = (await server.admin('GET', `/api/v1/admin/kkms/${kA1.kkmId}`)).json.tokenEpoch;
  const admin = routeTable().filter((r) => r.route.startsWith('/api/v1/admin/'));
  t.ok(admin.length >= 12, `${admin.length} admin routes`);
  for (const route of ['GET /api/v1/admin/forwarding', 'POST /api/v1/admin/forwarding/replay']) {
    t.ok(
      admin.some((r) => `${r.method} ${r.route}` === route),
      `${route} is in the matrix`,
    );
  }
  const fill = (route: string) =>
    route
      .replace(':orgId', String(orgA.orgId))
      .replace(':pointId', String(kA1.pointId))
      .replace(':kkmId', String(kA1.kkmId))
      .replace(':id', 'exp-unknown');
  const wrong: Record<string, string | undefined> = {
    'no header': undefined,
    'an empty bearer': 'Bearer ',
    'a wrong token of the same length': `Bearer ${'x'.repeat(adminToken.length)}`,
    'the token with a character more': `Bearer ${adminToken}x`,
    'the token less its last character': `Bearer ${adminToken.slice(0, -1)}`,
    'the token without "Bearer"': adminToken,
    'the token as Basic': `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}`,
    'the token twice': `Bearer ${adminToken} ${adminToken}`,
    'a cabinet session token': `Bearer ${ownerA}`,
  };
  for (const r of admin) {
    for (const [what, authorization] of Object.entries(wrong)) {
      const res = await fetch(base + fill(r.route), {
        method: r.method,
        headers: {
          ...(authorization === undefined ? {} : { authorization }),
          'content-type': 'application/json',
        },
        body: r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}',
      });
      const json = (await res.json()) as object;
      t.equal(res.status, 401, `${what}: ${r.method} ${r.route}`);
      t.same(Object.keys(json).sort(), ['error', 'message']);
      t.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
  }
  const kkm = await server.admin('GET', `/api/v1/admin/kkms/${kA1.kkmId}`);
  t.equal(kkm.status, 200, 'the right token works');
  t.equal(kkm.json.status, 'active', 'nothing the refused calls asked for happened');
  t.equal(kkm.json.tokenEpoch, epoch, 'no token was issued');
});

t.test('the admin token is compared in constant time', async (t) => {
  const calls: [Buffer, Buffer][] = [];
  const { checkBearer, secretsEqual } = await t.mockImport<
    typeof import('../../src/api/admin-token.js')
  >('../../src/api/admin-token.js', {
    'node:crypto': {
      ...crypto,
      timingSafeEqual: (a: Buffer, b: Buffer) => {
        calls.push([a, b]);
        return crypto.timingSafeEqual(a, b);
      },
    },
  });
  const expected = 'the-admin-token-0123456789';
  const headers: [string | undefined, boolean][] = [
    [`Bearer ${expected}`, true],
    [`bearer ${expected}`, true],
    [`Bearer ${expected}x`, false],
    [`Bearer ${expected.slice(0, -1)}`, false],
    [`Bearer ${'a'.repeat(1000)}`, false],
    ['Bearer ', false],
    ['Basic abc', false],
    [expected, false],
  ];
  for (const [header, ok] of headers) {
    calls.length = 0;
    t.equal(checkBearer(header, expected), ok, `${header?.slice(0, 40)} → ${ok}`);
    t.equal(calls.length, 1, 'one timingSafeEqual, whatever the header');
    const [a, b] = calls[0]!;
    t.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b), 'over buffers');
    t.equal(a.length, 32, 'SHA-256 digests');
    t.equal(b.length, 32, 'of equal length, so the length of the token tells nothing');
  }
  calls.length = 0;
  t.equal(checkBearer(undefined, expected), false, 'no header');
  t.equal(secretsEqual('short', 'a much longer secret value'), false);
  t.equal(calls.length, 1, 'secrets of different lengths still compare in constant time');
});

// ---- secrets in the log -----------------------------------------------------------------

t.test('passwords and tokens never reach a log line', async (t) => {
  // Admin: an organization with a password, a cashier with one, tokens issued one and in bulk.
  const orgPassword = `Org-${randomBytes(6).toString('hex')}-Pw1!`;
  const cashierPassword = `cashier-${randomBytes(6).toString('hex')}`;
  secrets.passwords.add(orgPassword).add(cashierPassword);
  const bin = uniqueBin();
  const org = await server.admin('POST', '/api/v1/admin/orgs', {
    bin,
    title: 'ТОО Logs',
    address: 'Astana',
    okved: '47111',
    password: orgPassword,
  });
  t.equal(org.status, 201);
  const point = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/points`, {
    title: 'P',
    address: 'A',
  });
  const cashier = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/cashiers`, {
    code: 7,
    name: 'Cashier',
    login: 'cashier7',
    password: cashierPassword,
    roles: [1],
  });
  t.equal(cashier.status, 201);
  const bulk = await server.admin('POST', `/api/v1/admin/points/${point.json.id}/kkms/bulk`, {
    kkms: [1, 2].map((i) => ({ serialNumber: `LOG${i}`, model: 'M', fnsKkmId: `F${i}` })),
  });
  t.equal(bulk.status, 201);
  for (const k of bulk.json.kkms as { token: number }[]) secrets.deviceTokens.add(k.token);
  const [first] = bulk.json.kkms as { id: number; token: number }[];
  const issued = await server.admin('POST', `/api/v1/admin/kkms/${first!.id}/token`);
  secrets.deviceTokens.add(issued.json.token);

  // Cabinet: logins right and wrong, a sub-user with a password, a password change.
  const wrongPasswords = ['Wrong-pass1!', `Guess-${randomBytes(4).toString('hex')}!`];
  wrongPasswords.forEach((p) => secrets.passwords.add(p));
  for (const p of wrongPasswords) {
    t.equal(
      (await call('POST', '/api/v1/auth/login', { body: { login: bin, password: p } })).status,
      401,
    );
    await call('POST', '/api/v1/auth/login', { body: { login: `nobody-${p}`, password: p } });
  }
  const owner = remember(await login(bin, orgPassword));
  const newPassword = `Changed-${randomBytes(4).toString('hex')}-Pw!`;
  secrets.passwords.add(newPassword);
  const sub = await createSubUser(owner, { pointIds: [point.json.id], permissions: ['reports'] });
  remember(sub.token);
  const changed = await call('PUT', `/api/v1/users/${sub.id}`, {
    token: owner,
    body: { password: newPassword },
  });
  t.equal(changed.status, 200);

  // KKM traffic: documents (rotating tokens), a wrong token, cashier logins, over TCP and HTTP.
  const dev = new KkmDevice(first!.id, issued.json.token, httpTransport(base));
  const tcpDev = server.tcpDevice({ ...kA1, token: devA1.token });
  for (const d of [dev, tcpDev]) {
    for (let i = 0; i < 3; i++) {
      // The org has cashier 7: its documents name that cashier (section 3.11).
      const a = await d.send(requests.ticket(ticket(random, { at, operatorCode: 7 })));
      t.equal(a.response.result.result_code, OK);
      seen(d);
    }
    for (const password of [cashierPassword, 'Wrong-cashier-pw']) {
      await d.send(requests.auth('cashier7', password));
    }
    const good = d.token;
    d.token = (good + 12345) >>> 0;
    const refusedToken = await d.send(requests.info());
    t.equal(refusedToken.response.result.result_code, ResultCode.RESULT_TYPE_INVALID_TOKEN);
    d.token = good;
  }
  secrets.passwords.add('Wrong-cashier-pw');

  // Every device token ever stored, rotated ones included.
  for (const r of await rows<{ token: number }>(server, 'SELECT token FROM kkms')) {
    secrets.deviceTokens.add(Number(r.token));
  }
  for (const r of await rows<{ i: number; o: number }>(
    server,
    'SELECT token_in AS i, token_out AS o FROM documents',
  )) {
    secrets.deviceTokens.add(Number(r.i)).add(Number(r.o));
  }

  await sleep(200);
  t.ok(logLines.length > 100, `${logLines.length} log lines at level debug`);
  t.equal(server.log.level, 'debug', 'the production logger at level debug');
  const findings: string[] = [];
  for (const password of secrets.passwords) {
    const line = logLines.find((l) => l.includes(password));
    if (line) findings.push(`password ${password}: ${line.slice(0, 300)}`);
  }
  // Decimal device tokens as whole numbers (not digits inside a longer number); tiny ones
  // would match counters and are left out.
  for (const token of secrets.deviceTokens) {
    if (token < 1_000_000) continue;
    const re = new RegExp(`(?<![0-9])${token}(?![0-9])`);
    const line = logLines.find((l) => re.test(l));
    if (line) findings.push(`device token ${token}: ${line.slice(0, 300)}`);
  }
  for (const token of [...secrets.sessionTokens, server.adminToken]) {
    const line = logLines.find((l) => l.includes(token));
    if (line) findings.push(`session/admin token ${token.slice(0, 8)}…: ${line.slice(0, 300)}`);
  }
  t.same(findings, [], 'no secret in any log line');
  t.ok(secrets.deviceTokens.size >= 12, `${secrets.deviceTokens.size} device tokens looked for`);
  t.ok(secrets.passwords.size >= 8, `${secrets.passwords.size} passwords looked for`);
});
