// Short-lived proofs of identity kept in Redis: EDS challenges (one use each) and one-time
// codes sent by SMS or e-mail. A code is stored as its SHA-256 only, expires, allows a few
// attempts and then is gone; sending is counted per recipient and per remote address within a
// window, shared by every API process. Losing Redis only makes people ask for a new code.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
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
      const [[, count], [, ttl]] = (await this.redis.multi().incr(key).ttl(key).exec()) as [
        [null, number],
        [null, number],
      ];
      if (ttl < 0) await this.redis.expire(key, windowSeconds);
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

  /** Checks a code; a right one is used up, and so is one tried too often. */
  async check(subject: string, code: string): Promise<CodeCheck> {
    const key = this.key('code', subject);
    const raw = await this.redis.get(key);
    if (!raw) return 'expired';
    const stored = JSON.parse(raw) as { hash: string; attempts: number };
    if (stored.attempts >= this.settings.maxAttempts) {
      await this.redis.del(key);
      return 'exhausted';
    }
    if (timingSafeEqual(digest(code), Buffer.from(stored.hash, 'hex'))) {
      await this.redis.del(key);
      return 'ok';
    }
    const attempts = stored.attempts + 1;
    if (attempts >= this.settings.maxAttempts) {
      await this.redis.del(key);
      return 'exhausted';
    }
    await this.redis.set(key, JSON.stringify({ ...stored, attempts }), 'KEEPTTL');
    return 'wrong';
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}identity:${kind}:${id}`;
  }
}
