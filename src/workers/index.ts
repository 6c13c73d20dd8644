// The 'worker' role: BullMQ workers for reconciliation, exports and maintenance (the sweep of
// unreconciled uploads, export file cleanup, KKM presence and open-shift monitors), the
// schedulers of the periodic tasks, and the queue metrics. close() stops taking jobs and waits
// for the running ones to finish; waiting and delayed jobs stay in Redis for the next start.
import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/metrics.js';
import type { Config } from '../config/config.js';
import type { Db } from '../storage/db.js';
import type { Registry } from '../storage/registry.js';
import { cleanupExports, runExport } from './exports.js';
import { Monitors } from './monitors.js';
import type { Notifier } from '../telemetry/notifier.js';
import {
  bullPrefix,
  QUEUES,
  type ExportJobData,
  type ExportResult,
  type JobQueues,
  type MaintenanceJobData,
  type MaintenanceTask,
  type ReconcileJobData,
} from '../jobs/queues.js';
import { LockedError, Reconciler } from './reconciliation.js';
import { Coordination } from '../storage/coordination.js';
import { DocumentQueries } from '../storage/document-queries.js';
import { ReconciliationStore } from '../storage/reconciliation-store.js';

export interface WorkerDeps {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  registry: Registry;
  notifier: Notifier;
  metrics: Metrics;
  jobs: JobQueues;
}

export interface Workers {
  reconciler: Reconciler;
  monitors: Monitors;
  /** The periodic tasks, callable directly (what their scheduled jobs run). */
  tasks: {
    sweep(settleMs?: number): Promise<{ queued: number }>;
    cleanup(): Promise<{ removed: number }>;
    presence(): Promise<{ offline: number; back: number }>;
    shifts(): Promise<{ warned: number; expired: number }>;
  };
  /** Refreshes the queue depth gauge now. */
  refreshDepths(): Promise<void>;
  close(): Promise<void>;
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

export async function startWorkers(d: WorkerDeps): Promise<Workers> {
  const { config, log, jobs } = d;
  const cfg = config.jobs;
  const { notifier } = d;
  const reconciler = new Reconciler({
    store: new ReconciliationStore(d.db),
    coordination: new Coordination(d.redis, config.redisPrefix),
    registry: d.registry,
    notifier,
    offlineMaxHours: cfg.offlineMaxHours,
  });
  const monitors = new Monitors({
    documents: new DocumentQueries(d.db),
    redis: d.redis,
    prefix: config.redisPrefix,
    registry: d.registry,
    notifier,
    log,
    offlineAfterMs: cfg.kkmOfflineMs,
    shiftWarnHours: cfg.shiftWarnHours,
    shiftMaxHours: config.shiftMaxHours,
  });

  const tasks: Workers['tasks'] = {
    async sweep(settleMs = cfg.reconcileBurstMs + cfg.reconcileDelayMs) {
      const due = await reconciler.unreconciled(cfg.reconcileSweepDays, settleMs);
      for (const k of due) {
        await jobs.reconciliation.add(
          'reconcile',
          { kkmId: k.kkmId, reason: 'sweep' },
          { jobId: `recon-${k.kkmId}-sweep-${k.maxSeq}-${k.lastEventMs}` },
        );
      }
      if (due.length) log.info({ kkms: due.length }, 'sweep queued unreconciled offline uploads');
      return { queued: due.length };
    },
    async cleanup() {
      return { removed: await cleanupExports(config.dataDir, cfg.exportTtlMs) };
    },
    presence: () => monitors.presence(),
    shifts: () => monitors.shifts(),
  };

  // Jobs running in this process: close() waits for them, and only for them (below).
  let running = 0;
  const tracked =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      running++;
      try {
        return await fn(...args);
      } finally {
        running--;
      }
    };

  // Workers make their own connections (blocking reads need maxRetriesPerRequest: null).
  const connection: ConnectionOptions = { url: config.redisUrl, maxRetriesPerRequest: null };
  const prefix = bullPrefix(config.redisPrefix);

  const reconcileWorker = new Worker<ReconcileJobData>(
    QUEUES.reconciliation,
    tracked(async (job: Job<ReconcileJobData>, token?: string) => {
      try {
        return await reconciler.run(job.data.kkmId, {
          fromSeq: job.data.fromSeq,
          jobId: job.id,
        });
      } catch (error) {
        if (error instanceof LockedError) {
          // Another job is reconciling this KKM: come back shortly (not a failed attempt).
          await job.moveToDelayed(Date.now() + 2000, token);
          throw new DelayedError();
        }
        throw error;
      }
    }),
    { connection, prefix, concurrency: 4 },
  );
  const exportWorker = new Worker<ExportJobData, ExportResult>(
    QUEUES.exports,
    tracked((job: Job<ExportJobData, ExportResult>) =>
      runExport(
        {
          db: d.db,
          dataDir: config.dataDir,
          pageRows: cfg.exportPageRows,
          ttlMs: cfg.exportTtlMs,
        },
        job,
      ),
    ),
    { connection, prefix, concurrency: 2 },
  );
  const TASKS: Record<MaintenanceTask, (job: Job<MaintenanceJobData>) => Promise<unknown>> = {
    'reconcile-sweep': (job) => tasks.sweep(job.data.settleMs),
    'export-cleanup': () => tasks.cleanup(),
    'kkm-presence': () => tasks.presence(),
    'shift-monitor': () => tasks.shifts(),
  };
  const maintenanceWorker = new Worker<MaintenanceJobData>(
    QUEUES.maintenance,
    tracked((job: Job<MaintenanceJobData>) => TASKS[job.data.task](job)),
    { connection, prefix, concurrency: 1 },
  );
  const workers = [reconcileWorker, exportWorker, maintenanceWorker] as Worker[];

  for (const w of workers) {
    w.on('error', (err) => log.warn({ err: err.message, queue: w.name }, 'worker error'));
    w.on('completed', (job) => {
      if (job.processedOn && job.finishedOn) {
        d.metrics.jobSeconds.observe(
          { queue: w.name, name: job.name, status: 'completed' },
          (job.finishedOn - job.processedOn) / 1000,
        );
      }
    });
    w.on('failed', (job, err) => {
      if (!job) return;
      if (job.processedOn) {
        d.metrics.jobSeconds.observe(
          { queue: w.name, name: job.name, status: 'failed' },
          ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000,
        );
      }
      log.warn(
        { queue: w.name, jobId: job.id, attempts: job.attemptsMade, err: err.message },
        'job failed',
      );
    });
  }

  // The periodic tasks (idempotent: every worker process upserts the same schedulers). Set up
  // in the background, retried until Redis answers: start-up never waits for Redis.
  const every = {
    'reconcile-sweep': cfg.reconcileSweepMs,
    'export-cleanup': Math.max(1000, Math.min(600_000, Math.floor(cfg.exportTtlMs / 2))),
    'kkm-presence': cfg.monitorIntervalMs,
    'shift-monitor': cfg.monitorIntervalMs,
  } satisfies Record<MaintenanceTask, number>;
  let stopping = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const schedule = async (attempt = 1): Promise<void> => {
    try {
      for (const [task, ms] of Object.entries(every) as [MaintenanceTask, number][]) {
        await jobs.maintenance.upsertJobScheduler(
          task,
          { every: ms },
          { name: task, data: { task }, opts: { removeOnComplete: { count: 20 } } },
        );
      }
    } catch (err) {
      if (stopping) return;
      log.warn({ err, attempt }, 'job schedulers not set up yet; retrying');
      await new Promise<void>((resolve) => {
        retryTimer = setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)));
      });
      if (!stopping) return schedule(attempt + 1);
    }
  };
  void schedule();

  const refreshDepths = async () => {
    for (const q of jobs.all()) {
      const counts = await q.getJobCounts(...JOB_STATES);
      for (const state of JOB_STATES) {
        d.metrics.queueDepth.set({ queue: q.name, state }, counts[state] ?? 0);
      }
    }
  };
  const depthTimer = setInterval(() => {
    refreshDepths().catch((err: unknown) => log.warn({ err }, 'queue depths not read'));
  }, 10_000);
  depthTimer.unref();

  let closed: Promise<void> | null = null;
  return {
    reconciler,
    monitors,
    tasks,
    refreshDepths,
    close() {
      closed ??= (async () => {
        stopping = true;
        clearInterval(depthTimer);
        clearTimeout(retryTimer);
        // Each waits for its running jobs; nothing else is taken meanwhile. BullMQ's close() may
        // never resolve once Redis was restarted or unreachable (taskforcesh/bullmq#2430,
        // #4656), so when no job of ours runs any more it gets a few seconds, not forever.
        const closing = Promise.all(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const idle = (async () => {
          while (running > 0) await new Promise((r) => (timer = setTimeout(r, 100)));
          await new Promise((r) => (timer = setTimeout(r, 3000)));
        })();
        await Promise.race([closing, idle]);
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}
