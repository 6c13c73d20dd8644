// Assembles the server from its parts for the configured roles and starts each for real:
// ClickHouse (embedded chDB or a server), Redis, the group-commit writer, the command core,
// the KKM TCP server and the Fastify HTTP server (admin API, KKM over HTTP/WebSocket).
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { resolveAdminToken } from './api/admin-token.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import adminRoutes, { type KkmChange } from './api/admin.js';
import websocket from '@fastify/websocket';
import { cabinetApi } from './api/cabinet/index.js';
import { receiptCheckRoutes } from './api/public/receipt-routes.js';
import { LiveFeed } from './api/live-feed.js';
import { Metrics, type MetricsJson } from './api/metrics.js';
import { CommandCore } from './ingest/command-core.js';
import { kkmHttpTransport } from './ingest/http-transport.js';
import { RequestGuard } from './ingest/request-limits.js';
import { StateStore } from './ingest/state-store.js';
import { startTcpServer, type TcpServer } from './ingest/tcp-server.js';
import { BatchWriter, clickhouseInsert, type InsertRows } from './storage/batch-writer.js';
import { openClickHouse, type ClickHouseClient } from './storage/clickhouse.js';
import { DocumentQueries } from './storage/document-queries.js';
import { migrate } from './storage/migrations.js';
import { Notifications } from './storage/notifications.js';
import { verifyPassword } from './storage/passwords.js';
import { Registry } from './storage/registry.js';
import { tokenSecret } from './storage/settings.js';
import { adminJobsRoutes } from './api/admin-jobs.js';
import { startWorkers, type Workers } from './workers/index.js';
import { PresenceTracker } from './workers/monitors.js';
import { JobQueues } from './workers/queues.js';

const KKM_CHANGE_TITLES: Record<KkmChange, string> = {
  token_issued: 'KKM {kkm}: a new token was issued',
  blocked: 'KKM {kkm} was blocked',
  active: 'KKM {kkm} was unblocked',
  deregistered: 'KKM {kkm} was deregistered',
};

export interface RunningServer {
  config: Config;
  log: Logger;
  ch: ClickHouseClient;
  metrics: Metrics;
  redis: Redis;
  registry: Registry;
  core: CommandCore;
  writer: BatchWriter;
  states: StateStore;
  app: FastifyInstance;
  tcp: TcpServer | null;
  httpPort: number;
  adminToken: string;
  /** Producer side of the job queues (every role). */
  jobs: JobQueues;
  /** The job workers, when the 'worker' role is on. */
  workers: Workers | null;
  close(): Promise<void>;
}

function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis not ready')), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    // Device tokens and passwords never reach the log, wherever they appear.
    redact: {
      paths: ['*.password', '*.token', 'password', 'token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Secrets a URL may carry in its query string (the live feed takes its session as ?token=). */
const redactQuery = (url: string) =>
  url.replace(/([?&](?:token|password)=)[^&#]*/gi, '$1[redacted]');

/** Fastify's request log fields, with the query-string secrets masked. */
const requestLogFields = (req: FastifyRequest) => ({
  method: req.method,
  url: redactQuery(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

/** How a process of a multi-process node differs from a whole server (ingest-processes.ts). */
export interface ServerParts {
  /** ClickHouse owned by another process (its schema is that process's business). */
  ch?: ClickHouseClient;
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

export async function startServer(
  config: Config,
  log = createLogger(config),
  parts: ServerParts = {},
): Promise<RunningServer> {
  const ch = parts.ch ?? openClickHouse({ url: config.clickhouseUrl, dataDir: config.dataDir });
  if (!parts.ch) {
    const applied = await migrate(ch);
    if (applied.length) log.info({ applied }, 'schema migrations applied');
  }
  // Without an offline queue a command fails at once while Redis is down, so registers get 254
  // straight away instead of after a reconnect attempt.
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
  });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  await redisReady(redis, 5000).catch(() => log.error('redis unreachable at start; answering 254'));

  const registry = new Registry(ch, redis, config.redisPrefix);
  const metrics = new Metrics();
  const notifications = new Notifications(ch);
  const feed = new LiveFeed(redis, config.redisPrefix, log.child({ part: 'live' }));
  const states = new StateStore(
    redis,
    config.redisPrefix,
    config.deviceLeaseMs,
    config.stateCacheEntries,
  );
  // OFD_STORE=noop (benchmark baseline only): documents and device events are decoded, checked
  // and answered, but their group commits go nowhere.
  const insertRows: InsertRows =
    parts.insertRows ?? (config.store === 'noop' ? async () => {} : clickhouseInsert(ch));
  const writer = new BatchWriter(
    insertRows,
    {
      maxRows: config.batchMaxRows,
      maxDelayMs: config.batchMaxDelayMs,
      maxPending: config.batchMaxRows * 50,
      commitTimeoutMs: 4000,
    },
    (stats) => {
      if (parts.commitMetrics ?? true) metrics.flush(stats);
      if (!stats.ok) log.error(stats, 'group commit failed');
    },
  );
  const queries = new DocumentQueries(ch);
  // BullMQ defines some sixty scripts on a connection it is given, and ioredis copies every
  // script defined on a connection into each auto-pipeline it builds: the job producers get a
  // connection of their own, so the request path's pipelines stay cheap.
  const jobsRedis = redis.duplicate();
  jobsRedis.on('error', (err) => log.warn({ err: err.message }, 'redis error (jobs)'));
  await redisReady(jobsRedis, 5000).catch(() => {});
  const jobs = new JobQueues(
    jobsRedis,
    config.redisPrefix,
    config.jobs,
    log.child({ part: 'jobs' }),
  );
  const presence = new PresenceTracker(
    redis,
    config.redisPrefix,
    Math.min(5000, Math.floor(config.jobs.kkmOfflineMs / 4)),
  );
  const core = new CommandCore({
    registry,
    states,
    writer,
    queries,
    tokenSecret: await tokenSecret(ch),
    receiptUrl: config.receiptUrl,
    shiftMaxHours: config.shiftMaxHours,
    verifyPassword,
    log: log.child({ part: 'ingest' }),
    onAnswer: (command, code, ms, kkmId) => {
      metrics.answer(command, code, ms);
      // Heard from a known device (not an unknown id, a wrong token or garbage).
      if (code !== 1 && code !== 2 && code !== 3) presence.touch(kkmId);
    },
    onDocument: (doc) => {
      if (doc.isOffline) jobs.offlineUpload(doc.kkmId);
      feed.publish({
        type: doc.docType === 'ticket' ? 'receipt' : 'document',
        orgId: doc.orgId,
        pointId: doc.pointId,
        kkmId: doc.kkmId,
        docType: doc.docType,
        shiftNumber: doc.shiftNumber,
        ticketNumber: doc.ticketNumber,
        total: doc.total,
        at: new Date().toISOString(),
      });
    },
  });
  // Rate limits per device and per address, in front of the core for every transport.
  const guard = new RequestGuard(config, log.child({ part: 'limits' }), (scope, command) => {
    metrics.rateLimited.inc({ scope });
    metrics.answer(command, 254, 0);
  });
  const handle = guard.guard((frame) => core.handle(frame));
  const admitAddress = (address: string) => {
    if (guard.admitAddress(address)) return true;
    metrics.rateLimited.inc({ scope: 'address' });
    return false;
  };

  const adminToken = resolveAdminToken(config.adminToken, config.dataDir, log);
  const app = Fastify({
    loggerInstance: log.child({ part: 'http' }, { serializers: { req: requestLogFields } }),
    bodyLimit: 10 * 1024 * 1024,
  }) as unknown as FastifyInstance;
  await app.register(swagger, {
    openapi: {
      info: { title: 'OFD ingest server API', version: '1' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  await app.register(websocket, { options: { maxPayload: config.maxFrameBytes } });
  metrics.register(app, () => writer.pendingRows, parts.otherMetrics);
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const checks = await Promise.allSettled([
      redis.ping(),
      ch.ping().then((r) => {
        if (!r.success) throw r.error;
      }),
    ]);
    const [redisOk, clickhouseOk] = checks.map((c) => c.status === 'fulfilled');
    return reply.code(redisOk && clickhouseOk ? 200 : 503).send({
      redis: redisOk ? 'ok' : 'unreachable',
      clickhouse: clickhouseOk ? 'ok' : 'unreachable',
    });
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.decorate('jobQueues', jobs);
  if (config.roles.has('api')) {
    await app.register(adminJobsRoutes, { queues: jobs, adminToken });
    await app.register(receiptCheckRoutes, {
      ch,
      redis,
      redisPrefix: config.redisPrefix,
      settings: config.receiptCheck,
    });
    await app.register(cabinetApi, {
      ch,
      redis,
      registry,
      redisPrefix: config.redisPrefix,
      feed,
      kkmOnlineWindowMs: config.kkmOnlineWindowSeconds * 1000,
    });
    await app.register(adminRoutes, {
      registry,
      adminToken,
      onKkmChanged: async (kkmId, change) => {
        await states.invalidate(kkmId);
        const kkm = await registry.getKkm(kkmId);
        if (kkm) {
          const at = new Date();
          await notifications.raise([
            {
              orgId: kkm.orgId,
              kind: `kkm_${change}`,
              subject: `${kkmId}:${at.toISOString()}`,
              kkmId,
              pointId: kkm.pointId,
              title: KKM_CHANGE_TITLES[change].replace('{kkm}', kkm.serialNumber || String(kkmId)),
              createdAt: at,
            },
          ]);
          feed.publish({
            type: 'kkm_status',
            orgId: kkm.orgId,
            pointId: kkm.pointId,
            kkmId,
            status: kkm.status,
            at: new Date().toISOString(),
          });
        }
      },
    });
  }
  if (config.roles.has('ingest')) {
    await app.register(kkmHttpTransport, {
      handle,
      admitAddress,
      maxFrameBytes: config.maxFrameBytes,
      onFrameError: (e) => metrics.frameErrors.inc({ code: e.code }),
    });
  }
  await app.ready();
  let httpPort = 0;
  if (parts.http ?? true) {
    await app.listen({ port: config.httpPort, host: config.host });
    httpPort = (app.server.address() as { port: number }).port;
  }

  const tcp =
    (parts.tcp ?? config.roles.has('ingest'))
      ? await startTcpServer({
          port: config.tcpPort,
          host: config.host,
          maxConnections: config.maxConnections,
          maxConnectionsPerAddress: config.maxConnectionsPerAddress,
          idleTimeoutMs: config.idleTimeoutMs,
          frameDeadlineMs: config.frameDeadlineMs,
          maxFrameBytes: config.maxFrameBytes,
          handle,
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
        ch,
        redis,
        registry,
        notifications,
        feed,
        metrics,
        jobs,
      })
    : null;

  let closed = false;
  return {
    config,
    log,
    ch,
    metrics,
    redis,
    registry,
    core,
    writer,
    states,
    app,
    tcp,
    httpPort,
    adminToken,
    jobs,
    workers,
    async close() {
      if (closed) return;
      closed = true;
      await tcp?.close();
      await app.close();
      guard.close();
      await feed.close();
      await writer.close();
      // Running jobs finish; queued ones stay in Redis for the next start.
      await workers?.close();
      await jobs.close();
      jobsRedis.disconnect();
      redis.disconnect();
      await ch.close();
    },
  };
}
