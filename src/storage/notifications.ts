// Per-organization notifications ("Уведомления"): raised by ingest, the admin API and the
// workers, read and marked read in the cabinet. A notification's id is derived from what it is
// about (kind + subject), so raising the same one twice stores it once.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { nextVersion } from './repository.js';

export interface NewNotification {
  orgId: number;
  kind: string;
  /** What makes this notification unique within its kind (e.g. "kkm:5:blocked:<time>"). */
  subject: string;
  kkmId?: number;
  pointId?: number;
  title: string;
  detail?: Record<string, unknown>;
  createdAt?: Date;
}

export interface Notification {
  id: string;
  kind: string;
  kkmId: number;
  pointId: number;
  title: string;
  detail: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}

export const PERIODS = { today: 1, week: 7, month: 31 } as const;
export type Period = keyof typeof PERIODS;

const idOf = (n: NewNotification) =>
  createHash('sha256').update(`${n.orgId}|${n.kind}|${n.subject}`).digest('hex').slice(0, 24);

export class Notifications {
  constructor(private readonly db: Db) {}

  async raise(list: NewNotification[]): Promise<string[]> {
    if (!list.length) return [];
    const rows = list.map((n) => ({
      org_id: n.orgId,
      notification_id: idOf(n),
      created_at: (n.createdAt ?? new Date()).getTime(),
      kind: n.kind,
      kkm_id: n.kkmId ?? 0,
      point_id: n.pointId ?? 0,
      title: n.title,
      detail: JSON.stringify(n.detail ?? {}),
      read_at: null,
      // Version 1 for every raise: a repeated raise never overrides a later "read" mark.
      version: 1,
    }));
    await this.db.insert('notifications', rows);
    return rows.map((r) => r.notification_id);
  }

  /** Notifications of an organization since `days` ago, limited to `pointIds` when given. */
  async list(orgId: number, days: number, pointIds: number[] | 'all'): Promise<Notification[]> {
    const rows = await this.db.rows<Record<string, string | number>>(
      `SELECT notification_id, kind, kkm_id, point_id, title, detail,
          toString(created_at) AS created_text,
          if(isNull(read_at), '', toString(read_at)) AS read_text
        FROM notifications FINAL
        WHERE org_id = {org:UInt32} AND created_at >= now64(3) - toIntervalDay({days:UInt32})
          ${pointIds === 'all' ? '' : 'AND (point_id = 0 OR has({points:Array(UInt32)}, point_id))'}
        ORDER BY created_at DESC, notification_id LIMIT 1000`,
      { org: orgId, days, points: pointIds === 'all' ? [] : pointIds },
    );
    return rows.map((r) => ({
      id: String(r.notification_id),
      kind: String(r.kind),
      kkmId: Number(r.kkm_id),
      pointId: Number(r.point_id),
      title: String(r.title),
      detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
      createdAt: `${String(r.created_text).replace(' ', 'T')}Z`,
      readAt: r.read_text ? `${String(r.read_text).replace(' ', 'T')}Z` : null,
    }));
  }

  async unreadCount(orgId: number, pointIds: number[] | 'all'): Promise<number> {
    const all = await this.list(orgId, PERIODS.month, pointIds);
    return all.filter((n) => !n.readAt).length;
  }

  /** Marks the given notifications (of this organization and scope) read; returns how many. */
  async markRead(orgId: number, ids: string[], pointIds: number[] | 'all'): Promise<number> {
    const mine = (await this.list(orgId, PERIODS.month, pointIds)).filter(
      (n) => ids.includes(n.id) && !n.readAt,
    );
    if (!mine.length) return 0;
    const now = Date.now();
    await this.db.insert(
      'notifications',
      mine.map((n) => ({
        org_id: orgId,
        notification_id: n.id,
        created_at: Date.parse(n.createdAt),
        kind: n.kind,
        kkm_id: n.kkmId,
        point_id: n.pointId,
        title: n.title,
        detail: JSON.stringify(n.detail),
        read_at: now,
        version: nextVersion(1),
      })),
    );
    return mine.length;
  }
}
