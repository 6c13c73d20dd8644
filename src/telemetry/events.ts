// Domain events of one process: a document was acknowledged to its register, a KKM's
// registration changed, a notification was raised. The parts that act on them (the live feed,
// notifications, metrics, the offline reconciliation queue) subscribe here instead of being
// called by the part that made the event (the assembly, src/app, wires the subscriptions).
import type { DocType } from '../fiscal/document-rows.js';
import type { KkmStatus } from '../fiscal/device-state.js';
import type { KkmEventKind } from '../storage/kkm-events.js';
import type { NewNotification } from '../storage/notifications.js';

/** A fiscal document committed and answered OK. */
export interface AcknowledgedDocument {
  kkmId: number;
  orgId: number;
  pointId: number;
  docType: DocType;
  docSeq: number;
  shiftNumber: number;
  ticketNumber?: string;
  total?: number;
  /** Made offline (is_offline, or an offline ticket number): reconciliation looks at it. */
  isOffline?: boolean;
}

/** What happened to a KKM: a token was issued, or its status became this. */
export type KkmChange = 'token_issued' | 'point_changed' | KkmStatus;

export interface KkmChanged {
  kkmId: number;
  change: KkmChange;
  /** The KKM after the change (null when it is gone). */
  kkm: {
    orgId: number;
    pointId: number;
    serialNumber: string;
    status: KkmStatus;
  } | null;
}

/**
 * The tax authority confirmed a registry event of a KKM (its registration, re-registration or
 * deregistration, say): the KKM's KGD status is done from now on. Emitted by the forwarder once
 * the confirmation is stored (kkm_events); the registry's own statuses follow from it.
 */
export interface KgdConfirmed {
  kkmId: number;
  eventSeq: number;
  event: KkmEventKind;
  /** The authority's reference, when it gave one. */
  reference: string;
  confirmedAt: number;
  /** The event's detail as recorded (a cabinet application's carries its `applicationId`). */
  detail: Record<string, unknown>;
}

export interface RaisedNotification extends NewNotification {
  id: string;
}

export interface DomainEventMap {
  'document.acknowledged': AcknowledgedDocument;
  'kkm.changed': KkmChanged;
  'notification.raised': RaisedNotification;
  'kgd.confirmed': KgdConfirmed;
}

type Handler<T> = (event: T) => void | Promise<void>;

export class DomainEvents {
  private readonly handlers: { [K in keyof DomainEventMap]?: Handler<DomainEventMap[K]>[] } = {};

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof DomainEventMap>(name: K, handler: Handler<DomainEventMap[K]>): () => void {
    const list = (this.handlers[name] ??= []) as Handler<DomainEventMap[K]>[];
    list.push(handler);
    return () => list.splice(list.indexOf(handler), 1);
  }

  /**
   * Calls every handler in subscription order. Synchronous handlers cost no promise (the ingest
   * path emits per document); when some handler is asynchronous the result waits for all of
   * them and rejects with the first failure.
   */
  emit<K extends keyof DomainEventMap>(name: K, event: DomainEventMap[K]): Promise<void> | void {
    const list = this.handlers[name] as Handler<DomainEventMap[K]>[] | undefined;
    if (!list) return;
    let pending: Promise<void>[] | undefined;
    for (const handler of list) {
      const result = handler(event);
      if (result) (pending ??= []).push(result);
    }
    if (pending) return Promise.all(pending).then(() => undefined);
  }
}
