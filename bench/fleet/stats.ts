// What one phase of the fleet run measured: answers and their latency (HdrHistogram, µs),
// result codes, transport errors, retries of lost answers, offline bursts and Z checks.
import hdr from 'hdr-histogram-js';

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
  /** Receipts acknowledged (TICKET answered OK). */
  receipts = 0;
  /** Fiscal documents acknowledged (receipts, placements, shift closures). */
  documents = 0;
  readonly codes = new Map<number, number>();
  readonly transportErrors = new Map<string, number>();
  /** Answers the register pretended to lose, then resent the same frame for. */
  lostAnswers = 0;
  /** Resent frames whose answer was byte-for-byte the first one / was not. */
  retryIdentical = 0;
  retryMismatch = 0;
  /** Resends after SERVICE_TEMPORARILY_UNAVAILABLE or a transport error. */
  resends = 0;
  offlineBursts = 0;
  offlineReceipts = 0;
  shiftsClosed = 0;
  /** Z reports whose receipt counts differ from what the register had acknowledged. */
  zMismatches = 0;
  /** Z reports where the server's figures differ from the register's own report. */
  reportDiffs = 0;
  /** Requests given up after too many failed attempts. */
  abandoned = 0;
  readonly notes: string[] = [];

  code(c: number): void {
    this.codes.set(c, (this.codes.get(c) ?? 0) + 1);
  }

  transportError(message: string): void {
    const key = message.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'addr');
    this.transportErrors.set(key, (this.transportErrors.get(key) ?? 0) + 1);
  }

  note(text: string): void {
    if (this.notes.length < 20) this.notes.push(text);
  }

  /** Non-OK answers and transport errors, together. */
  get errors(): number {
    let n = 0;
    for (const [c, k] of this.codes) if (c !== 0) n += k;
    for (const k of this.transportErrors.values()) n += k;
    return n;
  }
}

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
