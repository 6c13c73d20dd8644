// Who sees what in the cabinet, as pure functions over what the registry holds: an owner sees
// the whole organization; a sub-user the points of sale and modules granted to it directly or
// through its groups; nobody sees another organization.
import { PERMISSIONS, inPermissionOrder, type Permission } from './permissions.js';

export type Role = 'owner' | 'user';

/** Points of sale and modules, as granted to a user or group. */
export interface Grants {
  pointIds: readonly number[];
  permissions: readonly string[];
}

/** What a signed-in user may see and do. */
export interface Viewer {
  orgId: number;
  role: Role;
  permissions: ReadonlySet<string>;
  /** 'all' for the owner; otherwise the points granted directly or through groups. */
  pointIds: ReadonlySet<number> | 'all';
  /**
   * For a service centre's user: the clients' KKMs its accepted grants show, each with the
   * modules granted (cabinet manual §18). A centre sees nothing else.
   */
  serviced?: ReadonlyMap<number, ReadonlySet<string>>;
}

/** Where a KKM is registered. */
export interface KkmPlace {
  orgId: number;
  pointId: number;
}

/** A user's own grants plus those of its groups (only groups it belongs to count). */
export function effectiveGrants(
  user: Grants & { role: Role; groupIds: readonly number[] },
  groups: readonly (Grants & { groupId: number })[],
  orgPointIds: Iterable<number>,
): { pointIds: number[]; permissions: Permission[] } {
  const sorted = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b);
  if (user.role === 'owner')
    return { pointIds: sorted(orgPointIds), permissions: [...PERMISSIONS] };
  const points = new Set(user.pointIds);
  const permissions = new Set(user.permissions);
  for (const g of groups) {
    if (!user.groupIds.includes(g.groupId)) continue;
    g.pointIds.forEach((p) => points.add(p));
    g.permissions.forEach((p) => permissions.add(p));
  }
  return { pointIds: sorted(points), permissions: inPermissionOrder(permissions) };
}

export const seesPoint = (viewer: Viewer, orgId: number, pointId: number): boolean =>
  viewer.orgId === orgId && (viewer.pointIds === 'all' || viewer.pointIds.has(pointId));

/** A KKM of another organization, of a point not granted, or unknown (null) is not seen. */
export const seesKkm = (viewer: Viewer, place: KkmPlace | null | undefined): boolean =>
  !!place && seesPoint(viewer, place.orgId, place.pointId);

/**
 * Whether the viewer may read KKM `kkmId` (registered at `place`) in `module`: a KKM of its
 * own organization at a point it sees, or for a service centre a client's KKM granted to it
 * with that module (any module when none is named).
 */
export function readsKkm(
  viewer: Viewer,
  kkmId: number,
  place: KkmPlace | null | undefined,
  module?: string,
): boolean {
  if (!viewer.serviced) return seesKkm(viewer, place);
  const modules = viewer.serviced.get(kkmId);
  return !!place && !!modules && (module === undefined || modules.has(module));
}

export const mayUse = (viewer: Viewer, permission: Permission): boolean =>
  viewer.permissions.has(permission);

/**
 * What in `grants` lies outside the actor's own access (a sub-user grants only what it has),
 * or null when everything is within it.
 */
export function outsideAccess(
  actor: Viewer,
  grants: Grants,
): { pointId: number } | { permission: string } | null {
  if (actor.role === 'owner') return null;
  const mine = actor.pointIds;
  const pointId = mine === 'all' ? undefined : grants.pointIds.find((p) => !mine.has(p));
  if (pointId !== undefined) return { pointId };
  const permission = grants.permissions.find((p) => !actor.permissions.has(p));
  return permission === undefined ? null : { permission };
}
