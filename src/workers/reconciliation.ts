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
import { createHash } from 'node:crypto';
import {
  FINDING_LABELS,
  SequenceCheck,
  longPeriodFindings,
  zMismatchFindings,
  type Finding,
  type OfflinePeriod,
} from '../fiscal/reconciliation-rules.js';
import type { Coordination } from '../storage/coordination.js';
import type { NewNotification } from '../storage/notifications.js';
import type { ReconciliationStore } from '../storage/reconciliation-store.js';
import { nextVersion } from '../storage/repository.js';
import type { Registry } from '../storage/registry.js';
import type { Notifier } from '../telemetry/notifier.js';

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
  store: ReconciliationStore;
  coordination: Coordination;
  registry: Registry;
  notifier: Notifier;
  offlineMaxHours: number;
  /** Documents read per query while scanning. */
  pageRows?: number;
}

/** A reconciliation may take minutes; a second job for the same KKM does not wait for it. */
const LOCK = { ttlMs: 10 * 60_000, waitMs: 0 };

export class Reconciler {
  private readonly pageRows: number;

  constructor(private readonly o: ReconcilerOptions) {
    this.pageRows = o.pageRows ?? 5000;
  }

  /** Reconciles one KKM under a per-KKM lock (LockedError when another job holds it). */
  run(kkmId: number, opts: { fromSeq?: number; jobId?: string } = {}) {
    return this.o.coordination.withLock(
      `reconcile:${kkmId}`,
      () => this.reconcile(kkmId, opts),
      () => new LockedError(`KKM ${kkmId} is being reconciled`),
      LOCK,
    );
  }

  /** KKMs with offline documents or reports not reconciled yet (ReconciliationStore). */
  unreconciled(days: number, settleMs: number) {
    return this.o.store.unreconciled(days, settleMs);
  }

  private async reconcile(
    kkmId: number,
    opts: { fromSeq?: number; jobId?: string },
  ): Promise<ReconcileSummary> {
    const { store } = this.o;
    const kkm = await this.o.registry.kkms.getKkm(kkmId);
    const progress = await store.progress(kkmId);
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

    const bounds = await store.bounds(kkmId, fromSeq);
    const maxSeq = Math.max(fromSeq, bounds.maxSeq);
    summary.toSeq = maxSeq;

    // Every offline period the KKM reported, merged by begin (a device resending after an
    // outage updates the end each time); those received since the last run are new.
    const merged = new Map<string, OfflinePeriod>();
    const fresh = new Set<string>();
    let lastEventMs = progress.lastEventMs;
    for (const e of await store.offlinePeriodReports(kkmId)) {
      lastEventMs = Math.max(lastEventMs, e.at);
      let p: { begin?: string | null; end?: string | null };
      try {
        p = JSON.parse(e.detail) as typeof p;
      } catch {
        continue;
      }
      if (!p.begin || !p.end) continue;
      const known = merged.get(p.begin);
      if (!known || known.end < p.end) merged.set(p.begin, { begin: p.begin, end: p.end });
      if (e.at > eventsAfter) fresh.add(p.begin);
    }
    const periods = [...merged.values()];

    const check = new SequenceCheck(kkmId, periods);
    if (bounds.offline > 0) {
      // The offline documents and one neighbour on each side (doc_seq is dense per KKM).
      const first = Math.max(1, bounds.firstOffline - 1);
      const last = Math.min(maxSeq, bounds.lastOffline + 1);
      for (let from = first; from <= last;) {
        const page = await store.sequencePage(kkmId, from, last, this.pageRows);
        if (!page.length) break;
        for (const r of page) {
          check.push({
            seq: r.doc_seq,
            type: r.doc_type,
            shift: r.shift_number,
            time: r.device_time,
            offline: r.is_offline === 1 || r.offline_number > 0,
            offlineNumber: r.offline_number,
            printed: r.printed_number,
          });
        }
        summary.documents += page.length;
        from = page[page.length - 1]!.doc_seq + 1;
      }
    }
    const findings = [...check.findings];

    if (bounds.offline > 0) {
      // An offline number used twice on one day, in this upload or against earlier ones.
      for (const d of await store.duplicateOfflineNumbers(kkmId, fromSeq, maxSeq)) {
        findings.push({
          kkmId,
          shiftNumber: d.shifts[d.shifts.length - 1]!,
          kind: 'duplicate_offline_number',
          subject: `${d.day}:${d.offline_number}`,
          docSeq: d.seqs[d.seqs.length - 1]!,
          severity: 'error',
          message: `offline number ${d.offline_number} is used by ${d.seqs.length} documents dated ${d.day}`,
          detail: { day: d.day, offlineNumber: d.offline_number, docSeqs: d.seqs },
        });
      }
      for (const c of await store.offlineCloses(kkmId, fromSeq, maxSeq)) {
        findings.push(
          ...zMismatchFindings(kkmId, {
            docSeq: c.doc_seq,
            shift: c.shift_number,
            deviceReport: c.device_report,
            serverReport: c.server_report,
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
      await store.addFindings(
        added.map((f) => ({
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
      );
    }
    if (maxSeq > progress.lastDocSeq || lastEventMs > progress.lastEventMs) {
      await store.saveProgress(kkmId, {
        lastDocSeq: Math.max(maxSeq, progress.lastDocSeq),
        lastEventMs,
        reconciledAt: Date.now(),
        version: nextVersion(progress.version),
      });
    }
    return summary;
  }

  /** The findings not stored yet (their key is KKM, shift, kind, subject). */
  private async newOnly(kkmId: number, findings: Finding[]): Promise<Finding[]> {
    if (!findings.length) return [];
    const key = (shift: number, kind: string, subject: string) => `${shift}|${kind}|${subject}`;
    const unique = new Map(findings.map((f) => [key(f.shiftNumber, f.kind, f.subject), f]));
    const shifts = [...new Set(findings.map((f) => f.shiftNumber))];
    for (const s of await this.o.store.storedFindingKeys(kkmId, shifts)) {
      unique.delete(key(s.shift_number, s.kind, s.subject));
    }
    return [...unique.values()];
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
