// Settings of the background jobs (reconciliation, exports, monitors), read from the environment
// with the rest of the configuration. Every one has a default.
import { envInt, type Env } from './env-values.js';
export interface JobsConfig {
  /** Offline uploads of one KKM within one window of this length make one reconciliation job. */
  reconcileBurstMs: number;
  /** How long after its window a reconciliation job waits for the burst to settle. */
  reconcileDelayMs: number;
  /** How often the sweep looks for offline uploads that were never reconciled. */
  reconcileSweepMs: number;
  /** How far back (by receive time) the sweep looks. */
  reconcileSweepDays: number;
  /** An offline period longer than this is a finding. */
  offlineMaxHours: number;
  /** A finished export file is kept this long, then deleted. */
  exportTtlMs: number;
  /** Exports one organization may have queued or running at once (more: 429). */
  exportsPerOrg: number;
  /** Rows read from ClickHouse per page while exporting. */
  exportPageRows: number;
  /** A KKM not heard from for this long is reported offline. */
  kkmOfflineMs: number;
  /** A shift open longer than this gets a warning (the hard limit is OFD_SHIFT_MAX_HOURS). */
  shiftWarnHours: number;
  /** How often presence and open shifts are checked. */
  monitorIntervalMs: number;
  /** Attempts per job and the first retry delay (doubling each time). */
  jobAttempts: number;
  jobBackoffMs: number;
}

export function loadJobsConfig(env: Env, problems: string[]): JobsConfig {
  const int = envInt(env, problems);
  const DAY_MS = 86_400_000;
  return {
    reconcileBurstMs: int('OFD_RECONCILE_BURST_MS', 60_000, 100, DAY_MS),
    reconcileDelayMs: int('OFD_RECONCILE_DELAY_MS', 30_000, 0, DAY_MS),
    reconcileSweepMs: int('OFD_RECONCILE_SWEEP_MS', 600_000, 1000, DAY_MS),
    reconcileSweepDays: int('OFD_RECONCILE_SWEEP_DAYS', 7, 1, 366),
    offlineMaxHours: int('OFD_OFFLINE_MAX_HOURS', 72, 1, 10_000),
    exportTtlMs: int('OFD_EXPORT_TTL_MS', DAY_MS, 1000, 90 * DAY_MS),
    exportsPerOrg: int('OFD_EXPORTS_PER_ORG', 3, 1, 1000),
    exportPageRows: int('OFD_EXPORT_PAGE_ROWS', 2000, 10, 100_000),
    kkmOfflineMs: int('OFD_KKM_OFFLINE_MS', 30 * 60_000, 1000, 30 * DAY_MS),
    shiftWarnHours: int('OFD_SHIFT_WARN_HOURS', 23, 1, 240),
    monitorIntervalMs: int('OFD_MONITOR_INTERVAL_MS', 60_000, 100, DAY_MS),
    jobAttempts: int('OFD_JOB_ATTEMPTS', 5, 1, 100),
    jobBackoffMs: int('OFD_JOB_BACKOFF_MS', 2000, 10, 3_600_000),
  };
}
