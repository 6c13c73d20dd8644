// KKM cashiers of an organization (protocol section 3.11): the only writer of `cashiers`.
// Passwords are stored as scrypt hashes.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { isId } from './values.js';
import { InvalidInputError, NotFoundError, ConflictError } from './errors.js';
import { Repository, nextVersion, requireId, requireText } from './repository.js';
import type { Orgs } from './orgs.js';
import { hashPassword } from './passwords.js';
import { MAX_UINT32 } from '../protocol/numbers.js';

/** Protocol UserRoleEnum: 1 paymaster, 2 chief paymaster, 3 administrator. */
export const CASHIER_ROLES = [1, 2, 3] as const;

export interface CashierRecord {
  code: number;
  name: string;
  passwordHash: string;
  roles: number[];
}

export interface CashierInput {
  code: number;
  name: string;
  login: string;
  password: string;
  roles: number[];
}

export class Cashiers extends Repository {
  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly orgs: Orgs,
  ) {
    super(db, redis, keyPrefix);
  }

  /**
   * Creates or replaces the cashier with this login in the org. Another cashier of the org
   * with the same code → ConflictError('cashier_code_taken').
   */
  async upsertCashier(
    orgId: number,
    input: CashierInput,
  ): Promise<{ code: number; login: string }> {
    requireId('org', orgId);
    const login = requireText('login', input.login);
    const name = requireText('name', input.name);
    if (!Number.isInteger(input.code) || input.code < 0 || input.code > MAX_UINT32) {
      throw new InvalidInputError('code', 'must be an integer from 0 to 2^32-1');
    }
    const roles = input.roles;
    if (
      !Array.isArray(roles) ||
      roles.length === 0 ||
      !roles.every((r) => (CASHIER_ROLES as readonly number[]).includes(r))
    ) {
      throw new InvalidInputError('roles', 'must be a non-empty list of 1, 2 or 3');
    }
    const passwordHash = await hashPassword(requireText('password', input.password));
    if (!(await this.orgs.getOrg(orgId))) throw new NotFoundError('org', orgId);
    return this.withLock(`cashiers:${orgId}`, async () => {
      const clash = await this.db.rows<{ login: string }>(
        `SELECT login FROM cashiers FINAL
         WHERE org_id = {org:UInt32} AND code = {code:UInt32} AND login != {login:String}
           AND deleted = 0 LIMIT 1`,
        { org: orgId, code: input.code, login },
      );
      if (clash[0]) {
        throw new ConflictError(
          'cashier_code_taken',
          `cashier code ${input.code} already belongs to another cashier of org ${orgId}`,
        );
      }
      const prev = await this.db.rows<{ version: number }>(
        `SELECT version FROM cashiers FINAL WHERE org_id = {org:UInt32} AND login = {login:String}`,
        { org: orgId, login },
      );
      await this.insert('cashiers', {
        org_id: orgId,
        login,
        code: input.code,
        name,
        password_hash: passwordHash,
        roles: [...new Set(roles)].sort((a, b) => a - b),
        deleted: 0,
        version: nextVersion(prev[0] ? Number(prev[0].version) : 0),
      });
      return { code: input.code, login };
    });
  }

  async findCashier(orgId: number, login: string): Promise<CashierRecord | null> {
    if (!isId(orgId)) return null;
    const rows = await this.db.rows<{
      code: number;
      name: string;
      password_hash: string;
      roles: number[];
    }>(
      `SELECT code, name, password_hash, roles FROM cashiers FINAL
       WHERE org_id = {org:UInt32} AND login = {login:String} AND deleted = 0 LIMIT 1`,
      { org: orgId, login },
    );
    const r = rows[0];
    if (!r) return null;
    return {
      code: Number(r.code),
      name: r.name,
      passwordHash: r.password_hash,
      roles: r.roles.map(Number),
    };
  }
}
