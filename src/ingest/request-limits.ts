// Request rate limits in front of the command core, shared by every transport: per device ID
// and per remote address, as in-process token buckets. A device over its rate, or a frame from
// an address over its rate, is answered RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE (254: the
// register keeps its data and retries later) without touching Redis or ClickHouse; HTTP
// POST /kkm from an address over its rate gets 429 before its body is read.
// Each process limits what it sees: behind N ingest processes a device that spreads its
// requests over all of them could get up to N times its rate.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { encodeResponse, peekCommand, resultResponse } from '../protocol/codec.js';
import type { Frame } from '../protocol/framer.js';
import { Command, ResultCode } from '../protocol/schema.js';

/** Where a request came from. */
export interface Peer {
  /** The remote IP address of the connection. */
  address: string;
  /** The transport already applied the per-address limit to this request (HTTP POST /kkm). */
  addressAdmitted?: boolean;
}

/** A transport's view of the ingest path: one request frame in, its answer frame out. */
export type KkmHandler = (frame: Frame, peer: Peer) => Promise<Buffer>;

export type LimitScope = 'device' | 'address';

interface Bucket {
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
  /** Refusals not logged yet, and when the last log line about this key was written. */
  refused: number;
  loggedAt: number;
}

/** How often a key over its limit is logged at most (with the count of refusals since). */
const LOG_EVERY_MS = 10_000;

/**
 * Token buckets by key: `rate` tokens a second up to `burst`. The map is bounded: buckets that
 * have refilled are dropped by `sweep` (a new bucket starts full, so nothing is lost), and when
 * it is full anyway the least recently used bucket goes first, which only ever makes one key's
 * limit laxer.
 */
export class TokenBuckets<K extends number | string> {
  private readonly buckets: LRUCache<K, Bucket>;

  constructor(
    readonly rate: number,
    readonly burst: number,
    maxKeys = 1_000_000,
  ) {
    this.buckets = new LRUCache({ max: maxKeys });
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`; the bucket when there was none left, else null. */
  take(key: K, now = performance.now()): Bucket | null {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now, refused: 0, loggedAt: -Infinity };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return bucket;
  }

  /** Drops the buckets that are full again. */
  sweep(now = performance.now()): void {
    for (const [key, b] of this.buckets.entries()) {
      if (b.tokens + ((now - b.at) * this.rate) / 1000 >= this.burst) this.buckets.delete(key);
    }
  }
}

export interface RequestLimits {
  /** Requests a second per device ID (0: no limit), with bursts of up to `deviceBurst`. */
  deviceRate: number;
  deviceBurst: number;
  /** Requests a second per remote address (0: no limit), with bursts of up to `addressBurst`. */
  addressRate: number;
  addressBurst: number;
}

export class RequestGuard {
  private readonly devices: TokenBuckets<number> | null;
  private readonly addresses: TokenBuckets<string> | null;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    limits: RequestLimits,
    private readonly log: Logger,
    /** Called for every request refused by a limit (metrics). */
    private readonly onRefused?: (scope: LimitScope, command: number) => void,
  ) {
    this.devices =
      limits.deviceRate > 0 ? new TokenBuckets(limits.deviceRate, limits.deviceBurst) : null;
    this.addresses =
      limits.addressRate > 0 ? new TokenBuckets(limits.addressRate, limits.addressBurst) : null;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      this.devices?.sweep(now);
      this.addresses?.sweep(now);
    }, 10_000);
    this.sweeper.unref();
  }

  /** Takes a request from `address` out of its rate; false (and a log line now and then) when over it. */
  admitAddress(address: string, now = performance.now()): boolean {
    const over = this.addresses?.take(address, now);
    if (!over) return true;
    this.refused(over, 'address', { remote: address }, now);
    return false;
  }

  /** Wraps the command core: requests over a limit get 254 and never reach it. */
  guard(next: (frame: Frame) => Promise<Buffer>): KkmHandler {
    return (frame, peer) => {
      const now = performance.now();
      const deviceId = frame.header.deviceId;
      let scope: LimitScope | null = null;
      if (!peer.addressAdmitted && !this.admitAddress(peer.address, now)) scope = 'address';
      else {
        const over = this.devices?.take(deviceId, now);
        if (over) {
          scope = 'device';
          this.refused(over, 'device', { kkmId: deviceId, remote: peer.address }, now);
        }
      }
      if (!scope) return next(frame);
      const command = peekCommand(frame.payload) ?? Command.COMMAND_SYSTEM;
      this.onRefused?.(scope, command);
      const text =
        scope === 'device' ? 'too many requests from this KKM' : 'too many requests from here';
      return Promise.resolve(
        encodeResponse(
          frame.header,
          frame.header.token,
          resultResponse(
            command,
            ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
            `${text}; retry later`,
          ),
        ),
      );
    };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private refused(bucket: Bucket, scope: LimitScope, who: object, now: number): void {
    bucket.refused += 1;
    if (now - bucket.loggedAt < LOG_EVERY_MS) return;
    this.log.warn(
      { ...who, limit: scope, refused: bucket.refused },
      scope === 'device'
        ? 'KKM over its request rate; answering 254'
        : 'address over its request rate; refusing its requests',
    );
    bucket.refused = 0;
    bucket.loggedAt = now;
  }
}
