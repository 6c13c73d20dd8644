// Cabinet users and groups of an organization (cabinet manual §13–14): sub-users see the points
// of sale and modules granted to them directly or through their groups; the owner (created by
// the registry with the org, login = BIN) sees everything. ClickHouse is the only copy, as in
// the registry: an update is a new row with a higher version, reads use FINAL, and Redis only
// hands out ids and holds locks. Ids and locks use the registry's keys (`seq:user`,
// `lock:login:<login>`), so owners and sub-users share one id sequence and one login namespace.
// Passwords arrive here already checked against the policy and are stored as scrypt hashes.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { Coordination } from './coordination.js';
import { chTime, isId } from './values.js';
import { hashPassword } from './passwords.js';
import { effectiveGrants, outsideAccess, type Viewer } from '../access/grants.js';
import { PERMISSIONS, inPermissionOrder, isPermission } from '../access/permissions.js';
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  StoreBrokenError,
} from './errors.js';
import { nextVersion } from './registry.js';

/** Logins of 12 digits are organizations' BINs (the owner's login); sub-users cannot take one. */
export const BIN_LOGIN_RE = /^[0-9]{12}$/;

// ---- records --------------------------------------------------------------------------------

/** Who acts: the authenticated caller (structurally the cabinet's Caller). */
export interface Actor extends Viewer {
  userId: number;
}

export interface UserView {
  userId: number;
  orgId: number;
  login: string;
  name: string;
  email: string;
  role: 'owner' | 'user';
  /** Granted directly (empty for the owner, who has every point). */
  pointIds: number[];
  /** Live groups the user belongs to. */
  groupIds: number[];
  /** Granted directly. */
  permissions: string[];
  /** Direct grants plus those of the user's groups; every point and module for the owner. */
  effectivePointIds: number[];
  effectivePermissions: string[];
  createdAt: Date;
}

export interface GroupView {
  groupId: number;
  orgId: number;
  name: string;
  pointIds: number[];
  permissions: string[];
  memberIds: number[];
  createdAt: Date;
}

export interface NewUser {
  login: string;
  password: string;
  name: string;
  email: string;
  pointIds: number[];
  permissions: string[];
  groupIds?: number[];
}

/** Fields left out keep their values; a password sets a new one. */
export interface UserPatch {
  password?: string;
  name?: string;
  email?: string;
  pointIds?: number[];
  permissions?: string[];
  groupIds?: number[];
}

export interface NewGroup {
  name: string;
  pointIds: number[];
  permissions: string[];
  memberIds?: number[];
}

/** Fields left out keep their values; memberIds replaces the whole membership. */
export type GroupPatch = Partial<NewGroup>;

export interface LoginRecord {
  userId: number;
  orgId: number;
  passwordHash: string;
}

// ---- rows -----------------------------------------------------------------------------------

interface UserRow {
  user_id: number | string;
  org_id: number | string;
  login: string;
  password_hash: string;
  name: string;
  email: string;
  role: 'owner' | 'user';
  point_ids: (number | string)[];
  group_ids: (number | string)[];
  permissions: string[];
  created_ms: number | string;
  version: number | string;
}

interface GroupRow {
  group_id: number | string;
  org_id: number | string;
  name: string;
  point_ids: (number | string)[];
  permissions: string[];
  created_ms: number | string;
  version: number | string;
}

const USER_COLUMNS = `user_id, org_id, login, password_hash, name, email, role, point_ids,
  group_ids, permissions, toUnixTimestamp64Milli(created_at) AS created_ms, version`;

const GROUP_COLUMNS = `group_id, org_id, name, point_ids, permissions,
  toUnixTimestamp64Milli(created_at) AS created_ms, version`;

/** One organization's live users, groups and points, read together for checks and views. */
interface OrgState {
  orgId: number;
  users: UserRow[];
  groups: GroupRow[];
  points: Set<number>;
}

const ids = (xs: (number | string)[]) => xs.map(Number);
const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
const inOrder = inPermissionOrder;

// ---- the store ------------------------------------------------------------------------------

export class CabinetUsers {
  private readonly coordination: Coordination;

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    this.coordination = new Coordination(redis, keyPrefix);
  }

  // -- login

  /** The live user with this login whose organization exists, for password verification. */
  async findLogin(login: string): Promise<LoginRecord | null> {
    const rows = await this.db.rows<{
      user_id: number | string;
      org_id: number | string;
      password_hash: string;
    }>(
      `SELECT user_id, org_id, password_hash FROM users FINAL
       WHERE login = {login:String} AND deleted = 0
         AND org_id IN (SELECT org_id FROM orgs FINAL)
       ORDER BY user_id LIMIT 1`,
      { login },
    );
    const r = rows[0];
    return r
      ? { userId: Number(r.user_id), orgId: Number(r.org_id), passwordHash: r.password_hash }
      : null;
  }

  // -- users

  async listUsers(orgId: number): Promise<UserView[]> {
    const state = await this.orgState(orgId);
    return state.users.map((u) => userView(state, u));
  }

  async getUser(orgId: number, userId: number): Promise<UserView | null> {
    if (!isId(userId)) return null;
    const state = await this.orgState(orgId);
    const row = state.users.find((u) => Number(u.user_id) === userId);
    return row ? userView(state, row) : null;
  }

  /** A new sub-user of the actor's organization. A login in use anywhere → 'login_taken'. */
  async createUser(actor: Actor, input: NewUser): Promise<UserView> {
    const login = input.login;
    if (BIN_LOGIN_RE.test(login)) {
      throw new InvalidInputError('login', "of 12 digits is reserved for organizations' BINs");
    }
    const passwordHash = await hashPassword(input.password);
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const grants = {
        pointIds: sorted(input.pointIds),
        groupIds: sorted(input.groupIds ?? []),
        permissions: inOrder(input.permissions),
      };
      checkGrants(state, grants);
      requireWithin(
        actor,
        effective(state, { role: 'user', ...grants }),
        'the new user would have',
      );
      return this.withLock(`login:${login}`, async () => {
        if (await this.loginTaken(login)) {
          throw new ConflictError('login_taken', `the login ${login} is already taken`);
        }
        const userId = await this.nextId('user', 'users', 'user_id');
        const now = Date.now();
        const row: UserRow = {
          user_id: userId,
          org_id: actor.orgId,
          login,
          password_hash: passwordHash,
          name: input.name,
          email: input.email,
          role: 'user',
          point_ids: grants.pointIds,
          group_ids: grants.groupIds,
          permissions: grants.permissions,
          created_ms: now,
          version: nextVersion(),
        };
        await this.writeUsers([row]);
        return userView(state, row);
      });
    });
  }

  /**
   * Changes a user. Only the owner changes the owner's account, and never its access; a
   * sub-user changes only users whose access lies within its own, and only within it.
   */
  async updateUser(actor: Actor, userId: number, patch: UserPatch): Promise<UserView> {
    const passwordHash = patch.password === undefined ? null : await hashPassword(patch.password);
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const row = findUser(state, userId);
      const accessChange =
        patch.pointIds !== undefined ||
        patch.permissions !== undefined ||
        patch.groupIds !== undefined;
      if (row.role === 'owner') {
        if (actor.userId !== userId) {
          throw new ForbiddenError("only the owner can change the owner's account");
        }
        if (accessChange) {
          throw new ConflictError(
            'owner_protected',
            'the owner has every point of sale and permission; its access cannot be changed',
          );
        }
      } else {
        requireWithin(actor, effective(state, userGrants(row)), `user ${userId} has`);
      }
      const grants = {
        pointIds: patch.pointIds ? sorted(patch.pointIds) : ids(row.point_ids),
        groupIds: patch.groupIds ? sorted(patch.groupIds) : liveGroupIds(state, row),
        permissions: patch.permissions ? inOrder(patch.permissions) : row.permissions,
      };
      if (accessChange) {
        checkGrants(state, grants);
        requireWithin(
          actor,
          effective(state, { role: row.role, ...grants }),
          `user ${userId} would have`,
        );
      }
      const next: UserRow = {
        ...row,
        password_hash: passwordHash ?? row.password_hash,
        name: patch.name ?? row.name,
        email: patch.email ?? row.email,
        point_ids: grants.pointIds,
        group_ids: grants.groupIds,
        permissions: grants.permissions,
        version: nextVersion(Number(row.version)),
      };
      await this.writeUsers([next]);
      return userView(state, next);
    });
  }

  /** Deletes a sub-user (its sessions stop working at once); the owner cannot be deleted. */
  async deleteUser(actor: Actor, userId: number): Promise<void> {
    await this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const row = findUser(state, userId);
      if (row.role === 'owner') {
        throw new ConflictError('owner_protected', 'the organization owner cannot be deleted');
      }
      requireWithin(actor, effective(state, userGrants(row)), `user ${userId} has`);
      await this.writeUsers([{ ...row, version: nextVersion(Number(row.version)) }], true);
    });
  }

  // -- groups

  async listGroups(orgId: number): Promise<GroupView[]> {
    const state = await this.orgState(orgId);
    return state.groups.map((g) => groupView(state, g));
  }

  async getGroup(orgId: number, groupId: number): Promise<GroupView | null> {
    if (!isId(groupId)) return null;
    const state = await this.orgState(orgId);
    const row = state.groups.find((g) => Number(g.group_id) === groupId);
    return row ? groupView(state, row) : null;
  }

  async createGroup(actor: Actor, input: NewGroup): Promise<GroupView> {
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const pointIds = sorted(input.pointIds);
      const permissions = inOrder(input.permissions);
      checkGrants(state, { pointIds, permissions, groupIds: [] });
      requireWithin(actor, { pointIds, permissions }, 'the group would have');
      const members = checkMembers(state, input.memberIds ?? []);
      const groupId = await this.nextId('group', 'groups', 'group_id');
      const now = Date.now();
      const row: GroupRow = {
        group_id: groupId,
        org_id: actor.orgId,
        name: input.name,
        point_ids: pointIds,
        permissions,
        created_ms: now,
        version: nextVersion(),
      };
      // The group first: a member pointing at a group not yet written would see nothing.
      await this.writeGroup(row);
      state.groups.push(row);
      await this.setMembers(state, groupId, members);
      return groupView(state, row);
    });
  }

  /** Changes a group whose grants lie within the actor's access, keeping them within it. */
  async updateGroup(actor: Actor, groupId: number, patch: GroupPatch): Promise<GroupView> {
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const row = findGroup(state, groupId);
      requireWithin(actor, groupGrants(row), `group ${groupId} grants`);
      const pointIds = patch.pointIds ? sorted(patch.pointIds) : ids(row.point_ids);
      const permissions = patch.permissions ? inOrder(patch.permissions) : row.permissions;
      checkGrants(state, { pointIds, permissions, groupIds: [] });
      requireWithin(actor, { pointIds, permissions }, `group ${groupId} would grant`);
      const members = patch.memberIds ? checkMembers(state, patch.memberIds) : null;
      const next: GroupRow = {
        ...row,
        name: patch.name ?? row.name,
        point_ids: pointIds,
        permissions,
        version: nextVersion(Number(row.version)),
      };
      await this.writeGroup(next);
      state.groups = state.groups.map((g) => (g === row ? next : g));
      if (members) await this.setMembers(state, groupId, members);
      return groupView(state, next);
    });
  }

  /** Deletes a group; its members lose what it granted. */
  async deleteGroup(actor: Actor, groupId: number): Promise<void> {
    await this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const state = await this.orgState(actor.orgId);
      const row = findGroup(state, groupId);
      requireWithin(actor, groupGrants(row), `group ${groupId} grants`);
      await this.writeGroup({ ...row, version: nextVersion(Number(row.version)) }, true);
      // Scope ignores deleted groups anyway; this keeps users.group_ids tidy.
      await this.setMembers(state, groupId, new Set());
    });
  }

  // -- internals

  /** Rewrites the users whose membership of `groupId` differs from `members`. */
  private async setMembers(state: OrgState, groupId: number, members: Set<number>) {
    const changed: UserRow[] = [];
    for (const u of state.users) {
      const groups = ids(u.group_ids);
      const has = groups.includes(groupId);
      const want = members.has(Number(u.user_id));
      if (has === want) continue;
      const next: UserRow = {
        ...u,
        group_ids: want ? sorted([...groups, groupId]) : groups.filter((g) => g !== groupId),
        version: nextVersion(Number(u.version)),
      };
      changed.push(next);
    }
    if (changed.length) await this.writeUsers(changed);
    state.users = state.users.map(
      (u) => changed.find((c) => Number(c.user_id) === Number(u.user_id)) ?? u,
    );
  }

  private async orgState(orgId: number): Promise<OrgState> {
    if (!isId(orgId)) return { orgId, users: [], groups: [], points: new Set() };
    const params = { org: orgId };
    const [users, groups, points] = await Promise.all([
      this.db.rows<UserRow>(
        `SELECT ${USER_COLUMNS} FROM users FINAL
         WHERE org_id = {org:UInt32} AND deleted = 0 ORDER BY user_id`,
        params,
      ),
      this.db.rows<GroupRow>(
        `SELECT ${GROUP_COLUMNS} FROM groups FINAL
         WHERE org_id = {org:UInt32} AND deleted = 0 ORDER BY group_id`,
        params,
      ),
      this.db.rows<{ point_id: number | string }>(
        `SELECT point_id FROM points FINAL WHERE org_id = {org:UInt32} ORDER BY point_id`,
        params,
      ),
    ]);
    return { orgId, users, groups, points: new Set(points.map((p) => Number(p.point_id))) };
  }

  private async loginTaken(login: string): Promise<boolean> {
    const rows = await this.db.rows<{ user_id: number }>(
      `SELECT user_id FROM users FINAL WHERE login = {login:String} AND deleted = 0 LIMIT 1`,
      { login },
    );
    return rows.length > 0;
  }

  private async writeUsers(rows: UserRow[], deleted = false): Promise<void> {
    await this.db.insert(
      'users',
      rows.map((r) => ({
        user_id: Number(r.user_id),
        org_id: Number(r.org_id),
        login: r.login,
        password_hash: r.password_hash,
        name: r.name,
        email: r.email,
        role: r.role,
        point_ids: ids(r.point_ids),
        group_ids: ids(r.group_ids),
        permissions: r.permissions,
        deleted: deleted ? 1 : 0,
        created_at: chTime(Number(r.created_ms)),
        version: Number(r.version),
      })),
    );
  }

  private async writeGroup(r: GroupRow, deleted = false): Promise<void> {
    await this.db.insert('groups', [
      {
        group_id: Number(r.group_id),
        org_id: Number(r.org_id),
        name: r.name,
        point_ids: ids(r.point_ids),
        permissions: r.permissions,
        deleted: deleted ? 1 : 0,
        created_at: chTime(Number(r.created_ms)),
        version: Number(r.version),
      },
    ]);
  }

  /** The next id: the registry's sequence, never at or below ClickHouse's max. */
  private async nextId(name: 'user' | 'group', table: string, column: string): Promise<number> {
    const rows = await this.db.rows<{ m: number | string }>(
      `SELECT max(${column}) AS m FROM ${table}`,
    );
    const floor = Number(rows[0]?.m ?? 0);
    return this.coordination.next(name, floor, 1, (m) => new StoreBrokenError(m));
  }

  /** Runs `fn` holding a Redis lock (the registry's `lock:` keys). */
  private withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.coordination.withLock(name, fn, (m) => new BusyError(m));
  }
}

// ---- checks and views -----------------------------------------------------------------------

interface Grants {
  pointIds: number[];
  permissions: string[];
}

function findUser(state: OrgState, userId: number): UserRow {
  const row = isId(userId) ? state.users.find((u) => Number(u.user_id) === userId) : undefined;
  if (!row) throw new NotFoundError('user', userId);
  return row;
}

function findGroup(state: OrgState, groupId: number): GroupRow {
  const row = isId(groupId) ? state.groups.find((g) => Number(g.group_id) === groupId) : undefined;
  if (!row) throw new NotFoundError('group', groupId);
  return row;
}

function liveGroupIds(state: OrgState, row: UserRow): number[] {
  const live = new Set(state.groups.map((g) => Number(g.group_id)));
  return ids(row.group_ids).filter((g) => live.has(g));
}

function userGrants(row: UserRow) {
  return {
    role: row.role,
    pointIds: ids(row.point_ids),
    groupIds: ids(row.group_ids),
    permissions: row.permissions,
  };
}

function groupGrants(row: GroupRow): Grants {
  return { pointIds: ids(row.point_ids), permissions: row.permissions };
}

/** What a user can see: its grants plus its live groups'; everything for the owner. */
const effective = (
  state: OrgState,
  u: { role: 'owner' | 'user'; pointIds: number[]; groupIds: number[]; permissions: string[] },
): Grants =>
  effectiveGrants(
    u,
    state.groups.map((g) => ({ groupId: Number(g.group_id), ...groupGrants(g) })),
    state.points,
  );

/** Points and groups must be the organization's, permissions the cabinet's. */
function checkGrants(state: OrgState, g: Grants & { groupIds: number[] }): void {
  const foreignPoint = g.pointIds.find((p) => !state.points.has(p));
  if (foreignPoint !== undefined) {
    throw new InvalidInputError(
      'pointIds',
      `contains ${foreignPoint}, which is not a point of sale of this organization`,
    );
  }
  const live = new Set(state.groups.map((x) => Number(x.group_id)));
  const foreignGroup = g.groupIds.find((x) => !live.has(x));
  if (foreignGroup !== undefined) {
    throw new InvalidInputError(
      'groupIds',
      `contains ${foreignGroup}, which is not a group of this organization`,
    );
  }
  const unknown = g.permissions.find((p) => !isPermission(p));
  if (unknown !== undefined) {
    throw new InvalidInputError(
      'permissions',
      `contains ${unknown}; allowed: ${PERMISSIONS.join(', ')}`,
    );
  }
}

function checkMembers(state: OrgState, memberIds: number[]): Set<number> {
  const users = new Set(state.users.map((u) => Number(u.user_id)));
  const foreign = memberIds.find((m) => !users.has(m));
  if (foreign !== undefined) {
    throw new InvalidInputError(
      'memberIds',
      `contains ${foreign}, which is not a user of this organization`,
    );
  }
  return new Set(memberIds);
}

/** A sub-user acts only within its own access: points of sale and permissions alike. */
function requireWithin(actor: Actor, grants: Grants, what: string): void {
  const outside = outsideAccess(actor, grants);
  if (!outside) return;
  throw new ForbiddenError(
    'pointId' in outside
      ? `${what} point of sale ${outside.pointId}, which is outside your own access`
      : `${what} the "${outside.permission}" permission, which you do not have`,
  );
}

function userView(state: OrgState, row: UserRow): UserView {
  const groupIds = liveGroupIds(state, row);
  const eff = effective(state, { ...userGrants(row), groupIds });
  return {
    userId: Number(row.user_id),
    orgId: Number(row.org_id),
    login: row.login,
    name: row.name,
    email: row.email,
    role: row.role,
    pointIds: ids(row.point_ids),
    groupIds,
    permissions: inOrder(row.permissions),
    effectivePointIds: eff.pointIds,
    effectivePermissions: eff.permissions,
    createdAt: new Date(Number(row.created_ms)),
  };
}

function groupView(state: OrgState, row: GroupRow): GroupView {
  const id = Number(row.group_id);
  return {
    groupId: id,
    orgId: Number(row.org_id),
    name: row.name,
    pointIds: ids(row.point_ids),
    permissions: inOrder(row.permissions),
    memberIds: state.users
      .filter((u) => ids(u.group_ids).includes(id))
      .map((u) => Number(u.user_id)),
    createdAt: new Date(Number(row.created_ms)),
  };
}
