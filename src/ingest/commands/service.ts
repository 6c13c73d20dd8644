// COMMAND_SYSTEM, COMMAND_INFO, COMMAND_NOMENCLATURE and COMMAND_AUTH: the commands that store
// no fiscal document and never change the token.
import { fromWallClock, wallClockAt } from '../../protocol/datetime.js';
import {
  Command,
  ReportType,
  ResultCode,
  AuthResult,
  NomenclatureResult,
  type IServiceRequest,
  type IServiceResponse,
} from '../../protocol/schema.js';
import { newerAds } from './ads.js';
import { barcodeLookup, wireElement, type StoredElement } from './nomenclature-barcode.js';
import { currentXReport, lastZReport } from './reports.js';
import { reject, type CommandContext, type Outcome } from './types.js';

const OK = { result_code: ResultCode.RESULT_TYPE_OK };
const nowDateTime = (ms: number) => fromWallClock(wallClockAt(ms));

// Every SYSTEM answer carries reg_info (sections 3.1, 3.10: required in the answer), the ads
// newer than the device's (5.4) and, when asked, the bound taxation (3.2).
async function serviceAnswer(ctx: CommandContext, service: IServiceRequest | null | undefined) {
  const { kkmId, orgId } = ctx.state;
  const [reg, ads, taxation] = await Promise.all([
    ctx.registry.getRegInfo(kkmId),
    ctx.orgs.ads(orgId),
    service?.get_binded_taxation ? ctx.orgs.taxation(orgId) : null,
  ]);
  const out: IServiceResponse = {};
  const ticketAds = newerAds(ads, service);
  if (ticketAds.length) out.ticket_ads = ticketAds;
  if (reg) out.reg_info = reg;
  if (taxation) out.binded_taxation = taxation;
  return Object.keys(out).length ? out : undefined;
}

export async function systemCommand(ctx: CommandContext): Promise<Outcome> {
  const service = ctx.request.service;
  return {
    kind: 'answer',
    state: ctx.state,
    response: {
      command: Command.COMMAND_SYSTEM,
      result: OK,
      service: await serviceAnswer(ctx, service),
    },
  };
}

export async function infoCommand(ctx: CommandContext): Promise<Outcome> {
  const state = ctx.state;
  const at = nowDateTime(ctx.receivedAt);
  const [zx_report, reg, taxation] = await Promise.all([
    state.shiftOpen
      ? currentXReport(ctx.queries, state, at)
      : lastZReport(ctx.queries, state.kkmId, at),
    ctx.registry.getRegInfo(state.kkmId),
    ctx.orgs.taxation(state.orgId),
  ]);
  const service: IServiceResponse = {
    last_document_info: {
      fr_shift_number: state.shiftNumber,
      ...(state.lastPrinted ? { printed_document_number: state.lastPrinted } : {}),
    },
  };
  if (reg) service.reg_info = reg;
  if (taxation) service.binded_taxation = taxation;
  return {
    kind: 'answer',
    state,
    response: {
      command: Command.COMMAND_INFO,
      result: OK,
      report: { report: state.shiftOpen ? ReportType.REPORT_X : ReportType.REPORT_Z, zx_report },
      service,
    },
  };
}

export async function nomenclatureCommand(ctx: CommandContext): Promise<Outcome> {
  const { barcode, current_version } = ctx.request.nomenclature!;
  if (barcode) return barcodeLookup(ctx, barcode);
  const current = current_version ?? 0;
  const latest = await ctx.registry.latestNomenclature(ctx.state.orgId);
  const Result = NomenclatureResult;
  const nomenclature = !latest
    ? { version: current, result: Result.RESULT_TYPE_NO_VERSION }
    : latest.version === current
      ? { version: current, result: Result.RESULT_TYPE_VERSION_IS_ACTUAL }
      : {
          version: latest.version,
          created_time: nowDateTime(latest.createdAt.getTime()),
          result: Result.RESULT_TYPE_OK,
          elements: (latest.elements as StoredElement[]).map(wireElement),
        };
  return {
    kind: 'answer',
    state: ctx.state,
    response: { command: Command.COMMAND_NOMENCLATURE, result: OK, nomenclature },
  };
}

export async function authCommand(ctx: CommandContext): Promise<Outcome> {
  const { login, password } = ctx.request.auth!;
  const kkmId = ctx.state.kkmId;
  // Guessing a cashier's password: refused after a few failures, right password or not.
  if (await ctx.cashierAuth?.locked(kkmId, login)) {
    return reject(
      ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
      'too many failed cashier logins on this KKM; retry later',
    );
  }
  const cashier = await ctx.registry.findCashier(ctx.state.orgId, login);
  const valid = cashier ? await ctx.verifyPassword(password, cashier.passwordHash) : false;
  await (valid ? ctx.cashierAuth?.succeeded(kkmId, login) : ctx.cashierAuth?.failed(kkmId, login));
  return {
    kind: 'answer',
    state: ctx.state,
    response: {
      command: Command.COMMAND_AUTH,
      result: OK,
      auth:
        valid && cashier
          ? {
              result: AuthResult.RESULT_TYPE_OK,
              operator_code: cashier.code,
              operator_name: cashier.name,
              roles: cashier.roles,
            }
          : { result: AuthResult.RESULT_TYPE_INVALID_LOGIN_PASSWORD },
    },
  };
}
