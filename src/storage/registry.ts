// The registry: organizations, points of sale, KKMs, the org owner's cabinet user, KKM cashiers
// and nomenclature. ClickHouse is the only copy (ReplacingMergeTree(version) tables: an update
// is a new row with a higher version, reads use FINAL). Redis only coordinates: it hands out
// sequential ids (re-seeded from ClickHouse before every allocation, so a flushed Redis never
// reuses an id) and holds short locks that serialize read-modify-write updates across
// processes. Tokens and passwords are never logged; passwords are stored as scrypt hashes.
import { randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { PERMISSIONS } from '../access/permissions.js';
import type { KkmStatus } from '../fiscal/device-state.js';
import { MAX_UINT32 } from '../protocol/numbers.js';
import { Coordination } from './coordination.js';
import { chTime, isId } from './values.js';
import {
  BusyError,
  ConflictError,
  InvalidInputError,
  NotFoundError,
  StoreBrokenError,
  type Entity,
} from './errors.js';
import { hashPassword } from './passwords.js';
import { UnknownIds } from './unknown-ids.js';
import { KkmEvents, type KkmEventKind, type KkmEventSubject } from './kkm-events.js';

export const KKM_STATUSES: readonly KkmStatus[] = ['active', 'blocked', 'deregistered'];

/** The registry event a move to each status is, as the tax authority is told. */
const STATUS_EVENTS: Record<KkmStatus, KkmEventKind> = {
  active: 'unblocked',
  blocked: 'blocked',
  deregistered: 'deregistered',
};

/** Protocol UserRoleEnum: 1 paymaster, 2 chief paymaster, 3 administrator. */
export const CASHIER_ROLES = [1, 2, 3] as const;

const BIN_RE = /^[0-9]{12}$/;

// ---- errors ---------------------------------------------------------------------------------

// ---- records --------------------------------------------------------------------------------

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

export interface KkmRecord {
  kkmId: number;
  orgId: number;
  pointId: number;
  serialNumber: string;
  model: string;
  fnsKkmId: string;
  status: KkmStatus;
  token: number;
  tokenEpoch: number;
  createdAt: Date;
}

export interface CashierRecord {
  code: number;
  name: string;
  passwordHash: string;
  roles: number[];
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

export interface CreateKkmInput {
  serialNumber: string;
  model: string;
  fnsKkmId: string;
}

export interface CashierInput {
  code: number;
  name: string;
  login: string;
  password: string;
  roles: number[];
}

/** NomenclatureResponse.Tax; tax_percent in thousandths of a percent. */
export interface NomenclatureTax {
  taxation_type: number;
  tax_type: number;
  tax_percent: number;
}

/** NomenclatureResponse.Item with money as integer tiyn instead of {bills, coins}. */
export interface NomenclatureItem {
  article?: string;
  barcode?: string;
  description?: string;
  purchase_price: number;
  sell_price: number;
  discount_percent?: number;
  discount_sum?: number;
  markup_percent?: number;
  markup_sum?: number;
  taxes?: NomenclatureTax[];
  measure_count?: number;
  measure_title?: string;
  measure_fractional?: boolean;
  measure_unit_code?: string;
}

/** NomenclatureResponse.Element: type 0 = GROUP, 1 = ITEM (item required for ITEM). */
export interface NomenclatureElement {
  type: 0 | 1;
  title: string;
  id: number;
  parent_group_id?: number;
  item?: NomenclatureItem;
}

export interface Nomenclature {
  version: number;
  createdAt: Date;
  elements: NomenclatureElement[];
}

/** ServiceResponse.RegInfo with the protocol's field names. */
export interface RegInfo {
  kkm: {
    serial_number: string;
    fns_kkm_id: string;
    kkm_id: string;
    point_of_payment_number?: string;
  };
  pos: { title: string; address: string };
  org: { title: string; address: string; inn: string; okved: string };
}

// ---- helpers --------------------------------------------------------------------------------

let lastVersion = 0;

/**
 * A row version above every version this process handed out before and above `after`
 * (the stored row's version, so an update wins even if another host's clock ran ahead).
 */
export function nextVersion(after = 0): number {
  const v = Math.max(Date.now() * 1000, lastVersion + 1, after + 1);
  lastVersion = v;
  return v;
}

/** A random token for the frame header: uint32, never 0. */
export function randomToken(unlike?: number): number {
  for (;;) {
    const token = randomInt(1, MAX_UINT32 + 1);
    if (token !== unlike) return token;
  }
}

function requireId(entity: Entity, id: number): void {
  if (!isId(id)) throw new InvalidInputError(`${entity}Id`, 'must be an integer from 1 to 2^32-1');
}

function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidInputError(field, 'must be a non-empty string');
  }
  return value;
}

type SeqKind = 'org' | 'point' | 'kkm' | 'user';
const SEQ_SOURCE: Record<SeqKind, { table: string; column: string }> = {
  org: { table: 'orgs', column: 'org_id' },
  point: { table: 'points', column: 'point_id' },
  kkm: { table: 'kkms', column: 'kkm_id' },
  user: { table: 'users', column: 'user_id' },
};

interface KkmRow {
  kkm_id: number | string;
  org_id: number | string;
  point_id: number | string;
  serial_number: string;
  model: string;
  fns_kkm_id: string;
  status: KkmStatus;
  token: number | string;
  token_epoch: number | string;
  created_ms: number | string;
  version: number | string;
}

const KKM_COLUMNS = `kkm_id, org_id, point_id, serial_number, model, fns_kkm_id, status, token,
  token_epoch, toUnixTimestamp64Milli(created_at) AS created_ms, version`;

function kkmFromRow(r: KkmRow): KkmRecord {
  return {
    kkmId: Number(r.kkm_id),
    orgId: Number(r.org_id),
    pointId: Number(r.point_id),
    serialNumber: r.serial_number,
    model: r.model,
    fnsKkmId: r.fns_kkm_id,
    status: r.status,
    token: Number(r.token),
    tokenEpoch: Number(r.token_epoch),
    createdAt: new Date(Number(r.created_ms)),
  };
}

// ---- the registry ---------------------------------------------------------------------------

export class Registry {
  private readonly coordination: Coordination;
  /** KKM ids looked up and not found (a register's frames name its id on every request). */
  private readonly unknownKkms = new UnknownIds(() => this.highestKkmId());
  /** The events every KKM change records, forwarded to the tax authority. */
  readonly kkmEvents: KkmEvents;

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    this.coordination = new Coordination(redis, keyPrefix);
    this.kkmEvents = new KkmEvents(db);
  }

  // -- organizations

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
      const user = await this.findUserByLogin(bin);
      let userId: number;
      if (user) {
        // An owner row without its org is what an interrupted createOrg leaves: reuse it.
        if (user.role !== 'owner' || (await this.getOrg(user.orgId))) {
          throw new ConflictError('login_taken', `the login ${bin} is already taken`);
        }
        userId = user.userId;
      } else {
        userId = await this.allocate('user');
      }
      const orgId = await this.allocate('org');
      const now = chTime(Date.now());
      // The user first: a crash between the two inserts leaves no org without its owner.
      await this.insert('users', {
        user_id: userId,
        org_id: orgId,
        login: bin,
        password_hash: passwordHash,
        name: title,
        email: '',
        role: 'owner',
        point_ids: [],
        group_ids: [],
        permissions: [...PERMISSIONS],
        deleted: 0,
        created_at: now,
        version: nextVersion(user?.version),
      });
      await this.insert('orgs', {
        org_id: orgId,
        bin,
        title,
        address,
        okved,
        created_at: now,
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
      point_id: number | string;
      org_id: number | string;
      title: string;
      address: string;
      created_ms: number | string;
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

  // -- KKMs

  /** Registers a KKM at a point: status active, a fresh random token, token epoch 1. */
  async createKkm(pointId: number, input: CreateKkmInput): Promise<{ kkmId: number }> {
    requireId('point', pointId);
    const serialNumber = requireText('serialNumber', input.serialNumber);
    const model = requireText('model', input.model);
    const fnsKkmId = requireText('fnsKkmId', input.fnsKkmId);
    const point = await this.getPoint(pointId);
    if (!point) throw new NotFoundError('point', pointId);
    const kkmId = await this.allocate('kkm');
    await this.insert('kkms', {
      kkm_id: kkmId,
      org_id: point.orgId,
      point_id: pointId,
      serial_number: serialNumber,
      model,
      fns_kkm_id: fnsKkmId,
      status: 'active',
      token: randomToken(),
      token_epoch: 1,
      created_at: chTime(Date.now()),
      version: nextVersion(),
    });
    this.unknownKkms.registered(kkmId);
    const org = await this.getOrg(point.orgId);
    await this.kkmEvents.record(
      {
        kkmId,
        orgId: point.orgId,
        pointId,
        kgdNumber: fnsKkmId,
        bin: org?.bin ?? '',
        serialNumber,
        model,
      },
      'registered',
      { source: 'admin' },
      { first: true },
    );
    return { kkmId };
  }

  /**
   * Registers many KKMs at one point in one insert (fleet roll-outs, benchmarks), each active
   * with a fresh random token at token epoch 1, and returns their ids and tokens.
   */
  async createKkms(
    pointId: number,
    inputs: CreateKkmInput[],
  ): Promise<{ kkmId: number; token: number }[]> {
    requireId('point', pointId);
    const checked = inputs.map((input, i) => ({
      serialNumber: requireText(`kkms/${i}/serialNumber`, input.serialNumber),
      model: requireText(`kkms/${i}/model`, input.model),
      fnsKkmId: requireText(`kkms/${i}/fnsKkmId`, input.fnsKkmId),
    }));
    if (checked.length === 0) return [];
    const point = await this.getPoint(pointId);
    if (!point) throw new NotFoundError('point', pointId);
    const last = await this.allocate('kkm', checked.length);
    const first = last - checked.length + 1;
    const now = chTime(Date.now());
    const rows = checked.map((input, i) => ({
      kkm_id: first + i,
      org_id: point.orgId,
      point_id: pointId,
      serial_number: input.serialNumber,
      model: input.model,
      fns_kkm_id: input.fnsKkmId,
      status: 'active',
      token: randomToken(),
      token_epoch: 1,
      created_at: now,
      version: nextVersion(),
    }));
    await this.db.insert('kkms', rows);
    rows.forEach((r) => this.unknownKkms.registered(r.kkm_id));
    await this.db.insert(
      'device_events',
      rows.map((r) => ({
        kkm_id: r.kkm_id,
        received_at: now,
        kind: 'token_issued',
        detail: JSON.stringify({ source: 'admin', tokenEpoch: 1, bulk: true }),
      })),
    );
    const bin = (await this.getOrg(point.orgId))?.bin ?? '';
    await this.kkmEvents.recordRegistered(
      rows.map((r) => ({
        kkmId: r.kkm_id,
        orgId: r.org_id,
        pointId,
        kgdNumber: r.fns_kkm_id,
        bin,
        serialNumber: r.serial_number,
        model: r.model,
      })),
      { source: 'admin', bulk: true },
    );
    return rows.map((r) => ({ kkmId: r.kkm_id, token: r.token }));
  }

  async getKkm(kkmId: number): Promise<KkmRecord | null> {
    if (await this.unknownKkms.absent(kkmId)) return null;
    const row = await this.kkmRow(kkmId);
    if (!row) this.unknownKkms.add(kkmId);
    return row ? kkmFromRow(row) : null;
  }

  /** Where each of these KKMs is registered (unknown ones are left out). */
  async kkmPlaces(kkmIds: number[]): Promise<Map<number, { orgId: number; pointId: number }>> {
    const rows = await this.db.rows<{ kkm_id: number; org_id: number; point_id: number }>(
      `SELECT kkm_id, org_id, point_id FROM kkms FINAL WHERE kkm_id IN {ids:Array(UInt32)}`,
      { ids: kkmIds },
    );
    return new Map(rows.map((r) => [r.kkm_id, { orgId: r.org_id, pointId: r.point_id }]));
  }

  async listKkms(orgId: number): Promise<KkmRecord[]> {
    if (!isId(orgId)) return [];
    const rows = await this.db.rows<KkmRow>(
      `SELECT ${KKM_COLUMNS} FROM kkms FINAL WHERE org_id = {id:UInt32} ORDER BY kkm_id`,
      { id: orgId },
    );
    return rows.map(kkmFromRow);
  }

  /**
   * A new random token and token_epoch + 1; the previous token stops working once the ingest
   * core drops its cached device state. A deregistered KKM → ConflictError.
   */
  async issueToken(kkmId: number): Promise<{ token: number; tokenEpoch: number }> {
    requireId('kkm', kkmId);
    return this.withLock(`kkm:${kkmId}`, async () => {
      const row = await this.kkmRow(kkmId);
      if (!row) throw new NotFoundError('kkm', kkmId);
      if (row.status === 'deregistered') {
        throw new ConflictError('kkm_deregistered', `kkm ${kkmId} is deregistered`);
      }
      const token = randomToken(Number(row.token));
      const tokenEpoch = Number(row.token_epoch) + 1;
      await this.writeKkm(row, { token, token_epoch: tokenEpoch });
      await this.event(kkmId, 'token_issued', { tokenEpoch });
      await this.recordKkmEvent(row, 'token_reissued', { tokenEpoch });
      return { token, tokenEpoch };
    });
  }

  /**
   * Moves a KKM to `status`. Setting the current status again changes nothing; deregistered
   * is final (any other status for a deregistered KKM → ConflictError).
   */
  async setStatus(kkmId: number, status: KkmStatus): Promise<KkmRecord> {
    requireId('kkm', kkmId);
    if (!KKM_STATUSES.includes(status)) {
      throw new InvalidInputError('status', `must be one of ${KKM_STATUSES.join(', ')}`);
    }
    return this.withLock(`kkm:${kkmId}`, async () => {
      const row = await this.kkmRow(kkmId);
      if (!row) throw new NotFoundError('kkm', kkmId);
      if (row.status === status) return kkmFromRow(row);
      if (row.status === 'deregistered') {
        throw new ConflictError(
          'kkm_deregistered',
          `kkm ${kkmId} is deregistered; deregistration is final`,
        );
      }
      const updated = await this.writeKkm(row, { status });
      await this.event(kkmId, 'status_changed', { from: row.status, to: status });
      await this.recordKkmEvent(row, STATUS_EVENTS[status], { from: row.status });
      return kkmFromRow(updated);
    });
  }

  /** Registration info of a KKM in ServiceResponse.reg_info shape, or null if unknown. */
  async getRegInfo(kkmId: number): Promise<RegInfo | null> {
    const kkm = await this.getKkm(kkmId);
    if (!kkm) return null;
    const [point, org] = await Promise.all([this.getPoint(kkm.pointId), this.getOrg(kkm.orgId)]);
    if (!point || !org) return null;
    return {
      kkm: {
        serial_number: kkm.serialNumber,
        fns_kkm_id: kkm.fnsKkmId,
        kkm_id: String(kkm.kkmId),
        point_of_payment_number: String(kkm.pointId),
      },
      pos: { title: point.title, address: point.address },
      org: { title: org.title, address: org.address, inn: org.bin, okved: org.okved },
    };
  }

  // -- cashiers

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
    if (!(await this.getOrg(orgId))) throw new NotFoundError('org', orgId);
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
      const prev = await this.db.rows<{ version: number | string }>(
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
      code: number | string;
      name: string;
      password_hash: string;
      roles: (number | string)[];
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

  // -- nomenclature

  /** Stores a new nomenclature version of the org (previous + 1) and returns its number. */
  async putNomenclature(
    orgId: number,
    elements: NomenclatureElement[],
  ): Promise<{ version: number }> {
    requireId('org', orgId);
    if (!Array.isArray(elements)) throw new InvalidInputError('elements', 'must be an array');
    if (!(await this.getOrg(orgId))) throw new NotFoundError('org', orgId);
    const version = await this.nextSeq(`nomenclature:${orgId}`, async () => {
      const rows = await this.db.rows<{ m: number | string }>(
        'SELECT max(nomenclature_version) AS m FROM nomenclature WHERE org_id = {org:UInt32}',
        { org: orgId },
      );
      return Number(rows[0]?.m ?? 0);
    });
    await this.insert('nomenclature', {
      org_id: orgId,
      nomenclature_version: version,
      created_at: chTime(Date.now()),
      elements: JSON.stringify(elements),
    });
    return { version };
  }

  async latestNomenclature(orgId: number): Promise<Nomenclature | null> {
    if (!isId(orgId)) return null;
    const rows = await this.db.rows<{
      nomenclature_version: number | string;
      created_ms: number | string;
      elements: string;
    }>(
      `SELECT nomenclature_version, toUnixTimestamp64Milli(created_at) AS created_ms, elements
       FROM nomenclature FINAL WHERE org_id = {org:UInt32}
       ORDER BY nomenclature_version DESC LIMIT 1`,
      { org: orgId },
    );
    const r = rows[0];
    if (!r) return null;
    return {
      version: Number(r.nomenclature_version),
      createdAt: new Date(Number(r.created_ms)),
      elements: JSON.parse(r.elements) as NomenclatureElement[],
    };
  }

  // -- internals

  private async oneOrg(where: string, params: Record<string, unknown>): Promise<OrgRecord | null> {
    const rows = await this.db.rows<{
      org_id: number | string;
      bin: string;
      title: string;
      address: string;
      okved: string;
      created_ms: number | string;
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

  private async findUserByLogin(
    login: string,
  ): Promise<{ userId: number; orgId: number; role: string; version: number } | null> {
    const rows = await this.db.rows<{
      user_id: number | string;
      org_id: number | string;
      role: string;
      version: number | string;
    }>(
      `SELECT user_id, org_id, role, version FROM users FINAL
       WHERE login = {login:String} AND deleted = 0 ORDER BY user_id LIMIT 1`,
      { login },
    );
    const r = rows[0];
    if (!r) return null;
    return {
      userId: Number(r.user_id),
      orgId: Number(r.org_id),
      role: r.role,
      version: Number(r.version),
    };
  }

  private async kkmRow(kkmId: number): Promise<KkmRow | null> {
    if (!isId(kkmId)) return null;
    const rows = await this.db.rows<KkmRow>(
      `SELECT ${KKM_COLUMNS} FROM kkms FINAL WHERE kkm_id = {id:UInt32} LIMIT 1`,
      { id: kkmId },
    );
    return rows[0] ?? null;
  }

  /** Writes a new version of a KKM row with `changes` applied; returns the row written. */
  private async writeKkm(
    row: KkmRow,
    changes: Partial<Pick<KkmRow, 'status' | 'token' | 'token_epoch'>>,
  ): Promise<KkmRow> {
    const next: KkmRow = { ...row, ...changes, version: nextVersion(Number(row.version)) };
    await this.insert('kkms', {
      kkm_id: Number(next.kkm_id),
      org_id: Number(next.org_id),
      point_id: Number(next.point_id),
      serial_number: next.serial_number,
      model: next.model,
      fns_kkm_id: next.fns_kkm_id,
      status: next.status,
      token: Number(next.token),
      token_epoch: Number(next.token_epoch),
      created_at: chTime(Number(next.created_ms)),
      version: next.version,
    });
    return next;
  }

  /** The event the tax authority is told of, for a KKM whose lock the caller holds. */
  private async recordKkmEvent(
    row: KkmRow,
    kind: KkmEventKind,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const orgId = Number(row.org_id);
    const subject: KkmEventSubject = {
      kkmId: Number(row.kkm_id),
      orgId,
      pointId: Number(row.point_id),
      kgdNumber: row.fns_kkm_id,
      bin: (await this.getOrg(orgId))?.bin ?? '',
      serialNumber: row.serial_number,
      model: row.model,
    };
    await this.kkmEvents.record(subject, kind, { source: 'admin', ...detail });
  }

  /** An audit row in device_events (never the token itself). */
  private async event(kkmId: number, kind: string, detail: Record<string, unknown>) {
    await this.insert('device_events', {
      kkm_id: kkmId,
      received_at: chTime(Date.now()),
      kind,
      detail: JSON.stringify({ source: 'admin', ...detail }),
    });
  }

  /** The next id of a kind: Redis INCR, never at or below the largest id in ClickHouse. */
  private async highestKkmId(): Promise<number> {
    const rows = await this.db.rows<{ m: number }>('SELECT max(kkm_id) AS m FROM kkms');
    return Number(rows[0]?.m ?? 0);
  }

  private async allocate(kind: SeqKind, count = 1): Promise<number> {
    const { table, column } = SEQ_SOURCE[kind];
    return this.nextSeq(
      kind,
      async () => {
        const rows = await this.db.rows<{ m: number | string }>(
          `SELECT max(${column}) AS m FROM ${table}`,
        );
        return Number(rows[0]?.m ?? 0);
      },
      count,
    );
  }

  /** The next value of a sequence, or with `count` the last of `count` consecutive values. */
  private async nextSeq(name: string, floor: () => Promise<number>, count = 1): Promise<number> {
    return this.coordination.next(name, await floor(), count, (m) => new StoreBrokenError(m));
  }

  /** Runs `fn` holding a Redis lock, so read-modify-write updates do not interleave. */
  private withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.coordination.withLock(name, fn, (m) => new BusyError(m));
  }

  private async insert(table: string, row: Record<string, unknown>): Promise<void> {
    await this.db.insert(table, [row]);
  }
}
