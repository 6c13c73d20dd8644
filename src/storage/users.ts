// Cabinet users and groups of an organization (cabinet manual §13–14): the only writer of the
// `users` and `groups` tables. The owner (login = BIN) is written when the organization is
// registered (orgs.ts calls `createOwner`); sub-users see the points of sale and modules granted
// to them directly or through their groups. Owners and sub-users share one id sequence
// (`seq:user`) and one login namespace (lock `login:<login>`). The rules of who may grant what
// are src/access/user-admin.ts; this store applies them under its lock. Passwords arrive here
// already checked against the policy and are stored as scrypt hashes.
import { isId, chTime } from './values.js';
import { hashPassword } from './passwords.js';
import {
  effectiveOf,
  grantsProblem,
  liveGroupIds,
  membersProblem,
  outsideReason,
  type Directory,
  type Problem,
} from '../access/user-admin.js';
import { PERMISSIONS, inPermissionOrder } from '../access/permissions.js';
import type { Grants, Role, Viewer } from '../access/grants.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from './errors.js';
import { Repository, nextVersion } from './repository.js';

/** Logins of 12 digits are organizations' BINs (the owner's login); sub-users cannot take one. */
export const BIN_LOGIN_RE = /^[0-9]{12}$/;

// ---- records --------------------------------------------------------------------------------

/** Who acts: the authenticated caller (structurally the cabinet's Caller). */
export interface Actor extends Viewer {
  userId: number;
}

export interface UserRecord {
  userId: number;
  orgId: number;
  login: string;
  passwordHash: string;
  name: string;
  email: string;
  role: Role;
  /** Granted directly (empty for the owner, who has every point). */
  pointIds: number[];
  /** As stored: may name groups deleted since (see liveGroupIds). */
  groupIds: number[];
  /** Granted directly. */
  permissions: string[];
  createdAt: number;
  version: number;
}

export interface GroupRecord {
  groupId: number;
  orgId: number;
  name: string;
  pointIds: number[];
  permissions: string[];
  createdAt: number;
  version: number;
}

/** One organization's live users, groups and points, read together for checks and views. */
export interface OrgUsers extends Directory {
  orgId: number;
  users: UserRecord[];
  groups: GroupRecord[];
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

const USER_COLUMNS = `user_id, org_id, login, password_hash, name, email, role, point_ids,
  group_ids, permissions, toUnixTimestamp64Milli(created_at) AS created_ms, version`;

const GROUP_COLUMNS = `group_id, org_id, name, point_ids, permissions,
  toUnixTimestamp64Milli(created_at) AS created_ms, version`;

const ids = (xs: number[]) => xs.map(Number);
const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
const inOrder = inPermissionOrder;

const userFromRow = (r: {
  user_id: number;
  org_id: number;
  login: string;
  password_hash: string;
  name: string;
  email: string;
  role: Role;
  point_ids: number[];
  group_ids: number[];
  permissions: string[];
  created_ms: number;
  version: number;
}): UserRecord => ({
  userId: Number(r.user_id),
  orgId: Number(r.org_id),
  login: r.login,
  passwordHash: r.password_hash,
  name: r.name,
  email: r.email,
  role: r.role,
  pointIds: ids(r.point_ids),
  groupIds: ids(r.group_ids),
  permissions: r.permissions,
  createdAt: Number(r.created_ms),
  version: Number(r.version),
});

const groupFromRow = (r: {
  group_id: number;
  org_id: number;
  name: string;
  point_ids: number[];
  permissions: string[];
  created_ms: number;
  version: number;
}): GroupRecord => ({
  groupId: Number(r.group_id),
  orgId: Number(r.org_id),
  name: r.name,
  pointIds: ids(r.point_ids),
  permissions: r.permissions,
  createdAt: Number(r.created_ms),
  version: Number(r.version),
});

function refuse(p: Problem | null): void {
  if (p) throw new InvalidInputError(p.field, p.problem);
}

function requireWithin(actor: Actor, grants: Grants, what: string): void {
  const reason = outsideReason(actor, grants, what);
  if (reason) throw new ForbiddenError(reason);
}

function findUser(org: OrgUsers, userId: number): UserRecord {
  const row = isId(userId) ? org.users.find((u) => u.userId === userId) : undefined;
  if (!row) throw new NotFoundError('user', userId);
  return row;
}

function findGroup(org: OrgUsers, groupId: number): GroupRecord {
  const row = isId(groupId) ? org.groups.find((g) => g.groupId === groupId) : undefined;
  if (!row) throw new NotFoundError('group', groupId);
  return row;
}

// ---- the store ------------------------------------------------------------------------------

export class Users extends Repository {
  // -- login

  /** The live user with this login whose organization exists, for password verification. */
  async findLogin(login: string): Promise<LoginRecord | null> {
    const rows = await this.db.rows<{ user_id: number; org_id: number; password_hash: string }>(
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

  /**
   * Writes the owner of organization `orgId` (login = its BIN, role owner, every permission).
   * The caller holds lock `login:<login>` and has checked that no organization has this BIN.
   * An owner row left without its organization by an interrupted registration is reused; any
   * other user with the login → ConflictError('login_taken'). `orgExists` tells whether the
   * organization of such a row exists.
   */
  async createOwner(
    input: { login: string; passwordHash: string; name: string },
    allocateOrg: () => Promise<number>,
    orgExists: (orgId: number) => Promise<boolean>,
  ): Promise<{ userId: number; orgId: number }> {
    const rows = await this.db.rows<{
      user_id: number;
      org_id: number;
      role: string;
      version: number;
    }>(
      `SELECT user_id, org_id, role, version FROM users FINAL
       WHERE login = {login:String} AND deleted = 0 ORDER BY user_id LIMIT 1`,
      { login: input.login },
    );
    const prior = rows[0];
    if (prior && (prior.role !== 'owner' || (await orgExists(Number(prior.org_id))))) {
      throw new ConflictError('login_taken', `the login ${input.login} is already taken`);
    }
    const userId = prior ? Number(prior.user_id) : await this.allocate('user');
    const orgId = await allocateOrg();
    await this.writeUsers([
      {
        userId,
        orgId,
        login: input.login,
        passwordHash: input.passwordHash,
        name: input.name,
        email: '',
        role: 'owner',
        pointIds: [],
        groupIds: [],
        permissions: [...PERMISSIONS],
        createdAt: Date.now(),
        version: nextVersion(prior ? Number(prior.version) : 0),
      },
    ]);
    return { userId, orgId };
  }

  // -- users

  /** The organization's live users, groups and points. */
  async directory(orgId: number): Promise<OrgUsers> {
    if (!isId(orgId)) return { orgId, users: [], groups: [], pointIds: new Set() };
    const params = { org: orgId };
    const [users, groups, points] = await Promise.all([
      this.db.rows<Parameters<typeof userFromRow>[0]>(
        `SELECT ${USER_COLUMNS} FROM users FINAL
         WHERE org_id = {org:UInt32} AND deleted = 0 ORDER BY user_id`,
        params,
      ),
      this.db.rows<Parameters<typeof groupFromRow>[0]>(
        `SELECT ${GROUP_COLUMNS} FROM groups FINAL
         WHERE org_id = {org:UInt32} AND deleted = 0 ORDER BY group_id`,
        params,
      ),
      this.db.rows<{ point_id: number }>(
        `SELECT point_id FROM points FINAL WHERE org_id = {org:UInt32} ORDER BY point_id`,
        params,
      ),
    ]);
    return {
      orgId,
      users: users.map(userFromRow),
      groups: groups.map(groupFromRow),
      pointIds: new Set(points.map((p) => Number(p.point_id))),
    };
  }

  /** A new sub-user of the actor's organization. A login in use anywhere → 'login_taken'. */
  async createUser(actor: Actor, input: NewUser): Promise<{ org: OrgUsers; user: UserRecord }> {
    const login = input.login;
    if (BIN_LOGIN_RE.test(login)) {
      throw new InvalidInputError('login', "of 12 digits is reserved for organizations' BINs");
    }
    const passwordHash = await hashPassword(input.password);
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const grants = {
        pointIds: sorted(input.pointIds),
        groupIds: sorted(input.groupIds ?? []),
        permissions: inOrder(input.permissions),
      };
      refuse(grantsProblem(org, grants));
      requireWithin(
        actor,
        effectiveOf(org, { role: 'user', ...grants }),
        'the new user would have',
      );
      return this.withLock(`login:${login}`, async () => {
        if (await this.loginTaken(login)) {
          throw new ConflictError('login_taken', `the login ${login} is already taken`);
        }
        const user: UserRecord = {
          userId: await this.allocate('user'),
          orgId: actor.orgId,
          login,
          passwordHash,
          name: input.name,
          email: input.email,
          role: 'user',
          ...grants,
          createdAt: Date.now(),
          version: nextVersion(),
        };
        await this.writeUsers([user]);
        return { org, user };
      });
    });
  }

  /**
   * Changes a user. Only the owner changes the owner's account, and never its access; a
   * sub-user changes only users whose access lies within its own, and only within it.
   */
  async updateUser(
    actor: Actor,
    userId: number,
    patch: UserPatch,
  ): Promise<{ org: OrgUsers; user: UserRecord }> {
    const passwordHash = patch.password === undefined ? null : await hashPassword(patch.password);
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const row = findUser(org, userId);
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
        requireWithin(actor, effectiveOf(org, row), `user ${userId} has`);
      }
      const grants = {
        pointIds: patch.pointIds ? sorted(patch.pointIds) : row.pointIds,
        groupIds: patch.groupIds ? sorted(patch.groupIds) : liveGroupIds(org, row),
        permissions: patch.permissions ? inOrder(patch.permissions) : row.permissions,
      };
      if (accessChange) {
        refuse(grantsProblem(org, grants));
        requireWithin(
          actor,
          effectiveOf(org, { role: row.role, ...grants }),
          `user ${userId} would have`,
        );
      }
      const user: UserRecord = {
        ...row,
        passwordHash: passwordHash ?? row.passwordHash,
        name: patch.name ?? row.name,
        email: patch.email ?? row.email,
        ...grants,
        version: nextVersion(row.version),
      };
      await this.writeUsers([user]);
      return { org, user };
    });
  }

  /** Deletes a sub-user (its sessions stop working at once); the owner cannot be deleted. */
  async deleteUser(actor: Actor, userId: number): Promise<void> {
    await this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const row = findUser(org, userId);
      if (row.role === 'owner') {
        throw new ConflictError('owner_protected', 'the organization owner cannot be deleted');
      }
      requireWithin(actor, effectiveOf(org, row), `user ${userId} has`);
      await this.writeUsers([{ ...row, version: nextVersion(row.version) }], true);
    });
  }

  // -- groups

  async createGroup(actor: Actor, input: NewGroup): Promise<{ org: OrgUsers; group: GroupRecord }> {
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const pointIds = sorted(input.pointIds);
      const permissions = inOrder(input.permissions);
      refuse(grantsProblem(org, { pointIds, permissions, groupIds: [] }));
      requireWithin(actor, { pointIds, permissions }, 'the group would have');
      const memberIds = input.memberIds ?? [];
      refuse(membersProblem(org, memberIds));
      const group: GroupRecord = {
        groupId: await this.allocate('group'),
        orgId: actor.orgId,
        name: input.name,
        pointIds,
        permissions,
        createdAt: Date.now(),
        version: nextVersion(),
      };
      // The group first: a member pointing at a group not yet written would see nothing.
      await this.writeGroup(group);
      org.groups.push(group);
      await this.setMembers(org, group.groupId, new Set(memberIds));
      return { org, group };
    });
  }

  /** Changes a group whose grants lie within the actor's access, keeping them within it. */
  async updateGroup(
    actor: Actor,
    groupId: number,
    patch: GroupPatch,
  ): Promise<{ org: OrgUsers; group: GroupRecord }> {
    return this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const row = findGroup(org, groupId);
      requireWithin(actor, row, `group ${groupId} grants`);
      const pointIds = patch.pointIds ? sorted(patch.pointIds) : row.pointIds;
      const permissions = patch.permissions ? inOrder(patch.permissions) : row.permissions;
      refuse(grantsProblem(org, { pointIds, permissions, groupIds: [] }));
      requireWithin(actor, { pointIds, permissions }, `group ${groupId} would grant`);
      if (patch.memberIds) refuse(membersProblem(org, patch.memberIds));
      const group: GroupRecord = {
        ...row,
        name: patch.name ?? row.name,
        pointIds,
        permissions,
        version: nextVersion(row.version),
      };
      await this.writeGroup(group);
      org.groups = org.groups.map((g) => (g === row ? group : g));
      if (patch.memberIds) await this.setMembers(org, groupId, new Set(patch.memberIds));
      return { org, group };
    });
  }

  /** Deletes a group; its members lose what it granted. */
  async deleteGroup(actor: Actor, groupId: number): Promise<void> {
    await this.withLock(`cabinet-users:${actor.orgId}`, async () => {
      const org = await this.directory(actor.orgId);
      const row = findGroup(org, groupId);
      requireWithin(actor, row, `group ${groupId} grants`);
      await this.writeGroup({ ...row, version: nextVersion(row.version) }, true);
      // Scope ignores deleted groups anyway; this keeps users.group_ids tidy.
      await this.setMembers(org, groupId, new Set());
    });
  }

  // -- internals

  /** Rewrites the users whose membership of `groupId` differs from `members`. */
  private async setMembers(org: OrgUsers, groupId: number, members: Set<number>) {
    const changed: UserRecord[] = [];
    for (const u of org.users) {
      const has = u.groupIds.includes(groupId);
      const want = members.has(u.userId);
      if (has === want) continue;
      changed.push({
        ...u,
        groupIds: want ? sorted([...u.groupIds, groupId]) : u.groupIds.filter((g) => g !== groupId),
        version: nextVersion(u.version),
      });
    }
    if (changed.length) await this.writeUsers(changed);
    org.users = org.users.map((u) => changed.find((c) => c.userId === u.userId) ?? u);
  }

  private async loginTaken(login: string): Promise<boolean> {
    const rows = await this.db.rows<{ user_id: number }>(
      `SELECT user_id FROM users FINAL WHERE login = {login:String} AND deleted = 0 LIMIT 1`,
      { login },
    );
    return rows.length > 0;
  }

  private async writeUsers(rows: UserRecord[], deleted = false): Promise<void> {
    await this.db.insert(
      'users',
      rows.map((r) => ({
        user_id: r.userId,
        org_id: r.orgId,
        login: r.login,
        password_hash: r.passwordHash,
        name: r.name,
        email: r.email,
        role: r.role,
        point_ids: r.pointIds,
        group_ids: r.groupIds,
        permissions: r.permissions,
        deleted: deleted ? 1 : 0,
        created_at: chTime(r.createdAt),
        version: r.version,
      })),
    );
  }

  private async writeGroup(r: GroupRecord, deleted = false): Promise<void> {
    await this.insert('groups', {
      group_id: r.groupId,
      org_id: r.orgId,
      name: r.name,
      point_ids: r.pointIds,
      permissions: r.permissions,
      deleted: deleted ? 1 : 0,
      created_at: chTime(r.createdAt),
      version: r.version,
    });
  }
}
