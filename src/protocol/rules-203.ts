// The parts protocol 2.0.3 makes mandatory (VERSION 203 frames only; 200-202 keep the 2.0.2
// rules). Each is answered with the code the document gives a document missing a mandatory
// part, as the 2.0.2 checks in codec.ts do: BLOCKED for a ticket (section 2.4, code 15), a
// protocol error for the other commands. Pure; the parent ticket's existence is checked where
// the stored receipts are (ingest/commands/rules-203.ts).
import { Command, ItemType, Operation, ResultCode, type Request } from './schema.js';

export interface Missing {
  code: number;
  reason: string;
}

const blocked = (reason: string): Missing => ({ code: ResultCode.RESULT_TYPE_BLOCKED, reason });
const protocolError = (reason: string): Missing => ({
  code: ResultCode.RESULT_TYPE_PROTOCOL_ERROR,
  reason,
});

/** Registration data (kkm and org) every fiscal request carries since 200, required in 2.0.3. */
function regInfoMissing(request: Request): string | null {
  const reg = request.service?.reg_info;
  if (!reg) return 'service.reg_info is required in 2.0.3 fiscal requests';
  if (!reg.kkm) return 'service.reg_info.kkm is required in 2.0.3';
  if (!reg.org) return 'service.reg_info.org is required in 2.0.3';
  return null;
}

function ticketMissing(request: Request): string | null {
  const ticket = request.ticket!;
  // An absent optional enum reads as its default (0, trading): presence is an own property.
  if (!ticket.domain || !Object.hasOwn(ticket.domain, 'type')) {
    return 'ticket.domain.type is required in 2.0.3';
  }
  const isReturn =
    ticket.operation === Operation.OPERATION_SELL_RETURN ||
    ticket.operation === Operation.OPERATION_BUY_RETURN;
  if (isReturn && !ticket.parent_ticket) {
    return 'ticket.parent_ticket is required for a return in 2.0.3';
  }
  const items = ticket.items ?? [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const goods =
      item.type === ItemType.ITEM_TYPE_COMMODITY
        ? item.commodity
        : item.type === ItemType.ITEM_TYPE_STORNO_COMMODITY
          ? item.storno_commodity
          : null;
    if (goods && !goods.measure_unit_code) {
      return `ticket.items[${i}] has no measure_unit_code (required in 2.0.3)`;
    }
  }
  return regInfoMissing(request);
}

/** The first 2.0.3 mandatory part a VERSION 203 request lacks, or null. */
export function missing203(request: Request): Missing | null {
  let reason: string | null;
  switch (request.command) {
    case Command.COMMAND_TICKET:
      reason = ticketMissing(request);
      return reason ? blocked(reason) : null;
    case Command.COMMAND_CLOSE_SHIFT:
    case Command.COMMAND_MONEY_PLACEMENT:
      reason = regInfoMissing(request);
      return reason ? protocolError(reason) : null;
    case Command.COMMAND_REPORT:
      // Already required since 1.2.5 (codec.ts); 2.0.3 also makes the answer's report required.
      return request.report?.zx_report ? null : protocolError('report.zx_report is missing');
    default:
      return null;
  }
}
