// Organizations' nomenclature (COMMAND_NOMENCLATURE): the only writer of `nomenclature`; each
// upload is a new version.
import type { Redis } from 'ioredis';
import type { Db } from './db.js';
import { chTime, isId } from './values.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import { Repository, requireId } from './repository.js';
import type { Orgs } from './orgs.js';

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

export class NomenclatureStore extends Repository {
  constructor(
    db: Db,
    redis: Redis,
    keyPrefix: string,
    private readonly orgs: Orgs,
  ) {
    super(db, redis, keyPrefix);
  }

  /** Stores a new nomenclature version of the org (previous + 1) and returns its number. */
  async putNomenclature(
    orgId: number,
    elements: NomenclatureElement[],
  ): Promise<{ version: number }> {
    requireId('org', orgId);
    if (!Array.isArray(elements)) throw new InvalidInputError('elements', 'must be an array');
    if (!(await this.orgs.getOrg(orgId))) throw new NotFoundError('org', orgId);
    const version = await this.nextSeq(`nomenclature:${orgId}`, async () => {
      const rows = await this.db.rows<{ m: number }>(
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
      nomenclature_version: number;
      created_ms: number;
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
}
