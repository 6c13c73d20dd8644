// Fan-out of acknowledged receipts and KKM status changes to cabinet WebSocket clients, through
// Redis pub/sub so a receipt answered by any ingest process reaches clients of every API
// process. One subscriber connection per process; events are filtered per client by scope.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface LiveEvent {
  /** access_changed: users or groups of the org changed (for open sockets, never sent on). */
  type: 'receipt' | 'kkm_status' | 'document' | 'notification' | 'access_changed';
  orgId: number;
  pointId: number;
  kkmId: number;
  at: string;
  [field: string]: unknown;
}

type Listener = (event: LiveEvent) => void;

export class LiveFeed {
  private subscriber: Redis | null = null;
  private readonly listeners = new Map<number, Set<Listener>>();
  /** Events of this turn, by organization, not yet published. */
  private readonly outgoing = new Map<number, LiveEvent[]>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private channel(orgId: number): string {
    return `${this.prefix}live:${orgId}`;
  }

  /**
   * Publishes an event; failures are logged, never passed to the caller (ingest must not wait).
   * The events of one turn of the event loop go out as one message per organization (a JSON
   * array): under load a turn answers many receipts, and each message is a Redis command.
   */
  publish(event: LiveEvent): void {
    let events = this.outgoing.get(event.orgId);
    if (!events) this.outgoing.set(event.orgId, (events = []));
    events.push(event);
    if (this.outgoing.size === 1 && events.length === 1) setImmediate(() => this.sendOutgoing());
  }

  private sendOutgoing(): void {
    for (const [orgId, events] of this.outgoing) {
      const message = JSON.stringify(events.length === 1 ? events[0] : events);
      this.redis.publish(this.channel(orgId), message).catch((err: unknown) => {
        this.log.warn({ err, events: events.length }, 'live events not published');
      });
    }
    this.outgoing.clear();
  }

  /** Adds a listener for one organization; returns the function that removes it. */
  async subscribe(orgId: number, listener: Listener): Promise<() => void> {
    if (!this.subscriber) {
      // Its own connection, queueing the subscribe until it is connected (the shared client
      // may refuse commands while not connected).
      this.subscriber = this.redis.duplicate({ enableOfflineQueue: true });
      this.subscriber.on('error', (err) => this.log.warn({ err: err.message }, 'live subscriber'));
      this.subscriber.on('pmessage', (_pattern, _channel, message: string) => {
        let parsed: LiveEvent | LiveEvent[];
        try {
          parsed = JSON.parse(message) as LiveEvent | LiveEvent[];
        } catch {
          return;
        }
        for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
          this.listeners.get(event.orgId)?.forEach((l) => l(event));
        }
      });
      await this.subscriber.psubscribe(`${this.prefix}live:*`);
    }
    let set = this.listeners.get(orgId);
    if (!set) this.listeners.set(orgId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(orgId);
    };
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.listeners.clear();
  }
}
