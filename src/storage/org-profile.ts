// What the operator sets per organization beyond the registry, and the reads of it the ingest
// rules make: receipt ads (section 5.4, TicketAd), the bound taxation answered in INFO
// (section 3.2, BindedTaxation) and the codes of the org's active cashiers (section 3.11).
// Reads are cached for a short while per process (TtlCache): they come with every document.
import type { Db } from './db.js';
import { nextVersion } from './repository.js';
import { TtlCache } from './ttl-cache.js';

export interface TicketAd {
  /** TicketAdTypeEnum: 0 OFD, 1 ORG, 2 POS, 3 KKM, 4 INFO (what a blocked KKM prints). */
  type: number;
  version: number;
  text: string;
}

export interface BoundTaxation {
  taxation_type: number;
  taxes: { tax_type: number; percent: number }[];
}

const CACHE_MS = 2000;

export class OrgProfile {
  private readonly settings = new TtlCache<string, string | null>(CACHE_MS);
  private readonly cashiers = new TtlCache<number, ReadonlySet<number> | null>(CACHE_MS);

  constructor(private readonly db: Db) {}

  private async setting(orgId: number, name: string): Promise<string | null> {
    return this.settings.get(`${orgId}:${name}`, async () => {
      const [row] = await this.db.rows<{ value: string }>(
        `SELECT value FROM org_settings FINAL
                WHERE org_id = {org:UInt32} AND name = {name:String}`,
        { org: orgId, name },
      );
      return row ? row.value : null;
    });
  }

  private async put(orgId: number, name: string, value: unknown): Promise<void> {
    await this.db.insert('org_settings', [
      { org_id: orgId, name, value: JSON.stringify(value), version: nextVersion() },
    ]);
    this.settings.delete(`${orgId}:${name}`);
  }

  async ads(orgId: number): Promise<TicketAd[]> {
    const value = await this.setting(orgId, 'ads');
    return value ? (JSON.parse(value) as TicketAd[]) : [];
  }

  /**
   * Replaces the org's ads, one per type. An ad whose text did not change keeps its version,
   * so devices that printed it are not sent it again; a new or changed text gets a new one.
   */
  async putAds(orgId: number, ads: { type: number; text: string }[]): Promise<TicketAd[]> {
    const before = new Map((await this.ads(orgId)).map((a) => [a.type, a]));
    const next = ads.map((a) => {
      const old = before.get(a.type);
      return old && old.text === a.text
        ? old
        : { type: a.type, text: a.text, version: nextVersion(old?.version) };
    });
    await this.put(orgId, 'ads', next);
    return next;
  }

  async taxation(orgId: number): Promise<BoundTaxation | null> {
    const value = await this.setting(orgId, 'taxation');
    return value ? (JSON.parse(value) as BoundTaxation) : null;
  }

  async putTaxation(orgId: number, taxation: BoundTaxation): Promise<void> {
    await this.put(orgId, 'taxation', taxation);
  }

  /** Codes of the org's active cashiers, or null when the org has none (no check then). */
  async cashierCodes(orgId: number): Promise<ReadonlySet<number> | null> {
    return this.cashiers.get(orgId, async () => {
      const rows = await this.db.rows<{ code: number }>(
        `SELECT code FROM cashiers FINAL WHERE org_id = {org:UInt32} AND deleted = 0`,
        { org: orgId },
      );
      return rows.length ? new Set(rows.map((r) => Number(r.code))) : null;
    });
  }
}
