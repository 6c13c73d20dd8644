import t from 'tap';
import { cabinetClient } from '../helpers/cabinet.js';
import { startTestServer } from '../helpers/server.js';

const server = await startTestServer();
t.teardown(() => server.stop());
const { call, login, createSubUser } = cabinetClient(server);

// Org A: two points (P1 with a KKM, P2); org B: one point.
const a = await server.registerKkm();
const p1 = a.pointId;
const p2 = (
  await server.admin('POST', `/api/v1/admin/orgs/${a.orgId}/points`, {
    title: 'Shop 2',
    address: 'Abay 2',
  })
).json.id as number;
const b = await server.registerKkm();
const owner = await login(a.bin);
const ownerB = await login(b.bin);
const ownerId = (await call('GET', '/api/v1/users', { token: owner })).json.items[0].id as number;

let n = 0;
const newUser = (extra: Record<string, unknown> = {}) => {
  const login = `clerk.${process.pid}.${++n}`;
  return {
    login,
    password: 'Clerk-pass1!',
    name: 'Айгерим Clerk',
    email: `${login}@example.kz`,
    pointIds: [p1],
    permissions: ['transactions'],
    ...extra,
  };
};
const post = (token: string, url: string, body: unknown) => call('POST', url, { token, body });
const put = (token: string, url: string, body: unknown) => call('PUT', url, { token, body });
const get = (token: string, url: string) => call('GET', url, { token });
const del = (token: string, url: string) => call('DELETE', url, { token });

t.test('users CRUD by the owner', async (t) => {
  const body = newUser({ permissions: ['reports', 'transactions'] });
  const created = await post(owner, '/api/v1/users', body);
  t.equal(created.status, 201);
  const id = created.json.id as number;
  t.match(created.json, {
    id: Number,
    login: body.login,
    name: body.name,
    email: body.email,
    role: 'user',
    pointIds: [p1],
    groupIds: [],
    permissions: ['transactions', 'reports'],
    effectivePointIds: [p1],
    effectivePermissions: ['transactions', 'reports'],
    createdAt: String,
  });
  t.notOk(/password|scrypt/i.test(JSON.stringify(created.json)), 'no password or hash');

  const list = await get(owner, '/api/v1/users');
  t.equal(list.status, 200);
  t.same(
    list.json.items.map((u: any) => [u.id, u.role]),
    [
      [ownerId, 'owner'],
      [id, 'user'],
    ],
  );
  t.notOk(/password|scrypt/i.test(JSON.stringify(list.json)), 'the list shows no hashes');
  const ownerView = list.json.items[0];
  t.same(ownerView.effectivePointIds, [p1, p2], 'the owner sees every point');
  t.same(ownerView.effectivePermissions, [
    'transactions',
    'reports',
    'analytics',
    'exports',
    'users',
    'organization',
    'kkms',
  ]);

  t.same((await get(owner, `/api/v1/users/${id}`)).json, created.json);

  const changed = await put(owner, `/api/v1/users/${id}`, {
    name: 'Renamed',
    pointIds: [p1, p2],
    permissions: ['analytics'],
  });
  t.equal(changed.status, 200);
  t.match(changed.json, {
    id,
    login: body.login,
    name: 'Renamed',
    email: body.email,
    pointIds: [p1, p2],
    permissions: ['analytics'],
  });

  const userToken = await login(body.login, body.password);
  const pw = await put(owner, `/api/v1/users/${id}`, { password: 'Brand-new-pass2=' });
  t.equal(pw.status, 200);
  const old = await call('POST', '/api/v1/auth/login', {
    body: { login: body.login, password: body.password },
  });
  t.equal(old.status, 401, 'the old password no longer works');
  await login(body.login, 'Brand-new-pass2=');

  t.equal((await del(owner, `/api/v1/users/${id}`)).status, 204);
  t.equal((await get(owner, `/api/v1/users/${id}`)).status, 404);
  t.equal((await get(userToken, '/api/v1/users')).status, 401, "a deleted user's token is dead");
  t.equal(
    (await call('POST', '/api/v1/auth/logout', { token: userToken })).status,
    401,
    'everywhere',
  );
  const again = await call('POST', '/api/v1/auth/login', {
    body: { login: body.login, password: 'Brand-new-pass2=' },
  });
  t.equal(again.status, 401, 'a deleted user cannot log in');
  t.equal((await del(owner, `/api/v1/users/${id}`)).status, 404, 'deleting twice → 404');
  t.same(
    (await get(owner, '/api/v1/users')).json.items.map((u: any) => u.id),
    [ownerId],
  );
});

t.test('every password policy rule is enforced and named', async (t) => {
  const cases: [string, RegExp][] = [
    ['Sh0rt!a', /at least 8 characters/],
    ['NOLOWER1!', /lowercase Latin letter/],
    ['noupper1!', /uppercase Latin letter/],
    ['NoSpecial1', /special character from @ \? \* = \+ ! \//],
  ];
  for (const [password, rule] of cases) {
    const res = await post(owner, '/api/v1/users', newUser({ password }));
    t.equal(res.status, 400, password);
    t.equal(res.json.error, 'Bad Request');
    t.match(res.json.message, /^body\/password /);
    t.match(res.json.message, rule);
  }
  const all = await post(owner, '/api/v1/users', newUser({ password: 'ab' }));
  t.match(all.json.message, /8 characters.*uppercase.*special/, 'every failed rule is named');

  const user = await post(owner, '/api/v1/users', newUser());
  const weak = await put(owner, `/api/v1/users/${user.json.id}`, { password: 'weakpass' });
  t.equal(weak.status, 400, 'the policy holds for password changes too');
  t.match(weak.json.message, /uppercase Latin letter/);
});

t.test('bodies are validated, naming the field', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ login: undefined }, /^body\/login is required$/],
    [{ email: 'not-an-email' }, /^body\/email must match pattern/],
    [{ permissions: ['transactions', 'root'] }, /^body\/permissions\/1 must be one of/],
    [{ pointIds: ['1'] }, /^body\/pointIds\/0 must be integer/],
    [{ role: 'owner' }, /^body\/role is not allowed$/],
    [{ login: 'has space' }, /^body\/login must match pattern/],
    [{ login: '123456789012' }, /^body\/login of 12 digits is reserved/],
  ];
  for (const [extra, message] of cases) {
    const res = await post(owner, '/api/v1/users', newUser(extra));
    t.equal(res.status, 400, JSON.stringify(extra));
    t.match(res.json.message, message);
  }
  t.equal((await get(owner, '/api/v1/users/abc')).status, 400);
  t.equal((await put(owner, `/api/v1/users/${ownerId}`, {})).status, 400, 'an empty change');
});

t.test('points and groups must be the organization’s; logins are unique system-wide', async (t) => {
  const foreignPoint = await post(owner, '/api/v1/users', newUser({ pointIds: [p1, b.pointId] }));
  t.equal(foreignPoint.status, 400);
  t.match(foreignPoint.json.message, `body/pointIds contains ${b.pointId}`);
  const missingPoint = await post(owner, '/api/v1/users', newUser({ pointIds: [999999] }));
  t.equal(missingPoint.status, 400);

  const groupB = await post(ownerB, '/api/v1/groups', {
    name: 'B group',
    pointIds: [b.pointId],
    permissions: ['reports'],
  });
  t.equal(groupB.status, 201);
  const foreignGroup = await post(owner, '/api/v1/users', newUser({ groupIds: [groupB.json.id] }));
  t.equal(foreignGroup.status, 400);
  t.match(foreignGroup.json.message, `body/groupIds contains ${groupB.json.id}`);

  const body = newUser();
  t.equal((await post(owner, '/api/v1/users', body)).status, 201);
  const dupSameOrg = await post(owner, '/api/v1/users', { ...body, name: 'Other' });
  t.equal(dupSameOrg.status, 409);
  t.match(dupSameOrg.json, {
    error: 'Conflict',
    message: `the login ${body.login} is already taken`,
  });
  const dupOtherOrg = await post(ownerB, '/api/v1/users', {
    ...body,
    pointIds: [b.pointId],
  });
  t.equal(dupOtherOrg.status, 409, 'taken in another organization too');
});

t.test('the owner cannot be deleted or demoted', async (t) => {
  const del1 = await del(owner, `/api/v1/users/${ownerId}`);
  t.equal(del1.status, 409);
  t.match(del1.json.message, /owner cannot be deleted/);
  for (const change of [{ permissions: ['reports'] }, { pointIds: [p1] }, { groupIds: [] }]) {
    const res = await put(owner, `/api/v1/users/${ownerId}`, change);
    t.equal(res.status, 409, JSON.stringify(change));
  }
  const renamed = await put(owner, `/api/v1/users/${ownerId}`, { email: 'boss@example.kz' });
  t.equal(renamed.status, 200, 'the owner may change its own details');
  t.equal(renamed.json.role, 'owner');
  t.equal(renamed.json.effectivePermissions.length, 7);
  await login(a.bin);
});

t.test('groups grant points and permissions to their members', async (t) => {
  const sub = await createSubUser(owner, { pointIds: [p1], permissions: ['transactions'] });
  const denied = await get(sub.token, '/api/v1/users');
  t.equal(denied.status, 403, 'no users permission: no users module');
  t.same(denied.json, { error: 'Forbidden', message: 'this account has no "users" permission' });
  t.equal((await get(sub.token, '/api/v1/groups')).status, 403);

  const group = await post(owner, '/api/v1/groups', {
    name: 'Managers',
    pointIds: [p2],
    permissions: ['users', 'reports'],
    memberIds: [sub.id],
  });
  t.equal(group.status, 201);
  t.match(group.json, {
    id: Number,
    name: 'Managers',
    pointIds: [p2],
    permissions: ['reports', 'users'],
    memberIds: [sub.id],
  });
  const gid = group.json.id as number;

  const view = (await get(owner, `/api/v1/users/${sub.id}`)).json;
  t.same(view.groupIds, [gid]);
  t.same(view.pointIds, [p1], 'direct grants stay as they were');
  t.same(view.effectivePointIds, [p1, p2], 'the group adds its points');
  t.same(view.effectivePermissions, ['transactions', 'reports', 'users']);
  const listed = (await get(sub.token, '/api/v1/users')).json;
  t.ok(
    listed.items.some((u: any) => u.id === sub.id),
    'the same session now has the users module',
  );

  const groups = await get(owner, '/api/v1/groups');
  t.same(
    groups.json.items.map((g: any) => g.id),
    [gid],
  );
  t.same((await get(owner, `/api/v1/groups/${gid}`)).json, group.json);

  // Membership through the user: a second user joins via groupIds.
  const second = await post(
    owner,
    '/api/v1/users',
    newUser({ pointIds: [], permissions: [], groupIds: [gid] }),
  );
  t.equal(second.status, 201);
  t.same(second.json.effectivePointIds, [p2]);
  t.same((await get(owner, `/api/v1/groups/${gid}`)).json.memberIds, [sub.id, second.json.id]);

  // Changing the group changes every member at once.
  const narrowed = await put(owner, `/api/v1/groups/${gid}`, {
    permissions: ['reports'],
    memberIds: [second.json.id],
  });
  t.equal(narrowed.status, 200);
  t.same(narrowed.json.memberIds, [second.json.id]);
  t.same((await get(owner, `/api/v1/users/${sub.id}`)).json.effectivePointIds, [p1]);
  t.equal((await get(sub.token, '/api/v1/users')).status, 403, 'the users module is gone again');

  t.equal((await del(owner, `/api/v1/groups/${gid}`)).status, 204);
  t.equal((await get(owner, `/api/v1/groups/${gid}`)).status, 404);
  const left = (await get(owner, `/api/v1/users/${second.json.id}`)).json;
  t.same(left.groupIds, [], 'members leave a deleted group');
  t.same(left.effectivePointIds, [], 'and lose what it granted');

  const badMember = await post(owner, '/api/v1/groups', {
    name: 'X',
    pointIds: [],
    permissions: [],
    memberIds: [ownerId + 100000],
  });
  t.equal(badMember.status, 400);
  t.match(badMember.json.message, /^body\/memberIds contains/);
});

t.test('a sub-user with the users permission grants only within its own access', async (t) => {
  const manager = await createSubUser(owner, {
    pointIds: [p1],
    permissions: ['users', 'transactions'],
  });
  const ok = await post(manager.token, '/api/v1/users', newUser({ pointIds: [p1] }));
  t.equal(ok.status, 201, 'within its points and permissions');

  const morePoints = await post(manager.token, '/api/v1/users', newUser({ pointIds: [p2] }));
  t.equal(morePoints.status, 403);
  t.match(morePoints.json.message, `point of sale ${p2}, which is outside your own access`);
  const morePerms = await post(
    manager.token,
    '/api/v1/users',
    newUser({ permissions: ['analytics'] }),
  );
  t.equal(morePerms.status, 403);
  t.match(morePerms.json.message, /"analytics" permission/);
  const widen = await put(manager.token, `/api/v1/users/${ok.json.id}`, { pointIds: [p1, p2] });
  t.equal(widen.status, 403);
  const self = await put(manager.token, `/api/v1/users/${manager.id}`, {
    permissions: ['users', 'transactions', 'organization'],
  });
  t.equal(self.status, 403, 'nor raise itself');

  const wideGroup = await post(manager.token, '/api/v1/groups', {
    name: 'Wide',
    pointIds: [p2],
    permissions: [],
  });
  t.equal(wideGroup.status, 403, 'groups too');
  const ownGroup = await post(owner, '/api/v1/groups', {
    name: 'Analysts',
    pointIds: [p1],
    permissions: ['analytics'],
  });
  const viaGroup = await post(
    manager.token,
    '/api/v1/users',
    newUser({ groupIds: [ownGroup.json.id] }),
  );
  t.equal(viaGroup.status, 403, 'nor through a group that grants more');
  t.equal((await del(manager.token, `/api/v1/groups/${ownGroup.json.id}`)).status, 403);

  // Users with more access than the manager are out of its reach.
  const wider = await post(owner, '/api/v1/users', newUser({ pointIds: [p1, p2] }));
  const rename = await put(manager.token, `/api/v1/users/${wider.json.id}`, {
    password: 'Hijack-pass1!',
  });
  t.equal(rename.status, 403, 'cannot take over a wider account');
  t.equal((await del(manager.token, `/api/v1/users/${wider.json.id}`)).status, 403);
  const ownerEdit = await put(manager.token, `/api/v1/users/${ownerId}`, { name: 'Mine' });
  t.equal(ownerEdit.status, 403, "nor the owner's");
  t.equal((await del(manager.token, `/api/v1/users/${ownerId}`)).status, 409);

  t.equal((await put(manager.token, `/api/v1/users/${ok.json.id}`, { name: 'Fine' })).status, 200);
  t.equal((await del(manager.token, `/api/v1/users/${ok.json.id}`)).status, 204);
});

t.test("another organization's users and groups are 404 with no data", async (t) => {
  const userA = await createSubUser(owner, { pointIds: [p1], permissions: ['reports'] });
  const groupA = await post(owner, '/api/v1/groups', {
    name: 'Secret group A',
    pointIds: [p1],
    permissions: ['reports'],
  });
  const answers = [
    await get(ownerB, `/api/v1/users/${userA.id}`),
    await put(ownerB, `/api/v1/users/${userA.id}`, { name: 'Taken' }),
    await del(ownerB, `/api/v1/users/${userA.id}`),
    await get(ownerB, `/api/v1/users/${ownerId}`),
    await get(ownerB, `/api/v1/groups/${groupA.json.id}`),
    await put(ownerB, `/api/v1/groups/${groupA.json.id}`, { name: 'Taken' }),
    await del(ownerB, `/api/v1/groups/${groupA.json.id}`),
  ];
  for (const res of answers) {
    t.equal(res.status, 404);
    t.same(Object.keys(res.json).sort(), ['error', 'message']);
    t.equal(res.json.error, 'Not Found');
    t.notMatch(res.json.message, /Secret|clerk|user\d+x|Sub User|reports/);
  }
  const missing = await get(ownerB, '/api/v1/users/4000000');
  t.same(answers[0]!.json, { error: 'Not Found', message: `user ${userA.id} not found` });
  t.same(missing.json, { error: 'Not Found', message: 'user 4000000 not found' }, 'same as none');
  const listB = (await get(ownerB, '/api/v1/users')).json.items.map((u: any) => u.login);
  t.notOk(listB.includes(userA.login), "B's list shows only B's users");
  const groupsB = (await get(ownerB, '/api/v1/groups')).json.items.map((g: any) => g.name);
  t.notOk(groupsB.includes('Secret group A'));
  const memberB = await post(ownerB, '/api/v1/groups', {
    name: 'Poach',
    pointIds: [],
    permissions: [],
    memberIds: [userA.id],
  });
  t.equal(memberB.status, 400, "another org's user cannot be made a member");
  t.equal((await get(owner, `/api/v1/users/${userA.id}`)).json.name, 'Sub User', 'untouched');
  t.equal((await get(owner, `/api/v1/groups/${groupA.json.id}`)).json.name, 'Secret group A');
});
