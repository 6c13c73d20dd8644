// Service centres (ЦТО, cabinet manual §18) and what their clients let them see: the only
// writer of `service_centres` and `service_grants`. A centre is an organization of kind
// service_centre (registered through the orgs repository, so its owner logs in with its BIN
// and may have sub-users); a grant names the client's KKMs and cabinet modules the centre may
// read, and lives pending → accepted or rejected → terminated.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js';
import { chTime, isId } from './values.js';
import { Repository, nextVersion } from './repository.js';
import type { OrgRecord, Orgs } from './orgs.js';

export type GrantStatus = 'pending' | 'accepted' | 'rejected' | 'terminated';

export interface CentreRecord {
  centreId: number;
  bin: string;
  title: string;
  models: string[];
}

export interface GrantRecord {
  id: number;
  clientOrgId: number;
  centreId: number;
  kkmIds: number[];
  modules: string[];
  status: GrantStatus;
  /** When the grant entered its status. */
  since: Date;
}

interface GrantRow {
  grant_id: number;
  client_org_id: number;
  centre_org_id: number;
  kkm_ids: number[];
  modules: string[];
  status: GrantStatus;
  since_ms: number;
}
const GRANT_COLUMNS = `grant_id, client_org_id, centre_org_id, kkm_ids, modules, status,
  toUnixTimestamp64Milli(since) AS since_ms`;

const grantFromRow = (r: GrantRow): GrantRecord => ({
  id: Number(r.grant_id),
  clientOrgId: Number(r.client_org_id),
  centreId: Number(r.centre_org_id),
  kkmIds: r.kkm_ids.map(Number),
  modules: r.modules,
  status: r.status,
  since: new Date(Number(r.since_ms)),
});

export class ServiceCentres extends Repository {
  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly orgs: Orgs,
  ) {
    super(db, redis, keyPrefix);
  }

  /** Registers a centre (an organization with its owner, login = BIN) and its KKM models. */
  async register(input: {
    bin: string;
    title: string;
    models: string[];
    password: string;
  }): Promise<{ centreId: number }> {
    const { orgId } = await this.orgs.createOrg({
      bin: input.bin,
      title: input.title,
      address: '-',
      okved: '-',
      password: input.password,
      kind: 'service_centre',
    });
    await this.insert('service_centres', {
      org_id: orgId,
      models: [...new Set(input.models)],
      version: nextVersion(),
    });
    return { centreId: orgId };
  }

  /** Centres serving `model` (any when not given) whose name or BIN contains `q`. */
  async search(filter: { model?: string; q?: string }): Promise<CentreRecord[]> {
    const [centres, models] = await Promise.all([
      this.orgs.listOrgs('service_centre'),
      this.db.rows<{ org_id: number; models: string[] }>(
        'SELECT org_id, models FROM service_centres FINAL',
      ),
    ]);
    const byOrg = new Map(models.map((m) => [Number(m.org_id), m.models]));
    const q = filter.q?.toLowerCase();
    return centres
      .map((o: OrgRecord) => ({
        centreId: o.orgId,
        bin: o.bin,
        title: o.title,
        models: byOrg.get(o.orgId) ?? [],
      }))
      .filter((c) => !filter.model || c.models.includes(filter.model))
      .filter((c) => !q || c.title.toLowerCase().includes(q) || c.bin.includes(q));
  }

  async getCentre(centreId: number): Promise<CentreRecord | null> {
    const org = await this.orgs.getOrg(centreId);
    if (!org || org.kind !== 'service_centre') return null;
    const [row] = await this.db.rows<{ models: string[] }>(
      'SELECT models FROM service_centres FINAL WHERE org_id = {org:UInt32}',
      { org: centreId },
    );
    return { centreId, bin: org.bin, title: org.title, models: row?.models ?? [] };
  }

  // -- grants

  /** A client asks a centre to serve these KKMs with these modules: a pending grant. */
  async requestService(input: {
    clientOrgId: number;
    centreId: number;
    kkmIds: number[];
    modules: string[];
  }): Promise<GrantRecord> {
    if (!(await this.getCentre(input.centreId))) {
      throw new InvalidInputError('centreId', `${input.centreId} is not a service centre`);
    }
    const grant: GrantRecord = {
      id: await this.allocate('grant'),
      clientOrgId: input.clientOrgId,
      centreId: input.centreId,
      kkmIds: [...new Set(input.kkmIds)].sort((a, b) => a - b),
      modules: [...new Set(input.modules)],
      status: 'pending',
      since: new Date(),
    };
    await this.write(grant);
    return grant;
  }

  /** The client changes the KKMs (and modules) of a live grant; its status stays. */
  async changeGrant(
    clientOrgId: number,
    id: number,
    change: { kkmIds: number[]; modules?: string[] },
  ): Promise<GrantRecord> {
    return this.update(
      id,
      (g) => g.clientOrgId === clientOrgId,
      ['pending', 'accepted'],
      (g) => ({
        ...g,
        kkmIds: [...new Set(change.kkmIds)].sort((a, b) => a - b),
        modules: change.modules ? [...new Set(change.modules)] : g.modules,
      }),
    );
  }

  /** The client stops the showing of data: access ends at once. */
  async terminate(clientOrgId: number, id: number): Promise<GrantRecord> {
    return this.update(
      id,
      (g) => g.clientOrgId === clientOrgId,
      ['pending', 'accepted'],
      (g) => ({
        ...g,
        status: 'terminated',
        since: new Date(),
      }),
    );
  }

  /** The centre accepts or rejects a pending request. */
  async decide(
    centreId: number,
    id: number,
    status: 'accepted' | 'rejected',
  ): Promise<GrantRecord> {
    return this.update(
      id,
      (g) => g.centreId === centreId,
      ['pending'],
      (g) => ({
        ...g,
        status,
        since: new Date(),
      }),
    );
  }

  async grantsOfClient(clientOrgId: number): Promise<GrantRecord[]> {
    return this.grants('client_org_id = {org:UInt32}', clientOrgId);
  }

  async grantsOfCentre(centreId: number): Promise<GrantRecord[]> {
    return this.grants('centre_org_id = {org:UInt32}', centreId);
  }

  /** What a centre may read now: each granted KKM with its modules (accepted grants only). */
  async servicedKkms(centreId: number): Promise<Map<number, Set<string>>> {
    const out = new Map<number, Set<string>>();
    for (const g of await this.grantsOfCentre(centreId)) {
      if (g.status !== 'accepted') continue;
      for (const k of g.kkmIds) {
        const modules = out.get(k) ?? new Set<string>();
        g.modules.forEach((m) => modules.add(m));
        out.set(k, modules);
      }
    }
    return out;
  }

  private async grants(where: string, orgId: number): Promise<GrantRecord[]> {
    const rows = await this.db.rows<GrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM service_grants FINAL WHERE ${where} ORDER BY grant_id`,
      { org: orgId },
    );
    return rows.map(grantFromRow);
  }

  /** Read-modify-write of one grant the caller owns (else 404), from one of `from` (else 409). */
  private async update(
    id: number,
    owns: (g: GrantRecord) => boolean,
    from: GrantStatus[],
    change: (g: GrantRecord) => GrantRecord,
  ): Promise<GrantRecord> {
    return this.withLock(`grant:${id}`, async () => {
      const [row] = isId(id)
        ? await this.db.rows<GrantRow>(
            `SELECT ${GRANT_COLUMNS} FROM service_grants FINAL WHERE grant_id = {id:UInt32}`,
            { id },
          )
        : [];
      const grant = row ? grantFromRow(row) : null;
      if (!grant || !owns(grant)) throw new NotFoundError('grant', id);
      if (!from.includes(grant.status)) {
        throw new ConflictError('grant_state', `grant ${id} is ${grant.status}`);
      }
      const next = change(grant);
      await this.write(next);
      return next;
    });
  }

  private async write(g: GrantRecord): Promise<void> {
    await this.insert('service_grants', {
      grant_id: g.id,
      client_org_id: g.clientOrgId,
      centre_org_id: g.centreId,
      kkm_ids: g.kkmIds,
      modules: g.modules,
      status: g.status,
      since: chTime(g.since.getTime()),
      version: nextVersion(),
    });
  }
}
