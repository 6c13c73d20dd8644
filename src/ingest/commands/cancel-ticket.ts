// COMMAND_CANCEL_TICKET (section 3.4): annuls the last ticket when only SYSTEM or INFO came
// after it. The ticket stays stored; the cancellation is a document of its own.
import { wallClockAt } from '../../protocol/datetime.js';
import { Command, ResultCode } from '../../protocol/schema.js';
import { documentRow } from './document.js';
import { reject, type CommandContext, type Outcome } from './types.js';

export async function cancelTicketCommand(ctx: CommandContext): Promise<Outcome> {
  const state = ctx.state;
  if (!state.cancellableSeq) {
    return reject(
      ResultCode.RESULT_TYPE_CANT_CANCEL_TICKET,
      'only the last ticket can be cancelled, before any command other than SYSTEM or INFO',
    );
  }
  const next = { ...state, seq: state.seq + 1, cancellableSeq: 0, cancellableCash: 0 };
  next.cash -= state.cancellableCash;
  const document = documentRow(ctx, 'cancel_ticket', next, {
    // The command carries no time of its own: the server's receive time stands in.
    deviceTime: wallClockAt(ctx.receivedAt),
    offline: false,
    cancelled_seq: state.cancellableSeq,
  });
  return {
    kind: 'answer',
    state: next,
    document,
    response: {
      command: Command.COMMAND_CANCEL_TICKET,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
    },
  };
}
