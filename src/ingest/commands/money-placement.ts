// COMMAND_MONEY_PLACEMENT (section 3.7): cash deposits and withdrawals. An online withdrawal
// may not take more than the drawer holds in this shift.
import { wallClock } from '../../protocol/datetime.js';
import { toTiyn } from '../../fiscal/money.js';
import { Command, MoneyPlacementType, ResultCode } from '../../protocol/schema.js';
import { documentRow } from './document.js';
import { cashierRefusal } from './rules-202.js';
import { shiftViolation, withShiftOpen } from './shift-rules.js';
import { reject, type CommandContext, type Outcome } from './types.js';

export async function moneyPlacementCommand(ctx: CommandContext): Promise<Outcome> {
  const mp = ctx.request.money_placement!;
  const incorrect = (text: string) => reject(ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA, text);
  const deviceTime = wallClock(mp.datetime);
  if (!deviceTime) return incorrect('money_placement.datetime is not a valid date and time');
  const sum = toTiyn(mp.sum);
  if (sum === null) return incorrect('money_placement.sum is not a valid amount');
  const deposit = mp.operation === MoneyPlacementType.MONEY_PLACEMENT_DEPOSIT;
  if (!deposit && mp.operation !== MoneyPlacementType.MONEY_PLACEMENT_WITHDRAWAL) {
    return incorrect('unknown money placement operation');
  }
  const offline = !!mp.is_offline;
  const facts = {
    frShift: mp.fr_shift_number,
    printed: mp.printed_document_number,
    deviceTime,
    offline,
  };
  const violation = shiftViolation(ctx.state, facts, ctx.shiftMaxHours);
  if (violation) return reject(violation.code, violation.text);
  const cashierRefused = await cashierRefusal(ctx, mp.operator);
  if (cashierRefused) return cashierRefused;
  const next = withShiftOpen(ctx.state, facts);
  if (!deposit && !offline && sum > next.cash) {
    return reject(
      ResultCode.RESULT_TYPE_NOT_ENOUGH_CASH,
      `withdrawal of ${sum} tiyn exceeds the ${next.cash} tiyn in the drawer`,
    );
  }
  next.seq += 1;
  next.cash += deposit ? sum : -sum;
  const document = documentRow(ctx, 'money_placement', next, {
    deviceTime,
    offline,
    printed: mp.printed_document_number,
    operator: mp.operator,
    placement: mp.operation,
    total: sum,
  });
  return {
    kind: 'answer',
    state: next,
    document,
    response: {
      command: Command.COMMAND_MONEY_PLACEMENT,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
    },
  };
}
