// Organizations and their points of sale: the only writer of the `orgs` and `points` tables.
// Registering an organization also writes its owner cabinet user, through the users
// repository (the only writer of `users`).
import { InvalidInputError, NotFoundError, ConflictError } from './errors.js';
import { chTime, isId } from './values.js';
import { hashPassword } from './passwords.js';
import { Repository, nextVersion, requireId, requireText } from './repository.js';
import type { Users } from './users.js';
import type { Db } from './db.js';
import type { Redis } from 'ioredis';

const BIN_RE = /^[0-9]{12}$/;

export interface OrgRecord {
  orgId: number;
  bin: string;
  title: string;
  address: string;
  okved: string;
  createdAt: Date;
}

export interface PointRecord {
  pointId: number;
  orgId: number;
  title: string;
  address: string;
  createdAt: Date;
}

export interface CreateOrgInput {
  bin: string;
  title: string;
  address: string;
  okved: string;
  /** The owner's cabinet password (the caller enforces the password policy). */
  password: string;
}

export interface CreatePointInput {
  title: string;
  address: string;
}

type Num = number | string;

export class Orgs extends Repository {
  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly users: Users,
  ) {
    super(db, redis, keyPrefix);
  }

  /**
   * Registers an organization and its owner cabinet user (login = BIN, role owner, every
   * permission). A BIN already registered → ConflictError('duplicate_bin').
   */
  async createOrg(input: CreateOrgInput): Promise<{ orgId: number; bin: string }> {
    const bin = input.bin;
    if (typeof bin !== 'string' || !BIN_RE.test(bin)) {
      throw new InvalidInputError('bin', 'must be exactly 12 digits');
    }
    const title = requireText('title', input.title);
    const address = requireText('address', input.address);
    const okved = requireText('okved', input.okved);
    const passwordHash = await hashPassword(requireText('password', input.password));
    // Whoever creates something whose login is X holds login:X, so BIN and login checks hold.
    return this.withLock(`login:${bin}`, async () => {
      if (await this.findOrgByBin(bin)) {
        throw new ConflictError('duplicate_bin', `an organization with BIN ${bin} already exists`);
      }
      // The user first: a crash between the two inserts leaves no org without its owner.
      const { orgId } = await this.users.createOwner(
        { login: bin, passwordHash, name: title },
        () => this.allocate('org'),
        async (id) => (await this.getOrg(id)) !== null,
      );
      await this.insert('orgs', {
        org_id: orgId,
        bin,
        title,
        address,
        okved,
        created_at: chTime(Date.now()),
        version: nextVersion(),
      });
      return { orgId, bin };
    });
  }

  async getOrg(orgId: number): Promise<OrgRecord | null> {
    if (!isId(orgId)) return null;
    return this.oneOrg('org_id = {id:UInt32}', { id: orgId });
  }

  async findOrgByBin(bin: string): Promise<OrgRecord | null> {
    return this.oneOrg('bin = {bin:String}', { bin });
  }

  // -- points of sale

  async createPoint(orgId: number, input: CreatePointInput): Promise<{ pointId: number }> {
    requireId('org', orgId);
    const title = requireText('title', input.title);
    const address = requireText('address', input.address);
    if (!(await this.getOrg(orgId))) throw new NotFoundError('org', orgId);
    const pointId = await this.allocate('point');
    await this.insert('points', {
      point_id: pointId,
      org_id: orgId,
      title,
      address,
      created_at: chTime(Date.now()),
      version: nextVersion(),
    });
    return { pointId };
  }

  async getPoint(pointId: number): Promise<PointRecord | null> {
    if (!isId(pointId)) return null;
    const rows = await this.db.rows<{
      point_id: Num;
      org_id: Num;
      title: string;
      address: string;
      created_ms: Num;
    }>(
      `SELECT point_id, org_id, title, address, toUnixTimestamp64Milli(created_at) AS created_ms
       FROM points FINAL WHERE point_id = {id:UInt32} LIMIT 1`,
      { id: pointId },
    );
    const r = rows[0];
    if (!r) return null;
    return {
      pointId: Number(r.point_id),
      orgId: Number(r.org_id),
      title: r.title,
      address: r.address,
      createdAt: new Date(Number(r.created_ms)),
    };
  }

  private async oneOrg(where: string, params: Record<string, unknown>): Promise<OrgRecord | null> {
    const rows = await this.db.rows<{
      org_id: Num;
      bin: string;
      title: string;
      address: string;
      okved: string;
      created_ms: Num;
    }>(
      `SELECT org_id, bin, title, address, okved, toUnixTimestamp64Milli(created_at) AS created_ms
       FROM orgs FINAL WHERE ${where} ORDER BY org_id LIMIT 1`,
      params,
    );
    const r = rows[0];
    if (!r) return null;
    return {
      orgId: Number(r.org_id),
      bin: r.bin,
      title: r.title,
      address: r.address,
      okved: r.okved,
      createdAt: new Date(Number(r.created_ms)),
    };
  }
}
