// What follows from a domain event, wherever it happened: acknowledged documents and KKM
// changes reach the organization's live feed, a KKM change raises its notification, raised
// notifications are pushed live, and an offline upload queues its reconciliation.
import type { DomainEvents, KkmChange } from './events.js';
import type { LiveFeed } from './live-feed.js';
import type { Notifier } from './notifier.js';

const KKM_CHANGE_TITLES: Record<KkmChange, string> = {
  token_issued: 'KKM {kkm}: a new token was issued',
  point_changed: 'KKM {kkm} was re-registered at another point of sale',
  blocked: 'KKM {kkm} was blocked',
  active: 'KKM {kkm} was unblocked',
  deregistered: 'KKM {kkm} was deregistered',
};

export interface FanOutTargets {
  feed: LiveFeed;
  notifier: Notifier;
  /** Queues the reconciliation of a KKM's offline upload (the job queues' producer). */
  offlineUpload(kkmId: number): void;
}

export function fanOut(events: DomainEvents, t: FanOutTargets): void {
  events.on('document.acknowledged', (doc) => {
    if (doc.isOffline) t.offlineUpload(doc.kkmId);
    t.feed.publish({
      type: doc.docType === 'ticket' ? 'receipt' : 'document',
      orgId: doc.orgId,
      pointId: doc.pointId,
      kkmId: doc.kkmId,
      docType: doc.docType,
      shiftNumber: doc.shiftNumber,
      ticketNumber: doc.ticketNumber,
      total: doc.total,
      at: new Date().toISOString(),
    });
  });

  events.on('notification.raised', (n) =>
    t.feed.publish({
      type: 'notification',
      orgId: n.orgId,
      pointId: n.pointId ?? 0,
      kkmId: n.kkmId ?? 0,
      id: n.id,
      kind: n.kind,
      title: n.title,
      detail: n.detail ?? {},
      at: (n.createdAt ?? new Date()).toISOString(),
    }),
  );

  events.on('kkm.changed', async ({ kkmId, change, kkm }) => {
    if (!kkm) return;
    const at = new Date();
    await t.notifier.raise([
      {
        orgId: kkm.orgId,
        kind: `kkm_${change}`,
        subject: `${kkmId}:${at.toISOString()}`,
        kkmId,
        pointId: kkm.pointId,
        title: KKM_CHANGE_TITLES[change].replace('{kkm}', kkm.serialNumber || String(kkmId)),
        createdAt: at,
      },
    ]);
    t.feed.publish({
      type: 'kkm_status',
      orgId: kkm.orgId,
      pointId: kkm.pointId,
      kkmId,
      status: kkm.status,
      at: new Date().toISOString(),
    });
  });
}
