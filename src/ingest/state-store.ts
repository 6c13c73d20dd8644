// Device state in Redis, with a per-device claim so one request at a time works on a device
// across all ingest processes. The claim ("p") is taken before a request is handled and
// released together with the new state after its document is committed. A claim left behind
// by a crashed process, or marked uncertain after a failed commit, makes the next request
// rebuild the state from ClickHouse — so Redis never has to be right, only fast.
import type { Redis } from 'ioredis';
import type { DeviceState } from './device-state.js';

const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local p = redis.call('HGET', KEYS[1], 'p')
if p then
  local at = tonumber(string.match(p, '^(%d+)'))
  if now - at < tonumber(ARGV[1]) then return {'busy'} end
  redis.call('HSET', KEYS[1], 'p', now .. ':' .. ARGV[2])
  return {'stale', now .. ':' .. ARGV[2]}
end
redis.call('HSET', KEYS[1], 'p', now .. ':' .. ARGV[2])
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {'miss', now .. ':' .. ARGV[2]} end
return {'ok', now .. ':' .. ARGV[2], s}
`;

// Release a claim we hold: store the new state (if any) and drop the claim, or, with mode
// 'uncertain', keep the claim but make it look expired so the next request rebuilds.
const RELEASE = `
if redis.call('HGET', KEYS[1], 'p') ~= ARGV[1] then return 0 end
if ARGV[2] == 'uncertain' then
  redis.call('HSET', KEYS[1], 'p', '0:uncertain')
  return 1
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 's', ARGV[3]) end
redis.call('HDEL', KEYS[1], 'p')
return 1
`;

export type Claim =
  { kind: 'busy' } | { kind: 'held'; claim: string; state: DeviceState | null; rebuild: boolean };

type ScriptRedis = Redis & {
  ofdClaim(key: string, leaseMs: number, owner: string): Promise<string[]>;
  ofdRelease(key: string, claim: string, mode: string, state: string): Promise<number>;
};

let ownerCounter = 0;
const instance = Math.random().toString(36).slice(2, 10);

export class StateStore {
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly leaseMs: number,
  ) {
    if (!('ofdClaim' in redis)) {
      redis.defineCommand('ofdClaim', { numberOfKeys: 1, lua: CLAIM });
      redis.defineCommand('ofdRelease', { numberOfKeys: 1, lua: RELEASE });
    }
    this.redis = redis as ScriptRedis;
  }

  key(kkmId: number): string {
    return `${this.prefix}dev:${kkmId}`;
  }

  /** Takes the device's claim; `rebuild` says the cached state must not be trusted. */
  async claim(kkmId: number): Promise<Claim> {
    const owner = `${instance}.${++ownerCounter}`;
    const [kind, claim, json] = await this.redis.ofdClaim(this.key(kkmId), this.leaseMs, owner);
    if (kind === 'busy') return { kind: 'busy' };
    const state = json ? (JSON.parse(json) as DeviceState) : null;
    return { kind: 'held', claim: claim!, state, rebuild: kind !== 'ok' };
  }

  /** Stores the new state and releases the claim (no-op if the claim was lost meanwhile). */
  async release(kkmId: number, claim: string, state: DeviceState | null): Promise<void> {
    await this.redis.ofdRelease(this.key(kkmId), claim, 'done', state ? JSON.stringify(state) : '');
  }

  /** After a commit whose outcome is unknown: the next request rebuilds from ClickHouse. */
  async markUncertain(kkmId: number, claim: string): Promise<void> {
    await this.redis.ofdRelease(this.key(kkmId), claim, 'uncertain', '');
  }

  /** Drops the cached state (registry changed); an in-flight request's release then no-ops. */
  async invalidate(kkmId: number): Promise<void> {
    await this.redis.del(this.key(kkmId));
  }
}
