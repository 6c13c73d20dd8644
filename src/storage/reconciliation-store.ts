// Reconciliation of offline uploads: the reads over a KKM's documents and offline-period
// reports that the reconciler checks, and the only writer of `reconciliation_findings` and
// `reconciliation_progress`.
import type { Db } from './db.js';

export interface StoredFinding {
  shiftNumber: number;
  kind: string;
  subject: string;
  docSeq: number;
  severity: 'warning' | 'error';
  message: string;
  detail: Record<string, unknown>;
  foundAt: string;
}

export interface FindingRow {
  kkm_id: number;
  shift_number: number;
  kind: string;
  subject: string;
  org_id: number;
  point_id: number;
  doc_seq: number;
  severity: string;
  message: string;
  detail: string;
  job_id: string;
  found_at: number;
}

export interface Progress {
  lastDocSeq: number;
  lastEventMs: number;
  version: number;
}

/** The document fields the order and gap checks read. */
export interface SequenceRow {
  doc_seq: number;
  doc_type: string;
  shift_number: number;
  device_time: string;
  is_offline: number;
  offline_number: number;
  printed_number: number;
}

const utc = (text: string) => `${text.replace(' ', 'T')}Z`;

export class ReconciliationStore {
  constructor(private readonly db: Db) {}

  /** Stored findings of a KKM (or of one of its shifts), newest shift first. */
  async findings(kkmId: number, shift?: number): Promise<StoredFinding[]> {
    const rows = await this.db.rows<Omit<StoredFinding, 'detail' | 'foundAt'> & FindingRow>(
      `SELECT shift_number, kind, subject, doc_seq, severity, message, detail,
         toString(found_at) AS found_at
       FROM reconciliation_findings FINAL
       WHERE kkm_id = {kkm:UInt32} ${shift === undefined ? '' : 'AND shift_number = {shift:UInt32}'}
       ORDER BY shift_number DESC, kind, doc_seq, subject LIMIT 5000`,
      { kkm: kkmId, shift: shift ?? 0 },
    );
    return rows.map((r) => ({
      shiftNumber: r.shift_number,
      kind: r.kind,
      subject: r.subject,
      docSeq: r.doc_seq,
      severity: r.severity as StoredFinding['severity'],
      message: r.message,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
      foundAt: utc(String(r.found_at)),
    }));
  }

  /** How far a KKM's documents have been reconciled. */
  async reconciledUpTo(kkmId: number): Promise<{ docSeq: number; at: string | null }> {
    const [row] = await this.db.rows<{ last_doc_seq: number; at: string }>(
      `SELECT last_doc_seq, toString(reconciled_at) AS at
       FROM reconciliation_progress FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkmId },
    );
    return row ? { docSeq: row.last_doc_seq, at: utc(row.at) } : { docSeq: 0, at: null };
  }

  async progress(kkmId: number): Promise<Progress> {
    const [row] = await this.db.rows<{ last_doc_seq: number; ev: number; version: number }>(
      `SELECT last_doc_seq, toUnixTimestamp64Milli(last_event_at) AS ev, version
       FROM reconciliation_progress FINAL WHERE kkm_id = {kkm:UInt32}`,
      { kkm: kkmId },
    );
    return {
      lastDocSeq: row?.last_doc_seq ?? 0,
      lastEventMs: row?.ev ?? 0,
      version: row?.version ?? 0,
    };
  }

  /** The newest document after `fromSeq` and where the offline ones among them lie. */
  async bounds(kkmId: number, fromSeq: number) {
    const [row] = await this.db.rows<{
      max_seq: number;
      first_off: number;
      last_off: number;
      offline: number;
    }>(
      `SELECT max(doc_seq) AS max_seq, minIf(doc_seq, off) AS first_off,
         maxIf(doc_seq, off) AS last_off, countIf(off) AS offline
       FROM (SELECT doc_seq, (is_offline = 1 OR offline_number > 0) AS off
             FROM documents FINAL WHERE kkm_id = {kkm:UInt32} AND doc_seq > {from:UInt32})`,
      { kkm: kkmId, from: fromSeq },
    );
    return {
      maxSeq: row?.max_seq ?? 0,
      firstOffline: row?.first_off ?? 0,
      lastOffline: row?.last_off ?? 0,
      offline: row?.offline ?? 0,
    };
  }

  /** Every offline-period report of a KKM, newest first (receive time in ms, JSON detail). */
  offlinePeriodReports(kkmId: number) {
    return this.db.rows<{ at: number; detail: string }>(
      `SELECT toUnixTimestamp64Milli(received_at) AS at, detail FROM device_events FINAL
       WHERE kkm_id = {kkm:UInt32} AND kind = 'offline_period'
       ORDER BY received_at DESC LIMIT 10000`,
      { kkm: kkmId },
    );
  }

  /** Documents [from, to] in doc_seq order, at most `limit`. */
  sequencePage(kkmId: number, from: number, to: number, limit: number) {
    return this.db.rows<SequenceRow>(
      `SELECT doc_seq, doc_type, shift_number, toString(device_time) AS device_time,
         is_offline, offline_number, printed_number
       FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_seq >= {from:UInt32} AND doc_seq <= {to:UInt32}
       ORDER BY doc_seq LIMIT {limit:UInt32}`,
      { kkm: kkmId, from, to, limit },
    );
  }

  /** Offline numbers used twice on one day where one use lies in (from, to]. */
  duplicateOfflineNumbers(kkmId: number, from: number, to: number) {
    return this.db.rows<{ day: string; offline_number: number; seqs: number[]; shifts: number[] }>(
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
      { kkm: kkmId, from, to },
    );
  }

  /** Shift closures sent offline in (from, to], with both Z reports. */
  offlineCloses(kkmId: number, from: number, to: number) {
    return this.db.rows<{
      doc_seq: number;
      shift_number: number;
      device_report: string;
      server_report: string;
    }>(
      `SELECT doc_seq, shift_number, device_report, server_report FROM documents FINAL
       WHERE kkm_id = {kkm:UInt32} AND doc_type = 'close_shift' AND is_offline = 1
         AND doc_seq > {from:UInt32} AND doc_seq <= {to:UInt32}
       ORDER BY doc_seq`,
      { kkm: kkmId, from, to },
    );
  }

  /** The keys (shift, kind, subject) of the findings stored for these shifts. */
  storedFindingKeys(kkmId: number, shifts: number[]) {
    return this.db.rows<{ shift_number: number; kind: string; subject: string }>(
      `SELECT shift_number, kind, subject FROM reconciliation_findings FINAL
       WHERE kkm_id = {kkm:UInt32} AND has({shifts:Array(UInt32)}, shift_number)`,
      { kkm: kkmId, shifts },
    );
  }

  addFindings(rows: FindingRow[]): Promise<void> {
    return this.db.insert('reconciliation_findings', rows);
  }

  saveProgress(kkmId: number, progress: Progress & { reconciledAt: number }): Promise<void> {
    return this.db.insert('reconciliation_progress', [
      {
        kkm_id: kkmId,
        last_doc_seq: progress.lastDocSeq,
        last_event_at: progress.lastEventMs,
        reconciled_at: progress.reconciledAt,
        version: progress.version,
      },
    ]);
  }

  /**
   * KKMs with offline uploads (or offline-period reports) received within `days` that are not
   * reconciled yet, leaving out those received within `settleMs` (their job is still due).
   */
  async unreconciled(days: number, settleMs: number) {
    const rows = await this.db.rows<{ kkm_id: number; max_seq: number; last_event: number }>(
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
      kkmId: r.kkm_id,
      maxSeq: r.max_seq,
      lastEventMs: r.last_event,
    }));
  }
}
