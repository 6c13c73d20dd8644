// Short-lived proofs of identity kept in Redis: EDS challenges (one use each) and one-time
// codes sent by SMS or e-mail. A code is stored as its SHA-256 only, expires, allows a few
// attempts and then is gone; sending is counted per recipient and per remote address within a
// window, shared by every API process. Losing Redis only makes people ask for a new code.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface CodeSettings {
  /** How long a challenge or a code lives. */
  ttlSeconds: number;
  /** Wrong codes allowed before the code is dropped. */
  maxAttempts: number;
  /** Codes one recipient (phone, e-mail) and one remote address may be sent per window. */
  perRecipient: number;
  perAddress: number;
  windowSeconds: number;
}

export type CodeCheck = 'ok' | 'wrong' | 'expired' | 'exhausted';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * KEYS[1] the code, ARGV the SHA-256 (hex) of the code tried and the attempts allowed. The
 * digests compare inside Redis: equal-length hex of a hash, so timing tells nothing of the code.
 */
const CHECK = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 'expired' end
local stored = cjson.decode(raw)
local max = tonumber(ARGV[2])
if stored.attempts >= max then redis.call('DEL', KEYS[1]) return 'exhausted' end
if stored.hash == ARGV[1] then redis.call('DEL', KEYS[1]) return 'ok' end
stored.attempts = stored.attempts + 1
if stored.attempts >= max then redis.call('DEL', KEYS[1]) return 'exhausted' end
redis.call('SET', KEYS[1], cjson.encode(stored), 'KEEPTTL')
return 'wrong'`;

export class IdentityCodes {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly settings: CodeSettings,
  ) {}

  // -- EDS challenges

  /** A fresh random challenge to sign, valid for `ttlSeconds`. */
  async challenge(): Promise<{ challenge: string; expiresAt: Date }> {
    const challenge = randomBytes(32).toString('base64');
    await this.redis.set(this.key('challenge', challenge), '1', 'EX', this.settings.ttlSeconds);
    return { challenge, expiresAt: new Date(Date.now() + this.settings.ttlSeconds * 1000) };
  }

  /** Whether the challenge was issued and not used yet; it is used up either way. */
  async takeChallenge(challenge: string): Promise<boolean> {
    return (await this.redis.del(this.key('challenge', challenge))) === 1;
  }

  // -- one-time codes

  /**
   * A new 6-digit code for `subject` (e.g. "otp:<iin>:<phone>"), or the number of seconds to
   * wait when the recipient or the address had its share of codes this window.
   */
  async issue(
    subject: string,
    recipient: string,
    address: string,
  ): Promise<{ code: string; expiresAt: Date } | { retryAfterSeconds: number }> {
    const { perRecipient, perAddress, windowSeconds, ttlSeconds } = this.settings;
    for (const [key, max] of [
      [this.key('sent', recipient), perRecipient],
      [this.key('sent-from', address), perAddress],
    ] as const) {
      // The window starts with its first code: one transaction, so no counter lives forever.
      const [[, count], , [, ttl]] = (await this.redis
        .multi()
        .incr(key)
        .expire(key, windowSeconds, 'NX')
        .ttl(key)
        .exec()) as [[null, number], [null, number], [null, number]];
      if (count > max) return { retryAfterSeconds: ttl > 0 ? ttl : windowSeconds };
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.redis.set(
      this.key('code', subject),
      JSON.stringify({ hash: digest(code).toString('hex'), attempts: 0 }),
      'EX',
      ttlSeconds,
    );
    return { code, expiresAt: new Date(Date.now() + ttlSeconds * 1000) };
  }

  /**
   * Checks a code; a right one is used up, and so is one tried too often. One script reads,
   * counts and drops, so requests racing each other cannot try more codes than allowed.
   */
  async check(subject: string, code: string): Promise<CodeCheck> {
    const result = await this.redis.eval(
      CHECK,
      1,
      this.key('code', subject),
      digest(code).toString('hex'),
      String(this.settings.maxAttempts),
    );
    return result as CodeCheck;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}identity:${kind}:${id}`;
  }
}
