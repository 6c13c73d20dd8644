// What the fleet (fleet.ts) recorded over one window (a bench phase, or the whole run): answers
// and their latency (HdrHistogram, µs), result codes, unanswered attempts, retries and resend
// checks, offline bursts and Z checks.
import hdr from 'hdr-histogram-js';
import { ResultCode } from '../../../src/protocol/schema.js';

const UNAVAILABLE = ResultCode.RESULT_TYPE_SERVICE_TEMPORARILY_UNAVAILABLE;

export const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });

export type Histogram = ReturnType<typeof newHistogram>;

export class PhaseStats {
  readonly latency: Histogram = newHistogram();
  /** Answers received (every exchange, retries included). */
  answers = 0;
  /** Requests answered with something other than 254 (after retries, if any). */
  delivered = 0;
  /** Receipts acknowledged (TICKET answered OK). */
  acked = 0;
  /** Fiscal documents acknowledged (receipts, placements, shift closures). */
  documents = 0;
  /** Answers by result code (every attempt). */
  readonly codes: Record<number, number> = {};
  /** Attempts without an answer (connection refused, closed or timed out), by message. */
  readonly transportErrors = new Map<string, number>();
  noAnswer = 0;
  /** Attempts answered SERVICE_TEMPORARILY_UNAVAILABLE (254). */
  unavailable = 0;
  /** Requests that needed more than one attempt (no answer or 254 first). */
  retried = 0;
  /** Answers the register pretended to lose, then resent the same frame for. */
  lostAnswers = 0;
  /**
   * Resends of a request already answered (after a pretended loss, or once more after retries):
   * the answer was byte-for-byte the first one / was not.
   */
  resendIdentical = 0;
  resendDifferent = 0;
  /** Requests given up (still unanswered after the fleet's giveUpMs). */
  gaveUp = 0;
  offlineBursts = 0;
  offlineReceipts = 0;
  shiftsClosed = 0;
  /** Z reports whose receipt counts differ from what the register had acknowledged. */
  zMismatches = 0;
  /** Z reports where the server's figures differ from the register's own report. */
  reportDiffs = 0;
  /** Definite answers other than OK, with their text (the first hundred). */
  readonly unexpected: { kkmId: number; code: number; text: string }[] = [];
  readonly notes: string[] = [];

  code(c: number): void {
    this.codes[c] = (this.codes[c] ?? 0) + 1;
    if (c === UNAVAILABLE) this.unavailable++;
  }

  transportError(message: string): void {
    this.noAnswer++;
    const key = message.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'addr');
    this.transportErrors.set(key, (this.transportErrors.get(key) ?? 0) + 1);
  }

  refused(kkmId: number, code: number, text: string): void {
    if (this.unexpected.length < 100) this.unexpected.push({ kkmId, code, text });
  }

  note(text: string): void {
    if (this.notes.length < 20) this.notes.push(text);
  }

  /** Resends after 254 or a transport error. */
  get resends(): number {
    return this.unavailable + this.noAnswer;
  }

  /** Non-OK answers and transport errors, together. */
  get errors(): number {
    let n = this.noAnswer;
    for (const [c, k] of Object.entries(this.codes)) if (c !== '0') n += k;
    return n;
  }

  /** Adds what another window recorded (a phase's stats to the fleet's lifetime). */
  add(from: PhaseStats): void {
    if (from === this) return;
    this.latency.add(from.latency);
    for (const key of COUNTERS) this[key] += from[key];
    for (const [c, n] of Object.entries(from.codes)) {
      this.codes[Number(c)] = (this.codes[Number(c)] ?? 0) + n;
    }
    for (const [m, n] of from.transportErrors) {
      this.transportErrors.set(m, (this.transportErrors.get(m) ?? 0) + n);
    }
    for (const u of from.unexpected) this.refused(u.kkmId, u.code, u.text);
    for (const n of from.notes) this.note(n);
  }
}

const COUNTERS = [
  'answers',
  'delivered',
  'acked',
  'documents',
  'noAnswer',
  'unavailable',
  'retried',
  'lostAnswers',
  'resendIdentical',
  'resendDifferent',
  'gaveUp',
  'offlineBursts',
  'offlineReceipts',
  'shiftsClosed',
  'zMismatches',
  'reportDiffs',
] as const satisfies readonly (keyof PhaseStats)[];

/** The stats that are being recorded into now (swapped at the end of a warm-up). */
export interface StatsRef {
  current: PhaseStats;
}

export const RESULT_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'UNKNOWN_ID',
  2: 'INVALID_TOKEN',
  3: 'PROTOCOL_ERROR',
  8: 'INVALID_REQUEST_NUMBER',
  9: 'INVALID_RETRY_REQUEST',
  11: 'OPEN_SHIFT_TIMEOUT_EXPIRED',
  13: 'INCORRECT_REQUEST_DATA',
  14: 'NOT_ENOUGH_CASH',
  15: 'BLOCKED',
  254: 'SERVICE_TEMPORARILY_UNAVAILABLE',
  255: 'UNKNOWN_ERROR',
};
