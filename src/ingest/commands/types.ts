// What a command rule receives and returns. Rules decide; the command core does the I/O of
// claiming device state, committing the document and answering.
import type { Logger } from 'pino';
import type { FrameHeader } from '../../protocol/header.js';
import type { IResponse, Request } from '../../protocol/schema.js';
import type { DocumentQueries } from '../../storage/document-queries.js';
import type { RegInfo } from '../../storage/kkms.js';
import type { DocumentRow } from '../../fiscal/document-rows.js';
import type { DeviceState } from '../../fiscal/device-state.js';

export interface Cashier {
  code: number;
  name: string;
  passwordHash: string;
  roles: number[];
}

export interface NomenclatureVersion {
  version: number;
  createdAt: Date;
  elements: unknown[];
}

/** The registry reads the command rules need (implemented by storage/registry.ts). */
export interface RegistryReader {
  getRegInfo(kkmId: number): Promise<RegInfo | null>;
  findCashier(orgId: number, login: string): Promise<Cashier | null>;
  latestNomenclature(orgId: number): Promise<NomenclatureVersion | null>;
}

/** Operator-set organization data the rules read (implemented by storage/org-profile.ts). */
export interface OrgReader {
  ads(orgId: number): Promise<{ type: number; version: number; text: string }[]>;
  taxation(
    orgId: number,
  ): Promise<{ taxation_type: number; taxes: { tax_type: number; percent: number }[] } | null>;
  /** Codes of the org's active cashiers; null when it has none. */
  cashierCodes(orgId: number): Promise<ReadonlySet<number> | null>;
}

/** The national product catalogue (implemented by storage/catalogue.ts). */
export interface CatalogueReader {
  find(
    barcode: string,
  ): Promise<{ barcode: string; ntin: string; nameRu: string; nameKk: string } | null>;
}

/** Failed COMMAND_AUTH attempts per register and cashier (storage/cashier-auth-limits.ts). */
export interface CashierAuthLimiter {
  locked(kkmId: number, login: string): Promise<boolean>;
  failed(kkmId: number, login: string): Promise<void>;
  succeeded(kkmId: number, login: string): Promise<void>;
}

export interface CommandContext {
  header: FrameHeader;
  request: Request;
  /** The whole request frame, stored verbatim with the document. */
  frame: Buffer;
  receivedAt: number;
  state: DeviceState;
  queries: DocumentQueries;
  registry: RegistryReader;
  orgs: OrgReader;
  catalogue: CatalogueReader;
  verifyPassword: (plain: string, hash: string) => Promise<boolean>;
  cashierAuth?: CashierAuthLimiter;
  receiptUrl: string;
  shiftMaxHours: number;
  log: Logger;
}

export interface EventRow {
  kkm_id: number;
  received_at: number;
  kind: string;
  detail: string;
}

export type Outcome =
  | {
      kind: 'answer';
      response: IResponse;
      state: DeviceState;
      /** A fiscal document to commit before answering; its presence rotates the token. */
      document?: DocumentRow;
    }
  | { kind: 'reject'; code: number; text: string };

export const reject = (code: number, text: string): Outcome => ({ kind: 'reject', code, text });
