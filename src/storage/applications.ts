// The organization's applications (cabinet manual §15 "Документы"): KKM registration,
// re-registration and deregistration, and wired VPN requests. The only writer of
// `applications`. A KKM application waits for the tax authority (КГД) until `confirm` applies
// it to the registry: at once when no forwarding transport is configured (`completeAtOnce`),
// or, when one is (`awaitKgd`), once the authority confirms the registry event recorded for it
// at filing (the assembly calls `confirm` on `kgd.confirmed`).
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { ConflictError, NotFoundError } from './errors.js';
import { chTime, isId } from './values.js';
import { Repository, nextVersion } from './repository.js';
import type { AnnouncedKind, Kkms, KkmRecord } from './kkms.js';

export type ApplicationKind = 'registration' | 'reregistration' | 'deregistration' | 'vpn';
export const APPLICATION_KINDS: readonly ApplicationKind[] = [
  'registration',
  'reregistration',
  'deregistration',
  'vpn',
];

/** While it waits, and once applied. */
const STATUS: Record<ApplicationKind, { awaiting: string; done: string }> = {
  registration: { awaiting: 'awaiting_kgd_registration', done: 'registered' },
  reregistration: { awaiting: 'awaiting_reregistration', done: 'reregistered' },
  deregistration: { awaiting: 'awaiting_kgd_deregistration', done: 'deregistered' },
  vpn: { awaiting: 'awaiting_operator', done: 'connected' },
};

export interface ApplicationRecord {
  id: number;
  orgId: number;
  /** The KKM it concerns (0: none, a VPN request). */
  kkmId: number;
  kind: ApplicationKind;
  status: string;
  detail: Record<string, unknown>;
  /** How the taxpayer signed it: eds, otp or password. */
  signedBy: string;
  createdAt: Date;
  decidedAt: Date | null;
}

/**
 * What to do with a new KKM application: apply it at once (`completeAtOnce`), or leave it
 * waiting for the tax authority's answer (`awaitKgd`, when forwarding sends to it).
 */
export type ForwardingDecision = (
  application: ApplicationRecord,
) => Promise<'complete' | 'await_confirmation'>;
export const completeAtOnce: ForwardingDecision = async () => 'complete';

/** The registry event a KKM application is, as the tax authority is told of it. */
const ANNOUNCED: Partial<Record<ApplicationKind, AnnouncedKind>> = {
  registration: 'registered',
  reregistration: 'reregistered',
  deregistration: 'deregistered',
};

/**
 * The decision when forwarding sends to the tax authority: the application's registry event is
 * recorded now (in `kkm_events`, with the application's id in its detail, so its confirmation
 * finds the application) and the application waits; `confirm(id, { eventRecorded: true })`
 * applies it once the authority confirmed that event. When the event cannot be recorded, the
 * application is marked `failed` (it would wait for ever, and hold back the KKM's next one)
 * and the error goes on to the caller.
 */
export function awaitKgd(kkms: Kkms, applications: Applications): ForwardingDecision {
  return async (application) => {
    const kind = ANNOUNCED[application.kind];
    if (!kind) return 'complete';
    const d = application.detail;
    try {
      const kkm = kind === 'registered' ? null : await kkms.getKkm(application.kkmId);
      await kkms.announce(
        kind,
        application.kkmId,
        {
          pointId: Number(d.pointId ?? kkm?.pointId),
          serialNumber: d.serialNumber === undefined ? undefined : String(d.serialNumber),
          model: d.model === undefined ? undefined : String(d.model),
        },
        { source: 'cabinet', applicationId: application.id },
      );
    } catch (err) {
      await applications.fail(application.id).catch(() => undefined);
      throw err;
    }
    return 'await_confirmation';
  };
}

/** What applying an application changed in the registry (ingest must re-read that KKM). */
export interface Applied {
  application: ApplicationRecord;
  kkm: KkmRecord | null;
}

interface Row {
  application_id: number;
  org_id: number;
  kkm_id: number;
  kind: ApplicationKind;
  status: string;
  detail: string;
  signed_by: string;
  created_ms: number;
  decided_ms: number | null;
}
const COLUMNS = `application_id, org_id, kkm_id, kind, status, detail, signed_by,
  toUnixTimestamp64Milli(created_at) AS created_ms,
  if(isNull(decided_at), NULL, toUnixTimestamp64Milli(assumeNotNull(decided_at))) AS decided_ms`;

const fromRow = (r: Row): ApplicationRecord => ({
  id: Number(r.application_id),
  orgId: Number(r.org_id),
  kkmId: Number(r.kkm_id),
  kind: r.kind,
  status: r.status,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
  signedBy: r.signed_by,
  createdAt: new Date(Number(r.created_ms)),
  decidedAt: r.decided_ms === null ? null : new Date(Number(r.decided_ms)),
});

export const isAwaiting = (a: ApplicationRecord) => a.status.startsWith('awaiting');

export class Applications extends Repository {
  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly kkms: Kkms,
  ) {
    super(db, redis, keyPrefix);
  }

  /**
   * Files an application in its waiting status. A KKM with another application still waiting
   * → ConflictError('application_pending').
   */
  async file(input: {
    orgId: number;
    kkmId: number;
    kind: ApplicationKind;
    detail: Record<string, unknown>;
    signedBy: string;
  }): Promise<ApplicationRecord> {
    const write = async () => {
      if (input.kkmId && (await this.list(input.orgId, { kkmId: input.kkmId })).some(isAwaiting)) {
        throw new ConflictError(
          'application_pending',
          `kkm ${input.kkmId} has an application waiting for an answer`,
        );
      }
      const application: ApplicationRecord = {
        id: await this.allocate('application'),
        ...input,
        status: STATUS[input.kind].awaiting,
        createdAt: new Date(),
        decidedAt: null,
      };
      await this.write(application);
      return application;
    };
    return input.kkmId ? this.withLock(`kkm-application:${input.kkmId}`, write) : write();
  }

  async get(id: number): Promise<ApplicationRecord | null> {
    if (!isId(id)) return null;
    const rows = await this.db.rows<Row>(
      `SELECT ${COLUMNS} FROM applications FINAL WHERE application_id = {id:UInt32}`,
      { id },
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The organization's applications, newest first, by KKM and kind when given. */
  async list(
    orgId: number,
    filter: { kkmId?: number; kind?: ApplicationKind } = {},
  ): Promise<ApplicationRecord[]> {
    const rows = await this.db.rows<Row>(
      `SELECT ${COLUMNS} FROM applications FINAL
       WHERE org_id = {org:UInt32}
         ${filter.kkmId === undefined ? '' : 'AND kkm_id = {kkm:UInt32}'}
         ${filter.kind === undefined ? '' : 'AND kind = {kind:String}'}
       ORDER BY application_id DESC LIMIT 10000`,
      { org: orgId, kkm: filter.kkmId ?? 0, kind: filter.kind ?? '' },
    );
    return rows.map(fromRow);
  }

  /** KKM applications of every organization still waiting for the tax authority. */
  async waitingForKgd(): Promise<ApplicationRecord[]> {
    const rows = await this.db.rows<Row>(
      `SELECT ${COLUMNS} FROM applications FINAL
       WHERE kind != 'vpn' AND startsWith(status, 'awaiting')
       ORDER BY application_id LIMIT 100000`,
    );
    return rows.map(fromRow);
  }

  /**
   * Applies a waiting application to the registry (the tax authority confirmed it, or no
   * confirmation is needed): registers, moves or deregisters the KKM, then marks it done. A
   * registration takes the KGD number the tax authority gave (`fnsKkmId`); without one, the
   * KKM's own ID stands in. `eventRecorded`: its registry event was recorded when it was filed
   * (`awaitKgd`), so applying it records none.
   */
  async confirm(
    id: number,
    answer: { fnsKkmId?: string; eventRecorded?: boolean } = {},
  ): Promise<Applied> {
    const found = await this.waiting(id);
    // Under the lock filing takes: two confirmations of one application apply it once.
    if (!found.kkmId) return this.apply(found, answer);
    return this.withLock(`kkm-application:${found.kkmId}`, async () =>
      this.apply(await this.waiting(id), answer),
    );
  }

  private async apply(
    application: ApplicationRecord,
    answer: { fnsKkmId?: string; eventRecorded?: boolean },
  ): Promise<Applied> {
    const d = application.detail;
    const applying = { eventRecorded: answer.eventRecorded ?? false };
    let kkm: KkmRecord | null = null;
    if (application.kind === 'registration') {
      await this.kkms.createKkm(
        Number(d.pointId),
        {
          serialNumber: String(d.serialNumber),
          model: String(d.model),
          fnsKkmId: answer.fnsKkmId ?? String(application.kkmId),
          name: String(d.name ?? ''),
          year: Number(d.year ?? 0),
        },
        application.kkmId,
        applying,
      );
      kkm = await this.kkms.getKkm(application.kkmId);
    } else if (application.kind === 'reregistration') {
      kkm = await this.kkms.moveToPoint(application.kkmId, Number(d.pointId), applying);
    } else if (application.kind === 'deregistration') {
      kkm = await this.kkms.setStatus(application.kkmId, 'deregistered', applying);
    }
    return { application: await this.decide(application, STATUS[application.kind].done), kkm };
  }

  /** A waiting application that never reached the tax authority: nothing changes. */
  async fail(id: number): Promise<ApplicationRecord> {
    return this.decide(await this.waiting(id), 'failed');
  }

  /** The tax authority refused a waiting application: nothing changes in the registry. */
  async reject(id: number): Promise<ApplicationRecord> {
    return this.decide(await this.waiting(id), 'rejected');
  }

  private async waiting(id: number): Promise<ApplicationRecord> {
    const application = await this.get(id);
    if (!application) throw new NotFoundError('application', id);
    if (!isAwaiting(application)) {
      throw new ConflictError(
        'application_pending',
        `application ${id} is ${application.status}, not waiting`,
      );
    }
    return application;
  }

  private async decide(application: ApplicationRecord, status: string) {
    const next = { ...application, status, decidedAt: new Date() };
    await this.write(next);
    return next;
  }

  private async write(a: ApplicationRecord): Promise<void> {
    await this.insert('applications', {
      application_id: a.id,
      org_id: a.orgId,
      kkm_id: a.kkmId,
      kind: a.kind,
      status: a.status,
      detail: JSON.stringify(a.detail),
      signed_by: a.signedBy,
      created_at: chTime(a.createdAt.getTime()),
      decided_at: a.decidedAt ? chTime(a.decidedAt.getTime()) : null,
      version: nextVersion(),
    });
  }
}
