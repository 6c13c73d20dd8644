// X and Z reports computed from stored documents. Pure: given a shift's documents and the
// running totals before it, the report is fully determined, so a device that keeps the same
// documents computes the same report (the fleet simulator does exactly that).
import { toTiyn, fromTiyn } from './money.js';
import { Operation, proto, type IDateTime, type IZXReport } from '../protocol/schema.js';
import type { DocumentFigures } from './document-rows.js';
import { reportChecksum } from './zx-checksum.js';

export const OPERATIONS = [0, 1, 2, 3] as const; // OPERATION_NAMES (names.ts) by value
export const PAYMENT_TYPES = [0, 1, 2, 3, 4] as const; // PAYMENT_NAMES by value
export const PLACEMENTS = [0, 1] as const; // PLACEMENT_NAMES by value
const {
  OPERATION_BUY: BUY,
  OPERATION_BUY_RETURN: BUY_RETURN,
  OPERATION_SELL: SELL,
  OPERATION_SELL_RETURN: SELL_RETURN,
} = Operation;

/** Counters since registration up to the start of the shift. */
export interface RunningTotals {
  ticketCount: number[]; // by operation
  ticketSum: number[]; // by operation, tiyn (the non-nullable sums)
  placementCount: number[]; // by placement type
  annulledCount: number;
}

export const zeroTotals = (): RunningTotals => ({
  ticketCount: [0, 0, 0, 0],
  ticketSum: [0, 0, 0, 0],
  placementCount: [0, 0],
  annulledCount: 0,
});

export interface ReportMeta {
  shiftNumber: number;
  dateTime: IDateTime;
  openedAt?: IDateTime;
  closedAt?: IDateTime;
}

/** Cash a ticket moved into (+) or out of (−) the drawer. */
export function ticketCashDelta(
  d: Pick<DocumentFigures, 'operation' | 'taken' | 'change' | 'payments.type' | 'payments.sum'>,
): number {
  const cashIn =
    d.taken > 0
      ? d.taken - d.change
      : d['payments.sum'].reduce((a, s, i) => (d['payments.type'][i] === 0 ? a + s : a), 0);
  return d.operation === SELL || d.operation === BUY_RETURN ? cashIn : -cashIn;
}

const money = (tiyn: number) => fromTiyn(Math.max(0, tiyn));
const zeros = (n: number) => new Array<number>(n).fill(0);

/** Totals of one shift's documents, and the report body they make. */
export function buildReport(
  docs: DocumentFigures[],
  before: RunningTotals,
  meta: ReportMeta,
): IZXReport {
  const annulled = new Set(
    docs.filter((d) => d.doc_type === 'cancel_ticket').map((d) => d.cancelled_seq),
  );
  const tickets = docs.filter((d) => d.doc_type === 'ticket' && !annulled.has(d.doc_seq));

  const count = zeros(4);
  const total = zeros(4);
  const goods = zeros(4);
  const discountSum = zeros(4);
  const discountCount = zeros(4);
  const markupSum = zeros(4);
  const markupCount = zeros(4);
  const change = zeros(4);
  const offline = zeros(4);
  const paySum = OPERATIONS.map(() => zeros(5));
  const payCount = OPERATIONS.map(() => zeros(5));
  const sections = new Map<string, { count: number[]; sum: number[] }>();
  const taxes = new Map<
    string,
    { type: number; percent: number; turnover: number[]; sum: number[] }
  >();
  let cash = 0;

  for (const d of tickets) {
    const op = d.operation;
    count[op]! += 1;
    total[op]! += d.total;
    change[op]! += d.change;
    offline[op]! += d.is_offline;
    if (d.discount) {
      discountSum[op]! += d.discount;
      discountCount[op]! += 1;
    }
    if (d.markup) {
      markupSum[op]! += d.markup;
      markupCount[op]! += 1;
    }
    d['payments.type'].forEach((type, i) => {
      paySum[op]![type]! += d['payments.sum'][i]!;
      payCount[op]![type]! += 1;
    });
    d['items.type'].forEach((type, i) => {
      const sign = type === 1 ? 1 : type === 2 ? -1 : 0;
      if (!sign) return;
      const sum = d['items.sum'][i]!;
      goods[op]! += sign * sum;
      const code = d['items.section'][i]!;
      let s = sections.get(code);
      if (!s) sections.set(code, (s = { count: zeros(4), sum: zeros(4) }));
      if (sign > 0) s.count[op]! += 1;
      s.sum[op]! += sign * sum;
    });
    d['taxes.type'].forEach((type, i) => {
      const percent = d['taxes.percent'][i]!;
      const key = `${type}:${percent}`;
      let t = taxes.get(key);
      if (!t) taxes.set(key, (t = { type, percent, turnover: zeros(4), sum: zeros(4) }));
      t.turnover[op]! += d['taxes.turnover'][i]!;
      t.sum[op]! += d['taxes.sum'][i]!;
    });
    cash += ticketCashDelta(d);
  }

  const placementCount = zeros(2);
  const placementSum = zeros(2);
  const placementOffline = zeros(2);
  for (const d of docs) {
    if (d.doc_type !== 'money_placement') continue;
    placementCount[d.placement]! += 1;
    placementSum[d.placement]! += d.total;
    placementOffline[d.placement]! += d.is_offline;
    cash += d.placement === 0 ? d.total : -d.total;
  }

  const byOp = (counts: number[], sums: number[]) =>
    OPERATIONS.map((operation) => ({
      operation,
      count: counts[operation]!,
      sum: money(sums[operation]!),
    }));
  const revenue = total[SELL]! - total[SELL_RETURN]! - (total[BUY]! - total[BUY_RETURN]!);

  const report: IZXReport = {
    date_time: meta.dateTime,
    shift_number: meta.shiftNumber,
    sections: [...sections.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([section_code, s]) => ({ section_code, operations: byOp(s.count, s.sum) })),
    operations: byOp(count, goods),
    discounts: byOp(discountCount, discountSum),
    markups: byOp(markupCount, markupSum),
    total_result: byOp(count, total),
    taxes: [...taxes.values()]
      .sort((a, b) => a.type - b.type || a.percent - b.percent)
      .map((t) => ({
        tax_type: t.type,
        percent: t.percent,
        operations: OPERATIONS.map((operation) => ({
          operation,
          turnover: money(t.turnover[operation]!),
          sum: money(t.sum[operation]!),
          turnover_without_tax: money(t.turnover[operation]! - t.sum[operation]!),
        })),
      })),
    start_shift_non_nullable_sums: OPERATIONS.map((operation) => ({
      operation,
      sum: money(before.ticketSum[operation]!),
    })),
    ticket_operations: OPERATIONS.map((operation) => ({
      operation,
      tickets_total_count: before.ticketCount[operation]! + count[operation]!,
      tickets_count: count[operation]!,
      tickets_sum: money(total[operation]!),
      payments: PAYMENT_TYPES.map((payment) => ({
        payment,
        sum: money(paySum[operation]![payment]!),
        count: payCount[operation]![payment]!,
      })),
      offline_count: offline[operation]!,
      discount_sum: money(discountSum[operation]!),
      markup_sum: money(markupSum[operation]!),
      change_sum: money(change[operation]!),
    })),
    money_placements: PLACEMENTS.map((operation) => ({
      operation,
      operations_total_count: before.placementCount[operation]! + placementCount[operation]!,
      operations_count: placementCount[operation]!,
      operations_sum: money(placementSum[operation]!),
      offline_count: placementOffline[operation]!,
    })),
    // annulled_tickets stays empty: "annulment is not supported in this version and this field
    // is always empty" (section 3.8). Annulled receipts are left out of the figures above.
    cash_sum: money(cash),
    revenue: { sum: money(Math.abs(revenue)), is_negative: revenue < 0 },
    non_nullable_sums: OPERATIONS.map((operation) => ({
      operation,
      sum: money(before.ticketSum[operation]! + total[operation]!),
    })),
  };
  if (meta.openedAt) report.open_shift_time = meta.openedAt;
  if (meta.closedAt) report.close_shift_time = meta.closedAt;
  report.checksum = reportChecksum(report);
  return report;
}

/** Running totals after a shift, from those before it and its report. */
export function totalsAfter(before: RunningTotals, report: IZXReport): RunningTotals {
  const ops = report.ticket_operations ?? [];
  return {
    ticketCount: OPERATIONS.map((op) => ops[op]?.tickets_total_count ?? before.ticketCount[op]!),
    ticketSum: OPERATIONS.map(
      (op) => (toTiyn(report.non_nullable_sums?.[op]?.sum) ?? 0) || before.ticketSum[op]!,
    ),
    placementCount: PLACEMENTS.map(
      (op) => report.money_placements?.[op]?.operations_total_count ?? before.placementCount[op]!,
    ),
    annulledCount: report.annulled_tickets?.annulled_tickets_total_count ?? before.annulledCount,
  };
}

export interface ReportDifference {
  field: string;
  device: string;
  server: string;
}

/** The figures that must agree between a device's Z report and ours. */
export function compareReports(device: IZXReport, server: IZXReport): ReportDifference[] {
  const diffs: ReportDifference[] = [];
  const check = (field: string, a: unknown, b: unknown) => {
    const da = JSON.stringify(a ?? null);
    const db = JSON.stringify(b ?? null);
    if (da !== db) diffs.push({ field, device: da, server: db });
  };
  const m = (x: Parameters<typeof toTiyn>[0]) => toTiyn(x) ?? 0;
  check('shift_number', device.shift_number, server.shift_number);
  for (const op of OPERATIONS) {
    const d = device.ticket_operations?.find((x) => x.operation === op);
    const s = server.ticket_operations?.find((x) => x.operation === op);
    check(`ticket_operations[${op}].tickets_count`, d?.tickets_count ?? 0, s?.tickets_count ?? 0);
    check(`ticket_operations[${op}].tickets_sum`, m(d?.tickets_sum), m(s?.tickets_sum));
    for (const p of PAYMENT_TYPES) {
      const dp = d?.payments?.find((x) => x.payment === p);
      const sp = s?.payments?.find((x) => x.payment === p);
      check(`ticket_operations[${op}].payments[${p}].sum`, m(dp?.sum), m(sp?.sum));
    }
  }
  for (const op of PLACEMENTS) {
    const d = device.money_placements?.find((x) => x.operation === op);
    const s = server.money_placements?.find((x) => x.operation === op);
    check(`money_placements[${op}].operations_sum`, m(d?.operations_sum), m(s?.operations_sum));
  }
  check('cash_sum', m(device.cash_sum), m(server.cash_sum));
  check(
    'revenue',
    [m(device.revenue?.sum), !!device.revenue?.is_negative],
    [m(server.revenue?.sum), !!server.revenue?.is_negative],
  );
  return diffs;
}

/** A report as plain JSON (what the documents table keeps for both Z reports). */
export const reportJson = (r: IZXReport): string =>
  JSON.stringify(
    proto.ZXReport.toObject(proto.ZXReport.fromObject(r), {
      longs: Number,
      enums: Number,
      defaults: true,
    }),
  );
