// Builds the one wide `documents` row for each kind of fiscal document. Pure: the same request
// and state always give the same row, which is what makes a recomputed retry harmless.
import { toTiyn } from './money.js';
import { ItemType, type ITicketRequest } from '../protocol/schema.js';

export type DocType = 'ticket' | 'close_shift' | 'money_placement' | 'cancel_ticket';

/** The columns every document row has. */
export interface DocumentBase {
  kkm_id: number;
  doc_seq: number;
  doc_type: DocType;
  org_id: number;
  point_id: number;
  shift_number: number;
  device_time: string;
  received_at: number;
  is_offline: number;
  offline_number: number;
  printed_number: number;
  req_num: number;
  token_in: number;
  token_out: number;
  operator_code: number;
  operator_name: string;
  state: string;
  raw_request: string;
  response: string;
}

/** The money facts of a document, as the reports read them back. */
export interface DocumentFigures {
  doc_seq: number;
  doc_type: DocType;
  operation: number;
  is_offline: number;
  total: number;
  taken: number;
  change: number;
  discount: number;
  markup: number;
  'items.type': number[];
  'items.section': string[];
  'items.sum': number[];
  'payments.type': number[];
  'payments.sum': number[];
  'taxes.type': number[];
  'taxes.percent': number[];
  'taxes.sum': number[];
  'taxes.turnover': number[];
  placement: number;
  cancelled_seq: number;
}

export type DocumentRow = DocumentBase & Partial<DocumentFigures> & Record<string, unknown>;

export class InvalidDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDocumentError';
  }
}

function tiyn(m: Parameters<typeof toTiyn>[0], field: string): number {
  const v = toTiyn(m);
  if (v === null) throw new InvalidDocumentError(`${field} is not a valid amount`);
  return v;
}

const optionalTiyn = (m: Parameters<typeof toTiyn>[0], field: string): number =>
  m ? tiyn(m, field) : 0;

/** Ticket columns: items, payments and taxes as parallel arrays (Nested), money in tiyn. */
export function ticketFigures(t: ITicketRequest): Record<string, unknown> & { total: number } {
  const items = t.items ?? [];
  const cols = {
    type: [] as number[],
    name: [] as string[],
    section: [] as string[],
    quantity: [] as number[],
    price: [] as number[],
    sum: [] as number[],
    code: [] as number[],
    barcode: [] as string[],
    unit: [] as string[],
    tax_percent: [] as number[],
    tax_sum: [] as number[],
  };
  let discount = 0;
  let markup = 0;
  // Taxes by (type, percent): the ticket's own list, or else the sum of its lines' taxes.
  const taxes = new Map<string, { type: number; percent: number; sum: number; turnover: number }>();
  const addTax = (type: number, percent: number, sum: number, turnover: number) => {
    const key = `${type}:${percent}`;
    const t0 = taxes.get(key);
    if (t0) {
      t0.sum += sum;
      t0.turnover += turnover;
    } else taxes.set(key, { type, percent, sum, turnover });
  };
  items.forEach((item, i) => {
    const type = item.type ?? 0;
    const where = `items[${i}]`;
    const goods =
      type === ItemType.ITEM_TYPE_COMMODITY
        ? item.commodity
        : type === ItemType.ITEM_TYPE_STORNO_COMMODITY
          ? item.storno_commodity
          : null;
    const modifier =
      type === ItemType.ITEM_TYPE_MARKUP
        ? item.markup
        : type === ItemType.ITEM_TYPE_STORNO_MARKUP
          ? item.storno_markup
          : type === ItemType.ITEM_TYPE_DISCOUNT
            ? item.discount
            : type === ItemType.ITEM_TYPE_STORNO_DISCOUNT
              ? item.storno_discount
              : null;
    if (!goods && !modifier)
      throw new InvalidDocumentError(`${where} has no body for type ${type}`);
    const lineTaxes = (goods ?? modifier)!.taxes ?? [];
    const sum = tiyn((goods ?? modifier)!.sum, `${where}.sum`);
    const firstTax = lineTaxes[0];
    cols.type.push(type);
    cols.name.push((goods ?? modifier)!.name ?? '');
    cols.section.push(goods?.section_code ?? '');
    const quantity = goods?.quantity ?? 0;
    // 64-bit thousandths on the wire since 2.0.3; past 2^53 a JS number would round.
    if (!Number.isSafeInteger(quantity) || quantity < 0) {
      throw new InvalidDocumentError(`${where}.quantity is out of range`);
    }
    cols.quantity.push(quantity);
    cols.price.push(goods ? tiyn(goods.price, `${where}.price`) : 0);
    cols.sum.push(sum);
    cols.code.push(item.commodity?.code ?? 0);
    cols.barcode.push(goods?.barcode ?? '');
    cols.unit.push(goods?.measure_unit_code ?? '');
    cols.tax_percent.push(firstTax?.percent ?? 0);
    cols.tax_sum.push(firstTax ? tiyn(firstTax.sum, `${where}.taxes[0].sum`) : 0);
    if (type === ItemType.ITEM_TYPE_DISCOUNT) discount += sum;
    if (type === ItemType.ITEM_TYPE_STORNO_DISCOUNT) discount -= sum;
    if (type === ItemType.ITEM_TYPE_MARKUP) markup += sum;
    if (type === ItemType.ITEM_TYPE_STORNO_MARKUP) markup -= sum;
    if (!t.taxes?.length && type === ItemType.ITEM_TYPE_COMMODITY) {
      for (const tax of lineTaxes) {
        addTax(tax.tax_type ?? 0, tax.percent ?? 0, tiyn(tax.sum, `${where}.tax.sum`), sum);
      }
    }
  });
  const amounts = t.amounts!;
  const total = tiyn(amounts.total, 'amounts.total');
  for (const tax of t.taxes ?? []) {
    addTax(tax.tax_type ?? 0, tax.percent ?? 0, tiyn(tax.sum, 'taxes.sum'), total);
  }
  discount += amounts.discount ? tiyn(amounts.discount.sum, 'amounts.discount.sum') : 0;
  markup += amounts.markup ? tiyn(amounts.markup.sum, 'amounts.markup.sum') : 0;
  const payments = t.payments ?? [];
  const paymentTypes = payments.map((p) => p.type ?? 0);
  const paymentSums = payments.map((p, i) => tiyn(p.sum, `payments[${i}].sum`));
  const taken = optionalTiyn(amounts.taken, 'amounts.taken');
  const change = optionalTiyn(amounts.change, 'amounts.change');
  const taxList = [...taxes.values()];
  return {
    total,
    taken,
    change,
    discount,
    markup,
    'items.type': cols.type,
    'items.name': cols.name,
    'items.section': cols.section,
    'items.quantity': cols.quantity,
    'items.price': cols.price,
    'items.sum': cols.sum,
    'items.code': cols.code,
    'items.barcode': cols.barcode,
    'items.unit': cols.unit,
    'items.tax_percent': cols.tax_percent,
    'items.tax_sum': cols.tax_sum,
    'payments.type': paymentTypes,
    'payments.sum': paymentSums,
    'taxes.type': taxList.map((x) => x.type),
    'taxes.percent': taxList.map((x) => x.percent),
    'taxes.sum': taxList.map((x) => x.sum),
    'taxes.turnover': taxList.map((x) => x.turnover),
  };
}

/** The figures of a money placement: a deposit or a withdrawal of `tiyn`, no lines. */
export function placementFigures(deposit: boolean, tiyn: number): Omit<DocumentFigures, 'doc_seq'> {
  return {
    doc_type: 'money_placement',
    operation: 0,
    is_offline: 0,
    total: tiyn,
    taken: 0,
    change: 0,
    discount: 0,
    markup: 0,
    'items.type': [],
    'items.section': [],
    'items.sum': [],
    'payments.type': [],
    'payments.sum': [],
    'taxes.type': [],
    'taxes.percent': [],
    'taxes.sum': [],
    'taxes.turnover': [],
    placement: deposit ? 0 : 1,
    cancelled_seq: 0,
  };
}
