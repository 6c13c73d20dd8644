// The BullMQ queues of the background jobs and what their jobs carry. Every role opens the
// producer side (ingest queues reconciliation, the API queues exports and reads job states, the
// admin API lists and retries failed jobs); only the 'worker' role processes them (index.ts).
// Keys live under the deployment's Redis prefix, so several deployments (and test runs) share
// one Redis without meeting.
import { LRUCache } from 'lru-cache';
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { JobsConfig } from '../config/jobs.js';

export const QUEUES = {
  reconciliation: 'reconciliation',
  exports: 'exports',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const QUEUE_NAMES = Object.values(QUEUES) as QueueName[];

/** BullMQ's key prefix for a deployment's Redis prefix ("ofd:" → "ofd:bull"). */
export const bullPrefix = (redisPrefix: string): string => `${redisPrefix}bull`;

export interface ReconcileJobData {
  kkmId: number;
  /** Why it was queued: an upload burst, the sweep, or by hand. */
  reason: 'upload' | 'sweep' | 'manual';
  /** Reconcile documents after this doc_seq instead of after the stored progress. */
  fromSeq?: number;
}

export type ExportKind = 'tickets' | 'reports';
export type ExportFormat = 'csv' | 'json';

export interface ExportJobData {
  orgId: number;
  userId: number;
  kkmId: number;
  kind: ExportKind;
  format: ExportFormat;
  /** Either a shift or a device wall-clock period ('YYYY-MM-DD hh:mm:ss', [from, to)). */
  shift?: number;
  from?: string;
  to?: string;
}

export interface ExportResult {
  file: string;
  bytes: number;
  rows: number;
  expiresAt: string;
}

export type MaintenanceTask =
  'reconcile-sweep' | 'export-cleanup' | 'kkm-presence' | 'shift-monitor';

export interface MaintenanceJobData {
  task: MaintenanceTask;
  /** Sweep only: consider uploads younger than the debounce too (tests, manual runs). */
  settleMs?: number;
}

/** The job id of one KKM's upload burst: the same for every document of the burst. */
export function reconcileJobId(kkmId: number, burst: number): string {
  return `recon-${kkmId}-${burst}`;
}

export class JobQueues {
  readonly reconciliation: Queue<ReconcileJobData>;
  readonly exports: Queue<ExportJobData, ExportResult>;
  readonly maintenance: Queue<MaintenanceJobData>;
  /** The burst each KKM was last queued for here, so a burst costs one Redis call per process. */
  private readonly queuedBurst = new LRUCache<number, number>({ max: 100_000 });
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    connection: ConnectionOptions,
    redisPrefix: string,
    readonly config: JobsConfig,
    private readonly log: Logger,
  ) {
    const prefix = bullPrefix(redisPrefix);
    const defaultJobOptions: JobsOptions = {
      attempts: config.jobAttempts,
      backoff: { type: 'exponential', delay: config.jobBackoffMs },
      removeOnComplete: { age: 7 * 86_400, count: 10_000 },
      removeOnFail: { age: 30 * 86_400 },
    };
    this.reconciliation = new Queue(QUEUES.reconciliation, {
      connection,
      prefix,
      defaultJobOptions,
    });
    this.exports = new Queue(QUEUES.exports, {
      connection,
      prefix,
      // A finished export's job record lives as long as its file.
      defaultJobOptions: {
        ...defaultJobOptions,
        attempts: Math.min(config.jobAttempts, 3),
        removeOnComplete: { age: Math.ceil(config.exportTtlMs / 1000) },
      },
    });
    this.maintenance = new Queue(QUEUES.maintenance, {
      connection,
      prefix,
      defaultJobOptions: { ...defaultJobOptions, attempts: 1, removeOnComplete: { count: 100 } },
    });
    for (const q of this.all()) q.on('error', (err) => log.warn({ err: err.message }, 'queue'));
  }

  all(): Queue[] {
    return [this.reconciliation, this.exports, this.maintenance] as Queue[];
  }

  byName(name: string): Queue | undefined {
    return this.all().find((q) => q.name === name);
  }

  /**
   * An offline document of this KKM was stored: make sure one reconciliation job is due after
   * the burst settles. The job id is derived from the KKM and the time window, so every
   * document of a burst (on any ingest process) names the same delayed job: a debounce.
   * Never throws and never delays the caller; a lost enqueue is caught by the sweep.
   */
  offlineUpload(kkmId: number, now = Date.now()): void {
    const { reconcileBurstMs, reconcileDelayMs } = this.config;
    const burst = Math.floor(now / reconcileBurstMs);
    if (this.queuedBurst.get(kkmId) === burst) return;
    this.queuedBurst.set(kkmId, burst);
    const delay = (burst + 1) * reconcileBurstMs - now + reconcileDelayMs;
    this.track(
      this.reconciliation
        .add(
          'reconcile',
          { kkmId, reason: 'upload' },
          { jobId: reconcileJobId(kkmId, burst), delay },
        )
        .catch((err: unknown) => {
          this.queuedBurst.delete(kkmId);
          this.log.warn({ err, kkmId }, 'reconciliation not queued; the sweep will find it');
        }),
    );
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** A job of any queue by id (job ids are unique by construction across our queues). */
  async findJob(id: string, queueName?: string): Promise<Job | undefined> {
    for (const q of this.all()) {
      if (queueName && q.name !== queueName) continue;
      const job = (await q.getJob(id)) as Job | undefined;
      if (job) return job;
    }
    return undefined;
  }

  /** Waits for enqueues in flight, then closes the queues (not the shared connection). */
  async close(): Promise<void> {
    // Bounded: with Redis down an enqueue may never settle (the sweep covers what it loses).
    const settle = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await settle(Promise.allSettled([...this.pending]));
    await settle(Promise.allSettled(this.all().map((q) => q.close())));
  }
}
