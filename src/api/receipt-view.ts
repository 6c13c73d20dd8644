// A receipt's lines as every API shows them: the cabinet's receipt view and the buyer's public
// check give items, payments and taxes the same shape (protocol names, money in tiyn).
import type { TicketDetail, TicketSummary } from '../storage/cabinet-queries.js';
import { itemTypeName, paymentName } from './cabinet/read-support.js';

export const paymentsJson = (payments: TicketSummary['payments']) =>
  payments.map((p) => ({ type: paymentName(p.type), sum: p.sum }));

export const receiptLines = (t: Pick<TicketDetail, 'items' | 'payments' | 'taxes'>) => ({
  items: t.items.map((i) => ({ ...i, type: itemTypeName(i.type) })),
  payments: paymentsJson(t.payments),
  taxes: t.taxes,
});
