// One simulated cash register. It numbers its requests, adopts the token of every answer,
// resends a request unchanged (same TOKEN and REQNUM) when its answer is lost, times out or
// says SERVICE_TEMPORARILY_UNAVAILABLE, and keeps its own books: the documents of its open
// shift, its drawer and running totals, from which it builds its own Z report. At every shift
// closure it checks the server's Z report against the receipts it had acknowledged.
import { compareReports, ticketCashDelta, zeroTotals } from '../../src/fiscal/zx-report.js';
import type { RunningTotals } from '../../src/fiscal/zx-report.js';
import { CURRENT_VERSION } from '../../src/protocol/header.js';
import { ResultCode, type IZXReport } from '../../src/protocol/schema.js';
import { decodeAnswer, KkmDevice, type Answer } from '../../src/sim/kkm-client.js';
import { dateTime, type Random } from '../../src/sim/documents.js';
import { placementFigures, type DocumentFigures } from '../../src/fiscal/document-rows.js';
import type { StatsRef } from './stats.js';
import {
  closeShiftPayload,
  infoPayload,
  lastZPayload,
  offlineTicket,
  placementPayload,
  type TicketTemplate,
} from './workload.js';

const OK = ResultCode.RESULT_TYPE_OK;
const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;
const MAX_ATTEMPTS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DeviceSettings {
  random: Random;
  tickets: TicketTemplate[];
  /** Probability that an answer is "lost" and the same frame resent. */
  lossRate: number;
  /** Receipts per shift: a shift closes after a number drawn from this range. */
  shiftTickets: [number, number];
  /** Compare Z reports with the register's books (off against a server that stores nothing). */
  checkReports: boolean;
}

export interface TotalsCheck {
  /** Receipts the server's latest Z report counts since registration (by operation). */
  server: number[];
  /** Receipts this register had acknowledged (by operation). */
  device: number[];
}

const notConnected = () => Promise.reject(new Error('the fleet has not connected this register'));

/** A register of the fleet: the one register client (src/sim/kkm-client.ts) with its books. */
export class SimDevice extends KkmDevice {
  /** Goes offline at this time (performance.now()), for a burst; null: stays online. */
  offlineAt: number | null = null;
  offlineMs = 3000;

  private seq = 0;
  private shiftNumber = 0;
  private shiftOpen = false;
  private shiftOpenedAt = new Date();
  private shiftDocs: DocumentFigures[] = [];
  private shiftLength = 0;
  private cash = 0;
  private totals: RunningTotals = zeroTotals();
  private offlineNumber = 0;
  /** Receipts acknowledged, by operation, since registration. */
  readonly acknowledged = [0, 0, 0, 0];
  lastCheck: TotalsCheck | null = null;

  constructor(
    id: number,
    token: number,
    private readonly s: DeviceSettings,
  ) {
    super(id, token, notConnected, CURRENT_VERSION);
    this.newShiftLength();
  }

  get acknowledgedTotal(): number {
    return this.acknowledged.reduce((a, b) => a + b, 0);
  }

  private newShiftLength(): void {
    const [min, max] = this.s.shiftTickets;
    this.shiftLength = min + Math.floor(this.s.random() * (max - min + 1));
  }

  /**
   * Sends one request and returns its answer, resending the same frame until the answer is
   * definite. `startedAt` (open loop) is when the request was due, for latency.
   */
  async exchange(payload: Uint8Array, ref: StatsRef, startedAt?: number): Promise<Answer | null> {
    const frame = this.framePayload(payload);
    let expected: Buffer | null = null;
    for (let attempt = 1; ; attempt++) {
      if (attempt > MAX_ATTEMPTS) {
        ref.current.abandoned++;
        ref.current.note(`device ${this.id}: gave up REQNUM ${this.reqNum}`);
        return null;
      }
      const t0 = attempt === 1 && startedAt !== undefined ? startedAt : performance.now();
      let bytes: Buffer;
      try {
        bytes = await this.transport(frame);
      } catch (error) {
        ref.current.transportError((error as Error).message);
        ref.current.resends++;
        await sleep(20 * Math.min(attempt, 10));
        continue;
      }
      const stats = ref.current;
      stats.latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      stats.answers++;
      const answer = decodeAnswer(bytes);
      const code = answer.response.result?.result_code ?? -1;
      stats.code(code);
      if (code === UNAVAILABLE) {
        stats.resends++;
        await sleep(10 + Math.floor(this.s.random() * 40) * Math.min(attempt, 5));
        continue;
      }
      if (expected) {
        // Counted together with the resend's answer, so both land in the same window.
        stats.lostAnswers++;
        if (bytes.equals(expected)) stats.retryIdentical++;
        else {
          stats.retryMismatch++;
          stats.note(`device ${this.id}: REQNUM ${this.reqNum} resent, answer differs`);
        }
      } else if (this.s.lossRate > 0 && this.s.random() < this.s.lossRate) {
        // The answer is "lost" on the way: send the very same frame again.
        expected = bytes;
        continue;
      }
      this.adopt(answer);
      return answer;
    }
  }

  /** INFO: the first thing a register says after power-on. */
  async hello(ref: StatsRef): Promise<void> {
    await this.exchange(infoPayload(), ref);
  }

  /** One arrival: the next receipt, with whatever is due before it (float, withdrawal, Z). */
  async step(ref: StatsRef, dueAt?: number): Promise<void> {
    let first = dueAt;
    const send = (payload: Uint8Array) => {
      const at = first;
      first = undefined;
      return this.exchange(payload, ref, at);
    };
    if (this.offlineAt !== null && performance.now() >= this.offlineAt) {
      this.offlineAt = null;
      await this.offlineBurst(ref);
      return;
    }
    if (this.shiftOpen && this.shiftDocs.length >= this.shiftLength) {
      await this.closeShift(ref, send);
    }
    if (!this.shiftOpen) {
      // The opening float.
      const float = 100 * (10_000 + Math.floor(this.s.random() * 40_000));
      await this.placement(ref, send, true, float);
    } else if (this.cash > 0 && this.s.random() < 0.01) {
      await this.placement(ref, send, false, Math.floor(this.cash / 2));
    }
    const t = this.s.tickets[Math.floor(this.s.random() * this.s.tickets.length)]!;
    await this.receipt(ref, send, t);
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

  private async receipt(
    ref: StatsRef,
    send: (p: Uint8Array) => Promise<Answer | null>,
    t: TicketTemplate,
  ): Promise<boolean> {
    const answer = await send(t.payload);
    if (answer?.response.result?.result_code !== OK) return false;
    this.opened();
    this.seq += 1;
    this.shiftDocs.push({ ...t.figures, doc_seq: this.seq });
    this.cash += ticketCashDelta(t.figures);
    this.acknowledged[t.figures.operation]! += 1;
    ref.current.receipts++;
    ref.current.documents++;
    return true;
  }

  private async placement(
    ref: StatsRef,
    send: (p: Uint8Array) => Promise<Answer | null>,
    deposit: boolean,
    tiyn: number,
  ): Promise<void> {
    const answer = await send(placementPayload(deposit, tiyn, new Date()));
    if (answer?.response.result?.result_code !== OK) return;
    this.opened();
    this.seq += 1;
    this.shiftDocs.push({ ...placementFigures(deposit, tiyn), doc_seq: this.seq });
    this.cash += deposit ? tiyn : -tiyn;
    ref.current.documents++;
  }

  /** Offline for a while: receipts pile up on the register, then go up back to back. */
  private async offlineBurst(ref: StatsRef): Promise<void> {
    const begin = new Date();
    await sleep(this.offlineMs);
    const end = new Date();
    const count = 10 + Math.floor(this.s.random() * 31);
    const burst = Array.from({ length: count }, (_, i) =>
      offlineTicket(
        this.s.random,
        new Date(begin.getTime() + ((end.getTime() - begin.getTime()) * i) / count),
        ++this.offlineNumber,
        i === 0 ? { begin, end } : undefined,
      ),
    );
    ref.current.offlineBursts++;
    const send = (p: Uint8Array) => this.exchange(p, ref);
    for (const t of burst) {
      if (await this.receipt(ref, send, t)) ref.current.offlineReceipts++;
    }
  }

  /** CLOSE_SHIFT with the register's own Z report; checks the server's against its books. */
  async closeShift(
    ref: StatsRef,
    send: (p: Uint8Array) => Promise<Answer | null> = (p) => this.exchange(p, ref),
  ): Promise<void> {
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
      const answer = await this.exchange(lastZPayload(new Date()), ref);
      const z = answer?.response.report?.zx_report;
      if (z) this.check(z);
    } else {
      this.lastCheck = { server: [0, 0, 0, 0], device: [...this.acknowledged] };
    }
    return this.lastCheck ?? { server: [-1, -1, -1, -1], device: [...this.acknowledged] };
  }
}
