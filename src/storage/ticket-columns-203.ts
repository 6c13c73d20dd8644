// The documents columns of what protocol 2.0.3 adds to a receipt: NTIN and excise stamp lists
// per line, card and mobile payment details per payment, the parent ticket of a return and the
// domain. Pure, like document-rows.ts. A 2.0.2 receipt fills them with their defaults (its single
// excise_stamp goes into the stamp list), so every row has the same columns and Nested arrays of
// the same length.
import { toTiyn } from '../fiscal/money.js';
import { wallClock } from '../protocol/datetime.js';
import { ItemType, type ITicketRequest } from '../protocol/schema.js';
import { InvalidDocumentError } from '../fiscal/document-rows.js';

/** The domain column when a receipt names none (2.0.2 made it optional). */
export const NO_DOMAIN = -1;

/** The parent-ticket columns when a receipt has none. */
export const NO_PARENT_TIME = '1970-01-01 00:00:00';

function parentTotal(m: Parameters<typeof toTiyn>[0]): number {
  if (!m) return 0;
  const tiyn = toTiyn(m);
  if (tiyn === null) throw new InvalidDocumentError('parent_ticket_total is not a valid amount');
  return tiyn;
}

/** The 2.0.3 columns of a receipt; throws InvalidDocumentError for out-of-range values. */
export function ticketColumns203(t: ITicketRequest): Record<string, unknown> {
  const items = t.items ?? [];
  const ntin: string[] = [];
  const stamps: string[][] = [];
  for (const item of items) {
    const goods =
      item.type === ItemType.ITEM_TYPE_COMMODITY
        ? item.commodity
        : item.type === ItemType.ITEM_TYPE_STORNO_COMMODITY
          ? item.storno_commodity
          : null;
    ntin.push(goods?.ntin ?? '');
    const list = goods?.list_excise_stamp ?? [];
    stamps.push(list.length ? list : goods?.excise_stamp ? [goods.excise_stamp] : []);
  }
  const payments = t.payments ?? [];
  const card = payments.map((p) => p.card_payment_fields);
  for (const c of card) {
    // uint64 on the wire: past 2^53 a JS number would round into storage.
    if (c?.pos_rrn && !Number.isSafeInteger(c.pos_rrn)) {
      throw new InvalidDocumentError('payments.card_payment_fields.pos_rrn is out of range');
    }
  }
  const mobile = payments.map((p) => p.mobile_payment_fields);
  const parent = t.parent_ticket;
  return {
    domain: t.domain?.type ?? NO_DOMAIN,
    'items.ntin': ntin,
    'items.excise_stamps': stamps,
    'payments.card_terminal_id': card.map((c) => c?.pos_terminal_id ?? ''),
    'payments.card_type': card.map((c) => c?.pos_card_type ?? ''),
    'payments.card_auth_code': card.map((c) => c?.pos_autorization_code ?? 0),
    'payments.card_rrn': card.map((c) => c?.pos_rrn ?? 0),
    'payments.card_receipt_number': card.map((c) => c?.pos_receipt_number ?? 0),
    'payments.mobile_qr_type': mobile.map((m) => m?.qr_type ?? ''),
    'payments.mobile_qr_id': mobile.map((m) => m?.qr_id ?? ''),
    parent_number: parent?.parent_ticket_number ?? '',
    parent_time: (parent && wallClock(parent.parent_ticket_data_time)) || NO_PARENT_TIME,
    parent_kgd_kkm_id: parent?.kgd_kkm_id ?? '',
    parent_total: parentTotal(parent?.parent_ticket_total),
    parent_offline: parent?.parent_ticket_is_offline ? 1 : 0,
  };
}

/** The same columns, read back (JSONEachRow quotes 64-bit integers): the receipt's own… */
export const TICKET_203_SCALARS = `protocol_version, domain, parent_number,
  toString(parent_time) AS parent_wall_time, parent_kgd_kkm_id, parent_total, parent_offline`;
/** …and those of its lines and payments. */
export const TICKET_203_ARRAYS = `items.ntin, items.excise_stamps, payments.card_terminal_id,
  payments.card_type, payments.card_auth_code, payments.card_rrn, payments.card_receipt_number,
  payments.mobile_qr_type, payments.mobile_qr_id`;
export const TICKET_203_SELECT = `${TICKET_203_SCALARS}, ${TICKET_203_ARRAYS}`;

export interface CardDetails {
  terminalId: string;
  cardType: string;
  authorizationCode: number;
  rrn: number;
  receiptNumber: number;
}

export interface MobileDetails {
  qrType: string;
  qrId: string;
}

export interface ParentTicket {
  number: string;
  /** Device wall clock of the parent receipt, 'YYYY-MM-DD hh:mm:ss'. */
  dateTime: string;
  kgdKkmId: string;
  /** Tiyn. */
  total: number;
  offline: boolean;
}

export interface Ticket203 {
  protocolVersion: number;
  /** DomainTypeEnum, or NO_DOMAIN. */
  domain: number;
  items: { ntin: string; exciseStamps: string[] }[];
  payments: { card: CardDetails | null; mobile: MobileDetails | null }[];
  parentTicket: ParentTicket | null;
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export function readTicket203(r: Record<string, unknown>): Ticket203 {
  const ntin = list<string>(r['items.ntin']);
  const stamps = list<string[]>(r['items.excise_stamps']);
  const at = (name: string, i: number): unknown => list(r[name])[i];
  const payments = list(r['payments.card_type']).map((_, i) => {
    const card: CardDetails = {
      terminalId: String(at('payments.card_terminal_id', i) ?? ''),
      cardType: String(at('payments.card_type', i) ?? ''),
      authorizationCode: Number(at('payments.card_auth_code', i) ?? 0),
      rrn: Number(at('payments.card_rrn', i) ?? 0),
      receiptNumber: Number(at('payments.card_receipt_number', i) ?? 0),
    };
    const mobile: MobileDetails = {
      qrType: String(at('payments.mobile_qr_type', i) ?? ''),
      qrId: String(at('payments.mobile_qr_id', i) ?? ''),
    };
    const hasCard = Object.values(card).some((v) => v !== '' && v !== 0);
    return { card: hasCard ? card : null, mobile: mobile.qrType || mobile.qrId ? mobile : null };
  });
  const number = String(r.parent_number ?? '');
  return {
    protocolVersion: Number(r.protocol_version ?? 0),
    domain: Number(r.domain ?? NO_DOMAIN),
    items: ntin.map((n, i) => ({ ntin: n, exciseStamps: stamps[i] ?? [] })),
    payments,
    parentTicket: number
      ? {
          number,
          dateTime: String(r.parent_wall_time),
          kgdKkmId: String(r.parent_kgd_kkm_id),
          total: Number(r.parent_total),
          offline: Number(r.parent_offline) === 1,
        }
      : null,
  };
}
