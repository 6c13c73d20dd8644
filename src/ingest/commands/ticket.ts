// COMMAND_TICKET (section 3.3): validate, open the shift if needed, number the receipt, and
// answer its fiscal number with a QR code of the receipt-check URL.
import { wallClock } from '../../protocol/datetime.js';
import { receiptUrl } from '../../fiscal/receipt-url.js';
import { ResultCode, Command } from '../../protocol/schema.js';
import { InvalidDocumentError, ticketFigures } from '../../fiscal/document-rows.js';
import { ticketColumns203 } from '../../storage/ticket-columns-203.js';
import { ticketNumber } from '../../fiscal/device-state.js';
import { ticketCashDelta } from '../../fiscal/zx-report.js';
import { documentRow } from './document.js';
import { parentTicketRefusal } from './rules-203.js';
import { cashierRefusal, paymentRefusal } from './rules-202.js';
import { shiftViolation, withShiftOpen } from './shift-rules.js';
import { reject, type CommandContext, type Outcome } from './types.js';

/** The KKM's KGD number; a state cached before it was kept there reads it from the registry. */
async function kgdNumber(ctx: CommandContext): Promise<string> {
  if (ctx.state.fnsKkmId !== undefined) return ctx.state.fnsKkmId;
  return (await ctx.registry.getRegInfo(ctx.state.kkmId))?.kkm.fns_kkm_id ?? '';
}

export async function ticketCommand(ctx: CommandContext): Promise<Outcome> {
  const ticket = ctx.request.ticket!;
  const incorrect = (text: string) => reject(ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA, text);
  const deviceTime = wallClock(ticket.date_time);
  if (!deviceTime) return incorrect('ticket.date_time is not a valid date and time');
  if (ticket.operation < 0 || ticket.operation > 3) return incorrect('unknown operation');
  let figures: ReturnType<typeof ticketFigures>;
  let columns203: ReturnType<typeof ticketColumns203>;
  try {
    figures = ticketFigures(ticket);
    columns203 = ticketColumns203(ticket);
  } catch (e) {
    if (e instanceof InvalidDocumentError) return incorrect(e.message);
    throw e;
  }
  const paymentRefused = paymentRefusal(ticket);
  if (paymentRefused) return paymentRefused;
  const customer = ticket.extension_options?.customer_iin_or_bin;
  if (customer && customer === ctx.state.orgBin) {
    return reject(
      ResultCode.RESULT_TYPE_SAME_TAXPAYER_AND_CUSTOMER,
      'customer IIN/BIN equals the seller BIN',
    );
  }
  const offline = !!ticket.offline_ticket_number;
  const facts = {
    frShift: ticket.fr_shift_number,
    printed: ticket.printed_document_number,
    deviceTime,
    offline,
  };
  const violation = shiftViolation(ctx.state, facts, ctx.shiftMaxHours);
  if (violation) return reject(violation.code, violation.text);
  const refused =
    (await cashierRefusal(ctx, ticket.operator)) ?? (await parentTicketRefusal(ctx, ticket));
  if (refused) return refused;

  const next = withShiftOpen(ctx.state, facts);
  const kgd = (next.fnsKkmId = await kgdNumber(ctx));
  next.seq += 1;
  const number = ticketNumber(next.kkmId, next.seq);
  const cashDelta = ticketCashDelta({
    operation: ticket.operation,
    taken: figures.taken as number,
    change: figures.change as number,
    'payments.type': figures['payments.type'] as number[],
    'payments.sum': figures['payments.sum'] as number[],
  });
  next.cash += cashDelta;
  next.cancellableSeq = next.seq;
  next.cancellableCash = cashDelta;
  const ext = ticket.extension_options;
  const document = documentRow(ctx, 'ticket', next, {
    deviceTime,
    offline,
    printed: ticket.printed_document_number,
    operator: ticket.operator,
    offline_number: ticket.offline_ticket_number ?? 0,
    ticket_number: number,
    operation: ticket.operation,
    customer_iin: ext?.customer_iin_or_bin ?? '',
    customer_email: ext?.customer_email ?? '',
    customer_phone: ext?.customer_phone ?? '',
    // The receipt check finds the receipt by this and its number (receipt_lookup).
    fns_kkm_id: kgd,
    ...figures,
    ...columns203,
  });
  const url = receiptUrl(ctx.receiptUrl, {
    number,
    kgdNumber: kgd,
    total: figures.total,
    deviceTime,
  });
  return {
    kind: 'answer',
    state: next,
    document,
    response: {
      command: Command.COMMAND_TICKET,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
      ticket: { ticket_number: number, qr_code: Buffer.from(url) },
    },
  };
}
