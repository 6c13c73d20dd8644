// One simulated cash register of the fleet (fleet.ts): the one register client
// (src/sim/kkm-client.ts) with its books. It numbers its requests, adopts the token of every
// answer and, as the protocol says (sections 2.4 and 5), resends a request it got no answer (or
// 254) to unchanged (same TOKEN and REQNUM) on a new connection until it is answered. An answer
// that came after retries, or one it pretends to have lost, is asked for once more: the resend
// must bring the same bytes. It keeps a ledger of the ticket numbers it was answered OK, and
// (with shifts) its own books: the documents of its open shift, its drawer and running totals,
// from which it builds its own Z report; at every shift closure it checks the server's Z report
// against the receipts it had acknowledged.
import { compareReports, ticketCashDelta, zeroTotals } from '../../../src/fiscal/zx-report.js';
import type { RunningTotals } from '../../../src/fiscal/zx-report.js';
import { ResultCode, type IZXReport } from '../../../src/protocol/schema.js';
import {
  decodeAnswer,
  KkmDevice,
  TcpLink,
  tcpPerRequest,
  type Answer,
} from '../../../src/sim/kkm-client.js';
import { dateTime, type Random } from '../../../src/sim/documents.js';
import { placementFigures, type DocumentFigures } from '../../../src/fiscal/document-rows.js';
import type { RegisteredDevice } from '../admin-client.js';
import type { StatsRef } from './stats.js';
import {
  closeShiftPayload,
  infoPayload,
  lastZPayload,
  offlineTicket,
  placementPayload,
  type TicketTemplate,
} from './workload.js';

export const OK = ResultCode.RESULT_TYPE_OK;
export const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One attempt (an answer, or a lost one: code null) as a register saw it; performance.now(). */
export interface Attempt {
  kkmId: number;
  code: number | null;
  sentAt: number;
  at: number;
}

/** persistent: one TCP connection per register; per-request: a new one for every request. */
export type Mode = 'persistent' | 'per-request';

export interface RegisterSettings {
  random: Random;
  /** Encoded receipts of the register's protocol version. */
  tickets: TicketTemplate[];
  /** Header VERSION: 202 (protocol 2.0.2) or 203 (2.0.3). */
  version: number;
  /** Probability that an answer is "lost" and the same frame resent. */
  lossRate: number;
  /** A working day: opening float, withdrawals, shift closures with the Z check. */
  shifts: boolean;
  /** Receipts per shift: a shift closes after a number drawn from this range. */
  shiftTickets: [number, number];
  /** Compare Z reports with the register's books (off against a server that stores nothing). */
  checkReports: boolean;
  /** Keep the ticket numbers answered OK. */
  ledger: boolean;
  /** A request still unanswered after this long is given up. */
  giveUpMs: number;
  /** Pause before a resend, drawn from [min, max] ms. */
  retryDelayMs: [number, number];
  onAttempt?: (a: Attempt) => void;
}

export interface TotalsCheck {
  /** Receipts the server's latest Z report counts since registration (by operation). */
  server: number[];
  /** Receipts this register had acknowledged (by operation). */
  device: number[];
}

type Send = (payload: Uint8Array) => Promise<Answer | null>;

const notConnected = () => Promise.reject(new Error('the fleet has not connected this register'));

export class FleetRegister extends KkmDevice {
  /** Goes offline at this time (performance.now()), for a burst; null: stays online. */
  offlineAt: number | null = null;
  offlineMs = 3000;
  /** Ticket numbers answered OK, in order (when the settings keep a ledger). */
  readonly acked: string[] = [];
  /** Receipts acknowledged, by operation, since registration. */
  readonly acknowledged = [0, 0, 0, 0];
  lastCheck: TotalsCheck | null = null;

  private link: TcpLink | null = null;
  private seq = 0;
  private shiftNumber = 0;
  private shiftOpen = false;
  private shiftOpenedAt = new Date();
  private shiftDocs: DocumentFigures[] = [];
  private shiftLength = 0;
  private cash = 0;
  private totals: RunningTotals = zeroTotals();
  private offlineNumber = 0;

  constructor(
    reg: RegisteredDevice,
    readonly s: RegisterSettings,
  ) {
    super(reg.kkmId, reg.token, notConnected, s.version);
    this.newShiftLength();
  }

  get acknowledgedTotal(): number {
    return this.acknowledged.reduce((a, b) => a + b, 0);
  }

  /** Talks to the server at host:port from now on, with this answer timeout. */
  connect(mode: Mode, port: number, host: string, timeoutMs: number): void {
    this.disconnect();
    if (mode === 'per-request') {
      this.transport = tcpPerRequest(port, host);
    } else {
      this.link = new TcpLink(port, host, timeoutMs);
      this.transport = this.link.send;
    }
  }

  /** Closes the connection (the next request opens a new one). */
  disconnect(): void {
    this.link?.close();
  }

  private newShiftLength(): void {
    const [min, max] = this.s.shiftTickets;
    this.shiftLength = min + Math.floor(this.s.random() * (max - min + 1));
  }

  private pause(): Promise<void> {
    const [min, max] = this.s.retryDelayMs;
    return sleep(min + this.s.random() * (max - min));
  }

  /**
   * Sends one request and returns its definite answer (anything but 254), resending the same
   * frame until there is one; null when given up. `startedAt` (open loop) is when the request
   * was due, for latency.
   */
  async exchange(payload: Uint8Array, ref: StatsRef, startedAt?: number): Promise<Answer | null> {
    return this.untilAnswered(this.framePayload(payload), ref, startedAt);
  }

  /**
   * Resends the last frame, whose answer never came (the server died, say), the same way until
   * it is answered; null when given up.
   */
  resendUntilAnswered(ref: StatsRef): Promise<Answer | null> {
    if (!this.lastFrame) throw new Error('nothing to resend');
    return this.untilAnswered(this.lastFrame, ref);
  }

  private async untilAnswered(
    frame: Buffer,
    ref: StatsRef,
    startedAt?: number,
  ): Promise<Answer | null> {
    const began = performance.now();
    let expected: Answer | null = null;
    for (let attempt = 1; ; attempt++) {
      const sentAt = attempt === 1 && startedAt !== undefined ? startedAt : performance.now();
      let bytes: Buffer | null = null;
      try {
        bytes = await this.transport(frame);
      } catch (error) {
        ref.current.transportError((error as Error).message);
      }
      const stats = ref.current;
      const answer = bytes ? decodeAnswer(bytes) : null;
      const code = answer ? (answer.response.result?.result_code ?? -1) : null;
      const at = performance.now();
      this.s.onAttempt?.({ kkmId: this.id, code, sentAt, at });
      if (answer && code !== null) {
        stats.latency.recordValue(Math.max(1, Math.round((at - sentAt) * 1000)));
        stats.answers++;
        stats.code(code);
      }
      if (!answer || code === UNAVAILABLE) {
        if (performance.now() - began > this.s.giveUpMs) {
          if (expected) return this.answered(expected, ref);
          stats.gaveUp++;
          stats.note(`device ${this.id}: gave up REQNUM ${this.reqNum}`);
          return null;
        }
        // Per the protocol: drop the connection, reconnect and send the same frame again.
        this.disconnect();
        await this.pause();
        continue;
      }
      if (expected) {
        // Counted together with the resend's answer, so both land in the same window.
        if (answer.bytes.equals(expected.bytes)) stats.resendIdentical++;
        else {
          stats.resendDifferent++;
          stats.note(`device ${this.id}: REQNUM ${this.reqNum} resent, answer differs`);
        }
        return this.answered(expected, ref);
      }
      stats.delivered++;
      if (attempt > 1) {
        // Answered after retries: once more, the answer must be the same bytes.
        stats.retried++;
        expected = answer;
      } else if (this.s.lossRate > 0 && this.s.random() < this.s.lossRate) {
        // The answer is "lost" on the way: send the very same frame again.
        stats.lostAnswers++;
        expected = answer;
      } else {
        return this.answered(answer, ref);
      }
    }
  }

  private answered(answer: Answer, ref: StatsRef): Answer {
    this.adopt(answer);
    const result = answer.response.result;
    if (result?.result_code !== OK) {
      ref.current.refused(this.id, result?.result_code ?? -1, result?.result_text ?? '');
    }
    return answer;
  }

  /** INFO: the first thing a register says after power-on. */
  async hello(ref: StatsRef): Promise<void> {
    await this.exchange(infoPayload(this.version), ref);
  }

  /**
   * One arrival: the next receipt, with whatever is due before it (with shifts: the opening
   * float, a withdrawal, the Z report). Returns the receipt's result code (null: given up).
   */
  async step(ref: StatsRef, dueAt?: number): Promise<number | null> {
    let first = dueAt;
    const send: Send = (payload) => {
      const at = first;
      first = undefined;
      return this.exchange(payload, ref, at);
    };
    if (this.offlineAt !== null && performance.now() >= this.offlineAt) {
      this.offlineAt = null;
      return this.offlineBurst(ref);
    }
    if (this.s.shifts) {
      if (this.shiftOpen && this.shiftDocs.length >= this.shiftLength) {
        await this.closeShift(ref, send);
      }
      if (!this.shiftOpen) {
        // The opening float.
        const float = 100 * (10_000 + Math.floor(this.s.random() * 40_000));
        await this.placement(send, ref, true, float);
      } else if (this.cash > 0 && this.s.random() < 0.01) {
        await this.placement(send, ref, false, Math.floor(this.cash / 2));
      }
    }
    const t = this.s.tickets[Math.floor(this.s.random() * this.s.tickets.length)]!;
    return this.receipt(send, ref, t);
  }

  private opened(): void {
    if (this.shiftOpen) return;
    this.shiftOpen = true;
    this.shiftNumber += 1;
    this.shiftOpenedAt = new Date();
    this.shiftDocs = [];
    this.cash = 0;
    this.newShiftLength();
  }

  private async receipt(send: Send, ref: StatsRef, t: TicketTemplate): Promise<number | null> {
    const answer = await send(t.payload);
    const code = answer ? (answer.response.result?.result_code ?? -1) : null;
    if (code !== OK) return code;
    this.opened();
    this.seq += 1;
    this.shiftDocs.push({ ...t.figures, doc_seq: this.seq });
    this.cash += ticketCashDelta(t.figures);
    this.acknowledged[t.figures.operation]! += 1;
    if (this.s.ledger) this.acked.push(answer!.response.ticket!.ticket_number);
    ref.current.acked++;
    ref.current.documents++;
    return code;
  }

  private async placement(send: Send, ref: StatsRef, deposit: boolean, tiyn: number) {
    const answer = await send(placementPayload(deposit, tiyn, new Date(), this.version));
    if (answer?.response.result?.result_code !== OK) return;
    this.opened();
    this.seq += 1;
    this.shiftDocs.push({ ...placementFigures(deposit, tiyn), doc_seq: this.seq });
    this.cash += deposit ? tiyn : -tiyn;
    ref.current.documents++;
  }

  /** Offline for a while: receipts pile up on the register, then go up back to back. */
  private async offlineBurst(ref: StatsRef): Promise<number | null> {
    const begin = new Date();
    await sleep(this.offlineMs);
    const end = new Date();
    const count = 10 + Math.floor(this.s.random() * 31);
    const burst = Array.from({ length: count }, (_, i) =>
      offlineTicket(
        this.s.random,
        new Date(begin.getTime() + ((end.getTime() - begin.getTime()) * i) / count),
        ++this.offlineNumber,
        this.version,
        i === 0 ? { begin, end } : undefined,
      ),
    );
    ref.current.offlineBursts++;
    const send: Send = (p) => this.exchange(p, ref);
    let code: number | null = null;
    for (const t of burst) {
      code = await this.receipt(send, ref, t);
      if (code === OK) ref.current.offlineReceipts++;
    }
    return code;
  }

  /** CLOSE_SHIFT with the register's own Z report; checks the server's against its books. */
  async closeShift(ref: StatsRef, send: Send = (p) => this.exchange(p, ref)): Promise<void> {
    const now = new Date();
    const { payload, report: own } = closeShiftPayload(
      this.shiftDocs,
      this.totals,
      {
        shiftNumber: this.shiftNumber,
        dateTime: dateTime(now),
        openedAt: dateTime(this.shiftOpenedAt),
        closedAt: dateTime(now),
      },
      now,
      this.version,
    );
    const answer = await send(payload);
    if (answer?.response.result?.result_code !== OK) return;
    const server = answer.response.report?.zx_report ?? null;
    const stats = ref.current;
    stats.shiftsClosed++;
    stats.documents++;
    this.seq += 1;
    if (!this.s.checkReports) {
      // A server that stores nothing reports nothing: no check.
    } else if (!server) {
      stats.zMismatches++;
      stats.note(`device ${this.id}: CLOSE_SHIFT answer without a Z report`);
    } else {
      const diffs = compareReports(own, server);
      if (diffs.length) {
        stats.reportDiffs++;
        stats.note(`device ${this.id}: Z differs: ${JSON.stringify(diffs.slice(0, 2))}`);
      }
      const shiftCounts = [0, 0, 0, 0];
      for (const d of this.shiftDocs) if (d.doc_type === 'ticket') shiftCounts[d.operation]! += 1;
      const serverShift = [0, 1, 2, 3].map(
        (op) => server.ticket_operations?.find((x) => x.operation === op)?.tickets_count ?? 0,
      );
      if (serverShift.some((n, op) => n !== shiftCounts[op])) {
        stats.zMismatches++;
        stats.note(
          `device ${this.id} shift ${this.shiftNumber}: server counts ${serverShift}, acknowledged ${shiftCounts}`,
        );
      }
      this.check(server);
    }
    for (let op = 0; op < 4; op++) {
      const tickets = this.shiftDocs.filter((d) => d.doc_type === 'ticket' && d.operation === op);
      this.totals.ticketCount[op]! += tickets.length;
      this.totals.ticketSum[op]! += tickets.reduce((a, d) => a + d.total, 0);
    }
    for (const d of this.shiftDocs) {
      if (d.doc_type === 'money_placement') this.totals.placementCount[d.placement]! += 1;
    }
    this.shiftOpen = false;
    this.shiftDocs = [];
    this.cash = 0;
  }

  /** Compares the receipts a Z report counts since registration with those acknowledged. */
  private check(report: IZXReport): void {
    const server = [0, 1, 2, 3].map(
      (op) => report.ticket_operations?.find((x) => x.operation === op)?.tickets_total_count ?? 0,
    );
    this.lastCheck = { server, device: [...this.acknowledged] };
  }

  /**
   * The end-of-run check through the server's own reports: closes the open shift (the server
   * answers its Z report, computed from what it stored) or asks for the last Z report.
   */
  async verify(ref: StatsRef): Promise<TotalsCheck> {
    this.lastCheck = null;
    if (this.shiftOpen) {
      await this.closeShift(ref);
    } else if (this.shiftNumber > 0) {
      const answer = await this.exchange(lastZPayload(new Date(), this.version), ref);
      const z = answer?.response.report?.zx_report;
      if (z) this.check(z);
    } else {
      this.lastCheck = { server: [0, 0, 0, 0], device: [...this.acknowledged] };
    }
    return this.lastCheck ?? { server: [-1, -1, -1, -1], device: [...this.acknowledged] };
  }
}
