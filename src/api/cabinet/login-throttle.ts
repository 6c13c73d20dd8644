// Slows down and then refuses password guessing at the cabinet login, without letting an
// attacker elsewhere lock the rightful owner out (BINs, the owners' logins, are public):
// - failures of one login from one address are slowed, then refused for `lockSeconds`;
// - failures from one address, whatever the login, are slowed, then refused, except for logins
//   that have logged in from that address before (an office behind one NAT keeps working);
// - failures of one login from anywhere only slow it down (a distributed guess gets slower,
//   the owner is never refused).
// Delays double per failure past the threshold (back-off) up to `maxDelayMs`. Every attempt
// counts as a failure before the password is checked (so concurrent guesses cannot slip past
// the limit); a success takes its count back. Counters live in Redis under the server's key
// prefix and expire on their own; logins are hashed into the key names.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LoginThrottleOptions {
  /** Failures of one login from one address after which each further attempt waits. */
  loginSlowAfter: number;
  /** Failures of one login from one address after which that pair is refused for a while. */
  loginLockAfter: number;
  /** The same for one client address (many logins guessed from one place). */
  addressSlowAfter: number;
  addressLockAfter: number;
  /** Failures of one login from any address after which each attempt waits (never refused). */
  anywhereSlowAfter: number;
  /** How long a successful login exempts its login at its address from the address's lock. */
  knownAddressSeconds: number;
  /** How long failures are remembered (counted from the first one). */
  windowSeconds: number;
  /** How long a login or address stays refused once it reached its lockAfter. */
  lockSeconds: number;
  /** Extra wait per failure past slowAfter, and the most an attempt waits. */
  delayStepMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  loginSlowAfter: 5,
  loginLockAfter: 10,
  addressSlowAfter: 30,
  addressLockAfter: 150,
  anywhereSlowAfter: 50,
  knownAddressSeconds: 30 * 86_400,
  windowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
  delayStepMs: 250,
  maxDelayMs: 3000,
};

export type LoginAttempt =
  { allowed: true; delayMs: number } | { allowed: false; retryAfterSeconds: number };

/**
 * KEYS: (login, address) counter, address counter, login counter, "known at this address".
 * ARGV: pair lockAfter, address lockAfter, window ms, lock ms. Refuses ({-1, -1, -1, wait ms})
 * while the pair, or the address for a login not known there, is at its lockAfter; otherwise
 * counts the attempt and returns the counts before it ({pair, address, login, 0}).
 */
const BEGIN = `
local function locked(key, limit)
  local c = tonumber(redis.call('GET', key) or '0')
  if c < tonumber(limit) then return 0 end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[4])
    ttl = tonumber(ARGV[4])
  end
  return ttl
end
local wait = locked(KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[4]) == 0 then wait = math.max(wait, locked(KEYS[2], ARGV[2])) end
if wait > 0 then return {-1, -1, -1, wait} end
local before = {}
for i = 1, 3 do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  if i < 3 and c >= tonumber(ARGV[i]) then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
  before[i] = c - 1
end
return {before[1], before[2], before[3], 0}`;

/** KEYS as BEGIN's. ARGV: known ms. Forgets the pair's failures, takes the attempt back. */
const SUCCEED = `
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  local c = redis.call('DECR', KEYS[i])
  if c <= 0 then redis.call('DEL', KEYS[i]) end
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return 0`;

export class LoginThrottle {
  readonly options: LoginThrottleOptions;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: Partial<LoginThrottleOptions> = {},
  ) {
    this.options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  private keys(login: string, address: string): string[] {
    const hashed = createHash('sha256').update(login).digest('hex').slice(0, 32);
    const p = `${this.prefix}login-fail:`;
    return [
      `${p}login:${hashed}:${address}`,
      `${p}addr:${address}`,
      `${p}any:${hashed}`,
      `${this.prefix}login-known:${hashed}:${address}`,
    ];
  }

  /** Counts an attempt (as a failure until `succeeded`) or refuses it while locked. */
  async begin(login: string, address: string): Promise<LoginAttempt> {
    const o = this.options;
    const [pairBefore, addressBefore, loginBefore, wait] = (await this.redis.eval(
      BEGIN,
      4,
      ...this.keys(login, address),
      String(o.loginLockAfter),
      String(o.addressLockAfter),
      String(o.windowSeconds * 1000),
      String(o.lockSeconds * 1000),
    )) as [number, number, number, number];
    if (wait > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
    const over = Math.max(
      pairBefore - o.loginSlowAfter + 1,
      addressBefore - o.addressSlowAfter + 1,
      loginBefore - o.anywhereSlowAfter + 1,
      0,
    );
    const delayMs = over && o.delayStepMs * 2 ** Math.min(over - 1, 30);
    return { allowed: true, delayMs: Math.min(delayMs, o.maxDelayMs) };
  }

  /** The password was right: the pair starts afresh and the attempt is not a failure. */
  async succeeded(login: string, address: string): Promise<void> {
    const known = String(this.options.knownAddressSeconds * 1000);
    await this.redis.eval(SUCCEED, 4, ...this.keys(login, address), known);
  }
}
