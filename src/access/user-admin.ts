// The rules of managing an organization's users and groups (cabinet manual §13–14), as pure
// functions over the organization's directory: what a user effectively has, which grants are
// the organization's to give, what lies outside the acting user's own access, and which users
// a caller may see. The users repository applies them under its lock; a problem comes back as
// a value, never thrown, so each caller words its refusal.
import { effectiveGrants, outsideAccess, type Grants, type Role, type Viewer } from './grants.js';
import { PERMISSIONS, isPermission, type Permission } from './permissions.js';

export interface MemberGrants extends Grants {
  userId: number;
  role: Role;
  groupIds: readonly number[];
}

export interface GroupGrants extends Grants {
  groupId: number;
}

/** One organization's live users, groups and points of sale. */
export interface Directory {
  users: readonly MemberGrants[];
  groups: readonly GroupGrants[];
  pointIds: ReadonlySet<number>;
}

/** A field and what is wrong with it. */
export interface Problem {
  field: string;
  problem: string;
}

/** The groups of a user that still exist. */
export function liveGroupIds(dir: Directory, user: { groupIds: readonly number[] }): number[] {
  const live = new Set(dir.groups.map((g) => g.groupId));
  return user.groupIds.filter((g) => live.has(g));
}

/** What a user can see: its grants plus its live groups'; everything for the owner. */
export const effectiveOf = (
  dir: Directory,
  user: Grants & { role: Role; groupIds: readonly number[] },
): { pointIds: number[]; permissions: Permission[] } =>
  effectiveGrants(user, dir.groups, dir.pointIds);

/** Points and groups must be the organization's, permissions the cabinet's. */
export function grantsProblem(
  dir: Directory,
  g: Grants & { groupIds: readonly number[] },
): Problem | null {
  const foreignPoint = g.pointIds.find((p) => !dir.pointIds.has(p));
  if (foreignPoint !== undefined) {
    return {
      field: 'pointIds',
      problem: `contains ${foreignPoint}, which is not a point of sale of this organization`,
    };
  }
  const live = new Set(dir.groups.map((x) => x.groupId));
  const foreignGroup = g.groupIds.find((x) => !live.has(x));
  if (foreignGroup !== undefined) {
    return {
      field: 'groupIds',
      problem: `contains ${foreignGroup}, which is not a group of this organization`,
    };
  }
  const unknown = g.permissions.find((p) => !isPermission(p));
  if (unknown !== undefined) {
    return {
      field: 'permissions',
      problem: `contains ${unknown}; allowed: ${PERMISSIONS.join(', ')}`,
    };
  }
  return null;
}

/** Members of a group must be users of the organization. */
export function membersProblem(dir: Directory, memberIds: readonly number[]): Problem | null {
  const users = new Set(dir.users.map((u) => u.userId));
  const foreign = memberIds.find((m) => !users.has(m));
  return foreign === undefined
    ? null
    : {
        field: 'memberIds',
        problem: `contains ${foreign}, which is not a user of this organization`,
      };
}

/**
 * Why `grants` lie outside the actor's own access (a sub-user acts only within it: points of
 * sale and permissions alike), worded after `what`; null when they lie within it.
 */
export function outsideReason(actor: Viewer, grants: Grants, what: string): string | null {
  const outside = outsideAccess(actor, grants);
  if (!outside) return null;
  return 'pointId' in outside
    ? `${what} point of sale ${outside.pointId}, which is outside your own access`
    : `${what} the "${outside.permission}" permission, which you do not have`;
}

/**
 * Which of the organization's users a caller may see: all of them with every point (the owner,
 * or a sub-user granted every point); otherwise itself and the users of its points: those whose
 * access lies within its own points. Another point's staff (and the owner) stay out of view.
 */
export function seesUser(
  caller: Viewer & { userId: number },
  user: { userId: number; role: Role; effectivePointIds: readonly number[] },
): boolean {
  const mine = caller.pointIds;
  if (mine === 'all' || user.userId === caller.userId) return true;
  const theirs = user.effectivePointIds;
  return user.role !== 'owner' && theirs.length > 0 && theirs.every((p) => mine.has(p));
}
