// Cabinet sessions: opaque bearer tokens whose SHA-256 names a Redis key holding the user id.
// Losing Redis logs people out and loses nothing else; logout deletes the key. Each user's
// sessions are also listed under a per-user key, so a password change or a removal can end
// them all.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  userId: number;
  orgId: number;
  expiresAt: number;
  /** A service centre's user (its reads go through the centre's grants). */
  centre?: boolean;
}

export class Sessions {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlSeconds = 12 * 3600,
  ) {}

  private key(token: string): string {
    return this.keyOf(createHash('sha256').update(token).digest('hex'));
  }

  private keyOf(hash: string): string {
    return `${this.prefix}session:${hash}`;
  }

  private userKey(userId: number): string {
    return `${this.prefix}user-sessions:${userId}`;
  }

  async create(
    userId: number,
    orgId: number,
    centre = false,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    const session: Session = { userId, orgId, expiresAt, ...(centre ? { centre } : {}) };
    const hash = createHash('sha256').update(token).digest('hex');
    await this.redis
      .multi()
      .set(this.keyOf(hash), JSON.stringify(session), 'EX', this.ttlSeconds)
      .sadd(this.userKey(userId), hash)
      .expire(this.userKey(userId), this.ttlSeconds)
      .exec();
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Ends every session of a user, except the one of `keepToken` (one's own password change). */
  async revokeUser(userId: number, keepToken?: string): Promise<number> {
    const keep = keepToken && createHash('sha256').update(keepToken).digest('hex');
    const hashes = (await this.redis.smembers(this.userKey(userId))).filter((h) => h !== keep);
    if (!hashes.length) return 0;
    await this.redis
      .multi()
      .del(...hashes.map((h) => this.keyOf(h)))
      .srem(this.userKey(userId), ...hashes)
      .exec();
    return hashes.length;
  }

  async get(token: string): Promise<Session | null> {
    const raw = await this.redis.get(this.key(token));
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    return session.expiresAt > Date.now() ? session : null;
  }

  async revoke(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }
}
