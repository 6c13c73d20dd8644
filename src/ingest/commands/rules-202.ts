// 2.0.2 rules the command handlers share (they hold at every version):
// - a document's operator must be an active cashier of the organization, when it has cashiers
//   (section 3.11; refused with RESULT_TYPE_INVALID_LOGIN_PASSWORD, the code 3.11 names);
// - a receipt pays at most once per payment type, and names what was taken and the change when
//   cash is paid (section 3.3);
// - CLOSE_SHIFT with withdraw_money withdraws all the drawer's cash before the close (3.6).
import { PaymentType, ResultCode, type ITicketRequest } from '../../protocol/schema.js';
import { placementFigures, type DocumentFigures } from '../../fiscal/document-rows.js';
import { reject, type CommandContext, type Outcome } from './types.js';

export async function cashierRefusal(
  ctx: CommandContext,
  operator: { code?: number | null } | null | undefined,
): Promise<Outcome | null> {
  const codes = await ctx.orgs.cashierCodes(ctx.state.orgId);
  if (!codes) return null;
  const code = operator?.code ?? 0;
  if (codes.has(code)) return null;
  return reject(
    ResultCode.RESULT_TYPE_INVALID_LOGIN_PASSWORD,
    `operator ${code} is not an active cashier of the organization`,
  );
}

export function paymentRefusal(ticket: ITicketRequest): Outcome | null {
  const seen = new Set<number>();
  let cash = false;
  for (const p of ticket.payments ?? []) {
    const type = p.type ?? 0;
    if (seen.has(type)) {
      return reject(ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA, `payment type ${type} twice`);
    }
    seen.add(type);
    if (type === PaymentType.PAYMENT_CASH) cash = true;
  }
  if (cash && (!ticket.amounts?.taken || !ticket.amounts.change)) {
    return reject(
      ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA,
      'amounts.taken and amounts.change are required when cash is paid',
    );
  }
  return null;
}

/**
 * The withdrawal of all cash a withdraw_money close makes, as the money placement the server
 * Z report counts (null when nothing is withdrawn). It is stored on the close_shift row itself
 * (placement WITHDRAWAL, total = the sum), so one request still stores one document.
 */
export function closingWithdrawal(
  withdrawMoney: boolean | null | undefined,
  cash: number,
  docSeq: number,
): DocumentFigures | null {
  if (!withdrawMoney || cash <= 0) return null;
  return { doc_seq: docSeq, ...placementFigures(false, cash) };
}
