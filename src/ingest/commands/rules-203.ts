// The 2.0.3 rule that needs the stored receipts: the parent ticket of a return must name a
// receipt we know of the KKM it names (by its KGD registration number), unless it is marked
// offline (then it may not have reached us yet). Its absence is refused by the codec
// (protocol/rules-203.ts) with the same code, BLOCKED, a ticket missing a mandatory part gets.
import { ResultCode, type ITicketRequest } from '../../protocol/schema.js';
import { is203 } from '../../protocol/versions.js';
import { reject, type CommandContext, type Outcome } from './types.js';

export async function parentTicketRefusal(
  ctx: CommandContext,
  ticket: ITicketRequest,
): Promise<Outcome | null> {
  const parent = ticket.parent_ticket;
  if (!is203(ctx.header.version) || !parent || parent.parent_ticket_is_offline) return null;
  const known = await ctx.queries.knownTicket(parent.kgd_kkm_id, parent.parent_ticket_number);
  if (known) return null;
  return reject(
    ResultCode.RESULT_TYPE_BLOCKED,
    `parent ticket ${parent.parent_ticket_number} of KKM ${parent.kgd_kkm_id} is not known`,
  );
}
