// Shift rules shared by the fiscal commands (DESIGN §3, protocol 2.0.0 change log item 12).
import { ResultCode } from '../../protocol/schema.js';
import type { DeviceState } from '../../fiscal/device-state.js';

// Absent optional numbers decode as 0, and neither a shift nor a printed document is ever
// numbered 0, so 0 means "not sent".
export interface ShiftFacts {
  /** fr_shift_number, 0 when not sent. */
  frShift: number | null | undefined;
  /** printed_document_number, 0 when not sent. */
  printed: number | null | undefined;
  deviceTime: string;
  offline: boolean;
}

const HOUR_MS = 3_600_000;
const wallMs = (text: string): number => Date.parse(text.replace(' ', 'T') + 'Z');

/** A result code when the document breaks a shift rule, else null. */
export function shiftViolation(
  state: DeviceState,
  facts: ShiftFacts,
  maxHours: number,
): { code: number; text: string } | null {
  const incorrect = (text: string) => ({
    code: ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA,
    text,
  });
  if (facts.printed) {
    if (!Number.isSafeInteger(facts.printed))
      return incorrect('printed_document_number is too large');
    if (facts.printed <= state.lastPrinted) {
      return incorrect(
        `printed_document_number ${facts.printed} does not grow (last ${state.lastPrinted})`,
      );
    }
  }
  if (facts.frShift) {
    if (state.shiftOpen && facts.frShift !== state.shiftNumber) {
      return incorrect(
        `fr_shift_number ${facts.frShift} is not the open shift ${state.shiftNumber}`,
      );
    }
    // A new shift is the previous one plus 1; a register's first document may start anywhere.
    const first = state.seq === 0;
    if (
      !state.shiftOpen &&
      (first ? facts.frShift <= state.shiftNumber : facts.frShift !== state.shiftNumber + 1)
    ) {
      return incorrect(`fr_shift_number ${facts.frShift} is not shift ${state.shiftNumber + 1}`);
    }
  }
  if (state.shiftOpen && !facts.offline) {
    const openFor = wallMs(facts.deviceTime) - wallMs(state.shiftOpenedAt);
    if (openFor > maxHours * HOUR_MS) {
      return {
        code: ResultCode.RESULT_TYPE_OPEN_SHIFT_TIMEOUT_EXPIRED,
        text: `shift ${state.shiftNumber} has been open since ${state.shiftOpenedAt}`,
      };
    }
  }
  return null;
}

/** The state with the document's shift opened (a shift opens with its first document). */
export function withShiftOpen(state: DeviceState, facts: ShiftFacts): DeviceState {
  const next = { ...state };
  if (!state.shiftOpen) {
    next.shiftOpen = true;
    next.shiftNumber = facts.frShift || state.shiftNumber + 1;
    next.shiftOpenedAt = facts.deviceTime;
    next.cash = 0;
  }
  if (facts.printed) next.lastPrinted = facts.printed;
  return next;
}
