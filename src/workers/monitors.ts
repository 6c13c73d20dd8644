// Watching the fleet: a KKM that went quiet (no request for the configured time) and came back,
// and shifts open longer than the warning time (23 h) or past the limit (24 h). Both raise
// notifications once per occurrence (a Redis marker each; Notifications dedups the stored copy).
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DocumentQueries } from '../storage/document-queries.js';
import type { Registry } from '../storage/registry.js';
import type { NewNotification } from '../storage/notifications.js';
import type { Notifier } from '../telemetry/notifier.js';
import { wallMs } from '../fiscal/reconciliation-rules.js';

const presenceKey = (prefix: string) => `${prefix}presence`;
const offlineKey = (prefix: string) => `${prefix}presence:offline`;
const cutoffKey = (prefix: string) => `${prefix}presence:cutoff`;

/**
 * Notes in Redis when each KKM was last heard from (any answered request of a known device).
 * Called on the ingest path: at most one write per KKM per `throttleMs`, never awaited.
 */
export class PresenceTracker {
  /** When each KKM was last written here; a write is due again after `throttleMs`. */
  private readonly written: LRUCache<number, number>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    throttleMs: number,
  ) {
    this.written = new LRUCache({ max: 500_000, ttl: Math.max(1, throttleMs) });
  }

  touch(kkmId: number, now = Date.now()): void {
    if (this.written.has(kkmId)) return;
    this.written.set(kkmId, now);
    this.redis.zadd(presenceKey(this.prefix), now, String(kkmId)).catch(() => {
      this.written.delete(kkmId);
    });
  }
}

export interface MonitorOptions {
  documents: DocumentQueries;
  redis: Redis;
  prefix: string;
  registry: Registry;
  notifier: Notifier;
  log: Logger;
  offlineAfterMs: number;
  shiftWarnHours: number;
  shiftMaxHours: number;
}

const HOUR_MS = 3_600_000;
const kkmName = (k: { serialNumber: string; kkmId: number }) => k.serialNumber || String(k.kkmId);
const minutes = (ms: number) => Math.round(ms / 60_000);

export class Monitors {
  constructor(private readonly o: MonitorOptions) {}

  /** KKMs that went quiet since the last check, and quiet ones heard from again. */
  async presence(now = Date.now()): Promise<{ offline: number; back: number }> {
    const { redis, prefix, registry } = this.o;
    const cutoff = now - this.o.offlineAfterMs;
    const since = Math.max(
      Number((await redis.get(cutoffKey(prefix))) ?? 0),
      cutoff - 7 * 86_400_000,
    );
    const notes: NewNotification[] = [];
    let offline = 0;
    let back = 0;

    // Heard from last between the previous cutoff and this one: newly quiet.
    for (let offset = 0; ; offset += 1000) {
      const page = await redis.zrangebyscore(
        presenceKey(prefix),
        `(${since}`,
        cutoff,
        'WITHSCORES',
        'LIMIT',
        offset,
        1000,
      );
      if (!page.length) break;
      for (let i = 0; i < page.length; i += 2) {
        const kkmId = Number(page[i]);
        const lastSeen = Number(page[i + 1]);
        if ((await redis.hsetnx(offlineKey(prefix), String(kkmId), String(lastSeen))) !== 1)
          continue;
        const kkm = await registry.kkms.getKkm(kkmId);
        if (!kkm || kkm.status !== 'active') continue;
        offline++;
        notes.push({
          orgId: kkm.orgId,
          kind: 'kkm_offline',
          subject: `${kkmId}:${lastSeen}`,
          kkmId,
          pointId: kkm.pointId,
          title: `KKM ${kkmName(kkm)} has not been in contact for ${minutes(now - lastSeen)} min`,
          detail: { lastSeenAt: new Date(lastSeen).toISOString() },
          createdAt: new Date(now),
        });
      }
      if (page.length < 2000) break;
    }
    await redis.set(cutoffKey(prefix), String(cutoff));

    // Quiet ones heard from since they went quiet: back.
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(offlineKey(prefix), cursor, 'COUNT', 1000);
      cursor = next;
      const ids: string[] = [];
      const seen: number[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        ids.push(flat[i]!);
        seen.push(Number(flat[i + 1]));
      }
      if (!ids.length) continue;
      const scores = await redis.zmscore(presenceKey(prefix), ...ids);
      for (const [i, id] of ids.entries()) {
        const score = scores[i] === null || scores[i] === undefined ? 0 : Number(scores[i]);
        if (score <= seen[i]!) continue;
        if ((await redis.hdel(offlineKey(prefix), id)) !== 1) continue;
        const kkm = await registry.kkms.getKkm(Number(id));
        if (!kkm || kkm.status !== 'active') continue;
        back++;
        notes.push({
          orgId: kkm.orgId,
          kind: 'kkm_online',
          subject: `${id}:${seen[i]}`,
          kkmId: kkm.kkmId,
          pointId: kkm.pointId,
          title: `KKM ${kkmName(kkm)} is back in contact after ${minutes(score - seen[i]!)} min`,
          detail: {
            lastSeenAt: new Date(seen[i]!).toISOString(),
            backAt: new Date(score).toISOString(),
          },
          createdAt: new Date(now),
        });
      }
    } while (cursor !== '0');

    await this.o.notifier.raise(notes);
    return { offline, back };
  }

  /**
   * Shifts open longer than the warning time or the limit. How long a shift has been open is
   * told by the device clock: from its opening document to its last document, plus the time
   * since that last document was received.
   */
  async shifts(now = Date.now()): Promise<{ warned: number; expired: number }> {
    const { documents, redis, prefix, shiftWarnHours, shiftMaxHours } = this.o;
    const rows = await documents.unclosedShifts(shiftMaxHours + 48);
    const notes: NewNotification[] = [];
    let warned = 0;
    let expired = 0;
    for (const r of rows) {
      let state: { shiftOpen?: boolean; shiftOpenedAt?: string };
      try {
        state = JSON.parse(r.state) as typeof state;
      } catch {
        continue;
      }
      if (!state.shiftOpen || !state.shiftOpenedAt) continue;
      const openMs = wallMs(r.last_time) - wallMs(state.shiftOpenedAt) + (now - r.last_received);
      const level =
        openMs > shiftMaxHours * HOUR_MS
          ? 'expired'
          : openMs > shiftWarnHours * HOUR_MS
            ? 'warning'
            : null;
      if (!level) continue;
      const kkmId = r.kkm_id;
      const shift = r.shift;
      const marker = `${prefix}shift-alert:${kkmId}:${shift}:${level}`;
      if ((await redis.set(marker, '1', 'EX', 14 * 86_400, 'NX')) !== 'OK') continue;
      if (level === 'expired') {
        // Past the limit the warning has nothing to add.
        await redis.set(`${prefix}shift-alert:${kkmId}:${shift}:warning`, '1', 'EX', 14 * 86_400);
      }
      const kkm = await this.o.registry.kkms.getKkm(kkmId);
      if (!kkm || kkm.status === 'deregistered') continue;
      const hours = Math.floor(openMs / HOUR_MS);
      if (level === 'expired') expired++;
      else warned++;
      notes.push({
        orgId: kkm.orgId,
        kind: level === 'expired' ? 'shift_open_expired' : 'shift_open_warning',
        subject: `${kkmId}:${shift}`,
        kkmId,
        pointId: kkm.pointId,
        title:
          level === 'expired'
            ? `KKM ${kkmName(kkm)}: shift ${shift} has been open ${hours} h, past the ${shiftMaxHours} h limit; close it`
            : `KKM ${kkmName(kkm)}: shift ${shift} has been open ${hours} h; it must be closed within ${shiftMaxHours} h`,
        detail: {
          shiftNumber: shift,
          openedAt: state.shiftOpenedAt,
          openHours: Math.round((openMs / HOUR_MS) * 10) / 10,
          limitHours: shiftMaxHours,
        },
        createdAt: new Date(now),
      });
    }
    await this.o.notifier.raise(notes);
    return { warned, expired };
  }
}
