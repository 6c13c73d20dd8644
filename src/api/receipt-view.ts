// A receipt's lines as every API shows them: the cabinet's receipt view and the buyer's public
// check give items, payments and taxes the same shape (protocol names, money in tiyn), with
// what protocol 2.0.3 added to each line and payment (empty values and nulls for 2.0.2).
import type { TicketDetail, TicketSummary } from '../storage/cabinet-queries.js';
import type { Ticket203 } from '../storage/ticket-columns-203.js';
import { itemTypeName, paymentName } from './cabinet/read-support.js';

export const paymentsJson = (payments: TicketSummary['payments']) =>
  payments.map((p) => ({ type: paymentName(p.type), sum: p.sum }));

/** The lines of a stored receipt and their 2.0.3 parts (by index). */
export type ReceiptLines = Pick<TicketDetail, 'items' | 'payments' | 'taxes'> & {
  v203: Pick<Ticket203, 'items' | 'payments'>;
};

export const receiptLines = (t: ReceiptLines) => ({
  items: t.items.map((i, n) => ({
    ...i,
    type: itemTypeName(i.type),
    ntin: t.v203.items[n]?.ntin ?? '',
    exciseStamps: t.v203.items[n]?.exciseStamps ?? [],
    measureUnitCode: i.unit,
  })),
  payments: paymentsJson(t.payments).map((p, n) => ({
    ...p,
    ...(t.v203.payments[n] ?? { card: null, mobile: null }),
  })),
  taxes: t.taxes,
});
