import t from 'tap';
import { openTestStore } from '../harness/store.js';
import { PERMISSIONS } from '../../src/access/permissions.js';
import { hashPassword, verifyPassword } from '../../src/storage/passwords.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/storage/errors.js';
import { Registry } from '../../src/storage/registry.js';
import { nextVersion } from '../../src/storage/repository.js';
import type { NomenclatureElement } from '../../src/storage/nomenclature.js';

const store = await openTestStore('registry');
const { db, redis, prefix } = store;
const registry = new Registry(db, redis, prefix);

t.teardown(async () => {
  await store.close();
});

const rows = <T>(query: string, params: Record<string, unknown> = {}) => db.rows<T>(query, params);

/** The error a promise rejects with (tap's typed `rejects` only matches Error's own fields). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const orgInput = (bin: string) => ({
  bin,
  title: 'ТОО "Ромашка"',
  address: 'Алматы, пр. Абая 1',
  okved: '47111',
  password: 'Secret@123',
});

t.test(
  'passwords: scrypt hashes verify in constant time and never equal the plain text',
  async (t) => {
    const stored = await hashPassword('Secret@123');
    t.match(stored, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    t.notOk(stored.includes('Secret@123'));
    t.ok(await verifyPassword('Secret@123', stored));
    t.notOk(await verifyPassword('Secret@124', stored));
    t.notOk(await verifyPassword('', stored));
    t.not(await hashPassword('Secret@123'), stored, 'a random salt each time');
    t.notOk(await verifyPassword('Secret@123', 'plain'), 'malformed stored hash');
    t.notOk(await verifyPassword('Secret@123', stored.replace('$16384$', '$99999999$')));
    t.notOk(await verifyPassword('Secret@123', 'scrypt$16384$8$1$$'));
    await t.rejects(hashPassword(''));
  },
);

t.test('row versions strictly increase and exceed the stored one', async (t) => {
  const a = nextVersion();
  const b = nextVersion();
  t.ok(b > a);
  const far = Date.now() * 1000 + 10_000_000;
  t.equal(nextVersion(far), far + 1);
  t.ok(Number.isSafeInteger(nextVersion()));
});

t.test('organizations, points, KKMs and their lookups', async (t) => {
  const { orgId, bin } = await registry.orgs.createOrg(orgInput('123456789012'));
  t.equal(orgId, 1, 'ids start at 1');
  t.equal(bin, '123456789012');
  const org = await registry.orgs.getOrg(orgId);
  t.match(org, { orgId: 1, bin, title: 'ТОО "Ромашка"', address: 'Алматы, пр. Абая 1' });
  t.ok(org?.createdAt instanceof Date && Math.abs(org.createdAt.getTime() - Date.now()) < 60_000);
  t.same((await registry.orgs.findOrgByBin(bin))?.orgId, orgId);
  t.equal(await registry.orgs.getOrg(999), null);

  const users = await rows<{
    org_id: number;
    login: string;
    role: string;
    permissions: string[];
    password_hash: string;
  }>('SELECT org_id, login, role, permissions, password_hash FROM users FINAL');
  t.equal(users.length, 1);
  const owner = users[0]!;
  t.match(owner, { org_id: orgId, login: bin, role: 'owner' });
  t.same(owner.permissions, [...PERMISSIONS]);
  t.ok(await verifyPassword('Secret@123', owner.password_hash), 'the owner password is hashed');

  const { pointId } = await registry.orgs.createPoint(orgId, {
    title: 'Магазин',
    address: 'ул. 1',
  });
  t.equal(pointId, 1);
  t.match(await registry.orgs.getPoint(pointId), { pointId, orgId, title: 'Магазин' });

  const { kkmId } = await registry.kkms.createKkm(pointId, {
    serialNumber: 'SN-0001',
    model: 'Webkassa',
    fnsKkmId: '010101',
  });
  t.equal(kkmId, 1);
  const kkm = await registry.kkms.getKkm(kkmId);
  t.match(kkm, {
    kkmId,
    orgId,
    pointId,
    serialNumber: 'SN-0001',
    model: 'Webkassa',
    fnsKkmId: '010101',
    status: 'active',
    tokenEpoch: 1,
  });
  t.ok(Number.isInteger(kkm!.token) && kkm!.token >= 1 && kkm!.token <= 0xffffffff);
  t.equal(await registry.kkms.getKkm(12345), null);
  t.equal(await registry.kkms.getKkm(0), null);

  t.same(await registry.kkms.getRegInfo(kkmId), {
    kkm: {
      serial_number: 'SN-0001',
      fns_kkm_id: '010101',
      kkm_id: String(kkmId),
      point_of_payment_number: String(pointId),
    },
    pos: { title: 'Магазин', address: 'ул. 1' },
    org: { title: 'ТОО "Ромашка"', address: 'Алматы, пр. Абая 1', inn: bin, okved: '47111' },
  });
  t.equal(await registry.kkms.getRegInfo(777), null);

  const second = await registry.kkms.createKkm(pointId, {
    serialNumber: 'SN-0002',
    model: 'M',
    fnsKkmId: '2',
  });
  t.equal(second.kkmId, 2);
  t.same(
    (await registry.kkms.listKkms(orgId)).map((k) => k.kkmId),
    [1, 2],
  );
  t.same(await registry.kkms.listKkms(999), []);
});

t.test(
  'a duplicate BIN is a conflict, an invalid one is refused, unknown parents are 404',
  async (t) => {
    await registry.orgs.createOrg(orgInput('000000000001'));
    await t.rejects(registry.orgs.createOrg(orgInput('000000000001')), ConflictError);
    t.match(await failure(registry.orgs.createOrg(orgInput('000000000001'))), {
      reason: 'duplicate_bin',
    });
    // Concurrent attempts with one BIN: exactly one wins.
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => registry.orgs.createOrg(orgInput('000000000002'))),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.equal(
      (await rows('SELECT org_id FROM orgs FINAL WHERE bin = {b:String}', { b: '000000000002' }))
        .length,
      1,
    );
    await t.rejects(registry.orgs.createOrg(orgInput('12345')), InvalidInputError);
    t.match(await failure(registry.orgs.createOrg(orgInput('12345678901a'))), { field: 'bin' });
    await t.rejects(registry.orgs.createPoint(4242, { title: 'x', address: 'y' }), NotFoundError);
    t.match(await failure(registry.orgs.createPoint(4242, { title: 'x', address: 'y' })), {
      entity: 'org',
      id: 4242,
    });
    t.match(
      await failure(
        registry.kkms.createKkm(4242, { serialNumber: 's', model: 'm', fnsKkmId: 'f' }),
      ),
      { entity: 'point' },
    );
    t.match(await failure(registry.kkms.issueToken(4242)), { entity: 'kkm' });
    await t.rejects(registry.kkms.setStatus(4242, 'blocked'), NotFoundError);
  },
);

async function newKkm(): Promise<number> {
  const bin = String(Date.now()).slice(-9).padStart(9, '0') + String(Math.random()).slice(2, 5);
  const { orgId } = await registry.orgs.createOrg(orgInput(bin));
  const { pointId } = await registry.orgs.createPoint(orgId, { title: 'P', address: 'A' });
  return (await registry.kkms.createKkm(pointId, { serialNumber: 'S', model: 'M', fnsKkmId: 'F' }))
    .kkmId;
}

t.test('token reissue changes the token and bumps token_epoch', async (t) => {
  const kkmId = await newKkm();
  const before = (await registry.kkms.getKkm(kkmId))!;
  const first = await registry.kkms.issueToken(kkmId);
  t.not(first.token, before.token);
  t.equal(first.tokenEpoch, 2);
  const after = (await registry.kkms.getKkm(kkmId))!;
  t.equal(after.token, first.token);
  t.equal(after.tokenEpoch, 2);
  const second = await registry.kkms.issueToken(kkmId);
  t.not(second.token, first.token);
  t.equal((await registry.kkms.getKkm(kkmId))!.tokenEpoch, 3);
  t.equal(after.createdAt.getTime(), before.createdAt.getTime(), 'created_at is kept');
  // Concurrent reissues serialize: every one bumps the epoch.
  await Promise.all([1, 2, 3].map(() => registry.kkms.issueToken(kkmId)));
  t.equal((await registry.kkms.getKkm(kkmId))!.tokenEpoch, 6);
  const events = await rows<{ kind: string; detail: string }>(
    'SELECT kind, detail FROM device_events WHERE kkm_id = {k:UInt32}',
    { k: kkmId },
  );
  t.ok(events.some((e) => e.kind === 'token_issued'));
  t.notOk(
    events.some((e) => e.detail.includes(String(second.token))),
    'events never carry the token',
  );
});

t.test('block, unblock and the finality of deregistration', async (t) => {
  const kkmId = await newKkm();
  t.equal((await registry.kkms.setStatus(kkmId, 'blocked')).status, 'blocked');
  t.equal((await registry.kkms.getKkm(kkmId))!.status, 'blocked');
  t.equal((await registry.kkms.setStatus(kkmId, 'blocked')).status, 'blocked', 'idempotent');
  t.equal((await registry.kkms.setStatus(kkmId, 'active')).status, 'active');
  t.equal((await registry.kkms.setStatus(kkmId, 'deregistered')).status, 'deregistered');
  t.equal((await registry.kkms.setStatus(kkmId, 'deregistered')).status, 'deregistered');
  await t.rejects(registry.kkms.setStatus(kkmId, 'active'), ConflictError);
  t.match(await failure(registry.kkms.setStatus(kkmId, 'blocked')), { reason: 'kkm_deregistered' });
  t.match(await failure(registry.kkms.issueToken(kkmId)), { reason: 'kkm_deregistered' });
  t.equal((await registry.kkms.getKkm(kkmId))!.status, 'deregistered');
});

t.test('ids survive a lost Redis counter', async (t) => {
  const oldMax = await newKkm();
  await redis.del(`${prefix}seq:kkm`);
  const kkm = await registry.kkms.getKkm(oldMax);
  const { kkmId } = await registry.kkms.createKkm(kkm!.pointId, {
    serialNumber: 'S2',
    model: 'M',
    fnsKkmId: 'F',
  });
  t.ok(kkmId > oldMax, `${kkmId} > ${oldMax}`);
  // A counter behind the table (e.g. an older Redis snapshot) is raised, too.
  await redis.set(`${prefix}seq:kkm`, '1');
  const next = await registry.kkms.createKkm(kkm!.pointId, {
    serialNumber: 'S3',
    model: 'M',
    fnsKkmId: 'F',
  });
  t.equal(next.kkmId, kkmId + 1);
  // Everything of ours gone from Redis at once (a restart without persistence).
  const orgsBefore = await rows<{ m: number }>('SELECT max(org_id) AS m FROM orgs');
  const keys = await redis.keys(`${prefix}*`);
  await redis.del(...keys);
  const { orgId } = await registry.orgs.createOrg(orgInput('999999999999'));
  t.equal(orgId, Number(orgsBefore[0]!.m) + 1);
  // Concurrent allocations never share an id.
  const ids = await Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      registry.kkms.createKkm(kkm!.pointId, { serialNumber: `C${i}`, model: 'M', fnsKkmId: 'F' }),
    ),
  );
  t.equal(new Set(ids.map((x) => x.kkmId)).size, 5);
});

t.test('cashiers: upsert, lookup, code clashes', async (t) => {
  const { orgId } = await registry.orgs.createOrg(orgInput('111111111111'));
  t.same(
    await registry.cashiers.upsertCashier(orgId, {
      code: 7,
      name: 'Айгуль',
      login: 'aigul',
      password: '1234',
      roles: [2, 1],
    }),
    { code: 7, login: 'aigul' },
  );
  const c = await registry.cashiers.findCashier(orgId, 'aigul');
  t.match(c, { code: 7, name: 'Айгуль', roles: [1, 2] });
  t.ok(await verifyPassword('1234', c!.passwordHash));
  t.equal(await registry.cashiers.findCashier(orgId, 'nobody'), null);
  t.equal(await registry.cashiers.findCashier(orgId + 100, 'aigul'), null);

  await registry.cashiers.upsertCashier(orgId, {
    code: 7,
    name: 'Айгуль Б.',
    login: 'aigul',
    password: '5678',
    roles: [3],
  });
  const updated = await registry.cashiers.findCashier(orgId, 'aigul');
  t.match(updated, { code: 7, name: 'Айгуль Б.', roles: [3] });
  t.ok(await verifyPassword('5678', updated!.passwordHash));
  t.notOk(await verifyPassword('1234', updated!.passwordHash));

  t.match(
    await failure(
      registry.cashiers.upsertCashier(orgId, {
        code: 7,
        name: 'X',
        login: 'other',
        password: 'p',
        roles: [1],
      }),
    ),
    { reason: 'cashier_code_taken' },
  );
  t.match(
    await failure(
      registry.cashiers.upsertCashier(orgId, {
        code: 8,
        name: 'X',
        login: 'x',
        password: 'p',
        roles: [4],
      }),
    ),
    { field: 'roles' },
  );
  await t.rejects(
    registry.cashiers.upsertCashier(9999, {
      code: 8,
      name: 'X',
      login: 'x',
      password: 'p',
      roles: [1],
    }),
    NotFoundError,
  );
});

t.test('nomenclature versions grow by one and keep integer tiyn', async (t) => {
  const { orgId } = await registry.orgs.createOrg(orgInput('222222222222'));
  t.equal(await registry.nomenclature.latestNomenclature(orgId), null);
  const elements: NomenclatureElement[] = [
    { type: 0, title: 'Напитки', id: 1 },
    {
      type: 1,
      title: 'Вода 0.5',
      id: 2,
      parent_group_id: 1,
      item: {
        barcode: '4870001',
        purchase_price: 12050,
        sell_price: 19999,
        taxes: [{ taxation_type: 100, tax_type: 100, tax_percent: 12000 }],
        measure_unit_code: '796',
      },
    },
  ];
  t.same(await registry.nomenclature.putNomenclature(orgId, elements), { version: 1 });
  const latest = await registry.nomenclature.latestNomenclature(orgId);
  t.equal(latest!.version, 1);
  t.same(latest!.elements, elements);
  t.ok(latest!.createdAt instanceof Date);
  t.same(await registry.nomenclature.putNomenclature(orgId, elements.slice(0, 1)), { version: 2 });
  await redis.del(`${prefix}seq:nomenclature:${orgId}`);
  t.same(
    await registry.nomenclature.putNomenclature(orgId, []),
    { version: 3 },
    'survives a lost counter',
  );
  const last = await registry.nomenclature.latestNomenclature(orgId);
  t.equal(last!.version, 3);
  t.same(last!.elements, []);
  const { orgId: other } = await registry.orgs.createOrg(orgInput('333333333333'));
  t.same(
    await registry.nomenclature.putNomenclature(other, elements),
    { version: 1 },
    'per organization',
  );
  await t.rejects(registry.nomenclature.putNomenclature(9999, elements), NotFoundError);
});
