// Server-side X and Z reports (section 3.8) and the shift closure that produces a Z report.
import { fromWallClock, wallClock, wallClockAt } from '../../protocol/datetime.js';
import {
  Command,
  ReportType,
  ResultCode,
  type IDateTime,
  type IZXReport,
} from '../../protocol/schema.js';
import type { DocumentQueries } from '../../storage/document-queries.js';
import type { DeviceState } from '../../fiscal/device-state.js';
import { buildReport, compareReports, reportJson, zeroTotals } from '../../fiscal/zx-report.js';
import { documentRow } from './document.js';
import { cashierRefusal, closingWithdrawal } from './rules-202.js';
import { shiftViolation } from './shift-rules.js';
import { reject, type CommandContext, type Outcome } from './types.js';

/** The X report of the open shift, as of `at`. */
export async function currentXReport(
  queries: DocumentQueries,
  state: DeviceState,
  at: IDateTime,
): Promise<IZXReport> {
  const [docs, before] = await Promise.all([
    queries.shiftDocuments(state.kkmId, state.shiftNumber),
    queries.totalsBefore(state.kkmId, state.shiftNumber),
  ]);
  return buildReport(docs, before, {
    shiftNumber: state.shiftNumber,
    dateTime: at,
    openedAt: fromWallClock(state.shiftOpenedAt),
  });
}

/** The last Z report, or an empty one for shift 0 dated `at` when no shift was closed yet. */
export async function lastZReport(
  queries: DocumentQueries,
  kkmId: number,
  at: IDateTime,
): Promise<IZXReport> {
  const last = await queries.lastClosedShift(kkmId);
  if (last) return JSON.parse(last.server_report) as IZXReport;
  return buildReport([], zeroTotals(), { shiftNumber: 0, dateTime: at });
}

const nowDateTime = (ms: number): IDateTime => fromWallClock(wallClockAt(ms));

export async function reportCommand(ctx: CommandContext): Promise<Outcome> {
  const req = ctx.request.report!;
  const at = wallClock(req.date_time) ? req.date_time : nowDateTime(ctx.receivedAt);
  const type = req.report === ReportType.REPORT_X ? ReportType.REPORT_X : ReportType.REPORT_Z;
  const zx_report =
    type === ReportType.REPORT_X && ctx.state.shiftOpen
      ? await currentXReport(ctx.queries, ctx.state, at)
      : type === ReportType.REPORT_X
        ? buildReport(
            [],
            await ctx.queries.totalsBefore(ctx.state.kkmId, ctx.state.shiftNumber + 1),
            {
              shiftNumber: ctx.state.shiftNumber,
              dateTime: at,
            },
          )
        : await lastZReport(ctx.queries, ctx.state.kkmId, at);
  return {
    kind: 'answer',
    state: ctx.state,
    response: {
      command: Command.COMMAND_REPORT,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
      report: { report: type, zx_report },
    },
  };
}

export async function closeShiftCommand(ctx: CommandContext): Promise<Outcome> {
  const cs = ctx.request.close_shift!;
  const incorrect = (text: string) => reject(ResultCode.RESULT_TYPE_INCORRECT_REQUEST_DATA, text);
  const deviceTime = wallClock(cs.close_time);
  if (!deviceTime) return incorrect('close_shift.close_time is not a valid date and time');
  const offline = !!cs.is_offline;
  // Closing is always allowed past the shift timeout: it is how a device gets out of it.
  const violation = shiftViolation(
    ctx.state,
    { frShift: cs.fr_shift_number, printed: cs.printed_document_number, deviceTime, offline: true },
    ctx.shiftMaxHours,
  );
  if (violation) return reject(violation.code, violation.text);
  const cashierRefused = await cashierRefusal(ctx, cs.operator);
  if (cashierRefused) return cashierRefused;
  const state = ctx.state;
  const shiftNumber = state.shiftOpen
    ? state.shiftNumber
    : cs.fr_shift_number || state.shiftNumber + 1;
  const openedAt = state.shiftOpen ? state.shiftOpenedAt : deviceTime;
  const [docs, before] = await Promise.all([
    state.shiftOpen ? ctx.queries.shiftDocuments(state.kkmId, shiftNumber) : Promise.resolve([]),
    ctx.queries.totalsBefore(state.kkmId, shiftNumber),
  ]);
  const withdrawal = closingWithdrawal(cs.withdraw_money, state.shiftOpen ? state.cash : 0, 0);
  if (withdrawal) docs.push(withdrawal);
  const server = buildReport(docs, before, {
    shiftNumber,
    dateTime: cs.close_time,
    openedAt: fromWallClock(openedAt),
    closedAt: cs.close_time,
  });
  const differences = compareReports(cs.z_report!, server);
  if (differences.length) {
    ctx.log.warn({ kkmId: state.kkmId, shiftNumber, differences }, 'device Z report differs');
  }
  const next: DeviceState = {
    ...state,
    seq: state.seq + 1,
    shiftNumber,
    shiftOpen: false,
    shiftOpenedAt: '',
    cash: 0,
    lastPrinted: cs.printed_document_number || state.lastPrinted,
  };
  const document = documentRow(ctx, 'close_shift', next, {
    deviceTime,
    offline,
    printed: cs.printed_document_number,
    operator: cs.operator,
    ...(withdrawal ? { placement: withdrawal.placement, total: withdrawal.total } : {}),
    device_report: reportJson(cs.z_report!),
    server_report: reportJson(server),
  });
  return {
    kind: 'answer',
    state: next,
    document,
    response: {
      command: Command.COMMAND_CLOSE_SHIFT,
      result: { result_code: ResultCode.RESULT_TYPE_OK },
      report: { report: ReportType.REPORT_Z, zx_report: server },
    },
  };
}
