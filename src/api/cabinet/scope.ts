// Who a cabinet caller is and what they may see: the organization always, and for a sub-user
// only the points of sale granted directly or through groups. Everything is read from
// ClickHouse on each request, so a changed grant applies at once.
import type { ClickHouseClient } from '../../storage/clickhouse.js';

export const PERMISSIONS = [
  'transactions',
  'reports',
  'analytics',
  'exports',
  'users',
  'organization',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface Caller {
  userId: number;
  orgId: number;
  login: string;
  role: 'owner' | 'user';
  permissions: Set<Permission>;
  /** 'all' for the owner; otherwise the points granted directly or through groups. */
  pointIds: Set<number> | 'all';
}

export class Scope {
  constructor(private readonly ch: ClickHouseClient) {}

  private async rows<T>(query: string, query_params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.ch.query({ query, query_params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  /** The caller behind a user id, or null when the user is gone. */
  async caller(userId: number, orgId: number): Promise<Caller | null> {
    const [user] = await this.rows<{
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
    if (!user || Number(user.deleted)) return null;
    const permissions = new Set(user.permissions as Permission[]);
    if (user.role === 'owner') {
      return {
        userId,
        orgId,
        login: user.login,
        role: 'owner',
        permissions: new Set(PERMISSIONS),
        pointIds: 'all',
      };
    }
    const points = new Set(user.point_ids.map(Number));
    if (user.group_ids.length) {
      const groups = await this.rows<{ point_ids: number[]; permissions: string[] }>(
        `SELECT point_ids, permissions FROM groups FINAL
         WHERE org_id = {org:UInt32} AND has({ids:Array(UInt32)}, group_id) AND deleted = 0`,
        { org: orgId, ids: user.group_ids.map(Number) },
      );
      for (const g of groups) {
        g.point_ids.forEach((p) => points.add(Number(p)));
        g.permissions.forEach((p) => permissions.add(p as Permission));
      }
    }
    return { userId, orgId, login: user.login, role: 'user', permissions, pointIds: points };
  }

  /** The KKMs the caller may see (any status). */
  async kkmIds(caller: Caller): Promise<number[]> {
    const rows = await this.rows<{ kkm_id: number }>(
      caller.pointIds === 'all'
        ? `SELECT kkm_id FROM kkms FINAL WHERE org_id = {org:UInt32} ORDER BY kkm_id`
        : `SELECT kkm_id FROM kkms FINAL WHERE org_id = {org:UInt32}
             AND has({points:Array(UInt32)}, point_id) ORDER BY kkm_id`,
      { org: caller.orgId, points: caller.pointIds === 'all' ? [] : [...caller.pointIds] },
    );
    return rows.map((r) => Number(r.kkm_id));
  }

  /** Whether one KKM is in the caller's scope (another org's or point's KKM is not). */
  async seesKkm(caller: Caller, kkmId: number): Promise<boolean> {
    const [row] = await this.rows<{ org_id: number; point_id: number }>(
      `SELECT org_id, point_id FROM kkms FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkmId },
    );
    if (!row || Number(row.org_id) !== caller.orgId) return false;
    return caller.pointIds === 'all' || caller.pointIds.has(Number(row.point_id));
  }
}
