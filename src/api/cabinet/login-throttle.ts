// Slows down and then refuses password guessing at the cabinet login. Every attempt counts as
// a failure of its login and of its address before the password is checked (so concurrent
// guesses cannot slip past the limit); a success takes its count back and clears the login's
// counter. Past `slowAfter` failures each further attempt is answered later, past `lockAfter`
// attempts are refused for `lockSeconds` (429 with Retry-After). Counters live in Redis under
// the server's key prefix and expire on their own; logins are hashed into the key names.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LoginThrottleOptions {
  /** Failures of one login after which each further attempt waits. */
  loginSlowAfter: number;
  /** Failures of one login after which attempts are refused until the lock expires. */
  loginLockAfter: number;
  /** The same for one client address (many logins guessed from one place). */
  addressSlowAfter: number;
  addressLockAfter: number;
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
  windowSeconds: 15 * 60,
  lockSeconds: 15 * 60,
  delayStepMs: 250,
  maxDelayMs: 3000,
};

export type LoginAttempt =
  { allowed: true; delayMs: number } | { allowed: false; retryAfterSeconds: number };

/**
 * KEYS: login counter, address counter. ARGV: login lockAfter, address lockAfter, window ms,
 * lock ms. Refuses ({-1, -1, wait ms}) while either counter is at its lockAfter; otherwise
 * counts the attempt and returns the counts before it ({login, address, 0}).
 */
const BEGIN = `
local wait = 0
for i = 1, 2 do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  if c >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[4])
      ttl = tonumber(ARGV[4])
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return {-1, -1, wait} end
local before = {}
for i = 1, 2 do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  if c >= tonumber(ARGV[i]) then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
  before[i] = c - 1
end
return {before[1], before[2], 0}`;

/** KEYS: login counter, address counter: forget the login's failures, take back the attempt. */
const SUCCEED = `
redis.call('DEL', KEYS[1])
local c = redis.call('DECR', KEYS[2])
if c <= 0 then redis.call('DEL', KEYS[2]) end
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

  private keys(login: string, address: string): [string, string] {
    const hashed = createHash('sha256').update(login).digest('hex').slice(0, 32);
    return [`${this.prefix}login-fail:login:${hashed}`, `${this.prefix}login-fail:addr:${address}`];
  }

  /** Counts an attempt (as a failure until `succeeded`) or refuses it while locked. */
  async begin(login: string, address: string): Promise<LoginAttempt> {
    const o = this.options;
    const [loginBefore, addressBefore, wait] = (await this.redis.eval(
      BEGIN,
      2,
      ...this.keys(login, address),
      String(o.loginLockAfter),
      String(o.addressLockAfter),
      String(o.windowSeconds * 1000),
      String(o.lockSeconds * 1000),
    )) as [number, number, number];
    if (wait > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
    const over = Math.max(
      loginBefore - o.loginSlowAfter + 1,
      addressBefore - o.addressSlowAfter + 1,
      0,
    );
    return { allowed: true, delayMs: Math.min(over * o.delayStepMs, o.maxDelayMs) };
  }

  /** The password was right: the login starts afresh and the attempt is not a failure. */
  async succeeded(login: string, address: string): Promise<void> {
    await this.redis.eval(SUCCEED, 2, ...this.keys(login, address));
  }
}
