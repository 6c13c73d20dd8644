// The national product catalogue (НКТ) the operator loads, looked up by barcode when a 2.0.3
// register asks COMMAND_NOMENCLATURE for a barcode its organization's nomenclature lacks.
import type { Db } from './db.js';
import { nextVersion } from './repository.js';

export interface CatalogueEntry {
  barcode: string;
  ntin: string;
  nameRu: string;
  nameKk: string;
}

export const CATALOGUE_MAX_ENTRIES = 100_000;

export class Catalogue {
  constructor(private readonly db: Db) {}

  /** Stores the entries, replacing those with the same barcode (the last one of a call wins). */
  async put(entries: CatalogueEntry[]): Promise<number> {
    const version = nextVersion();
    const byBarcode = new Map(entries.map((e) => [e.barcode, e]));
    await this.db.insert(
      'product_catalogue',
      [...byBarcode.values()].map((e) => ({
        barcode: e.barcode,
        ntin: e.ntin,
        name_ru: e.nameRu,
        name_kk: e.nameKk,
        version,
      })),
    );
    return byBarcode.size;
  }

  async find(barcode: string): Promise<CatalogueEntry | null> {
    const [r] = await this.db.rows<{
      barcode: string;
      ntin: string;
      name_ru: string;
      name_kk: string;
    }>(
      `SELECT barcode, ntin, name_ru, name_kk FROM product_catalogue FINAL
              WHERE barcode = {barcode:String} LIMIT 1`,
      { barcode },
    );
    return r ? { barcode: r.barcode, ntin: r.ntin, nameRu: r.name_ru, nameKk: r.name_kk } : null;
  }
}
