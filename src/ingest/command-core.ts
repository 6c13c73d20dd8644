// The one path every request takes, whatever its transport:
// frame → typed request → device claim → retry/token/status gate → command rule →
// group commit → state release → answer frame.
// A device is answered OK only after its document is committed; a retry (same TOKEN and
// REQNUM) gets the stored answer back byte for byte; anything uncertain makes the next request
// rebuild the device state from ClickHouse.
import type { Logger } from 'pino';
import { decodeRequest, encodeResponse, resultResponse } from '../protocol/codec.js';
import type { Frame } from '../protocol/framer.js';
import { Command, ResultCode } from '../protocol/schema.js';
import { StoreUnavailableError, type BatchWriter } from '../storage/batch-writer.js';
import type { ClosedShift, DocumentQueries } from '../storage/document-queries.js';
import type { DocType } from '../fiscal/document-rows.js';
import type { KkmRecord } from '../storage/kkms.js';
import type { AcknowledgedDocument } from '../telemetry/events.js';
import {
  freshState,
  nextToken,
  presentsToken,
  storedPart,
  type DeviceState,
} from '../fiscal/device-state.js';
import type { StateStore } from './state-store.js';
import { refusal, type GateCheck } from './request-limits.js';
import { crashPoint } from './faults.js';
import { serviceEvents } from './commands/service-events.js';
import { cancelTicketCommand } from './commands/cancel-ticket.js';
import { moneyPlacementCommand } from './commands/money-placement.js';
import { closeShiftCommand, reportCommand } from './commands/reports.js';
import {
  authCommand,
  infoCommand,
  nomenclatureCommand,
  systemCommand,
} from './commands/service.js';
import { ticketCommand } from './commands/ticket.js';
import type {
  CashierAuthLimiter,
  CatalogueReader,
  CommandContext,
  OrgReader,
  Outcome,
  RegistryReader,
} from './commands/types.js';
import { blockedResponse } from './commands/ads.js';

export interface CoreRegistry extends RegistryReader {
  getKkm(
    kkmId: number,
  ): Promise<Pick<
    KkmRecord,
    'kkmId' | 'orgId' | 'pointId' | 'fnsKkmId' | 'status' | 'token' | 'tokenEpoch'
  > | null>;
  getOrg(orgId: number): Promise<{ bin: string } | null>;
}

export interface CoreOptions {
  registry: CoreRegistry;
  orgs: OrgReader;
  catalogue: CatalogueReader;
  states: StateStore;
  writer: BatchWriter;
  queries: DocumentQueries;
  tokenSecret: string;
  receiptUrl: string;
  shiftMaxHours: number;
  verifyPassword: (plain: string, hash: string) => Promise<boolean>;
  /** Failed COMMAND_AUTH attempts per register and cashier (none: unlimited). */
  cashierAuth?: CashierAuthLimiter;
  log: Logger;
  /**
   * Requests rebuilding a device state at once, waiting for their batch or being read (none:
   * unlimited). Beyond it a request is answered 254 at once, which the register retries: a
   * storm of first contacts is admitted at the rate the store serves, never queued unbounded.
   */
  maxRebuilds?: number;
  /** Called after each answer, for metrics. */
  onAnswer?: (command: number, resultCode: number, ms: number, kkmId: number) => void;
  /** Called after a fiscal document was committed (live feed, notifications). */
  onDocument?: (doc: AcknowledgedDocument) => void;
  /**
   * Called when a resend is answered from a document found in ClickHouse by a rebuild: the
   * commit that stored it was cut short (a kill, a failed insert), so what the same INSERT
   * should also have written (the materialized views' parts) may be missing.
   */
  onRecovered?: (kkmId: number, docSeq: number) => void;
}

const HANDLERS: Record<number, (ctx: CommandContext) => Promise<Outcome>> = {
  [Command.COMMAND_SYSTEM]: systemCommand,
  [Command.COMMAND_TICKET]: ticketCommand,
  [Command.COMMAND_CLOSE_SHIFT]: closeShiftCommand,
  [Command.COMMAND_REPORT]: reportCommand,
  [Command.COMMAND_NOMENCLATURE]: nomenclatureCommand,
  [Command.COMMAND_INFO]: infoCommand,
  [Command.COMMAND_MONEY_PLACEMENT]: moneyPlacementCommand,
  [Command.COMMAND_CANCEL_TICKET]: cancelTicketCommand,
  [Command.COMMAND_AUTH]: authCommand,
};

/** Commands after which the last ticket may still be cancelled (section 3.4). */
const KEEP_CANCELLABLE = new Set<number>([
  Command.COMMAND_SYSTEM,
  Command.COMMAND_INFO,
  Command.COMMAND_TICKET,
  Command.COMMAND_CANCEL_TICKET,
]);

const DOC_COMMAND: Record<DocType, number> = {
  ticket: Command.COMMAND_TICKET,
  close_shift: Command.COMMAND_CLOSE_SHIFT,
  money_placement: Command.COMMAND_MONEY_PLACEMENT,
  cancel_ticket: Command.COMMAND_CANCEL_TICKET,
};

class Unavailable extends Error {}

/** How often refused rebuilds are logged at most (with the count since). */
const REFUSALS_LOG_EVERY_MS = 10_000;

export class CommandCore {
  /** Requests rebuilding a device state now (see CoreOptions.maxRebuilds). */
  private rebuilding = 0;
  private refusedRebuilds = 0;
  /** The shift closure a rebuilt state was rebuilt from, for the request that rebuilt it. */
  private readonly rebuiltCloses = new WeakMap<DeviceState, ClosedShift>();
  private refusalsLoggedAt = -Infinity;

  constructor(private readonly o: CoreOptions) {}

  /** Requests rebuilding a device state now, queued or being read. */
  get rebuildsInFlight(): number {
    return this.rebuilding;
  }

  /** Answers one request frame. Never throws: every failure is a result code. */
  async handle(frame: Frame, receivedAt = Date.now(), gate?: GateCheck): Promise<Buffer> {
    const started = performance.now();
    const { header } = frame;
    let command: number = Command.COMMAND_SYSTEM;
    let code: number = ResultCode.RESULT_TYPE_OK;
    const answer = (cmd: number, c: number, text?: string, token = header.token) => {
      code = c;
      return encodeResponse(header, token, resultResponse(cmd, c, text));
    };
    try {
      const decoded = decodeRequest(frame);
      if (!decoded.ok) {
        command = decoded.command;
        this.o.log.warn(
          {
            kkmId: header.deviceId,
            reqNum: header.reqNum,
            code: decoded.code,
            reason: decoded.reason,
          },
          'request refused',
        );
        return answer(decoded.command, decoded.code, decoded.reason);
      }
      command = decoded.request.command;
      const result = await this.process(frame, decoded.request, receivedAt, gate);
      code = result.code;
      return result.answer;
    } catch (error) {
      this.o.log.error(
        { err: error, kkmId: header.deviceId, reqNum: header.reqNum, command },
        error instanceof Unavailable ? 'dependency unavailable' : 'request failed',
      );
      return answer(
        command,
        ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
        'service temporarily unavailable',
      );
    } finally {
      this.o.onAnswer?.(command, code, performance.now() - started, header.deviceId);
    }
  }

  private async process(
    frame: Frame,
    request: CommandContext['request'],
    receivedAt: number,
    gate?: GateCheck,
  ): Promise<{ answer: Buffer; code: number }> {
    const { header } = frame;
    const kkmId = header.deviceId;
    const command = request.command;
    const plain = (code: number, text?: string) => ({
      code,
      answer: encodeResponse(header, header.token, resultResponse(command, code, text)),
    });

    // Nothing of this request may be inserted once its claim could have passed to another
    // (that one rebuilds from what is stored and would store the document again).
    const leaseMs = this.o.states.leaseMs;
    const deadline = performance.now() + leaseMs - Math.min(200, leaseMs / 10);
    let claim;
    try {
      claim = await this.o.states.claim(kkmId);
    } catch (error) {
      throw new Unavailable('redis', { cause: error });
    }
    if (claim.kind === 'busy') {
      return plain(
        ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
        'device busy with another request',
      );
    }
    let state = claim.state;
    let released = false;
    const release = async (next: DeviceState | null) => {
      released = true;
      // The state as claimed needs no writing back: Redis holds it already. A claim that asked
      // for a rebuild and leaves no state behind keeps asking, or the next request would trust
      // what Redis held before the failure.
      const changed = next === claim.state ? null : next;
      const done =
        !changed && claim.rebuild
          ? this.o.states.markUncertain(kkmId, claim.claim)
          : this.o.states.release(kkmId, claim.claim, changed);
      await done.catch((err: unknown) => {
        this.o.log.warn({ err, kkmId }, 'device state not saved; it will be rebuilt');
      });
    };
    let rebuiltClose: ClosedShift | undefined;
    try {
      if (!state || claim.rebuild) {
        if (this.rebuilding >= (this.o.maxRebuilds ?? Infinity)) {
          await release(null);
          this.refusedRebuild();
          return plain(
            ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
            'busy rebuilding device states; retry later',
          );
        }
        this.rebuilding++;
        try {
          state = await this.rebuild(kkmId);
        } catch (error) {
          throw new Unavailable('clickhouse', { cause: error });
        } finally {
          this.rebuilding--;
        }
        if (!state) {
          await release(null);
          return plain(ResultCode.RESULT_TYPE_UNKNOWN_ID, `device ${kkmId} is not registered`);
        }
        rebuiltClose = this.rebuiltCloses.get(state);
      }

      // The rate limits, now that the token is known to be right or wrong (request-limits.ts).
      const limited = gate?.(presentsToken(state, header));
      if (limited) {
        await release(state);
        return {
          code: ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE,
          answer: refusal(frame, limited, command),
        };
      }
      // A retry of the last request: the same answer, byte for byte.
      if (header.reqNum === state.lastReqNum && header.token === state.lastReqToken) {
        await release(state);
        if (command !== state.lastCommand) {
          return plain(
            ResultCode.RESULT_TYPE_INVALID_RETRY_REQUEST,
            'same REQNUM and TOKEN, another command',
          );
        }
        if (state.lastFromHistory) this.o.onRecovered?.(kkmId, state.seq);
        return { code: ResultCode.RESULT_TYPE_OK, answer: Buffer.from(state.lastAnswer, 'base64') };
      }
      if (header.reqNum === state.lastReqNum && !state.lastFromHistory) {
        await release(state);
        return plain(
          ResultCode.RESULT_TYPE_INVALID_REQUEST_NUMBER,
          'same REQNUM as the last request, another TOKEN',
        );
      }
      if (header.token !== state.token) {
        await release(state);
        return plain(ResultCode.RESULT_TYPE_INVALID_TOKEN, 'wrong token');
      }
      if (state.status !== 'active') {
        await release(state);
        // Section 5.4: the answer carries the TICKET_AD_INFO text the blocked KKM must print.
        const blocked = await blockedResponse(this.o.orgs, state, command).catch(() => null);
        if (!blocked) return plain(ResultCode.RESULT_TYPE_BLOCKED, `KKM is ${state.status}`);
        return {
          code: ResultCode.RESULT_TYPE_BLOCKED,
          answer: encodeResponse(header, header.token, blocked),
        };
      }
      // State rebuilt from the last document: requests answered since then (a REPORT, say)
      // left no trace, so its ticket stays cancellable only if this request directly follows.
      if (state.lastFromHistory && header.reqNum !== ((state.lastReqNum + 1) & 0xffff)) {
        state = { ...state, cancellableSeq: 0, cancellableCash: 0 };
      }

      const ctx: CommandContext = {
        header,
        request,
        frame: frame.bytes,
        receivedAt,
        state: { ...state },
        queries: this.queriesFor(kkmId, rebuiltClose),
        registry: this.o.registry,
        orgs: this.o.orgs,
        catalogue: this.o.catalogue,
        verifyPassword: this.o.verifyPassword,
        cashierAuth: this.o.cashierAuth,
        receiptUrl: this.o.receiptUrl,
        shiftMaxHours: this.o.shiftMaxHours,
        log: this.o.log,
      };
      let outcome: Outcome;
      try {
        outcome = await HANDLERS[command]!(ctx);
      } catch (error) {
        throw new Unavailable('command', { cause: error });
      }

      const next: DeviceState = outcome.kind === 'answer' ? { ...outcome.state } : { ...state };
      if (!KEEP_CANCELLABLE.has(command) || outcome.kind === 'reject') {
        next.cancellableSeq = 0;
        next.cancellableCash = 0;
      }
      const document = outcome.kind === 'answer' ? outcome.document : undefined;
      next.token = document
        ? nextToken(this.o.tokenSecret, kkmId, state.token, next.seq)
        : state.token;
      const response =
        outcome.kind === 'answer'
          ? outcome.response
          : resultResponse(command, outcome.code, outcome.text);
      const resultCode = response.result.result_code;
      const answerFrame = encodeResponse(header, next.token, response);
      next.lastReqNum = header.reqNum;
      next.lastReqToken = header.token;
      next.lastCommand = command;
      next.lastAnswer = answerFrame.toString('base64');
      next.lastFromHistory = false;
      if (outcome.kind === 'reject') {
        this.o.log.info(
          { kkmId, reqNum: header.reqNum, code: outcome.code, reason: outcome.text },
          'request rejected',
        );
      }

      const events =
        outcome.kind === 'answer'
          ? serviceEvents(ctx, request.service, command === Command.COMMAND_SYSTEM)
          : [];
      if (document) {
        document.token_out = next.token;
        document.response = next.lastAnswer;
        document.state = JSON.stringify(storedPart(next));
      }
      if (document) crashPoint('before-commit');
      const writes = await Promise.allSettled([
        ...(document ? [this.o.writer.write('documents', document, deadline)] : []),
        ...events.map((e) => this.o.writer.write('device_events', { ...e }, deadline)),
      ]);
      const refused = writes.filter((w) => w.status === 'rejected');
      if (refused.length) {
        // Rows that never reached an insert are certainly not stored: if that is all of them,
        // the state stands. Anything else may have landed (the document, say, while an event
        // was refused), so the next request rebuilds from ClickHouse.
        const noneWritten =
          refused.length === writes.length &&
          refused.every((w) => w.reason instanceof StoreUnavailableError && w.reason.notWritten);
        if (!noneWritten) {
          released = true;
          await this.o.states.markUncertain(kkmId, claim.claim).catch(() => {});
        }
        throw new Unavailable('commit', { cause: refused[0]!.reason });
      }
      if (document) crashPoint('after-commit');
      await release(next);
      if (document) crashPoint('after-release');
      if (document) {
        this.o.onDocument?.({
          kkmId,
          orgId: next.orgId,
          pointId: next.pointId,
          docType: document.doc_type,
          docSeq: document.doc_seq,
          shiftNumber: document.shift_number,
          ticketNumber: document.ticket_number as string | undefined,
          total: document.total as number | undefined,
          isOffline: document.is_offline === 1 || document.offline_number > 0,
        });
      }
      return { code: resultCode, answer: answerFrame };
    } finally {
      if (!released) await release(null);
    }
  }

  /**
   * The document reads of a request. A state rebuilt from a shift closure has read that
   * closure, which is the device's last one while its claim is held (INFO after a Redis flush
   * need not read it again).
   */
  private queriesFor(kkmId: number, closed: ClosedShift | undefined): DocumentQueries {
    if (!closed) return this.o.queries;
    const queries = this.o.queries;
    return Object.assign(Object.create(queries) as DocumentQueries, {
      lastClosedShift: (id: number) =>
        id === kkmId ? Promise.resolve(closed) : queries.lastClosedShift(id),
    });
  }

  private refusedRebuild(): void {
    this.refusedRebuilds++;
    const now = performance.now();
    if (now - this.refusalsLoggedAt < REFUSALS_LOG_EVERY_MS) return;
    this.o.log.warn(
      { refused: this.refusedRebuilds, inFlight: this.rebuilding },
      'device states rebuilding at capacity; answering 254',
    );
    this.refusalsLoggedAt = now;
    this.refusedRebuilds = 0;
  }

  /** The device state from ClickHouse: the registry row and the last stored document. */
  async rebuild(kkmId: number): Promise<DeviceState | null> {
    const kkm = await this.o.registry.getKkm(kkmId);
    if (!kkm) return null;
    const [org, last] = await Promise.all([
      this.o.registry.getOrg(kkm.orgId),
      this.o.queries.lastDocument(kkmId),
    ]);
    const state = freshState({
      kkmId,
      orgId: kkm.orgId,
      pointId: kkm.pointId,
      orgBin: org?.bin ?? '',
      fnsKkmId: kkm.fnsKkmId,
      status: kkm.status,
      token: kkm.token,
      tokenEpoch: kkm.tokenEpoch,
    });
    if (!last) return state;
    const stored = JSON.parse(last.state) as Partial<DeviceState>;
    Object.assign(state, stored);
    // A token the operator issued after the last document wins over the rotated one.
    if (kkm.tokenEpoch > (stored.tokenEpoch ?? 0)) {
      state.token = kkm.token;
      state.tokenEpoch = kkm.tokenEpoch;
    } else {
      state.token = last.token_out;
    }
    state.lastReqNum = last.req_num;
    state.lastReqToken = last.token_in;
    state.lastCommand = DOC_COMMAND[last.doc_type];
    state.lastAnswer = last.response;
    state.lastFromHistory = true;
    if (last.doc_type === 'close_shift') {
      const { shift_number, doc_seq, server_report } = last;
      this.rebuiltCloses.set(state, { shift_number, doc_seq, server_report });
    }
    return state;
  }
}
