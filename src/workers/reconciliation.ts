// Offline-queue reconciliation. A KKM that was offline uploads its queued documents later, and
// ingest accepts them as they come (protocol §5.2); this job checks them afterwards:
//   - printed_document_number and shift numbers keep their order and have no gaps around the
//     offline documents;
//   - an offline number is used once per day;
//   - offline documents are dated inside an offline period the KKM reported;
//   - a reported offline period lasts no longer than the allowed hours (72 by default);
//   - a shift closed offline: the device's Z report agrees with the one computed from the
//     stored documents (which figure, by how much).
// Findings are stored per KKM and shift, keyed by what they are about, and new ones raise
// notifications; reconciling the same documents again adds nothing. Documents are only read.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { tenge } from '../fiscal/money.js';
import { compareReports } from '../fiscal/zx-report.js';
import type { IZXReport } from '../protocol/schema.js';
import type { ClickHouseClient } from '../storage/clickhouse.js';
import type { NewNotification } from '../storage/notifications.js';
import { nextVersion, type Registry } from '../storage/registry.js';
import type { Notifier } from './notifier.js';

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

export interface StoredFinding extends Omit<Finding, 'kkmId'> {
  foundAt: string;
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

const num = (v: unknown): number => Number(v);

async function select<T>(
  ch: ClickHouseClient,
  query: string,
  query_params: Record<string, unknown>,
): Promise<T[]> {
  const rs = await ch.query({ query, query_params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Stored findings of a KKM (or of one of its shifts), newest shift first. */
export async function storedFindings(
  ch: ClickHouseClient,
  kkmId: number,
  shift?: number,
): Promise<StoredFinding[]> {
  const rows = await select<Record<string, string | number>>(
    ch,
    `SELECT shift_number, kind, subject, doc_seq, severity, message, detail,
       toString(found_at) AS found_at
     FROM reconciliation_findings FINAL
     WHERE kkm_id = {kkm:UInt32} ${shift === undefined ? '' : 'AND shift_number = {shift:UInt32}'}
     ORDER BY shift_number DESC, kind, doc_seq, subject LIMIT 5000`,
    { kkm: kkmId, shift: shift ?? 0 },
  );
  return rows.map((r) => ({
    shiftNumber: num(r.shift_number),
    kind: String(r.kind) as FindingKind,
    subject: String(r.subject),
    docSeq: num(r.doc_seq),
    severity: String(r.severity) as 'warning' | 'error',
    message: String(r.message),
    detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
    foundAt: `${String(r.found_at).replace(' ', 'T')}Z`,
  }));
}

/** How far a KKM's documents have been reconciled. */
export async function reconciledUpTo(
  ch: ClickHouseClient,
  kkmId: number,
): Promise<{ docSeq: number; at: string | null }> {
  const [row] = await select<Record<string, string | number>>(
    ch,
    `SELECT last_doc_seq, toString(reconciled_at) AS at
     FROM reconciliation_progress FINAL WHERE kkm_id = {kkm:UInt32}`,
    { kkm: kkmId },
  );
  return row
    ? { docSeq: num(row.last_doc_seq), at: `${String(row.at).replace(' ', 'T')}Z` }
    : { docSeq: 0, at: null };
}

export class LockedError extends Error {}

export interface ReconcileSummary {
  kkmId: number;
  fromSeq: number;
  toSeq: number;
  documents: number;
  findings: number;
  added: number;
}

export interface ReconcilerOptions {
  ch: ClickHouseClient;
  redis: Redis;
  redisPrefix: string;
  registry: Registry;
  notifier: Notifier;
  offlineMaxHours: number;
  /** Documents read per query while scanning. */
  pageRows?: number;
}

export class Reconciler {
  private readonly pageRows: number;

  constructor(private readonly o: ReconcilerOptions) {
    this.pageRows = o.pageRows ?? 5000;
  }

  private async rows<T>(query: string, query_params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.o.ch.query({ query, query_params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  /** Reconciles one KKM under a per-KKM lock (LockedError when another job holds it). */
  async run(kkmId: number, opts: { fromSeq?: number; jobId?: string } = {}) {
    const key = `${this.o.redisPrefix}recon-lock:${kkmId}`;
    const token = randomBytes(8).toString('hex');
    const got = await this.o.redis.set(key, token, 'PX', 10 * 60_000, 'NX');
    if (got !== 'OK') throw new LockedError(`KKM ${kkmId} is being reconciled`);
    try {
      return await this.reconcile(kkmId, opts);
    } finally {
      await this.o.redis
        .eval(
          "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
          1,
          key,
          token,
        )
        .catch(() => {});
    }
  }

  private async reconcile(
    kkmId: number,
    opts: { fromSeq?: number; jobId?: string },
  ): Promise<ReconcileSummary> {
    const kkm = await this.o.registry.getKkm(kkmId);
    const progress = await this.progress(kkmId);
    const fromSeq = opts.fromSeq ?? progress.lastDocSeq;
    const eventsAfter = opts.fromSeq !== undefined ? 0 : progress.lastEventMs;
    const summary: ReconcileSummary = {
      kkmId,
      fromSeq,
      toSeq: fromSeq,
      documents: 0,
      findings: 0,
      added: 0,
    };
    if (!kkm) return summary;

    const [bounds] = await this.rows<Record<string, string | number>>(
      `SELECT max(doc_seq) AS max_seq, minIf(doc_seq, off) AS first_off,
         maxIf(doc_seq, off) AS last_off, countIf(off) AS offline
       FROM (SELECT doc_seq, (is_offline = 1 OR offline_number > 0) AS off
             FROM documents FINAL WHERE kkm_id = {kkm:UInt32} AND doc_seq > {from:UInt32})`,
      { kkm: kkmId, from: fromSeq },
    );
    const maxSeq = Math.max(fromSeq, num(bounds?.max_seq ?? 0));
    const offlineCount = num(bounds?.offline ?? 0);
    summary.toSeq = maxSeq;

    // Every offline period the KKM reported, merged by begin (a device resending after an
    // outage updates the end each time); those received since the last run are new.
    const events = await this.rows<{ at: string; detail: string }>(
      `SELECT toUnixTimestamp64Milli(received_at) AS at, detail FROM device_events FINAL
       WHERE kkm_id = {kkm:UInt32} AND kind = 'offline_period'
       ORDER BY received_at DESC LIMIT 10000`,
      { kkm: kkmId },
    );
    const merged = new Map<string, OfflinePeriod>();
    const fresh = new Set<string>();
    let lastEventMs = progress.lastEventMs;
    for (const e of events) {
      const at = num(e.at);
      lastEventMs = Math.max(lastEventMs, at);
      let p: { begin?: string | null; end?: string | null };
      try {
        p = JSON.parse(e.detail) as typeof p;
      } catch {
        continue;
      }
      if (!p.begin || !p.end) continue;
      const known = merged.get(p.begin);
      if (!known || known.end < p.end) merged.set(p.begin, { begin: p.begin, end: p.end });
      if (at > eventsAfter) fresh.add(p.begin);
    }
    const periods = [...merged.values()];

    const check = new SequenceCheck(kkmId, periods);
    if (offlineCount > 0) {
      // The offline documents and one neighbour on each side (doc_seq is dense per KKM).
      const first = Math.max(1, num(bounds!.first_off) - 1);
      const last = Math.min(maxSeq, num(bounds!.last_off) + 1);
      for (let from = first; from <= last;) {
        const page = await this.rows<Record<string, string | number>>(
          `SELECT doc_seq, doc_type, shift_number, toString(device_time) AS device_time,
             is_offline, offline_number, printed_number
           FROM documents FINAL
           WHERE kkm_id = {kkm:UInt32} AND doc_seq >= {from:UInt32} AND doc_seq <= {to:UInt32}
           ORDER BY doc_seq LIMIT {limit:UInt32}`,
          { kkm: kkmId, from, to: last, limit: this.pageRows },
        );
        if (!page.length) break;
        for (const r of page) {
          const offlineNumber = num(r.offline_number);
          check.push({
            seq: num(r.doc_seq),
            type: String(r.doc_type),
            shift: num(r.shift_number),
            time: String(r.device_time),
            offline: num(r.is_offline) === 1 || offlineNumber > 0,
            offlineNumber,
            printed: num(r.printed_number),
          });
        }
        summary.documents += page.length;
        from = num(page[page.length - 1]!.doc_seq) + 1;
      }
    }
    const findings = [...check.findings];

    if (offlineCount > 0) {
      // An offline number used twice on one day, in this upload or against earlier ones.
      const dups = await this.rows<Record<string, unknown>>(
        `SELECT toString(toDate(device_time)) AS day, offline_number,
           groupArray(doc_seq) AS seqs, groupArray(shift_number) AS shifts
         FROM (SELECT doc_seq, device_time, offline_number, shift_number FROM documents FINAL
               WHERE kkm_id = {kkm:UInt32} AND offline_number > 0 ORDER BY doc_seq)
         WHERE (toDate(device_time), offline_number) IN (
           SELECT toDate(device_time), offline_number FROM documents FINAL
           WHERE kkm_id = {kkm:UInt32} AND offline_number > 0
             AND doc_seq > {from:UInt32} AND doc_seq <= {to:UInt32})
         GROUP BY day, offline_number HAVING count() > 1
         ORDER BY day, offline_number`,
        { kkm: kkmId, from: fromSeq, to: maxSeq },
      );
      for (const d of dups) {
        const seqs = (d.seqs as unknown[]).map(num);
        const shifts = (d.shifts as unknown[]).map(num);
        findings.push({
          kkmId,
          shiftNumber: shifts[shifts.length - 1]!,
          kind: 'duplicate_offline_number',
          subject: `${String(d.day)}:${num(d.offline_number)}`,
          docSeq: seqs[seqs.length - 1]!,
          severity: 'error',
          message: `offline number ${num(d.offline_number)} is used by ${seqs.length} documents dated ${String(d.day)}`,
          detail: { day: d.day, offlineNumber: num(d.offline_number), docSeqs: seqs },
        });
      }

      const closes = await this.rows<Record<string, string | number>>(
        `SELECT doc_seq, shift_number, device_report, server_report FROM documents FINAL
         WHERE kkm_id = {kkm:UInt32} AND doc_type = 'close_shift' AND is_offline = 1
           AND doc_seq > {from:UInt32} AND doc_seq <= {to:UInt32}
         ORDER BY doc_seq`,
        { kkm: kkmId, from: fromSeq, to: maxSeq },
      );
      for (const c of closes) {
        findings.push(
          ...zMismatchFindings(kkmId, {
            docSeq: num(c.doc_seq),
            shift: num(c.shift_number),
            deviceReport: String(c.device_report),
            serverReport: String(c.server_report),
          }),
        );
      }
    }

    findings.push(
      ...longPeriodFindings(
        kkmId,
        periods.filter((p) => fresh.has(p.begin)),
        this.o.offlineMaxHours,
        (p) => check.periodShift.get(p.begin) ?? 0,
      ),
    );
    summary.findings = findings.length;

    const added = await this.newOnly(kkmId, findings);
    summary.added = added.length;
    // Notify first: a crash after it re-notifies under the same ids (stored once) and then
    // stores the findings; the other order could store findings nobody was told about.
    await this.o.notifier.raise(notificationsFor(kkm, added));
    if (added.length) {
      const at = Date.now();
      await this.o.ch.insert({
        table: 'reconciliation_findings',
        values: added.map((f) => ({
          kkm_id: kkmId,
          shift_number: f.shiftNumber,
          kind: f.kind,
          subject: f.subject,
          org_id: kkm.orgId,
          point_id: kkm.pointId,
          doc_seq: f.docSeq,
          severity: f.severity,
          message: f.message,
          detail: JSON.stringify(f.detail),
          job_id: opts.jobId ?? '',
          found_at: at,
        })),
        format: 'JSONEachRow',
      });
    }
    if (maxSeq > progress.lastDocSeq || lastEventMs > progress.lastEventMs) {
      await this.o.ch.insert({
        table: 'reconciliation_progress',
        values: [
          {
            kkm_id: kkmId,
            last_doc_seq: Math.max(maxSeq, progress.lastDocSeq),
            last_event_at: lastEventMs,
            reconciled_at: Date.now(),
            version: nextVersion(progress.version),
          },
        ],
        format: 'JSONEachRow',
      });
    }
    return summary;
  }

  private async progress(kkmId: number) {
    const [row] = await this.rows<Record<string, string | number>>(
      `SELECT last_doc_seq, toUnixTimestamp64Milli(last_event_at) AS ev, version
       FROM reconciliation_progress FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkmId },
    );
    return {
      lastDocSeq: num(row?.last_doc_seq ?? 0),
      lastEventMs: num(row?.ev ?? 0),
      version: num(row?.version ?? 0),
    };
  }

  /** The findings not stored yet (their key is KKM, shift, kind, subject). */
  private async newOnly(kkmId: number, findings: Finding[]): Promise<Finding[]> {
    if (!findings.length) return [];
    const key = (shift: number, kind: string, subject: string) => `${shift}|${kind}|${subject}`;
    const unique = new Map(findings.map((f) => [key(f.shiftNumber, f.kind, f.subject), f]));
    const shifts = [...new Set(findings.map((f) => f.shiftNumber))];
    const stored = await this.rows<{ shift_number: number; kind: string; subject: string }>(
      `SELECT shift_number, kind, subject FROM reconciliation_findings FINAL
       WHERE kkm_id = {kkm:UInt32} AND has({shifts:Array(UInt32)}, shift_number)`,
      { kkm: kkmId, shifts },
    );
    for (const s of stored) unique.delete(key(num(s.shift_number), s.kind, s.subject));
    return [...unique.values()];
  }

  /**
   * KKMs with offline uploads (or offline-period reports) received within `days` that are not
   * reconciled yet, leaving out those received within `settleMs` (their job is still due).
   */
  async unreconciled(
    days: number,
    settleMs: number,
  ): Promise<{ kkmId: number; maxSeq: number; lastEventMs: number }[]> {
    const rows = await this.rows<Record<string, string | number>>(
      `SELECT kkm_id, max(max_seq) AS max_seq, max(last_event) AS last_event FROM (
         SELECT d.kkm_id AS kkm_id, d.max_seq AS max_seq, toInt64(0) AS last_event
         FROM (SELECT kkm_id, max(doc_seq) AS max_seq, max(received_at) AS last_at FROM documents
               WHERE (is_offline = 1 OR offline_number > 0)
                 AND received_at >= now64(3) - toIntervalDay({days:UInt32})
               GROUP BY kkm_id) AS d
         LEFT JOIN (SELECT kkm_id, max(last_doc_seq) AS done FROM reconciliation_progress
                    GROUP BY kkm_id) AS p ON p.kkm_id = d.kkm_id
         WHERE d.max_seq > p.done
           AND d.last_at <= now64(3) - toIntervalMillisecond({settle:UInt64})
         UNION ALL
         SELECT e.kkm_id AS kkm_id, toUInt32(0) AS max_seq, e.last_event AS last_event
         FROM (SELECT kkm_id, toUnixTimestamp64Milli(max(received_at)) AS last_event
               FROM device_events
               WHERE kind = 'offline_period' AND received_at >= now64(3) - toIntervalDay({days:UInt32})
               GROUP BY kkm_id) AS e
         LEFT JOIN (SELECT kkm_id, toUnixTimestamp64Milli(max(last_event_at)) AS done
                    FROM reconciliation_progress GROUP BY kkm_id) AS q ON q.kkm_id = e.kkm_id
         WHERE e.last_event > q.done
           AND e.last_event <= toUnixTimestamp64Milli(now64(3)) - {settle:UInt64})
       GROUP BY kkm_id ORDER BY kkm_id LIMIT 100000`,
      { days, settle: settleMs },
    );
    return rows.map((r) => ({
      kkmId: num(r.kkm_id),
      maxSeq: num(r.max_seq),
      lastEventMs: num(r.last_event),
    }));
  }
}

/** One notification per shift and kind of new findings, with a subject stable for that set. */
export function notificationsFor(
  kkm: { kkmId: number; orgId: number; pointId: number; serialNumber: string },
  findings: Finding[],
): NewNotification[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const k = `${f.shiftNumber}|${f.kind}`;
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  return [...groups.values()].map((group) => {
    const { shiftNumber, kind } = group[0]!;
    const subjects = group.map((f) => f.subject).sort();
    const digest = createHash('sha256').update(subjects.join('\n')).digest('hex').slice(0, 16);
    const name = kkm.serialNumber || String(kkm.kkmId);
    return {
      orgId: kkm.orgId,
      kind: `reconciliation_${kind}`,
      subject: `${kkm.kkmId}:${shiftNumber}:${kind}:${digest}`,
      kkmId: kkm.kkmId,
      pointId: kkm.pointId,
      title:
        `KKM ${name}${shiftNumber ? `, shift ${shiftNumber}` : ''}: ` +
        `${group.length} ${FINDING_LABELS[kind]}`,
      detail: {
        shiftNumber,
        kind,
        count: group.length,
        findings: group.slice(0, 20).map((f) => ({
          subject: f.subject,
          docSeq: f.docSeq,
          message: f.message,
        })),
      },
    };
  });
}
