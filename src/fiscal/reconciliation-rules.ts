// The checks of offline reconciliation (src/workers/reconciliation.ts runs them): pure
// functions over a KKM's stored documents and reported offline periods, in doc_seq order.
import { tenge } from './money.js';
import { compareReports } from './zx-report.js';
import type { IZXReport } from '../protocol/schema.js';

export type FindingKind =
  | 'printed_gap'
  | 'printed_order'
  | 'shift_gap'
  | 'shift_order'
  | 'duplicate_offline_number'
  | 'outside_offline_period'
  | 'offline_period_missing'
  | 'offline_period_too_long'
  | 'z_mismatch';

export interface Finding {
  kkmId: number;
  shiftNumber: number;
  kind: FindingKind;
  /** What the finding is about, unique within (KKM, shift, kind). */
  subject: string;
  docSeq: number;
  severity: 'warning' | 'error';
  message: string;
  detail: Record<string, unknown>;
}

/** The facts of one stored document that the sequence checks read. */
export interface DocFact {
  seq: number;
  type: string;
  shift: number;
  /** Device wall clock, 'YYYY-MM-DD hh:mm:ss'. */
  time: string;
  offline: boolean;
  offlineNumber: number;
  printed: number;
}

/** A reported offline period (device wall clock), merged over the reports with one begin. */
export interface OfflinePeriod {
  begin: string;
  end: string;
}

export const FINDING_LABELS: Record<FindingKind, string> = {
  printed_gap: 'gap(s) in printed document numbers',
  printed_order: 'printed document number(s) out of order',
  shift_gap: 'gap(s) in shift numbers',
  shift_order: 'shift number(s) out of order',
  duplicate_offline_number: 'offline number(s) used twice on one day',
  outside_offline_period: 'offline document(s) dated outside the reported offline period',
  offline_period_missing: 'offline documents uploaded without a reported offline period',
  offline_period_too_long: 'offline period(s) longer than allowed',
  z_mismatch: 'figure(s) of the offline Z report differ from the stored documents',
};

const HOUR_MS = 3_600_000;
export const wallMs = (text: string): number => Date.parse(text.replace(' ', 'T') + 'Z');

/**
 * The order and gap checks over consecutive documents (doc_seq order), and the period check of
 * each offline document. Fed page by page, so a long history never sits in memory. A pair of
 * neighbours is checked only when one of them is an offline document.
 */
export class SequenceCheck {
  readonly findings: Finding[] = [];
  /** Shift of the first offline document inside each period (by begin), for period findings. */
  readonly periodShift = new Map<string, number>();
  private prev: DocFact | null = null;
  private prevPrinted: DocFact | null = null;
  private readonly missingShifts = new Set<number>();

  constructor(
    private readonly kkmId: number,
    private readonly periods: OfflinePeriod[],
  ) {}

  private add(f: Omit<Finding, 'kkmId'>): void {
    this.findings.push({ kkmId: this.kkmId, ...f });
  }

  push(d: DocFact): void {
    const prev = this.prev;
    if (prev && (prev.offline || d.offline)) {
      if (d.shift < prev.shift) {
        this.add({
          shiftNumber: d.shift,
          kind: 'shift_order',
          subject: `${prev.seq}-${d.seq}`,
          docSeq: d.seq,
          severity: 'error',
          message: `shift ${d.shift} comes after shift ${prev.shift}`,
          detail: { previousShift: prev.shift, shift: d.shift, previousDocSeq: prev.seq },
        });
      } else if (d.shift > prev.shift + 1) {
        this.add({
          shiftNumber: d.shift,
          kind: 'shift_gap',
          subject: `${prev.shift}-${d.shift}`,
          docSeq: d.seq,
          severity: 'warning',
          message: `shift ${d.shift} follows shift ${prev.shift}: ${d.shift - prev.shift - 1} missing`,
          detail: { previousShift: prev.shift, shift: d.shift, missing: d.shift - prev.shift - 1 },
        });
      }
    }
    const pp = this.prevPrinted;
    if (d.printed > 0) {
      if (pp && (pp.offline || d.offline)) {
        if (d.printed <= pp.printed) {
          this.add({
            shiftNumber: d.shift,
            kind: 'printed_order',
            subject: String(d.seq),
            docSeq: d.seq,
            severity: 'error',
            message: `printed document ${d.printed} comes after ${pp.printed}`,
            detail: { previous: pp.printed, printed: d.printed, previousDocSeq: pp.seq },
          });
        } else if (d.printed > pp.printed + 1) {
          const missing = d.printed - pp.printed - 1;
          this.add({
            shiftNumber: d.shift,
            kind: 'printed_gap',
            subject: `${pp.printed}-${d.printed}`,
            docSeq: d.seq,
            severity: 'warning',
            message:
              missing === 1
                ? `printed document ${pp.printed + 1} is missing (${pp.printed} → ${d.printed})`
                : `printed documents ${pp.printed + 1}…${d.printed - 1} are missing (${missing})`,
            detail: { previous: pp.printed, printed: d.printed, missing, previousDocSeq: pp.seq },
          });
        }
      }
      this.prevPrinted = d;
    }
    if (d.offline) this.checkPeriod(d);
    this.prev = d;
  }

  private checkPeriod(d: DocFact): void {
    if (!this.periods.length) {
      if (this.missingShifts.has(d.shift)) return;
      this.missingShifts.add(d.shift);
      this.add({
        shiftNumber: d.shift,
        kind: 'offline_period_missing',
        subject: 'shift',
        docSeq: d.seq,
        severity: 'warning',
        message: `offline documents of shift ${d.shift} came without a reported offline period`,
        detail: { firstDocSeq: d.seq, deviceTime: d.time },
      });
      return;
    }
    const inside = this.periods.find((p) => p.begin <= d.time && d.time <= p.end);
    if (inside) {
      if (!this.periodShift.has(inside.begin)) this.periodShift.set(inside.begin, d.shift);
      return;
    }
    // The nearest period, to say how far outside the document is.
    const t = wallMs(d.time);
    let nearest = this.periods[0]!;
    let distance = Infinity;
    for (const p of this.periods) {
      const dist = Math.min(Math.abs(t - wallMs(p.begin)), Math.abs(t - wallMs(p.end)));
      if (dist < distance) [nearest, distance] = [p, dist];
    }
    const before = d.time < nearest.begin;
    this.add({
      shiftNumber: d.shift,
      kind: 'outside_offline_period',
      subject: String(d.seq),
      docSeq: d.seq,
      severity: 'warning',
      message:
        `offline ${d.type.replace('_', ' ')} dated ${d.time} is ` +
        `${before ? 'before the offline period began' : 'after the offline period ended'} ` +
        `(${nearest.begin} – ${nearest.end}) by ${Math.round(distance / 60_000)} min`,
      detail: {
        deviceTime: d.time,
        offlineNumber: d.offlineNumber,
        period: nearest,
        minutesOutside: Math.round(distance / 60_000),
      },
    });
  }
}

/** Offline periods that last longer than `maxHours`, one finding per period begin. */
export function longPeriodFindings(
  kkmId: number,
  periods: OfflinePeriod[],
  maxHours: number,
  shiftOf: (p: OfflinePeriod) => number,
): Finding[] {
  return periods
    .filter((p) => wallMs(p.end) - wallMs(p.begin) > maxHours * HOUR_MS)
    .map((p) => {
      const hours = (wallMs(p.end) - wallMs(p.begin)) / HOUR_MS;
      return {
        kkmId,
        shiftNumber: shiftOf(p),
        kind: 'offline_period_too_long' as const,
        subject: p.begin,
        docSeq: 0,
        severity: 'warning' as const,
        message: `offline from ${p.begin} to ${p.end}: ${hours.toFixed(1)} h, more than ${maxHours} h`,
        detail: { begin: p.begin, end: p.end, hours: Math.round(hours * 10) / 10, maxHours },
      };
    });
}

/** Figures of an offline close whose device Z report differs from the stored documents' one. */
export function zMismatchFindings(
  kkmId: number,
  close: { docSeq: number; shift: number; deviceReport: string; serverReport: string },
): Finding[] {
  const device = JSON.parse(close.deviceReport) as IZXReport;
  const server = JSON.parse(close.serverReport) as IZXReport;
  return compareReports(device, server).map((diff) => {
    let d = JSON.parse(diff.device) as unknown;
    let s = JSON.parse(diff.server) as unknown;
    // revenue is [sum, is_negative]: compare it signed.
    if (Array.isArray(d) && Array.isArray(s)) {
      d = (d[1] ? -1 : 1) * Number(d[0]);
      s = (s[1] ? -1 : 1) * Number(s[0]);
    }
    const count = /count|shift_number/.test(diff.field);
    const fmt = (v: number) => (count ? String(v) : tenge(v));
    const numeric = typeof d === 'number' && typeof s === 'number';
    const difference = numeric ? (d as number) - (s as number) : null;
    return {
      kkmId,
      shiftNumber: close.shift,
      kind: 'z_mismatch' as const,
      subject: diff.field,
      docSeq: close.docSeq,
      severity: 'error' as const,
      message: numeric
        ? `${diff.field}: device Z ${fmt(d as number)}, stored documents ${fmt(s as number)} ` +
          `(device ${difference! > 0 ? '+' : ''}${fmt(difference!)})`
        : `${diff.field}: device Z ${diff.device}, stored documents ${diff.server}`,
      detail: {
        field: diff.field,
        unit: count ? 'count' : 'tiyn',
        device: d,
        server: s,
        difference,
      },
    };
  });
}
