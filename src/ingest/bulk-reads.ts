// The reads of the ingest path that a reconnect storm makes for every device (a first contact,
// or any request after a Redis flush: its state rebuilt, then INFO's registration and last Z
// report), batched: the devices whose reads arrive while a batch is being read go together as
// the next batch, one query for all of them (storage/batched-loader.ts). A rebuild reads the
// KKM row, never a cached one, so a token or status the operator changed counts at once (the
// device state is dropped then, and the rebuild reads the row again); INFO's registration
// reuses that read. Organizations and points, which many KKMs share and which change rarely,
// are read in batches too and cached for a short while per process (a BIN never changes; a
// point's or organization's name and address show in INFO within REGISTRY_CACHE_MS).
import type DataLoader from 'dataloader';
import { BatchSlots, batchedLoader, byId } from '../storage/batched-loader.js';
import type { Db } from '../storage/db.js';
import {
  DocumentQueries,
  type ClosedShift,
  type LastDocument,
} from '../storage/document-queries.js';
import { regInfoOf, type KkmRecord } from '../storage/kkms.js';
import type { OrgRecord, PointRecord } from '../storage/orgs.js';
import type { Registry } from '../storage/registry.js';
import { TtlCache } from '../storage/ttl-cache.js';
import type { CoreRegistry } from './command-core.js';

/** How long an organization or point read stays cached in an ingest process. */
export const REGISTRY_CACHE_MS = 10_000;

export interface BulkReadOptions {
  /** Batches read at once (over all these reads). */
  parallel: number;
  /** Devices per query. */
  maxBatch: number;
  /** Called as each batch is read (a query), with the read's name and its devices. */
  onBatch?: (read: string, keys: number) => void;
}

/** Document reads with those of a device's rebuild and of INFO batched over devices. */
export class BatchedDocumentQueries extends DocumentQueries {
  private readonly last: DataLoader<number, LastDocument | null>;
  private readonly closed: DataLoader<number, ClosedShift | null>;

  constructor(db: Db, slots: BatchSlots, maxBatch: number) {
    super(db);
    this.last = batchedLoader(
      slots,
      maxBatch,
      byId((ids) => this.lastDocuments(ids), null),
      'last_document',
    );
    this.closed = batchedLoader(
      slots,
      maxBatch,
      byId((ids) => this.lastClosedShifts(ids), null),
      'last_closed_shift',
    );
  }

  override lastDocument(kkmId: number): Promise<LastDocument | null> {
    return this.last.load(kkmId);
  }

  override lastClosedShift(kkmId: number): Promise<ClosedShift | null> {
    return this.closed.load(kkmId);
  }
}

/** The registry reads of the command core: KKM rows batched, organizations and points cached. */
export function batchedRegistry(r: Registry, slots: BatchSlots, maxBatch: number): CoreRegistry {
  const kkms = batchedLoader(
    slots,
    maxBatch,
    byId((ids) => r.kkms.getKkms(ids), null as KkmRecord | null),
    'kkm',
  );
  const pointRows = batchedLoader(
    slots,
    maxBatch,
    byId((ids) => r.orgs.getPoints(ids), null as PointRecord | null),
    'point',
  );
  const orgs = new TtlCache<number, OrgRecord | null>(REGISTRY_CACHE_MS);
  const points = new TtlCache<number, PointRecord | null>(REGISTRY_CACHE_MS);
  const getOrg = (orgId: number) => orgs.get(orgId, () => r.orgs.getOrg(orgId));
  // INFO's registration names the KKM its rebuild has just read: it takes that read. A registry
  // change drops the device state, so the rebuild after it reads the KKM row afresh.
  const registered = new TtlCache<number, KkmRecord | null>(REGISTRY_CACHE_MS, 50_000);
  const getKkm = (kkmId: number) => registered.set(kkmId, kkms.load(kkmId));
  return {
    getKkm,
    getOrg,
    async getRegInfo(kkmId) {
      const kkm = await registered.get(kkmId, () => kkms.load(kkmId));
      if (!kkm) return null;
      const [point, org] = await Promise.all([
        points.get(kkm.pointId, () => pointRows.load(kkm.pointId)),
        getOrg(kkm.orgId),
      ]);
      return regInfoOf(kkm, point, org);
    },
    findCashier: (orgId, login) => r.cashiers.findCashier(orgId, login),
    latestNomenclature: (orgId) => r.nomenclature.latestNomenclature(orgId),
  };
}

/** The reads above over one set of slots: the core's registry and document queries. */
export function bulkReads(
  registry: Registry,
  /** The store as a rebuild must read it: behind the inserts in flight (Db.afterWrites). */
  documents: Db,
  o: BulkReadOptions,
): { registry: CoreRegistry; queries: DocumentQueries } {
  const slots = new BatchSlots(o.parallel, o.onBatch);
  return {
    registry: batchedRegistry(registry, slots, o.maxBatch),
    queries: new BatchedDocumentQueries(documents, slots, o.maxBatch),
  };
}
