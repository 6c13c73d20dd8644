// Organizations and their points of sale: the only writer of the `orgs` and `points` tables.
// Registering an organization also writes its owner cabinet user, through the users
// repository (the only writer of `users`). An organization is a taxpayer or a service centre
// (ЦТО); what the taxpayer gives about itself (legal form, head, bank, addresses, contacts)
// is kept as `details`.
import { InvalidInputError, NotFoundError, ConflictError } from './errors.js';
import { chTime, isId } from './values.js';
import { hashPassword } from './passwords.js';
import { Repository, nextVersion, requireId, requireText } from './repository.js';
import type { Users } from './users.js';
import type { Db } from './db.js';
import type { Redis } from 'ioredis';

const BIN_RE = /^[0-9]{12}$/;
const DAY_MS = 86_400_000;

export type OrgKind = 'taxpayer' | 'service_centre';

/** An address in the parts the cabinet asks for. */
export interface AddressParts {
  region: string;
  locality: string;
  street: string;
  house: string;
  building?: string;
  flat?: string;
}

/** What a self-registered organization gives about itself (cabinet manual §1.3, §16). */
export interface OrgDetails {
  legalForm?: 'legal_entity' | 'individual_entrepreneur';
  head?: { position: string; name: string };
  bank?: { bik: string; iik: string };
  legalAddress?: AddressParts;
  actualAddress?: AddressParts;
  email?: string;
  phone?: string;
  agreementAcceptedAt?: string;
  /** How the registration was proven. */
  signedBy?: 'eds' | 'otp';
}

export interface OrgRecord {
  orgId: number;
  bin: string;
  title: string;
  address: string;
  okved: string;
  kind: OrgKind;
  details: OrgDetails;
  createdAt: Date;
}

export interface GeoPosition {
  lat: number;
  lon: number;
}

export interface PointRecord {
  pointId: number;
  orgId: number;
  title: string;
  address: string;
  addressParts: AddressParts | null;
  geo: GeoPosition | null;
  /** When the geo-position was last set (0: never). */
  geoChangedAt: number;
  createdAt: Date;
}

export interface CreateOrgInput {
  bin: string;
  title: string;
  address: string;
  okved: string;
  /** The owner's cabinet password (the caller enforces the password policy). */
  password: string;
  kind?: OrgKind;
  details?: OrgDetails;
}

export interface CreatePointInput {
  title: string;
  address: string;
  addressParts?: AddressParts;
  geo?: GeoPosition;
}

export type PointPatch = Partial<CreatePointInput>;

/** One line of an address in parts: "region, locality, street house/building, flat". */
export function addressText(a: AddressParts): string {
  const house = [a.house, a.building].filter(Boolean).join('/');
  return [a.region, a.locality, `${a.street} ${house}`.trim(), a.flat ? `кв. ${a.flat}` : '']
    .filter(Boolean)
    .join(', ');
}

interface OrgRow {
  org_id: number;
  bin: string;
  title: string;
  address: string;
  okved: string;
  kind: OrgKind;
  details: string;
  created_ms: number;
  version: number;
}
interface PointRow {
  point_id: number;
  org_id: number;
  title: string;
  address: string;
  address_parts: string;
  geo: string;
  geo_changed_ms: number;
  created_ms: number;
  version: number;
}

const ORG_COLUMNS = `org_id, bin, title, address, okved, kind, details,
  toUnixTimestamp64Milli(created_at) AS created_ms, version`;
const POINT_COLUMNS = `point_id, org_id, title, address, address_parts, geo, geo_changed_ms,
  toUnixTimestamp64Milli(created_at) AS created_ms, version`;

const parse = <T>(text: string, empty: T): T => {
  try {
    return text ? (JSON.parse(text) as T) : empty;
  } catch {
    return empty;
  }
};

const orgFromRow = (r: OrgRow): OrgRecord => ({
  orgId: Number(r.org_id),
  bin: r.bin,
  title: r.title,
  address: r.address,
  okved: r.okved,
  kind: r.kind ?? 'taxpayer',
  details: parse<OrgDetails>(r.details, {}),
  createdAt: new Date(Number(r.created_ms)),
});

const pointFromRow = (r: PointRow): PointRecord => {
  const parts = parse<AddressParts | null>(r.address_parts, null);
  return {
    pointId: Number(r.point_id),
    orgId: Number(r.org_id),
    title: r.title,
    address: r.address,
    addressParts: parts && Object.keys(parts).length ? parts : null,
    geo: parse<GeoPosition | null>(r.geo, null),
    geoChangedAt: Number(r.geo_changed_ms),
    createdAt: new Date(Number(r.created_ms)),
  };
};

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
      await this.writeOrg({
        orgId,
        bin,
        title,
        address,
        okved,
        kind: input.kind ?? 'taxpayer',
        details: input.details ?? {},
        createdAt: new Date(),
      });
      return { orgId, bin };
    });
  }

  /** Replaces what the organization says about itself; BIN, name and kind stay. */
  async updateDetails(
    orgId: number,
    change: { details: OrgDetails; address?: string },
  ): Promise<OrgRecord> {
    requireId('org', orgId);
    return this.withLock(`org:${orgId}`, async () => {
      const org = await this.getOrg(orgId);
      if (!org) throw new NotFoundError('org', orgId);
      const next = { ...org, details: change.details, address: change.address ?? org.address };
      await this.writeOrg(next);
      return next;
    });
  }

  async getOrg(orgId: number): Promise<OrgRecord | null> {
    if (!isId(orgId)) return null;
    return this.oneOrg('org_id = {id:UInt32}', { id: orgId });
  }

  async findOrgByBin(bin: string): Promise<OrgRecord | null> {
    return this.oneOrg('bin = {bin:String}', { bin });
  }

  /** Organizations of a kind, by id. */
  async listOrgs(kind: OrgKind): Promise<OrgRecord[]> {
    const rows = await this.db.rows<OrgRow>(
      `SELECT ${ORG_COLUMNS} FROM orgs FINAL WHERE kind = {kind:String} ORDER BY org_id`,
      { kind },
    );
    return rows.map(orgFromRow);
  }

  // -- points of sale

  async createPoint(orgId: number, input: CreatePointInput): Promise<{ pointId: number }> {
    requireId('org', orgId);
    const title = requireText('title', input.title);
    const address = requireText('address', input.address);
    if (!(await this.getOrg(orgId))) throw new NotFoundError('org', orgId);
    const pointId = await this.allocate('point');
    const now = Date.now();
    await this.writePoint({
      pointId,
      orgId,
      title,
      address,
      addressParts: input.addressParts ?? null,
      geo: input.geo ?? null,
      geoChangedAt: input.geo ? now : 0,
      createdAt: new Date(now),
    });
    return { pointId };
  }

  /** A live point of sale (a deleted one reads as missing). */
  /** These points in one query (unknown or deleted ones left out). */
  async getPoints(pointIds: readonly number[]): Promise<Map<number, PointRecord>> {
    const rows = await this.db.rows<PointRow>(
      `SELECT ${POINT_COLUMNS} FROM points FINAL
       WHERE point_id IN {ids:Array(UInt32)} AND deleted = 0`,
      { ids: pointIds.filter(isId) },
    );
    return new Map(rows.map((r) => [Number(r.point_id), pointFromRow(r)]));
  }

  async getPoint(pointId: number): Promise<PointRecord | null> {
    if (!isId(pointId)) return null;
    const rows = await this.db.rows<PointRow>(
      `SELECT ${POINT_COLUMNS} FROM points FINAL
       WHERE point_id = {id:UInt32} AND deleted = 0 LIMIT 1`,
      { id: pointId },
    );
    return rows[0] ? pointFromRow(rows[0]) : null;
  }

  async listPoints(orgId: number): Promise<PointRecord[]> {
    const rows = await this.db.rows<PointRow>(
      `SELECT ${POINT_COLUMNS} FROM points FINAL
       WHERE org_id = {org:UInt32} AND deleted = 0 ORDER BY point_id`,
      { org: orgId },
    );
    return rows.map(pointFromRow);
  }

  /**
   * Changes a point of the organization. The geo-position changes at most once a day
   * (ConflictError('geo_changed_recently') sooner).
   */
  async updatePoint(orgId: number, pointId: number, patch: PointPatch): Promise<PointRecord> {
    return this.withLock(`point:${pointId}`, async () => {
      const point = await this.ownPoint(orgId, pointId);
      const now = Date.now();
      const geoChanges =
        patch.geo !== undefined &&
        (point.geo?.lat !== patch.geo.lat || point.geo?.lon !== patch.geo.lon);
      if (geoChanges && point.geoChangedAt > 0 && now - point.geoChangedAt < DAY_MS) {
        throw new ConflictError(
          'geo_changed_recently',
          `the geo-position of point ${pointId} was changed less than a day ago`,
        );
      }
      const next: PointRecord = {
        ...point,
        title: patch.title ?? point.title,
        address: patch.address ?? point.address,
        addressParts: patch.addressParts ?? point.addressParts,
        geo: geoChanges ? patch.geo! : point.geo,
        geoChangedAt: geoChanges ? now : point.geoChangedAt,
      };
      await this.writePoint(next);
      return next;
    });
  }

  /**
   * Deletes a point of the organization: not while KKMs are registered at it
   * ('point_has_kkms') or a pending re-registration moves one there ('point_targeted').
   */
  async deletePoint(orgId: number, pointId: number): Promise<void> {
    await this.withLock(`point:${pointId}`, async () => {
      const point = await this.ownPoint(orgId, pointId);
      const [kkms] = await this.db.rows<{ n: number }>(
        `SELECT count() AS n FROM kkms FINAL
         WHERE point_id = {point:UInt32} AND status != 'deregistered'`,
        { point: pointId },
      );
      if (Number(kkms?.n ?? 0) > 0) {
        throw new ConflictError('point_has_kkms', `point ${pointId} has registered KKMs`);
      }
      const [targeted] = await this.db.rows<{ n: number }>(
        `SELECT count() AS n FROM applications FINAL
         WHERE org_id = {org:UInt32} AND kind IN ('registration', 'reregistration')
           AND startsWith(status, 'awaiting')
           AND JSONExtractUInt(detail, 'pointId') = {point:UInt32}`,
        { org: orgId, point: pointId },
      );
      if (Number(targeted?.n ?? 0) > 0) {
        throw new ConflictError(
          'point_targeted',
          `a pending application moves a KKM to point ${pointId}`,
        );
      }
      await this.writePoint(point, true);
    });
  }

  private async ownPoint(orgId: number, pointId: number): Promise<PointRecord> {
    const point = await this.getPoint(pointId);
    if (!point || point.orgId !== orgId) throw new NotFoundError('point', pointId);
    return point;
  }

  private async writePoint(p: PointRecord, deleted = false): Promise<void> {
    await this.insert('points', {
      point_id: p.pointId,
      org_id: p.orgId,
      title: p.title,
      address: p.address,
      address_parts: JSON.stringify(p.addressParts ?? {}),
      geo: p.geo ? JSON.stringify(p.geo) : '',
      geo_changed_ms: p.geoChangedAt,
      deleted: deleted ? 1 : 0,
      created_at: chTime(p.createdAt.getTime()),
      version: nextVersion(),
    });
  }

  private async writeOrg(o: OrgRecord): Promise<void> {
    await this.insert('orgs', {
      org_id: o.orgId,
      bin: o.bin,
      title: o.title,
      address: o.address,
      okved: o.okved,
      kind: o.kind,
      details: JSON.stringify(o.details),
      created_at: chTime(o.createdAt.getTime()),
      version: nextVersion(),
    });
  }

  private async oneOrg(where: string, params: Record<string, unknown>): Promise<OrgRecord | null> {
    const rows = await this.db.rows<OrgRow>(
      `SELECT ${ORG_COLUMNS} FROM orgs FINAL WHERE ${where} ORDER BY org_id LIMIT 1`,
      params,
    );
    return rows[0] ? orgFromRow(rows[0]) : null;
  }
}
