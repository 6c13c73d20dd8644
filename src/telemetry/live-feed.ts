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

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private channel(orgId: number): string {
    return `${this.prefix}live:${orgId}`;
  }

  /** Publishes an event; failures are logged, never passed to the caller (ingest must not wait). */
  publish(event: LiveEvent): void {
    this.redis.publish(this.channel(event.orgId), JSON.stringify(event)).catch((err: unknown) => {
      this.log.warn({ err }, 'live event not published');
    });
  }

  /** Adds a listener for one organization; returns the function that removes it. */
  async subscribe(orgId: number, listener: Listener): Promise<() => void> {
    if (!this.subscriber) {
      // Its own connection, queueing the subscribe until it is connected (the shared client
      // may refuse commands while not connected).
      this.subscriber = this.redis.duplicate({ enableOfflineQueue: true });
      this.subscriber.on('error', (err) => this.log.warn({ err: err.message }, 'live subscriber'));
      this.subscriber.on('pmessage', (_pattern, _channel, message: string) => {
        let event: LiveEvent;
        try {
          event = JSON.parse(message) as LiveEvent;
        } catch {
          return;
        }
        this.listeners.get(event.orgId)?.forEach((l) => l(event));
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
