// Request rate limits in front of the command core, shared by every transport: per device ID
// and per remote address, as in-process token buckets. A device over its rate, or a frame from
// an address over its rate, is answered RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE (254: the
// register keeps its data and retries later) without touching Redis or ClickHouse; HTTP
// POST /kkm from an address over its rate gets 429 before its body is read.
// Each process limits what it sees: behind N ingest processes a device that spreads its
// requests over all of them could get up to N times its rate.
import type { Logger } from 'pino';
import { encodeResponse, peekCommand, resultResponse } from '../protocol/codec.js';
import type { Frame } from '../protocol/framer.js';
import { Command, ResultCode } from '../protocol/schema.js';
import { presentsToken, type DeviceState } from '../fiscal/device-state.js';
import { TokenBuckets, type Bucket } from '../access/token-buckets.js';

/** Where a request came from. */
export interface Peer {
  /** The remote IP address of the connection. */
  address: string;
  /** The transport already applied the per-address limit to this request (HTTP POST /kkm). */
  addressAdmitted?: boolean;
}

/** A transport's view of the ingest path: one request frame in, its answer frame out. */
export type KkmHandler = (frame: Frame, peer: Peer) => Promise<Buffer>;

export type LimitScope = 'device' | 'address' | 'wrong_token';

/**
 * The command core's gate asks this once it knows whether the request presented the device's
 * token (or repeated its last request): the scope whose limit refuses it, or null to go on.
 */
export type GateCheck = (authentic: boolean) => LimitScope | null;

const REFUSAL_TEXT: Record<LimitScope, string> = {
  device: 'too many requests from this KKM',
  address: 'too many requests from here',
  wrong_token: 'too many wrong-token requests from here',
};

/** The 254 answer to a request a limit refused (the register keeps its data and retries). */
export function refusal(frame: Frame, scope: LimitScope, command: number): Buffer {
  return encodeResponse(
    frame.header,
    frame.header.token,
    resultResponse(
      command,
      ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
      `${REFUSAL_TEXT[scope]}; retry later`,
    ),
  );
}

export { TokenBuckets, type Bucket, type BucketSource } from '../access/token-buckets.js';

/** How often a key over its limit is logged at most (with the count of refusals since). */
const LOG_EVERY_MS = 10_000;

export interface RequestLimits {
  /** Requests a second per device ID (0: no limit), with bursts of up to `deviceBurst`. */
  deviceRate: number;
  deviceBurst: number;
  /** Requests a second per remote address (0: no limit), with bursts of up to `addressBurst`. */
  addressRate: number;
  addressBurst: number;
  /** Requests a second per remote address that fail the token check (0: no limit). */
  wrongTokenRate: number;
  wrongTokenBurst: number;
}

/** The token buckets every ingest process shares (storage/rate-buckets.ts): spend, get the level. */
export interface SharedBuckets {
  spend(
    scope: string,
    key: string | number,
    spent: number,
    rate: number,
    burst: number,
  ): Promise<number>;
}

export interface GuardHooks {
  /** Called for every request refused by a limit (metrics). */
  onRefused?: (scope: LimitScope, command: number) => void;
  /** The device state this process holds, if any (no Redis): tells a wrong token up front. */
  knownState?: (kkmId: number) => DeviceState | undefined;
  /** Called for every request for a device that failed its token check (metrics, notice). */
  onWrongToken?: (kkmId: number, address: string) => void;
}

export class RequestGuard {
  private readonly devices: TokenBuckets<number> | null;
  private readonly addresses: TokenBuckets<string> | null;
  /** Wrong-token requests per address: an attacker spends these, never the device's budget. */
  private readonly wrongTokens: TokenBuckets<string> | null;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    limits: RequestLimits,
    private readonly log: Logger,
    private readonly hooks: GuardHooks = {},
    /** Buckets shared by every ingest process (Redis); none: each process keeps its own. */
    shared?: SharedBuckets,
  ) {
    const buckets = <K extends number | string>(scope: LimitScope, rate: number, burst: number) =>
      rate > 0
        ? new TokenBuckets<K>(
            rate,
            burst,
            undefined,
            shared && ((key, spent) => shared.spend(scope, key, spent, rate, burst)),
          )
        : null;
    this.devices = buckets<number>('device', limits.deviceRate, limits.deviceBurst);
    this.addresses = buckets<string>('address', limits.addressRate, limits.addressBurst);
    this.wrongTokens = buckets<string>(
      'wrong_token',
      limits.wrongTokenRate,
      limits.wrongTokenBurst,
    );
    this.sweeper = setInterval(() => {
      const now = performance.now();
      this.devices?.sweep(now);
      this.addresses?.sweep(now);
      this.wrongTokens?.sweep(now);
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

  /**
   * Wraps the command core: requests over a limit get 254. A device's own budget is spent only
   * by requests that present its token (or repeat its last request), so a stranger who knows
   * its ID cannot exhaust it: wrong-token requests spend their address's budget instead. When
   * this process holds the device's state the check is made here, before Redis; otherwise the
   * core's gate makes it (`GateCheck`), after its claim.
   */
  guard(next: (frame: Frame, gate?: GateCheck) => Promise<Buffer>): KkmHandler {
    return (frame, peer) => {
      const now = performance.now();
      const deviceId = frame.header.deviceId;
      if (!peer.addressAdmitted && !this.admitAddress(peer.address, now)) {
        return this.refuse(frame, 'address');
      }
      const known = this.hooks.knownState?.(deviceId);
      const authentic = known ? presentsToken(known, frame.header) : undefined;
      if (authentic === true) {
        return this.chargeDevice(deviceId, peer.address, now)
          ? this.refuse(frame, 'device')
          : next(frame);
      }
      if (authentic === false) {
        return this.chargeWrongToken(deviceId, peer.address)
          ? this.refuse(frame, 'wrong_token')
          : next(frame);
      }
      return next(frame, (passed) => {
        const scope = passed
          ? this.chargeDevice(deviceId, peer.address)
          : this.chargeWrongToken(deviceId, peer.address);
        if (scope)
          this.hooks.onRefused?.(scope, peekCommand(frame.payload) ?? Command.COMMAND_SYSTEM);
        return scope;
      });
    };
  }

  /** Spends the device's budget: 'device' when it has none left, else null. */
  private chargeDevice(deviceId: number, address: string, now = performance.now()) {
    const over = this.devices?.take(deviceId, now);
    if (!over) return null;
    this.refused(over, 'device', { kkmId: deviceId, remote: address }, now);
    return 'device' as const;
  }

  /** Counts a failed token check and spends the address's wrong-token budget. */
  private chargeWrongToken(deviceId: number, address: string): LimitScope | null {
    this.hooks.onWrongToken?.(deviceId, address);
    const now = performance.now();
    const over = this.wrongTokens?.take(address, now);
    if (!over) return null;
    this.refused(over, 'wrong_token', { kkmId: deviceId, remote: address }, now);
    return 'wrong_token';
  }

  private refuse(frame: Frame, scope: LimitScope): Promise<Buffer> {
    const command = peekCommand(frame.payload) ?? Command.COMMAND_SYSTEM;
    this.hooks.onRefused?.(scope, command);
    return Promise.resolve(refusal(frame, scope, command));
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
        : scope === 'address'
          ? 'address over its request rate; refusing its requests'
          : 'address over its wrong-token rate; refusing its wrong-token requests',
    );
    bucket.refused = 0;
    bucket.loggedAt = now;
  }
}
