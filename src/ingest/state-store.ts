// Device state in Redis, with a per-device claim so one request at a time works on a device
// across all ingest processes. The claim ("p") is taken before a request is handled and
// released together with the new state after its document is committed. A claim left behind
// by a crashed process, or marked uncertain after a failed commit, makes the next request
// rebuild the state from ClickHouse — so Redis never has to be right, only fast.
//
// Within one process a device's claims go one after another: a claim for a device this process
// already claims waits (a few at most) for that claim's release instead of meeting it in Redis
// and being told "busy". A stranger's wrong-token request for the device (checked after the
// claim when the state is not in this process) then delays the register's by a round trip
// instead of costing it a 254 and a resend. Between processes Redis still decides.
//
// Two things keep Redis off the hot path's CPU bill:
// - claims (and releases) that arrive in the same turn of the event loop go to Redis as one
//   script call over all their keys, not one call each;
// - each state written is tagged with a version ("v", the unique claim that wrote it) and kept
//   in this process as well; a claim sends the version it holds and Redis answers "yours is
//   current" instead of the state, so an unchanged device costs no transfer and no JSON parse.
//   A flushed or rebuilt key gets a new version, so a stale copy here is never trusted.
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import { deviceStateKey, type DeviceState } from '../fiscal/device-state.js';

// KEYS: device keys. ARGV: lease ms, then per key: owner, cached version ('' for none).
// Per key: {'busy'} | {'stale', claim} | {'miss', claim} | {'cached', claim} | {'ok', claim, v, s}
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local claim = now .. ':' .. ARGV[i * 2]
  local p = redis.call('HGET', key, 'p')
  if p and now - tonumber(string.match(p, '^(%d+)')) < lease then
    out[i] = {'busy'}
  else
    redis.call('HSET', key, 'p', claim)
    if p then
      out[i] = {'stale', claim}
    else
      local v = redis.call('HGET', key, 'v')
      local cached = ARGV[i * 2 + 1]
      if v and cached ~= '' and v == cached then
        out[i] = {'cached', claim}
      else
        local s = redis.call('HGET', key, 's')
        if s then out[i] = {'ok', claim, v or '', s} else out[i] = {'miss', claim} end
      end
    end
  end
end
return out
`;

// Release claims we hold. KEYS: device keys. ARGV per key: claim, mode, state ('' = unchanged).
// 'done' stores the state (versioned by the claim) and drops the claim; 'uncertain' keeps the
// claim but makes it look expired, so the next request rebuilds. A claim lost meanwhile
// (expired and taken by another process) is left alone.
const RELEASE = `
local out = {}
for i, key in ipairs(KEYS) do
  local claim, mode, state = ARGV[i * 3 - 2], ARGV[i * 3 - 1], ARGV[i * 3]
  if redis.call('HGET', key, 'p') ~= claim then
    out[i] = 0
  elseif mode == 'uncertain' then
    redis.call('HSET', key, 'p', '0:uncertain')
    out[i] = 1
  else
    if state ~= '' then redis.call('HSET', key, 's', state, 'v', claim) end
    redis.call('HDEL', key, 'p')
    out[i] = 1
  end
end
return out
`;

export type Claim =
  { kind: 'busy' } | { kind: 'held'; claim: string; state: DeviceState | null; rebuild: boolean };

type ScriptRedis = Redis & {
  ofdClaimMany(numKeys: number, ...args: (string | number)[]): Promise<string[][]>;
  ofdReleaseMany(numKeys: number, ...args: string[]): Promise<number[]>;
};

interface Pending<T> {
  kkmId: number;
  args: string[];
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A turn that brought fewer calls than this may wait for more (TurnBatch's lingerMs). */
const FEW_CALLS = 16;
/**
 * Claims held at once below which a quiet turn's claims linger: beyond it the requests in
 * flight share their calls, commits and writes anyway, and a wait would only slow them down.
 */
const LINGER_BELOW_HELD = 32;

/**
 * Collects calls made in one turn of the event loop and sends them as one script call. With
 * `lingerMs`, a turn that brought only a few waits that long for more while `quiet()` says so:
 * at a low rate each request would otherwise make its own call, and with it its own commit,
 * release and answers' writes, several times the CPU a request costs at the peak, where they
 * share them.
 */
class TurnBatch<T> {
  private pending: Pending<T>[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly maxKeys: number,
    private readonly send: (batch: Pending<T>[]) => Promise<void>,
    private readonly lingerMs = 0,
    private readonly quiet: () => boolean = () => true,
  ) {}

  add(kkmId: number, args: string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ kkmId, args, resolve, reject });
      if (this.pending.length >= this.maxKeys) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.afterTurn());
      }
    });
  }

  private afterTurn(): void {
    if (this.timer || !this.scheduled) return;
    if (this.lingerMs > 0 && this.pending.length < FEW_CALLS && this.quiet()) {
      this.timer = setTimeout(() => this.flush(), this.lingerMs);
    } else this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    this.send(batch).catch((error: unknown) => {
      for (const p of batch) p.reject(error);
    });
  }
}

let ownerCounter = 0;
const instance = Math.random().toString(36).slice(2, 10);
/** Keys per script call: bounds how long one call holds Redis. */
const MAX_KEYS_PER_CALL = 256;
/** Claims of one device that may wait in this process behind the one out; more are busy. */
export const MAX_WAITING_CLAIMS = 4;

interface Cached {
  version: string;
  state: DeviceState;
}

export class StateStore {
  private readonly redis: ScriptRedis;
  /** The last state this process wrote or read per device, by version; oldest first. */
  /** States this process wrote, least recently used first out (null: none kept). */
  private readonly cache: LRUCache<number, Cached> | null;
  private readonly claims: TurnBatch<Claim>;
  private readonly releases: TurnBatch<void>;
  /** Claims asked for or held, not yet released (each held one ends in one release). */
  private claimsOut = 0;
  /** Per device with a claim out from this process: the claims waiting to go next, in order. */
  private readonly waiting = new Map<number, (() => void)[]>();

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** How long a claim holds: past it, another request may take the device over. */
    readonly leaseMs: number,
    cacheSize = 100_000,
    /** How long a claim of a quiet turn waits for others to go with it (TurnBatch). */
    claimLingerMs = 0,
  ) {
    this.cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : null;
    if (!('ofdClaimMany' in redis)) {
      redis.defineCommand('ofdClaimMany', { lua: CLAIM });
      redis.defineCommand('ofdReleaseMany', { lua: RELEASE });
    }
    this.redis = redis as ScriptRedis;
    this.claims = new TurnBatch(
      MAX_KEYS_PER_CALL,
      (batch) => this.sendClaims(batch),
      claimLingerMs,
      () => this.claimsOut < LINGER_BELOW_HELD,
    );
    this.releases = new TurnBatch(MAX_KEYS_PER_CALL, (batch) => this.sendReleases(batch));
  }

  key(kkmId: number): string {
    return deviceStateKey(this.prefix, kkmId);
  }

  /**
   * Takes the device's claim; `rebuild` says the cached state must not be trusted. The state
   * returned is shared with this store's cache: callers copy it before changing anything.
   */
  claim(kkmId: number): Promise<Claim> {
    const queue = this.waiting.get(kkmId);
    if (!queue) {
      this.waiting.set(kkmId, []);
      return this.claimNow(kkmId);
    }
    if (queue.length >= MAX_WAITING_CLAIMS) return Promise.resolve({ kind: 'busy' });
    return new Promise<Claim>((resolve, reject) => {
      queue.push(() => this.claimNow(kkmId).then(resolve, reject));
    });
  }

  /**
   * Releases the claim, storing `state` as the device's new state; `null` leaves the stored
   * state as it was. A no-op if the claim was lost meanwhile.
   */
  release(kkmId: number, claim: string, state: DeviceState | null): Promise<void> {
    const json = state ? JSON.stringify(state) : '';
    if (state) this.remember(kkmId, claim, state);
    return this.endedBy(kkmId, this.releases.add(kkmId, [claim, 'done', json]));
  }

  /** After a commit whose outcome is unknown: the next request rebuilds from ClickHouse. */
  markUncertain(kkmId: number, claim: string): Promise<void> {
    this.cache?.delete(kkmId);
    return this.endedBy(kkmId, this.releases.add(kkmId, [claim, 'uncertain', '']));
  }

  private claimNow(kkmId: number): Promise<Claim> {
    const owner = `${instance}.${++ownerCounter}`;
    this.claimsOut++;
    return this.claims.add(kkmId, [owner, this.cache?.peek(kkmId)?.version ?? '']).then(
      (claim) => {
        if (claim.kind === 'busy') this.ended(kkmId);
        return claim;
      },
      (error: unknown) => {
        this.ended(kkmId);
        throw error;
      },
    );
  }

  /** A claim of `kkmId` is over: the device's next waiting claim goes now. */
  private ended(kkmId: number): void {
    this.claimsOut--;
    this.nextClaim(kkmId);
  }

  /** A held claim is being released: the next waiting one goes once Redis has the release. */
  private endedBy(kkmId: number, released: Promise<void>): Promise<void> {
    this.claimsOut--;
    return released.finally(() => this.nextClaim(kkmId));
  }

  private nextClaim(kkmId: number): void {
    const waiter = this.waiting.get(kkmId)?.shift();
    if (waiter) waiter();
    else this.waiting.delete(kkmId);
  }

  /** The state this process last wrote or read for the device, without asking Redis. */
  known(kkmId: number): DeviceState | undefined {
    return this.cache?.peek(kkmId)?.state;
  }

  /** Drops the cached state (registry changed); an in-flight request's release then no-ops. */
  async invalidate(kkmId: number): Promise<void> {
    this.cache?.delete(kkmId);
    await this.redis.del(this.key(kkmId));
  }

  private remember(kkmId: number, version: string, state: DeviceState): void {
    this.cache?.set(kkmId, { version, state });
  }

  private async sendClaims(batch: Pending<Claim>[]): Promise<void> {
    const args: (string | number)[] = [];
    for (const p of batch) args.push(this.key(p.kkmId));
    args.push(this.leaseMs);
    for (const p of batch) args.push(p.args[0]!, p.args[1]!);
    const replies = await this.redis.ofdClaimMany(batch.length, ...args);
    batch.forEach((p, i) => {
      const [kind, claim, version, json] = replies[i]!;
      if (kind === 'busy') return p.resolve({ kind: 'busy' });
      let state: DeviceState | null = null;
      if (kind === 'cached') {
        // get() marks the entry recently used again.
        const entry = this.cache?.get(p.kkmId);
        state = entry && entry.version === p.args[1] ? entry.state : null;
      } else if (kind === 'ok') {
        try {
          state = JSON.parse(json!) as DeviceState;
          if (version) this.remember(p.kkmId, version, state);
        } catch {
          state = null; // unreadable: rebuilt below like a missing one
        }
      } else {
        this.cache?.delete(p.kkmId);
      }
      p.resolve({ kind: 'held', claim: claim!, state, rebuild: kind === 'stale' || !state });
    });
  }

  private async sendReleases(batch: Pending<void>[]): Promise<void> {
    const args: string[] = [];
    for (const p of batch) args.push(this.key(p.kkmId));
    for (const p of batch) args.push(...p.args);
    await this.redis.ofdReleaseMany(batch.length, ...args);
    for (const p of batch) p.resolve();
  }
}
