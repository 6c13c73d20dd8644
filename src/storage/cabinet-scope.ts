// Who a cabinet caller is and what they may see: the organization always, and for a sub-user
// only the points of sale granted directly or through groups (src/access has the rules).
// Read from ClickHouse when the caller cached in Redis is stale (src/api/cabinet/sessions.ts).
import { effectiveGrants, readsKkm, type Viewer } from '../access/grants.js';
import { PERMISSIONS, type Permission } from '../access/permissions.js';
import type { Db } from './db.js';

export { PERMISSIONS, type Permission };

/** A signed-in cabinet user. */
export interface Caller extends Viewer {
  userId: number;
  login: string;
  permissions: Set<Permission>;
  pointIds: Set<number> | 'all';
}

export class Scope {
  constructor(private readonly db: Db) {}

  /**
   * The caller behind a user id, or null when the user is gone. A service centre's user
   * (`centre`) also carries the KKMs and modules its centre's accepted grants show, and only
   * the modules granted count among its permissions.
   */
  async caller(userId: number, orgId: number, centre = false): Promise<Caller | null> {
    const caller = await this.userCaller(userId, orgId);
    if (!caller || !centre) return caller;
    const grants = await this.db.rows<{ kkm_ids: number[]; modules: string[] }>(
      `SELECT kkm_ids, modules FROM service_grants FINAL
       WHERE centre_org_id = {org:UInt32} AND status = 'accepted'`,
      { org: orgId },
    );
    const serviced = new Map<number, Set<string>>();
    const granted = new Set<string>();
    for (const g of grants) {
      const modules = g.modules.filter((m) => caller.permissions.has(m as Permission));
      modules.forEach((m) => granted.add(m));
      for (const k of g.kkm_ids) {
        const set = serviced.get(Number(k)) ?? new Set<string>();
        modules.forEach((m) => set.add(m));
        serviced.set(Number(k), set);
      }
    }
    // The centre's own modules (users of the centre) stay; the clients' come from grants.
    const own: Permission[] = ['users', 'organization'];
    const permissions = new Set(
      [...caller.permissions].filter((p) => granted.has(p) || own.includes(p)),
    );
    return { ...caller, permissions, serviced };
  }

  private async userCaller(userId: number, orgId: number): Promise<Caller | null> {
    const [user] = await this.db.rows<{
      login: string;
      role: 'owner' | 'user';
      point_ids: number[];
      group_ids: number[];
      permissions: string[];
      deleted: number;
    }>(
      `SELECT login, role, point_ids, group_ids, permissions, deleted FROM users FINAL
       WHERE user_id = {user:UInt32} AND org_id = {org:UInt32}`,
      { user: userId, org: orgId },
    );
    if (!user || user.deleted) return null;
    const base = { userId, orgId, login: user.login, role: user.role };
    if (user.role === 'owner') {
      return { ...base, permissions: new Set(PERMISSIONS), pointIds: 'all' };
    }
    const groups = user.group_ids.length
      ? await this.db.rows<{ group_id: number; point_ids: number[]; permissions: string[] }>(
          `SELECT group_id, point_ids, permissions FROM groups FINAL
           WHERE org_id = {org:UInt32} AND has({ids:Array(UInt32)}, group_id) AND deleted = 0`,
          { org: orgId, ids: user.group_ids },
        )
      : [];
    const grants = effectiveGrants(
      {
        role: 'user',
        pointIds: user.point_ids,
        groupIds: user.group_ids,
        permissions: user.permissions,
      },
      groups.map((g) => ({
        groupId: g.group_id,
        pointIds: g.point_ids,
        permissions: g.permissions,
      })),
      [],
    );
    return {
      ...base,
      permissions: new Set(grants.permissions),
      pointIds: new Set(grants.pointIds),
    };
  }

  /** The KKMs the caller may see (any status). */
  async kkmIds(caller: Caller): Promise<number[]> {
    if (caller.serviced) return [...caller.serviced.keys()].sort((a, b) => a - b);
    const rows = await this.db.rows<{ kkm_id: number }>(
      caller.pointIds === 'all'
        ? `SELECT kkm_id FROM kkms FINAL WHERE org_id = {org:UInt32} ORDER BY kkm_id`
        : `SELECT kkm_id FROM kkms FINAL WHERE org_id = {org:UInt32}
             AND has({points:Array(UInt32)}, point_id) ORDER BY kkm_id`,
      { org: caller.orgId, points: caller.pointIds === 'all' ? [] : [...caller.pointIds] },
    );
    return rows.map((r) => r.kkm_id);
  }

  /** Whether one KKM is in the caller's scope (another org's or point's KKM is not). */
  async seesKkm(caller: Caller, kkmId: number, module?: string): Promise<boolean> {
    const [row] = await this.db.rows<{ org_id: number; point_id: number }>(
      `SELECT org_id, point_id FROM kkms FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkmId },
    );
    return readsKkm(caller, kkmId, row && { orgId: row.org_id, pointId: row.point_id }, module);
  }
}
