// KKMs: the only writer of the `kkms` table (and of the registry's audit rows in
// `device_events`: token issues and status changes made by the operator or the cabinet).
// Tokens are never logged.
import { randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import type { KkmStatus } from '../fiscal/device-state.js';
import { MAX_UINT32 } from '../protocol/numbers.js';
import { chTime, isId } from './values.js';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js';
import { UnknownIds } from './unknown-ids.js';
import { Repository, nextVersion, requireId, requireText } from './repository.js';
import type { OrgRecord, Orgs, PointRecord } from './orgs.js';
import type { KkmEvent, KkmEventKind, KkmEvents, KkmEventSubject } from './kkm-events.js';

export const KKM_STATUSES: readonly KkmStatus[] = ['active', 'blocked', 'deregistered'];

/** The registry event a move to each status is, as the tax authority is told. */
const STATUS_EVENTS: Record<KkmStatus, KkmEventKind> = {
  active: 'unblocked',
  blocked: 'blocked',
  deregistered: 'deregistered',
};

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
  /** The taxpayer's own name for the KKM and its year of manufacture (0: not given). */
  name: string;
  year: number;
  createdAt: Date;
}

/**
 * How a registry change is applied. `eventRecorded`: its registry event was recorded (and
 * forwarded) before, when the application was filed (`announce`), so none is recorded again.
 */
export interface ApplyOptions {
  eventRecorded?: boolean;
}

/** The changes a cabinet application asks the tax authority to confirm. */
export type AnnouncedKind = 'registered' | 'reregistered' | 'deregistered';

export interface CreateKkmInput {
  serialNumber: string;
  model: string;
  fnsKkmId: string;
  name?: string;
  year?: number;
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

/** A random token for the frame header: uint32, never 0. */
export function randomToken(unlike?: number): number {
  for (;;) {
    const token = randomInt(1, MAX_UINT32 + 1);
    if (token !== unlike) return token;
  }
}

interface KkmRow {
  kkm_id: number;
  org_id: number;
  point_id: number;
  serial_number: string;
  model: string;
  fns_kkm_id: string;
  status: KkmStatus;
  token: number;
  token_epoch: number;
  name: string;
  year: number;
  created_ms: number;
  version: number;
}

const KKM_COLUMNS = `kkm_id, org_id, point_id, serial_number, model, fns_kkm_id, status, token,
  token_epoch, name, year, toUnixTimestamp64Milli(created_at) AS created_ms, version`;

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
    name: r.name,
    year: Number(r.year),
    createdAt: new Date(Number(r.created_ms)),
  };
}

export class Kkms extends Repository {
  /** KKM ids looked up and not found (a register's frames name its id on every request). */
  private readonly unknownKkms = new UnknownIds(() => this.highestKkmId());

  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly orgs: Orgs,
    /** The events every KKM change records, forwarded to the tax authority. */
    private readonly kkmEvents: KkmEvents,
  ) {
    super(db, redis, keyPrefix);
  }

  /** Registers a KKM at a point: status active, a fresh random token, token epoch 1. */
  async createKkm(
    pointId: number,
    input: CreateKkmInput,
    /** An id handed out before (`allocateKkmId`, for an application); default: a new one. */
    reservedId?: number,
    { eventRecorded = false }: ApplyOptions = {},
  ): Promise<{ kkmId: number }> {
    requireId('point', pointId);
    const serialNumber = requireText('serialNumber', input.serialNumber);
    const model = requireText('model', input.model);
    const fnsKkmId = requireText('fnsKkmId', input.fnsKkmId);
    const point = await this.orgs.getPoint(pointId);
    if (!point) throw new NotFoundError('point', pointId);
    const kkmId = reservedId ?? (await this.allocateKkmId());
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
      name: input.name ?? '',
      year: input.year ?? 0,
      created_at: chTime(Date.now()),
      version: nextVersion(),
    });
    this.unknownKkms.registered(kkmId);
    if (eventRecorded) return { kkmId };
    const org = await this.orgs.getOrg(point.orgId);
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
   * A KKM id for a registration application, before the KKM row exists: never at or below an
   * id stored in `kkms` or named by an application.
   */
  async allocateKkmId(count = 1): Promise<number> {
    return this.nextSeq(
      'kkm',
      () =>
        this.maxOf(
          `SELECT greatest((SELECT max(kkm_id) FROM kkms),
             (SELECT max(kkm_id) FROM applications)) AS m`,
        ),
      count,
    );
  }

  /**
   * Records the registry event of a change that is applied only once the tax authority
   * confirms it (a cabinet application), before the change itself: a registration's as the new
   * KKM's first event (its id allocated, its row not written yet), a re-registration's (with
   * the new point) or a deregistration's as the KKM's next, under its lock as every registry
   * event is numbered. Applying the change later passes `eventRecorded`, so it is not recorded
   * twice.
   */
  async announce(
    kind: AnnouncedKind,
    kkmId: number,
    change: { pointId: number; serialNumber?: string; model?: string },
    detail: Record<string, unknown>,
  ): Promise<KkmEvent> {
    requireId('kkm', kkmId);
    if (kind === 'registered') {
      const point = await this.orgs.getPoint(change.pointId);
      if (!point) throw new NotFoundError('point', change.pointId);
      const subject: KkmEventSubject = {
        kkmId,
        orgId: point.orgId,
        pointId: point.pointId,
        // The authority gives the KGD number when it confirms the registration.
        kgdNumber: '',
        bin: (await this.orgs.getOrg(point.orgId))?.bin ?? '',
        serialNumber: change.serialNumber ?? '',
        model: change.model ?? '',
      };
      return this.kkmEvents.record(subject, kind, detail, { first: true });
    }
    return this.withLock(`kkm:${kkmId}`, async () => {
      const row = await this.kkmRow(kkmId);
      if (!row) throw new NotFoundError('kkm', kkmId);
      const subject = await this.eventSubject({ ...row, point_id: change.pointId });
      return this.kkmEvents.record(subject, kind, detail);
    });
  }

  /** Moves a KKM to another point of its organization (re-registration done). */
  async moveToPoint(
    kkmId: number,
    pointId: number,
    { eventRecorded = false }: ApplyOptions = {},
  ): Promise<KkmRecord> {
    requireId('kkm', kkmId);
    return this.withLock(`kkm:${kkmId}`, async () => {
      const row = await this.kkmRow(kkmId);
      if (!row) throw new NotFoundError('kkm', kkmId);
      const point = await this.orgs.getPoint(pointId);
      if (!point || point.orgId !== Number(row.org_id)) throw new NotFoundError('point', pointId);
      const updated = await this.writeKkm(row, { point_id: pointId });
      await this.event(kkmId, 'point_changed', { from: Number(row.point_id), to: pointId });
      if (!eventRecorded) {
        await this.recordKkmEvent(updated, 'reregistered', { from: Number(row.point_id) });
      }
      return kkmFromRow(updated);
    });
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
    const point = await this.orgs.getPoint(pointId);
    if (!point) throw new NotFoundError('point', pointId);
    const last = await this.allocateKkmId(checked.length);
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
      name: '',
      year: 0,
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
    const bin = (await this.orgs.getOrg(point.orgId))?.bin ?? '';
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

  /** These KKMs in one query (unknown ones are left out), for device states rebuilt in bulk. */
  async getKkms(kkmIds: readonly number[]): Promise<Map<number, KkmRecord>> {
    const asked: number[] = [];
    for (const id of new Set(kkmIds)) {
      if (isId(id) && !(await this.unknownKkms.absent(id))) asked.push(id);
    }
    const found = new Map<number, KkmRecord>();
    if (!asked.length) return found;
    const rows = await this.db.rows<KkmRow>(
      `SELECT ${KKM_COLUMNS} FROM kkms FINAL WHERE kkm_id IN {ids:Array(UInt32)}`,
      { ids: asked },
    );
    for (const row of rows) found.set(Number(row.kkm_id), kkmFromRow(row));
    for (const id of asked) if (!found.has(id)) this.unknownKkms.add(id);
    return found;
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
  async setStatus(
    kkmId: number,
    status: KkmStatus,
    { eventRecorded = false }: ApplyOptions = {},
  ): Promise<KkmRecord> {
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
      if (!eventRecorded) {
        await this.recordKkmEvent(row, STATUS_EVENTS[status], { from: row.status });
      }
      return kkmFromRow(updated);
    });
  }

  /** Registration info of a KKM in ServiceResponse.reg_info shape, or null if unknown. */
  async getRegInfo(kkmId: number): Promise<RegInfo | null> {
    const kkm = await this.getKkm(kkmId);
    if (!kkm) return null;
    const [point, org] = await Promise.all([
      this.orgs.getPoint(kkm.pointId),
      this.orgs.getOrg(kkm.orgId),
    ]);
    return regInfoOf(kkm, point, org);
  }

  // -- internals

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
    changes: Partial<Pick<KkmRow, 'status' | 'token' | 'token_epoch' | 'point_id'>>,
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
      name: next.name,
      year: Number(next.year),
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
    await this.kkmEvents.record(await this.eventSubject(row), kind, { source: 'admin', ...detail });
  }

  /** What a registry event says of the KKM this row is. */
  private async eventSubject(row: KkmRow): Promise<KkmEventSubject> {
    const orgId = Number(row.org_id);
    return {
      kkmId: Number(row.kkm_id),
      orgId,
      pointId: Number(row.point_id),
      kgdNumber: row.fns_kkm_id,
      bin: (await this.orgs.getOrg(orgId))?.bin ?? '',
      serialNumber: row.serial_number,
      model: row.model,
    };
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

  /** The largest KKM id ClickHouse holds. */
  private async highestKkmId(): Promise<number> {
    const rows = await this.db.rows<{ m: number }>('SELECT max(kkm_id) AS m FROM kkms');
    return Number(rows[0]?.m ?? 0);
  }
}

/** ServiceResponse.reg_info of a KKM at its point of its organization (null if either is gone). */
export function regInfoOf(
  kkm: KkmRecord,
  point: Pick<PointRecord, 'title' | 'address'> | null,
  org: Pick<OrgRecord, 'title' | 'address' | 'bin' | 'okved'> | null,
): RegInfo | null {
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
