// Cabinet KKM applications and the tax authority, as the assembly wires them. With a
// forwarding transport that sends to the authority (http, file), an application records its
// registry event when it is filed and waits; the authority's confirmation of that event
// (`kgd.confirmed`, from the forwarder) applies it to the registry, and what changed reaches
// ingest and the cabinet as any KKM change does. Without one (only `none`, or off), it
// completes at once.
import type { Logger } from 'pino';
import type { ForwardingConfig } from '../config/forwarding.js';
import { forwardsToKgd } from '../forwarding/index.js';
import { awaitKgd, completeAtOnce, type ForwardingDecision } from '../storage/applications.js';
import { ConflictError } from '../storage/errors.js';
import type { Registry } from '../storage/registry.js';
import type { DomainEvents, KgdConfirmed, KkmChange } from '../telemetry/events.js';

/** How a new KKM application is decided under this forwarding configuration. */
export const applicationDecision = (c: ForwardingConfig, registry: Registry): ForwardingDecision =>
  forwardsToKgd(c) ? awaitKgd(registry.kkms, registry.applications) : completeAtOnce;

export type OnKkmChanged = (kkmId: number, change: KkmChange) => Promise<void>;

/** After a KKM's token, point or status changed: ingest drops its state, the change is told. */
export function kkmChangeFanOut(d: {
  registry: Registry;
  events: DomainEvents;
  invalidateKkm(kkmId: number): Promise<void>;
}): OnKkmChanged {
  return async (kkmId, change) => {
    // Every ingest process must read the changed registration: drop the cached state.
    await d.invalidateKkm(kkmId);
    await d.events.emit('kkm.changed', {
      kkmId,
      change,
      kkm: await d.registry.kkms.getKkm(kkmId),
    });
  };
}

/** The KKM change a confirmed application makes (a registration's KKM is new: none). */
const CHANGE: Record<string, KkmChange | undefined> = {
  reregistration: 'point_changed',
  deregistration: 'deregistered',
};

/**
 * The handler of `kgd.confirmed`: the application the confirmed event was recorded for, if it
 * still waits, is applied (its event is not recorded again). Never throws: the forwarder
 * announces a confirmation once, and a failure here must not fail its batch.
 */
export function applyConfirmedApplications(d: {
  registry: Registry;
  onKkmChanged: OnKkmChanged;
  log: Logger;
}): (c: KgdConfirmed) => Promise<void> {
  const { applications } = d.registry;
  return async (c) => {
    const id = Number(c.detail.applicationId ?? 0);
    if (!id) return;
    const fields = { applicationId: id, kkmId: c.kkmId, eventSeq: c.eventSeq, event: c.event };
    try {
      const found = await applications.get(id);
      if (!found || found.kkmId !== c.kkmId) {
        d.log.warn(fields, 'KGD confirmed an event of an application that is not this KKM’s');
        return;
      }
      const { application, kkm } = await applications.confirm(id, {
        fnsKkmId: c.reference || String(c.kkmId),
        eventRecorded: true,
      });
      const change = CHANGE[application.kind];
      if (kkm && change) await d.onKkmChanged(kkm.kkmId, change);
      d.log.info(
        { ...fields, status: application.status },
        `KGD confirmed: application ${application.status}`,
      );
    } catch (err) {
      if (err instanceof ConflictError) {
        d.log.info({ ...fields, reason: err.message }, 'KGD confirmed: application not waiting');
      } else {
        d.log.error({ ...fields, err }, 'KGD confirmed: the application was not applied');
      }
    }
  };
}

/**
 * Applies the waiting applications whose event the authority confirmed while nothing applied
 * them (the process stopped between storing a confirmation and applying it, or applying it
 * failed): `apply` is the `kgd.confirmed` handler. Returns how many it found.
 */
export async function applyMissedConfirmations(
  registry: Registry,
  apply: (c: KgdConfirmed) => Promise<void>,
): Promise<number> {
  const waiting = await registry.applications.waitingForKgd();
  if (!waiting.length) return 0;
  const ids = new Set(waiting.map((a) => a.id));
  const missed = (
    await registry.kkmEvents.confirmedOf([...new Set(waiting.map((a) => a.kkmId))])
  ).filter((e) => ids.has(Number(e.detail.applicationId ?? 0)));
  for (const e of missed) {
    await apply({
      kkmId: e.kkmId,
      eventSeq: e.eventSeq,
      event: e.kind,
      reference: e.reference,
      confirmedAt: e.confirmedAt ?? Date.now(),
      detail: e.detail,
    });
  }
  return missed.length;
}
