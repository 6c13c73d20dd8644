// What the buyer's check shows of a receipt: its seller (organization, point of sale, KKM) and
// the receipt itself, with the cabinet's item, payment and tax shapes and money in tiyn.
// Nothing else of the organization: no customer contacts, no cashier, no other document.
import type { FoundReceipt, Seller } from '../../storage/receipt-lookup.js';
import { isoWall, operationName } from '../cabinet/read-support.js';
import { receiptLines } from '../receipt-view.js';

export function publicReceipt(t: FoundReceipt, seller: Seller) {
  return {
    ...seller,
    ticket: {
      number: t.ticketNumber,
      offlineNumber: t.offlineNumber,
      dateTime: isoWall(t.deviceTime),
      operation: operationName(t.operation),
      offline: t.offline,
      cancelled: t.cancelledAt !== null,
      cancelledAt: t.cancelledAt === null ? null : isoWall(t.cancelledAt),
      total: t.total,
      taken: t.taken,
      change: t.change,
      discount: t.discount,
      markup: t.markup,
      ...receiptLines(t),
    },
  };
}

export type PublicReceipt = ReturnType<typeof publicReceipt>;
