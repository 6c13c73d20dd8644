// Cabinet sessions: opaque bearer tokens whose SHA-256 names a Redis key holding the user id.
// Losing Redis logs people out and loses nothing else; logout deletes the key. Each user's
// sessions are also listed under a per-user key, so a password change or a removal can end
// them all.
//
// Who the user is (role, permissions, points) is kept in Redis too, beside an access version
// per organization: a request whose cached caller carries the organization's current version
// is authenticated from Redis alone, and any change of the organization's users or groups
// bumps the version, so the next request reads them again from ClickHouse.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Caller, Permission } from '../../storage/cabinet-scope.js';

export interface Session {
  userId: number;
  orgId: number;
  expiresAt: number;
  /** A service centre's user (its reads go through the centre's grants). */
  centre?: boolean;
}

/** A caller as Redis keeps it, with the access version of its organization it was read at. */
interface StoredCaller {
  v: string;
  orgId: number;
  login: string;
  role: Caller['role'];
  permissions: Permission[];
  pointIds: number[] | 'all';
}

/** A session with the caller cached for it, when that is still current. */
export interface SessionLookup {
  session: Session;
  /** The organization's access version now (read the caller again under this one). */
  accessVersion: string;
  caller: Caller | null;
}

/** A cached caller is read again at least this often, whatever the versions say. */
const CALLER_TTL_SECONDS = 600;

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

  private callerKey(userId: number): string {
    return `${this.prefix}caller:${userId}`;
  }

  private accessKey(orgId: number): string {
    return `${this.prefix}access-version:${orgId}`;
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

  /** The session and, when still current, its caller: two Redis reads, no ClickHouse. */
  async lookup(token: string): Promise<SessionLookup | null> {
    const session = await this.get(token);
    if (!session) return null;
    const [version, raw] = await this.redis.mget(
      this.accessKey(session.orgId),
      this.callerKey(session.userId),
    );
    const accessVersion = version ?? '0';
    let caller: Caller | null = null;
    if (raw) {
      const c = JSON.parse(raw) as StoredCaller;
      if (c.v === accessVersion && c.orgId === session.orgId) {
        caller = {
          userId: session.userId,
          orgId: c.orgId,
          login: c.login,
          role: c.role,
          permissions: new Set(c.permissions),
          pointIds: c.pointIds === 'all' ? 'all' : new Set(c.pointIds),
        };
      }
    }
    return { session, accessVersion, caller };
  }

  /** Keeps the caller read at `accessVersion` for the next requests of its user. */
  async rememberCaller(caller: Caller, accessVersion: string): Promise<void> {
    const stored: StoredCaller = {
      v: accessVersion,
      orgId: caller.orgId,
      login: caller.login,
      role: caller.role,
      permissions: [...caller.permissions],
      pointIds: caller.pointIds === 'all' ? 'all' : [...caller.pointIds],
    };
    await this.redis.set(
      this.callerKey(caller.userId),
      JSON.stringify(stored),
      'EX',
      CALLER_TTL_SECONDS,
    );
  }

  /** The organization's users or groups changed: every cached caller of it is stale. */
  async accessChanged(orgId: number): Promise<void> {
    await this.redis.incr(this.accessKey(orgId));
  }

  async revoke(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }
}
