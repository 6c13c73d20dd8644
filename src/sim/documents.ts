// Realistic protocol documents as a cash register would send them: receipts with VAT and
// tax-free lines, cash/card/mobile payments, Z/X reports, money placements. Used by the tests,
// the fleet simulator and the worked example. Deterministic for a given random source.
import { fromTiyn } from '../fiscal/money.js';
import {
  Command,
  ItemType,
  MoneyPlacementType,
  Operation,
  PaymentType,
  type IDateTime,
  type IRequest,
  type ITicketRequest,
  type IZXReport,
} from '../protocol/schema.js';

export type Random = () => number;

/** A small seeded PRNG (mulberry32) so simulated fleets are reproducible. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function dateTime(d: Date): IDateTime {
  return {
    date: { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
    time: { hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() },
  };
}

const VAT_PERCENT = 12000; // 12% in thousandths of a percent
const VAT_TYPE = 100;
const RTS_TAXATION = 101;

export interface TicketOptions {
  operation?: number;
  items?: number;
  /** Payment types to split the total over (default: cash). */
  payments?: number[];
  at?: Date;
  operatorCode?: number;
  offlineNumber?: number;
  customerIin?: string;
  shiftNumber?: number;
  printedNumber?: number;
}

/** VAT included in a gross amount: gross * 12 / 112, rounded to the tiyn. */
export function vatIncluded(grossTiyn: number): number {
  return Math.round((grossTiyn * 12) / 112);
}

/** A receipt of 1-20 commodity lines; every third line is tax-free. */
export function ticket(random: Random, opts: TicketOptions = {}): ITicketRequest {
  const count = opts.items ?? 1 + Math.floor(random() * 20);
  const items: ITicketRequest['items'] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const quantity = 1000 * (1 + Math.floor(random() * 3));
    const priceTiyn = 100 * (50 + Math.floor(random() * 5000));
    const sumTiyn = (priceTiyn * quantity) / 1000;
    total += sumTiyn;
    const taxed = i % 3 !== 2;
    const lineVat = taxed ? vatIncluded(sumTiyn) : 0;
    items.push({
      type: ItemType.ITEM_TYPE_COMMODITY,
      commodity: {
        name: `Item ${i + 1}`,
        section_code: String(1 + (i % 3)),
        quantity,
        price: fromTiyn(priceTiyn),
        sum: fromTiyn(sumTiyn),
        taxes: taxed
          ? [
              {
                tax_type: VAT_TYPE,
                taxation_type: RTS_TAXATION,
                percent: VAT_PERCENT,
                sum: fromTiyn(lineVat),
                is_in_total_sum: true,
              },
            ]
          : [],
        measure_unit_code: '796',
      },
    });
  }
  const paymentTypes = opts.payments ?? [PaymentType.PAYMENT_CASH];
  const payments = paymentTypes.map((type, i) => {
    const share =
      i === paymentTypes.length - 1
        ? total - Math.floor(total / paymentTypes.length) * (paymentTypes.length - 1)
        : Math.floor(total / paymentTypes.length);
    return { type, sum: fromTiyn(share) };
  });
  const cash = payments.find((p) => p.type === PaymentType.PAYMENT_CASH);
  const cashTiyn = cash ? cash.sum.bills * 100 + cash.sum.coins : 0;
  const change = cash ? (100 - (cashTiyn % 100)) % 100 : 0;
  const t: ITicketRequest = {
    operation: opts.operation ?? Operation.OPERATION_SELL,
    date_time: dateTime(opts.at ?? new Date()),
    operator: { code: opts.operatorCode ?? 1, name: 'Cashier' },
    items,
    payments,
    amounts: {
      total: fromTiyn(total),
      ...(cash ? { taken: fromTiyn(cashTiyn + change), change: fromTiyn(change) } : {}),
    },
  };
  if (opts.offlineNumber !== undefined) t.offline_ticket_number = opts.offlineNumber;
  if (opts.customerIin) t.extension_options = { customer_iin_or_bin: opts.customerIin };
  if (opts.shiftNumber !== undefined) t.fr_shift_number = opts.shiftNumber;
  if (opts.printedNumber !== undefined) t.printed_document_number = opts.printedNumber;
  return t;
}

/** An empty X/Z report body for a shift (a device's own counters are filled by the caller). */
export function emptyReport(shiftNumber: number, at: Date): IZXReport {
  return {
    date_time: dateTime(at),
    shift_number: shiftNumber,
    cash_sum: { bills: 0, coins: 0 },
    revenue: { sum: { bills: 0, coins: 0 }, is_negative: false },
  };
}

export const requests = {
  system: (): IRequest => ({ command: Command.COMMAND_SYSTEM }),
  info: (): IRequest => ({ command: Command.COMMAND_INFO }),
  ticket: (t: ITicketRequest): IRequest => ({ command: Command.COMMAND_TICKET, ticket: t }),
  closeShift: (
    zReport: IZXReport,
    at: Date,
    extra: Partial<IRequest['close_shift']> = {},
  ): IRequest => ({
    command: Command.COMMAND_CLOSE_SHIFT,
    close_shift: { close_time: dateTime(at), z_report: zReport, operator: { code: 1 }, ...extra },
  }),
  report: (type: number, zxReport: IZXReport, at: Date): IRequest => ({
    command: Command.COMMAND_REPORT,
    report: { report: type, date_time: dateTime(at), zx_report: zxReport },
  }),
  moneyPlacement: (deposit: boolean, tiyn: number, at: Date, isOffline = false): IRequest => ({
    command: Command.COMMAND_MONEY_PLACEMENT,
    money_placement: {
      datetime: dateTime(at),
      operation: deposit
        ? MoneyPlacementType.MONEY_PLACEMENT_DEPOSIT
        : MoneyPlacementType.MONEY_PLACEMENT_WITHDRAWAL,
      sum: fromTiyn(tiyn),
      operator: { code: 1 },
      ...(isOffline ? { is_offline: true } : {}),
    },
  }),
  cancelTicket: (): IRequest => ({ command: Command.COMMAND_CANCEL_TICKET }),
  nomenclature: (version: number): IRequest => ({
    command: Command.COMMAND_NOMENCLATURE,
    nomenclature: { current_version: version },
  }),
  auth: (login: string, password: string): IRequest => ({
    command: Command.COMMAND_AUTH,
    auth: { login, password },
  }),
};

/** Registration data a 2.0.3 register sends with every fiscal request. */
export const SAMPLE_REG_INFO = {
  kkm: { fns_kkm_id: '010102360873', serial_number: 'SWK00032851' },
  org: { inn: '180440012345', title: 'ТОО "Тамак Маркет"', address_kz: 'Алматы қ., Төле би, 101' },
};

const FISCAL = new Set<number>([
  Command.COMMAND_TICKET,
  Command.COMMAND_CLOSE_SHIFT,
  Command.COMMAND_MONEY_PLACEMENT,
]);

/**
 * The request as a 2.0.3 register sends it (VERSION 203): a receipt names its domain (trading
 * unless set) and every fiscal request carries service.reg_info. Returns still need their
 * parent_ticket from the caller.
 */
export function as203(request: IRequest, regInfo = SAMPLE_REG_INFO): IRequest {
  const out: IRequest = { ...request };
  if (out.ticket && !out.ticket.domain) out.ticket = { ...out.ticket, domain: { type: 0 } };
  if (FISCAL.has(out.command) && !out.service?.reg_info) {
    out.service = { ...out.service, reg_info: regInfo };
  }
  return out;
}
