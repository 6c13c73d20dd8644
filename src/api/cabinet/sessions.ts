// Cabinet sessions: opaque bearer tokens whose SHA-256 names a Redis key holding the user id.
// Losing Redis logs people out and loses nothing else; logout deletes the key.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  userId: number;
  orgId: number;
  expiresAt: number;
}

export class Sessions {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlSeconds = 12 * 3600,
  ) {}

  private key(token: string): string {
    return `${this.prefix}session:${createHash('sha256').update(token).digest('hex')}`;
  }

  async create(userId: number, orgId: number): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    const session: Session = { userId, orgId, expiresAt };
    await this.redis.set(this.key(token), JSON.stringify(session), 'EX', this.ttlSeconds);
    return { token, expiresAt: new Date(expiresAt) };
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
