// The cabinet's access rules without a server: effective grants, what a viewer sees, and what a
// sub-user may hand on.
import t from 'tap';
import {
  effectiveGrants,
  mayUse,
  outsideAccess,
  seesKkm,
  seesPoint,
  type Viewer,
} from '../../src/access/grants.js';
import { PERMISSIONS, inPermissionOrder, isPermission } from '../../src/access/permissions.js';

const groups = [
  { groupId: 1, pointIds: [20, 10], permissions: ['reports'] },
  { groupId: 2, pointIds: [30], permissions: ['users'] },
];

t.test('the owner has every point of the organization and every module', async (t) => {
  const g = effectiveGrants(
    { role: 'owner', pointIds: [], permissions: [], groupIds: [] },
    groups,
    [3, 1, 2, 1],
  );
  t.same(g.pointIds, [1, 2, 3], 'sorted, distinct');
  t.same(g.permissions, [...PERMISSIONS]);
});

t.test('a sub-user has its own grants plus those of its groups only', async (t) => {
  const g = effectiveGrants(
    { role: 'user', pointIds: [10, 5], permissions: ['transactions'], groupIds: [1] },
    groups,
    [5, 10, 20, 30],
  );
  t.same(g.pointIds, [5, 10, 20], "group 2's point 30 is not granted");
  t.same(g.permissions, inPermissionOrder(['transactions', 'reports']));
  t.notOk(g.permissions.includes('users'), "group 2's module is not granted");
});

const sub: Viewer = {
  orgId: 7,
  role: 'user',
  permissions: new Set(['reports']),
  pointIds: new Set([10]),
};
const owner: Viewer = {
  orgId: 7,
  role: 'owner',
  permissions: new Set(PERMISSIONS),
  pointIds: 'all',
};

t.test('points and KKMs: only of the own organization, and of granted points', async (t) => {
  t.ok(seesPoint(sub, 7, 10));
  t.notOk(seesPoint(sub, 7, 11), 'a point not granted');
  t.notOk(seesPoint(sub, 8, 10), 'the same point id in another organization');
  t.ok(seesPoint(owner, 7, 999), 'the owner sees every point of its organization');
  t.notOk(seesPoint(owner, 8, 1), 'but none of another');
  t.ok(seesKkm(sub, { orgId: 7, pointId: 10 }));
  t.notOk(seesKkm(sub, { orgId: 7, pointId: 11 }));
  t.notOk(seesKkm(owner, null), 'an unknown KKM is not seen');
  t.notOk(seesKkm(owner, undefined));
});

t.test('modules', async (t) => {
  t.ok(mayUse(sub, 'reports'));
  t.notOk(mayUse(sub, 'users'));
  t.ok(PERMISSIONS.every((p) => mayUse(owner, p)));
  t.ok(isPermission('reports'));
  t.notOk(isPermission('admin'), 'no such module');
});

t.test('a sub-user hands on only what it has', async (t) => {
  t.equal(outsideAccess(sub, { pointIds: [10], permissions: ['reports'] }), null);
  t.same(outsideAccess(sub, { pointIds: [10, 11], permissions: [] }), { pointId: 11 });
  t.same(outsideAccess(sub, { pointIds: [10], permissions: ['reports', 'users'] }), {
    permission: 'users',
  });
  t.equal(
    outsideAccess(owner, { pointIds: [1, 2, 3], permissions: [...PERMISSIONS] }),
    null,
    'the owner may grant anything',
  );
});
