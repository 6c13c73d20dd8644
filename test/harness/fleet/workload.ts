// What the simulated registers send: receipts of 1-20 lines (VAT and tax-free), paid in cash,
// by card, by mobile or split, with occasional returns; cash deposits and withdrawals; shift
// closures with the register's own Z report. Receipt payloads are encoded once into a pool so
// the simulator spends its CPU on the wire, not on protobuf; the frame header (device, token,
// REQNUM) is written per request. Every payload is encoded for the register's protocol: 2.0.2
// (VERSION 202) or 2.0.3 (203: a receipt names its domain, fiscal requests carry reg_info, a
// return names its parent receipt).
import { buildReport, type ReportMeta, type RunningTotals } from '../../../src/fiscal/zx-report.js';
import {
  Command,
  Operation,
  PaymentType,
  ReportType,
  type IDateTime,
  type IRequest,
  type IZXReport,
} from '../../../src/protocol/schema.js';
import { as203, dateTime, requests, ticket, type Random } from '../../../src/sim/documents.js';
import { is203, schemaFor } from '../../../src/protocol/versions.js';
import { ticketFigures, type DocumentFigures } from '../../../src/fiscal/document-rows.js';

export interface TicketTemplate {
  /** The encoded Request (COMMAND_TICKET). */
  payload: Uint8Array;
  /** The figures the register keeps for its own Z report (doc_seq filled in when acknowledged). */
  figures: Omit<DocumentFigures, 'doc_seq'>;
}

const PAYMENT_MIX: { share: number; types: number[] }[] = [
  { share: 0.5, types: [PaymentType.PAYMENT_CASH] },
  { share: 0.35, types: [PaymentType.PAYMENT_CARD] },
  { share: 0.1, types: [PaymentType.PAYMENT_MOBILE] },
  { share: 0.05, types: [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD] },
];
/** Share of receipts that are returns (SELL_RETURN). */
export const RETURN_SHARE = 0.03;

/** A request as a register of this protocol VERSION encodes it. */
export function encodeRequest(request: IRequest, version: number): Uint8Array {
  const wire = is203(version) ? as203(request) : request;
  if (wire.ticket && is203(version) && isReturn(wire.ticket.operation)) {
    // The receipt it returns, marked offline: it need not be one the server has stored.
    wire.ticket = {
      ...wire.ticket,
      parent_ticket: {
        parent_ticket_number: '100000000001',
        parent_ticket_data_time: wire.ticket.date_time,
        kgd_kkm_id: '010102360873',
        parent_ticket_total: wire.ticket.amounts?.total,
        parent_ticket_is_offline: true,
      },
    };
  }
  return schemaFor(version).Request.encode(wire).finish();
}

const isReturn = (operation: number | null | undefined) =>
  operation === Operation.OPERATION_SELL_RETURN || operation === Operation.OPERATION_BUY_RETURN;

function pickPayments(random: Random): number[] {
  let r = random();
  for (const m of PAYMENT_MIX) {
    if ((r -= m.share) < 0) return m.types;
  }
  return [PaymentType.PAYMENT_CASH];
}

export function figuresOf(
  t: ReturnType<typeof ticket>,
  isOffline: boolean,
): Omit<DocumentFigures, 'doc_seq'> {
  const f = ticketFigures(t);
  return {
    doc_type: 'ticket',
    operation: t.operation,
    is_offline: isOffline ? 1 : 0,
    total: f.total,
    taken: f.taken as number,
    change: f.change as number,
    discount: f.discount as number,
    markup: f.markup as number,
    'items.type': f['items.type'] as number[],
    'items.section': f['items.section'] as string[],
    'items.sum': f['items.sum'] as number[],
    'payments.type': f['payments.type'] as number[],
    'payments.sum': f['payments.sum'] as number[],
    'taxes.type': f['taxes.type'] as number[],
    'taxes.percent': f['taxes.percent'] as number[],
    'taxes.sum': f['taxes.sum'] as number[],
    'taxes.turnover': f['taxes.turnover'] as number[],
    placement: 0,
    cancelled_seq: 0,
  };
}

/** Lines per receipt, from `min` to `max` (the sim's default: 1 to 20). */
export type ItemRange = [min: number, max: number];

function randomTicket(random: Random, at: Date, offlineNumber?: number, lines?: ItemRange) {
  return ticket(random, {
    ...(lines ? { items: lines[0] + Math.floor(random() * (lines[1] - lines[0] + 1)) } : {}),
    operation: random() < RETURN_SHARE ? Operation.OPERATION_SELL_RETURN : Operation.OPERATION_SELL,
    payments: pickPayments(random),
    at,
    ...(offlineNumber !== undefined ? { offlineNumber } : {}),
  });
}

/** A pool of encoded receipts the registers of one protocol VERSION pick from. */
export function ticketPool(
  random: Random,
  version: number,
  size = 1024,
  at = new Date(),
  lines?: ItemRange,
): TicketTemplate[] {
  return Array.from({ length: size }, () => {
    const t = randomTicket(random, at, undefined, lines);
    return {
      payload: encodeRequest(requests.ticket(t), version),
      figures: figuresOf(t, false),
    };
  });
}

/** An offline receipt, encoded on demand (each carries the register's offline number). */
export function offlineTicket(
  random: Random,
  at: Date,
  offlineNumber: number,
  version: number,
  offlinePeriod?: { begin: Date; end: Date },
): TicketTemplate {
  const t = randomTicket(random, at, offlineNumber);
  const request: IRequest = requests.ticket(t);
  if (offlinePeriod) {
    request.service = {
      offline_period: {
        begin_time: dateTime(offlinePeriod.begin),
        end_time: dateTime(offlinePeriod.end),
      },
    };
  }
  return { payload: encodeRequest(request, version), figures: figuresOf(t, true) };
}

export function placementPayload(
  deposit: boolean,
  tiyn: number,
  at: Date,
  version: number,
): Uint8Array {
  return encodeRequest(requests.moneyPlacement(deposit, tiyn, at), version);
}

/** CLOSE_SHIFT with the register's own Z report of the shift. */
export function closeShiftPayload(
  docs: DocumentFigures[],
  before: RunningTotals,
  meta: ReportMeta,
  at: Date,
  version: number,
): { payload: Uint8Array; report: IZXReport } {
  const report = buildReport(docs, before, meta);
  return { payload: encodeRequest(requests.closeShift(report, at), version), report };
}

export const infoPayload = (version: number): Uint8Array => encodeRequest(requests.info(), version);

export function lastZPayload(at: Date, version: number): Uint8Array {
  const when: IDateTime = dateTime(at);
  return encodeRequest(
    { command: Command.COMMAND_REPORT, report: { report: ReportType.REPORT_Z, date_time: when } },
    version,
  );
}
