// One transport's forwarder. It holds the transport's lease (one forwarder per transport in the
// whole deployment), and in a loop: applies waiting replays, finds the KKMs with committed
// documents or registry events beyond its positions (ClickHouse), reads a batch of them in
// order per KKM, sends it, and only once the receiver took it moves the positions (ClickHouse)
// and stores the acknowledgements that came back. A batch goes when it is full or its oldest
// document has waited the linger. Anything that fails is tried again from the stored
// positions: at least once, in order per KKM, and nothing lost across a crash, a Redis flush or
// an outage of the receiver (the positions wait as long as it takes).
import type { Logger } from 'pino';
import type { Coordination, Lease } from '../storage/coordination.js';
import type {
  ForwarderStatus,
  ForwardingStore,
  PendingKkm,
  StoredDocument,
  StreamPositions,
} from '../storage/forwarding.js';
import type { KkmEvent, KkmEvents } from '../storage/kkm-events.js';
import type { DomainEvents } from '../telemetry/events.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Notifier } from '../telemetry/notifier.js';
import {
  documentEnvelope,
  eventEnvelope,
  parseKey,
  type Acknowledgement,
  type ForwardedDocument,
} from './envelope.js';
import type { ForwardTransport } from './transport.js';

export interface ForwarderSettings {
  /** Most documents (and events) one batch carries. */
  batchSize: number;
  /** How long the oldest waiting document may wait for company. */
  lingerMs: number;
  /** How often new documents are looked for. */
  pollMs: number;
  /** While a backlog waits, the share (percent) of time spent reading and sending. */
  dutyPercent?: number;
  /** The transport's lease lasts this long from each renewal. */
  leaseMs: number;
  /** A lag above this raises a notification and a log line. */
  lagAlertMs: number;
  /** Pauses after failed batches: full jitter, doubling up to the maximum. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A document number that stays missing this long below a KKM's head is stepped over. */
  gapMs?: number;
}

export interface ForwarderDeps {
  transport: ForwardTransport;
  store: ForwardingStore;
  kkmEvents: KkmEvents;
  coordination: Coordination;
  events: DomainEvents;
  metrics: Metrics;
  notifier: Notifier;
  log: Logger;
  settings: ForwarderSettings;
  /** Names this process in the forwarder's status. */
  processName: string;
}

interface BatchItem {
  kkmId: number;
  stream: keyof StreamPositions;
  seq: number;
  /** Receive time (documents) or event time, epoch ms: the order within a KKM. */
  at: number;
  envelope: ForwardedDocument;
}

// The embedded engine runs one query at a time, commits included: what is not needed on every
// step is read less often. Waiting replays are looked for this often, and the exact lag (the
// oldest waiting document's receive time) is read this often; in between it is taken from
// the batches read.
const REPLAY_CHECK_MS = 5000;
const LAG_REFRESH_MS = 5000;
/** How far back the heads are derived again when a process takes the lease. */
const HEAL_WINDOW_MS = 3600_000;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** The rest after a batch that took `busyMs`, so that work is `dutyPercent` of the time. */
export const restAfter = (busyMs: number, dutyPercent: number) =>
  Math.round((busyMs * (100 - dutyPercent)) / dutyPercent);

export class Forwarder {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private lease: Lease | null = null;
  private leaseLost = false;
  private renewTimer: NodeJS.Timeout | null = null;
  private pendingSince: number | null = null;
  private rotation = 0;
  private failures = 0;
  private oldestPendingAt: number | null = null;
  private lagCheckedAt = 0;
  private replaysCheckedAt = 0;
  private headsHealed = false;
  /** What waits, as the last heads read and the batches sent since say (when a lot does). */
  private known: PendingKkm[] | null = null;
  /** KKMs whose next document number was missing, since when. */
  private readonly missingSince = new Map<number, number>();
  readonly status: ForwarderStatus;

  constructor(private readonly d: ForwarderDeps) {
    this.status = {
      holder: '',
      updatedAt: Date.now(),
      lastBatchAt: null,
      lastBatchDocuments: 0,
      lastOkAt: null,
      lastError: null,
      consecutiveFailures: 0,
      lagAlertSince: null,
    };
    d.metrics.forwardingLag(this.name, () => this.lagSeconds());
  }

  get name(): string {
    return this.d.transport.name;
  }

  /** Whether this process holds the transport's lease. */
  get active(): boolean {
    return this.lease !== null && !this.leaseLost;
  }

  lagSeconds(): number {
    return this.oldestPendingAt === null
      ? 0
      : Math.max(0, Date.now() - this.oldestPendingAt) / 1000;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops after the step in progress (an unanswered send is abandoned, sent again later). */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.dropLease();
    await this.d.transport.close();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      let wait: number;
      try {
        wait = await this.step();
      } catch (err) {
        if (signal.aborted) break;
        this.d.log.error({ err, transport: this.name }, 'forwarding: step failed');
        wait = this.pauseAfterFailure(err as Error);
      }
      await sleep(wait, signal);
    }
  }

  /** One step of the loop; returns how long to wait before the next. */
  private async step(): Promise<number> {
    const s = this.d.settings;
    if (this.leaseLost) this.dropLease();
    if (!this.lease && !(await this.takeLease())) return s.leaseMs / 3;

    if (!this.headsHealed) {
      // A kill may have cut an insert between the documents and their heads: the heads of the
      // last hour are derived again before forwarding resumes (see healHeads).
      await this.d.store.healHeads({ receivedSince: Date.now() - HEAL_WINDOW_MS });
      this.headsHealed = true;
    }
    if (Date.now() - this.replaysCheckedAt >= REPLAY_CHECK_MS) await this.applyReplays();

    // While far behind, the heads read last time still say a full batch waits: no need to
    // read them again (each query waits its turn behind the commits on the embedded engine).
    const pending = this.known ?? (await this.d.store.pending(this.name));
    this.known = null;
    const backlog = pending.reduce(
      (n, p) => n + p.head.doc - p.forwarded.doc + p.head.event - p.forwarded.event,
      0,
    );
    this.d.metrics.forwardBacklog.set({ transport: this.name }, backlog);
    await this.refreshLag(pending);
    if (backlog === 0) {
      this.pendingSince = null;
      return s.pollMs;
    }
    const now = Date.now();
    this.pendingSince ??= now;
    const waited = now - this.pendingSince;
    if (backlog < s.batchSize && waited < s.lingerMs) {
      return Math.min(s.pollMs, s.lingerMs - waited);
    }
    if (this.d.transport.positionsOnly) return this.skipAhead(pending);
    const readAt = Date.now();
    const items = await this.readBatch(pending);
    if (!items.length) return s.pollMs;
    const docTimes = items.filter((i) => i.stream === 'doc').map((i) => i.at);
    if (docTimes.length && new Set(items.map((i) => i.kkmId)).size === pending.length) {
      this.oldestPendingAt = docTimes.reduce((a, b) => Math.min(a, b));
    }
    const sendAt = Date.now();
    const moved = await this.send(items, new Map(pending.map((p) => [p.kkmId, p.forwarded])));
    this.d.log.debug(
      {
        transport: this.name,
        documents: items.length,
        backlog,
        readMs: sendAt - readAt,
        sendMs: Date.now() - sendAt,
      },
      'forwarding: batch',
    );
    if (!moved) return this.pauseAfterFailure(new Error(this.status.lastError ?? 'send failed'));
    this.pendingSince = null;
    if (backlog - items.length < s.batchSize) return s.pollMs;
    this.known = pending
      .map((p) => ({ ...p, forwarded: moved.get(p.kkmId) ?? p.forwarded }))
      .filter((p) => p.head.doc > p.forwarded.doc || p.head.event > p.forwarded.event);
    return restAfter(Date.now() - readAt, s.dutyPercent ?? 100);
  }

  /**
   * A transport that takes no documents: every KKM's document position moves to its head
   * without reading them, and only the registry events are sent (for their confirmations).
   */
  private async skipAhead(pending: PendingKkm[]): Promise<number> {
    const wanted: [number, number][] = [];
    for (const p of pending) {
      for (let seq = p.forwarded.event + 1; seq <= p.head.event; seq++) wanted.push([p.kkmId, seq]);
    }
    const events = await this.d.kkmEvents.byKeys(wanted.slice(0, this.d.settings.batchSize));
    const acks = await this.d.transport.send(events.map(eventEnvelope), this.abort.signal);
    const sentEvents = groupBy(events, (e) => e.kkmId);
    const positions = pending.map((p) => ({
      kkmId: p.kkmId,
      doc: p.head.doc,
      event:
        contiguous(sentEvents.get(p.kkmId) ?? [], p.forwarded.event, (e) => e.eventSeq).at(-1)
          ?.eventSeq ?? p.forwarded.event,
    }));
    await this.d.store.savePositions(this.name, positions);
    await this.acknowledge(acks);
    const documents = pending.reduce((n, p) => n + p.head.doc - p.forwarded.doc, 0);
    this.d.metrics.forwardBatches.inc({ transport: this.name, outcome: 'sent' });
    this.d.metrics.forwardDocuments.inc(
      { transport: this.name, outcome: 'sent' },
      documents + events.length,
    );
    this.oldestPendingAt = null;
    this.pendingSince = null;
    return wanted.length > events.length ? 0 : this.d.settings.pollMs;
  }

  /** Replays waiting for this transport, applied oldest first. */
  private async applyReplays(): Promise<void> {
    for (const replay of await this.d.store.replays(this.name, { waiting: true })) {
      const applied = await this.d.store.applyReplay(replay);
      this.d.log.info(
        {
          transport: this.name,
          replay: applied.id,
          kkmId: applied.kkmId,
          rewound: applied.rewound,
        },
        'forwarding: replay applied',
      );
    }
    this.replaysCheckedAt = Date.now();
    this.known = null;
  }

  private async takeLease(): Promise<boolean> {
    const lease = await this.d.coordination.lease(
      `forwarding:${this.name}`,
      this.d.settings.leaseMs,
    );
    if (!lease) return false;
    this.lease = lease;
    this.headsHealed = false;
    this.leaseLost = false;
    this.replaysCheckedAt = 0;
    this.lagCheckedAt = 0;
    this.status.holder = this.d.processName;
    this.renewTimer = setInterval(() => {
      lease.renew().then(
        (held) => {
          if (!held) this.leaseLost = true;
        },
        () => (this.leaseLost = true),
      );
    }, this.d.settings.leaseMs / 3);
    this.renewTimer.unref();
    this.d.log.info({ transport: this.name }, 'forwarding: this process forwards');
    return true;
  }

  private dropLease(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    if (this.lease && this.leaseLost) {
      this.d.log.warn({ transport: this.name }, 'forwarding: lease lost; another may forward');
    }
    void this.lease?.release();
    this.lease = null;
  }

  /**
   * The next batch: each KKM with something waiting gets a fair share (KKMs take turns when
   * there are more than the batch holds), its documents and events in their own order, merged
   * by time, and never an event after a document still left behind (or the other way round).
   */
  private async readBatch(pending: PendingKkm[]): Promise<BatchItem[]> {
    const size = this.d.settings.batchSize;
    const start = this.rotation++ % pending.length;
    const turn = [...pending.slice(start), ...pending.slice(0, start)];
    const share = Math.max(1, Math.ceil(size / turn.length));
    let budget = size;
    const wantedDocs: [number, number][] = [];
    const wantedEvents: [number, number][] = [];
    const want = (kkmId: number, from: number, to: number, into: [number, number][]) => {
      const n = Math.min(to - from, share, budget);
      for (let seq = from + 1; seq <= from + n; seq++) into.push([kkmId, seq]);
      budget -= Math.max(0, n);
    };
    for (const p of turn) {
      if (budget <= 0) break;
      want(p.kkmId, p.forwarded.event, p.head.event, wantedEvents);
      want(p.kkmId, p.forwarded.doc, p.head.doc, wantedDocs);
    }
    const [docs, events] = await Promise.all([
      this.d.store.documents(wantedDocs),
      this.d.kkmEvents.byKeys(wantedEvents),
    ]);
    const docsBy = groupBy(docs, (x) => x.kkmId);
    const eventsBy = groupBy(events, (x) => x.kkmId);
    const items: BatchItem[] = [];
    for (const p of turn) {
      const d = contiguous(docsBy.get(p.kkmId) ?? [], p.forwarded.doc, (x) => x.docSeq);
      const e = contiguous(eventsBy.get(p.kkmId) ?? [], p.forwarded.event, (x) => x.eventSeq);
      if (!d.length && p.head.doc > p.forwarded.doc) await this.checkGap(p);
      else this.missingSince.delete(p.kkmId);
      items.push(...mergeKkm(p, d, e));
    }
    return items;
  }

  /** A document number missing below the head for long is a gap (none stored): step over it. */
  private async checkGap(p: PendingKkm): Promise<void> {
    const since = this.missingSince.get(p.kkmId) ?? Date.now();
    this.missingSince.set(p.kkmId, since);
    if (Date.now() - since < (this.d.settings.gapMs ?? 60_000)) return;
    const next = await this.d.store.nextDocSeq(p.kkmId, p.forwarded.doc);
    if (next === null || next <= p.forwarded.doc + 1) return;
    this.d.log.warn(
      { transport: this.name, kkmId: p.kkmId, from: p.forwarded.doc + 1, to: next - 1 },
      'forwarding: no documents stored under these numbers; stepping over them',
    );
    await this.d.store.savePositions(this.name, [
      { kkmId: p.kkmId, doc: next - 1, event: p.forwarded.event },
    ]);
    this.missingSince.delete(p.kkmId);
  }

  /**
   * Sends a batch; on success moves the positions, takes the acknowledgements and returns the
   * new positions of the KKMs it carried (null when the receiver did not take it).
   */
  private async send(
    items: BatchItem[],
    forwarded: Map<number, StreamPositions>,
  ): Promise<Map<number, StreamPositions> | null> {
    const { metrics } = this.d;
    const transport = this.name;
    const began = Date.now();
    this.status.lastBatchAt = began;
    this.status.lastBatchDocuments = items.length;
    let acks: Acknowledgement[];
    try {
      acks = await this.d.transport.send(
        items.map((i) => i.envelope),
        this.abort.signal,
      );
    } catch (err) {
      if (this.abort.signal.aborted) return new Map();
      metrics.forwardBatches.inc({ transport, outcome: 'failed' });
      metrics.forwardDocuments.inc({ transport, outcome: 'failed' }, items.length);
      this.failures++;
      this.status.lastError = (err as Error).message;
      this.status.consecutiveFailures = this.failures;
      this.d.log.warn(
        {
          transport,
          documents: items.length,
          failures: this.failures,
          err: (err as Error).message,
        },
        'forwarding: batch not taken; it will be sent again',
      );
      await this.saveStatus();
      return null;
    }
    const now = Date.now();
    metrics.forwardBatches.inc({ transport, outcome: 'sent' });
    metrics.forwardDocuments.inc({ transport, outcome: 'sent' }, items.length);
    for (const i of items) metrics.forwardDelay.observe({ transport }, (now - i.at) / 1000);
    // The stream a batch did not touch keeps the position it had.
    const moved = new Map<number, StreamPositions>();
    for (const i of items) {
      const p = moved.get(i.kkmId) ?? { ...forwarded.get(i.kkmId)! };
      p[i.stream] = Math.max(p[i.stream], i.seq);
      moved.set(i.kkmId, p);
    }
    await this.d.store.savePositions(
      transport,
      [...moved].map(([kkmId, p]) => ({ kkmId, ...p })),
    );
    await this.acknowledge(acks);
    this.failures = 0;
    Object.assign(this.status, { lastOkAt: now, lastError: null, consecutiveFailures: 0 });
    await this.saveStatus();
    return moved;
  }

  /** Registry events the receiver confirmed: stored, then announced (kgd.confirmed). */
  private async acknowledge(acks: Acknowledgement[]): Promise<void> {
    const confirmations: [number, number, string][] = [];
    for (const ack of acks) {
      const key = parseKey(ack.key);
      if (!key || key.stream !== 'event') continue;
      if (ack.status === 'confirmed') confirmations.push([key.kkmId, key.seq, ack.reference ?? '']);
      else this.d.log.warn({ transport: this.name, key: ack.key }, 'forwarding: event rejected');
    }
    const confirmed = await this.d.kkmEvents.confirm(confirmations);
    if (confirmed.length) {
      this.d.log.info(
        { transport: this.name, confirmed: confirmed.length, first: confirmed[0]!.kkmId },
        'forwarding: the tax authority confirmed registry events',
      );
    }
    for (const event of confirmed) {
      await this.d.events.emit('kgd.confirmed', {
        kkmId: event.kkmId,
        eventSeq: event.eventSeq,
        event: event.kind,
        reference: event.reference,
        confirmedAt: event.confirmedAt ?? Date.now(),
        detail: event.detail,
      });
    }
  }

  /** The lag (oldest document not taken), and its alert when it passes the threshold. */
  private async refreshLag(pending: PendingKkm[]): Promise<void> {
    const now = Date.now();
    if (!pending.some((p) => p.head.doc > p.forwarded.doc)) this.oldestPendingAt = null;
    else if (now - this.lagCheckedAt >= LAG_REFRESH_MS) {
      this.oldestPendingAt = await this.d.store.oldestPending(pending);
      this.lagCheckedAt = now;
    } else this.oldestPendingAt ??= now; // new since the last batch: read exactly soon
    const lagMs = this.lagSeconds() * 1000;
    const threshold = this.d.settings.lagAlertMs;
    if (lagMs > threshold && this.status.lagAlertSince === null) {
      this.status.lagAlertSince = now;
      const lagSeconds = Math.round(lagMs / 1000);
      this.d.log.warn(
        { transport: this.name, lagSeconds, thresholdSeconds: threshold / 1000 },
        'forwarding: the lag passed its threshold',
      );
      // The operator's notification (organization 0: the OFD itself, not a taxpayer).
      await this.d.notifier.raise([
        {
          orgId: 0,
          kind: 'forwarding_lag',
          subject: `${this.name}:${now}`,
          title: `Forwarding over ${this.name} is ${lagSeconds} s behind`,
          detail: { transport: this.name, lagSeconds, thresholdSeconds: threshold / 1000 },
        },
      ]);
      await this.saveStatus();
    } else if (lagMs <= threshold && this.status.lagAlertSince !== null) {
      this.d.log.info({ transport: this.name }, 'forwarding: the lag is back under its threshold');
      this.status.lagAlertSince = null;
      await this.saveStatus();
    }
  }

  private pauseAfterFailure(err: Error): number {
    const { retryBaseMs, retryMaxMs } = this.d.settings;
    this.status.lastError = err.message;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failures, 20));
    return Math.random() * ceiling;
  }

  private async saveStatus(): Promise<void> {
    this.status.updatedAt = Date.now();
    await this.d.store.saveStatus(this.name, this.status).catch((err: Error) => {
      this.d.log.warn({ err: err.message }, 'forwarding: status not saved in Redis');
    });
  }
}

function groupBy<T>(list: readonly T[], key: (x: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const x of list) {
    const k = key(x);
    const group = out.get(k);
    if (group) group.push(x);
    else out.set(k, [x]);
  }
  return out;
}

/** The leading run of numbers right after `after` (a missing one ends it: order holds). */
function contiguous<T>(list: readonly T[], after: number, seq: (x: T) => number): T[] {
  const out: T[] = [];
  for (const x of list) {
    if (seq(x) !== after + out.length + 1) break;
    out.push(x);
  }
  return out;
}

/**
 * One KKM's documents and events in time order. When one stream has more waiting than this
 * batch carries, the other is cut at its last time, so nothing later goes ahead of it.
 */
function mergeKkm(p: PendingKkm, docs: StoredDocument[], events: KkmEvent[]): BatchItem[] {
  const docsLeft = p.forwarded.doc + docs.length < p.head.doc;
  const eventsLeft = p.forwarded.event + events.length < p.head.event;
  const lastDoc = docs.at(-1)?.receivedAt ?? -Infinity;
  const lastEvent = events.at(-1)?.at ?? -Infinity;
  const takeEvents = docsLeft ? prefixWhile(events, (e) => e.at <= lastDoc) : events;
  const takeDocs = eventsLeft ? prefixWhile(docs, (d) => d.receivedAt <= lastEvent) : docs;
  const eventItems = takeEvents.map((e) => ({
    kkmId: p.kkmId,
    stream: 'event' as const,
    seq: e.eventSeq,
    at: e.at,
    envelope: eventEnvelope(e),
  }));
  const docItems = takeDocs.map((d) => ({
    kkmId: p.kkmId,
    stream: 'doc' as const,
    seq: d.docSeq,
    at: d.receivedAt,
    envelope: documentEnvelope(d),
  }));
  // A merge, not a sort: each stream keeps its own order whatever the clocks said; at the
  // same millisecond the registry event (a registration) goes first.
  const merged: BatchItem[] = [];
  let [i, j] = [0, 0];
  while (i < eventItems.length || j < docItems.length) {
    const e = eventItems[i];
    const d = docItems[j];
    if (e && (!d || e.at <= d.at)) {
      merged.push(e);
      i++;
    } else {
      merged.push(d!);
      j++;
    }
  }
  return merged;
}

function prefixWhile<T>(list: readonly T[], ok: (x: T) => boolean): T[] {
  const end = list.findIndex((x) => !ok(x));
  return end < 0 ? [...list] : list.slice(0, end);
}
