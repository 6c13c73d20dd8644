// Assembles a process from its parts for the configured roles and starts each for real:
// ClickHouse (embedded chDB or a server), Redis, the domain events and what follows from them,
// the ingest core with its TCP listener (ingest), the HTTP app (api, and ingest over HTTP) and
// the job workers (worker). An ingest process of a multi-process node builds only the ingest
// core and its TCP listener (src/cluster).
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { resolveAdminToken } from '../api/admin-token.js';
import { COMMIT_TIMEOUT_MS, type Config } from '../config/config.js';
import type { CommandCore } from '../ingest/command-core.js';
import { StateStore } from '../ingest/state-store.js';
import { startTcpServer, type TcpServer } from '../ingest/tcp-server.js';
import { JobQueues } from '../jobs/queues.js';
import type { BatchWriter, InsertRows } from '../storage/batch-writer.js';
import { openDb, type Db } from '../storage/db.js';
import { Spool, spooledDb } from '../storage/spool.js';
import { spreadPartDirectories } from '../storage/part-placement.js';
import { migrate } from '../storage/migrations.js';
import { Notifications } from '../storage/notifications.js';
import { Catalogue } from '../storage/catalogue.js';
import { OrgProfile } from '../storage/org-profile.js';
import { Registry } from '../storage/registry.js';
import { DomainEvents } from '../telemetry/events.js';
import { fanOut } from '../telemetry/fan-out.js';
import { LiveFeed } from '../telemetry/live-feed.js';
import { Metrics, type MetricsJson } from '../telemetry/metrics.js';
import { Notifier } from '../telemetry/notifier.js';
import { startWorkers, type Workers } from '../workers/index.js';
import { forwardsToKgd, startForwarding, type Forwarding } from '../forwarding/index.js';
import { buildIngestCore, type IngestCore } from './ingest-core.js';
import {
  applicationDecision,
  applyConfirmedApplications,
  applyMissedConfirmations,
  kkmChangeFanOut,
} from './kgd-applications.js';
import { createLogger } from './logger.js';
import { connectRedis, jobsConnection } from './redis.js';

export interface RunningServer {
  config: Config;
  log: Logger;
  db: Db;
  metrics: Metrics;
  redis: Redis;
  registry: Registry;
  events: DomainEvents;
  core: CommandCore;
  writer: BatchWriter;
  states: StateStore;
  /** The HTTP app (null in an ingest process, which serves TCP only). */
  app: FastifyInstance | null;
  tcp: TcpServer | null;
  httpPort: number;
  adminToken: string;
  /** Producer side of the job queues (every role). */
  jobs: JobQueues;
  /** The job workers, when the 'worker' role is on. */
  workers: Workers | null;
  /** Forwarding to the tax authority, when the 'worker' role is on. */
  forwarding: Forwarding | null;
  close(): Promise<void>;
}

/** How a process of a multi-process node differs from a whole server (src/cluster). */
export interface ServerParts {
  /** A store owned by another process (its schema is that process's business). */
  db?: Db;
  /** Where group commits go instead of this process's ClickHouse. */
  insertRows?: InsertRows;
  /** Count this process's group commits in /metrics (default true). */
  commitMetrics?: boolean;
  /** Serve HTTP (default true). */
  http?: boolean;
  /** Listen for KKMs over TCP (default: with the ingest role). */
  tcp?: boolean;
  /** Metrics of other processes, merged into this one's /metrics. */
  otherMetrics?: () => Promise<MetricsJson[]>;
}

/** The spool of this process's group commits (OFD_SPOOL=lmdb), draining into `store`. */
function openSpool(store: Db, config: Config, log: Logger, metrics: Metrics): Spool {
  const { dir, drainRows, drainDelayMs, maxRows } = config.spool;
  const { insertLines } = store;
  // Only a store reached over IPC lacks it, and the spool opens only where the store is owned.
  if (!insertLines) throw new Error('the spool needs a store that takes rows as bytes');
  log.info({ dir, drainRows, drainDelayMs }, 'spool: commits acknowledged from LMDB');
  return Spool.open(
    { ...store, insertLines },
    {
      path: dir,
      drainRows,
      drainDelayMs,
      maxRows,
      catchUpTimeoutMs: COMMIT_TIMEOUT_MS,
      log: log.child({ part: 'spool' }),
      onDrain: (stats) => metrics.drain(stats),
    },
  );
}

/** How often confirmed registry events of still-waiting applications are looked for. */
const MISSED_CONFIRMATIONS_SWEEP_MS = 60_000;

export async function startServer(
  config: Config,
  log = createLogger(config),
  parts: ServerParts = {},
): Promise<RunningServer> {
  const store =
    parts.db ??
    openDb({
      url: config.clickhouseUrl,
      dataDir: config.dataDir,
      readSessions: config.readSessions,
    });
  if (!parts.db) {
    const applied = await migrate(store);
    if (applied.length) log.info({ applied }, 'schema migrations applied');
    if (!config.clickhouseUrl && config.spreadParts)
      await spreadPartDirectories(config.dataDir, log);
  }
  const metrics = new Metrics();
  // The spool belongs to the process that owns the store and its group commits.
  const spool =
    !parts.db &&
    !parts.insertRows &&
    config.spool.mode === 'lmdb' &&
    config.store !== 'noop' &&
    config.roles.has('ingest')
      ? openSpool(store, config, log, metrics)
      : null;
  const db = spool ? spooledDb(store, spool) : store;
  const redis = await connectRedis(config.redisUrl, log);
  const jobsRedis = await jobsConnection(redis, log);
  const jobs = new JobQueues(
    jobsRedis,
    config.redisPrefix,
    config.jobs,
    log.child({ part: 'jobs' }),
  );
  const registry = new Registry(db, redis, config.redisPrefix);
  const orgs = new OrgProfile(db);
  const catalogue = new Catalogue(db);
  const events = new DomainEvents();
  const feed = new LiveFeed(redis, config.redisPrefix, log.child({ part: 'live' }));
  const notifier = new Notifier(new Notifications(db), events);
  fanOut(events, { feed, notifier, offlineUpload: (kkmId) => jobs.offlineUpload(kkmId) });

  const ingest: IngestCore | null = config.roles.has('ingest')
    ? await buildIngestCore({
        config,
        log,
        db,
        redis,
        registry,
        orgs,
        catalogue,
        metrics,
        events,
        notifier,
        insertRows: parts.insertRows,
        commitRows: spool?.append,
        commitMetrics: parts.commitMetrics ?? true,
      })
    : null;
  // Invalidation is a Redis write: a process without the ingest role does it for all of them.
  const states =
    ingest?.states ??
    new StateStore(redis, config.redisPrefix, config.deviceLeaseMs, config.stateCacheEntries);

  const invalidateKkm = (kkmId: number) => states.invalidate(kkmId);
  const adminToken = resolveAdminToken(config.adminToken, config.dataDir, log);
  const app =
    (parts.http ?? true)
      ? // Loaded only where it is served: an ingest child process never imports the HTTP app.
        await (
          await import('./http-app.js')
        ).buildHttpApp({
          config,
          log,
          db,
          redis,
          registry,
          orgs,
          catalogue,
          metrics,
          events,
          feed,
          jobs,
          adminToken,
          ingest,
          invalidateKkm,
          notifier,
          forward: applicationDecision(config.forwarding, registry),
          otherMetrics: parts.otherMetrics,
        })
      : null;
  let httpPort = 0;
  if (app) {
    await app.listen({ port: config.httpPort, host: config.host });
    httpPort = (app.server.address() as { port: number }).port;
  }

  const tcp =
    ingest && (parts.tcp ?? true)
      ? await startTcpServer({
          port: config.tcpPort,
          host: config.host,
          maxConnections: config.maxConnections,
          maxConnectionsPerAddress: config.maxConnectionsPerAddress,
          idleTimeoutMs: config.idleTimeoutMs,
          frameDeadlineMs: config.frameDeadlineMs,
          maxFrameBytes: config.maxFrameBytes,
          handle: ingest.handle,
          log: log.child({ part: 'tcp' }),
          onConnectionsChanged: (open) => metrics.connections.set(open),
          onFrameError: (e) => metrics.frameErrors.inc({ code: e.code }),
          onLimit: (reason) => metrics.limitClosed.inc({ reason }),
        })
      : null;

  const workers = config.roles.has('worker')
    ? await startWorkers({
        config,
        log: log.child({ part: 'workers' }),
        db,
        redis,
        registry,
        notifier,
        metrics,
        jobs,
      })
    : null;

  // The tax authority's confirmations are stored by the forwarder; a cabinet application
  // waiting for one is applied then (and ingest drops the KKM's state, as the cabinet does).
  const applyConfirmed = applyConfirmedApplications({
    registry,
    onKkmChanged: kkmChangeFanOut({ registry, events, invalidateKkm }),
    log,
  });
  events.on('kgd.confirmed', async (c) => {
    log.info({ kkmId: c.kkmId, event: c.event, reference: c.reference }, 'KGD confirmed');
    await applyConfirmed(c);
  });
  const forwarding = config.roles.has('worker')
    ? startForwarding({
        config: config.forwarding,
        db,
        redis,
        redisPrefix: config.redisPrefix,
        kkmEvents: registry.kkmEvents,
        events,
        metrics,
        notifier,
        log,
      })
    : null;
  // Where the confirmations come in, a confirmation no handler applied is applied later: at
  // start (a stop between storing and applying it) and then every minute.
  let sweep: NodeJS.Timeout | null = null;
  if (forwarding && forwardsToKgd(config.forwarding)) {
    const sweepOnce = () =>
      applyMissedConfirmations(registry, applyConfirmed).then(
        (n) => n && log.info({ applied: n }, 'KGD confirmations applied late'),
        (err: Error) => log.warn({ err: err.message }, 'KGD confirmations: sweep failed'),
      );
    void sweepOnce();
    sweep = setInterval(() => void sweepOnce(), MISSED_CONFIRMATIONS_SWEEP_MS);
    sweep.unref();
  }

  let closed = false;
  return {
    config,
    log,
    db,
    metrics,
    redis,
    registry,
    events,
    // Tests and benches drive the core directly; a process without ingest has none.
    core: ingest?.core as CommandCore,
    writer: ingest?.writer as BatchWriter,
    states,
    app,
    tcp,
    httpPort,
    adminToken,
    jobs,
    workers,
    forwarding,
    async close() {
      if (closed) return;
      closed = true;
      if (sweep) clearInterval(sweep);
      await forwarding?.close();
      await tcp?.close();
      await app?.close();
      await feed.close();
      await ingest?.close();
      // Running jobs finish; queued ones stay in Redis for the next start.
      await workers?.close();
      await jobs.close();
      jobsRedis.disconnect();
      redis.disconnect();
      await db.close();
    },
  };
}
