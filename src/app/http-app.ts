// The HTTP side of a process: health and readiness, metrics, OpenAPI and its docs page, and
// per role the admin and cabinet APIs (api) and KKMs over HTTP POST and WebSocket (ingest).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import adminRoutes from '../api/admin.js';
import { adminJobsRoutes } from '../api/admin-jobs.js';
import { adminForwardingRoutes } from '../api/admin-forwarding.js';
import { describeTransports } from '../forwarding/index.js';
import { ForwardingStore } from '../storage/forwarding.js';
import { cabinetApi } from '../api/cabinet/index.js';
import { receiptCheckRoutes } from '../api/public/receipt-routes.js';
import { createHttpApp } from '../api/http/app.js';
import { securityHeaders } from '../api/security-headers.js';
import { checkBodyText } from '../api/text-checks.js';
import { webCabinet } from '../api/web-cabinet.js';
import { ConnectionsByAddress } from '../ingest/address-connections.js';
import type { Config } from '../config/config.js';
import { kkmHttpTransport } from '../ingest/http-transport.js';
import type { JobQueues } from '../jobs/queues.js';
import type { Db } from '../storage/db.js';
import type { Catalogue } from '../storage/catalogue.js';
import type { OrgProfile } from '../storage/org-profile.js';
import type { Registry } from '../storage/registry.js';
import type { DomainEvents } from '../telemetry/events.js';
import type { LiveFeed } from '../telemetry/live-feed.js';
import type { Metrics, MetricsJson } from '../telemetry/metrics.js';
import type { IngestCore } from './ingest-core.js';
import { kkmChangeFanOut } from './kgd-applications.js';
import { requestLogFields } from './logger.js';
import type { Notifier } from '../telemetry/notifier.js';
import type { ForwardingDecision } from '../storage/applications.js';
import { IdentityCodes } from '../storage/identity-codes.js';
import type { IdentityDeps } from '../api/identity/proof.js';
import { EdsVerifier, crlFileCheck, loadCertificates } from '../api/identity/eds.js';
import { httpGatewaySender, logSender } from '../api/identity/messages.js';

export interface HttpAppDeps {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  registry: Registry;
  orgs: OrgProfile;
  catalogue: Catalogue;
  metrics: Metrics;
  events: DomainEvents;
  feed: LiveFeed;
  jobs: JobQueues;
  adminToken: string;
  /** The ingest core, when this process has the ingest role. */
  ingest: IngestCore | null;
  /** Drops a KKM's cached device state everywhere (its registration changed). */
  invalidateKkm(kkmId: number): Promise<void>;
  /** Metrics of other processes, merged into this one's /metrics. */
  otherMetrics?: () => Promise<MetricsJson[]>;
  /** Stores and announces notifications (operator notices). */
  notifier: Notifier;
  /**
   * How KKM applications reach the tax authority (default: they complete at once; the server
   * passes `applicationDecision`, which waits for the authority when forwarding sends to it).
   */
  forward?: ForwardingDecision;
}

/** EDS verification and one-time codes as the configuration sets them up. */
function identityDeps(d: HttpAppDeps): IdentityDeps {
  const s = d.config.selfService;
  const log = d.log.child({ part: 'identity' });
  const trusted = s.edsCaFile ? loadCertificates(s.edsCaFile) : null;
  return {
    codes: new IdentityCodes(d.redis, d.config.redisPrefix, {
      ttlSeconds: s.codeTtlSeconds,
      maxAttempts: s.codeAttempts,
      perRecipient: s.codesPerPhone,
      perAddress: s.codesPerAddress,
      windowSeconds: s.codeWindowSeconds,
    }),
    eds: trusted
      ? new EdsVerifier({
          trusted,
          revocation: s.edsCrlFile ? crlFileCheck(s.edsCrlFile) : undefined,
        })
      : null,
    sms: s.smsGatewayUrl ? httpGatewaySender(s.smsGatewayUrl) : logSender(log, 'sms'),
    email: s.emailGatewayUrl ? httpGatewaySender(s.emailGatewayUrl) : logSender(log, 'email'),
  };
}

export async function buildHttpApp(d: HttpAppDeps): Promise<FastifyInstance> {
  const { config, metrics, ingest } = d;
  const app = createHttpApp({
    loggerInstance: d.log.child({ part: 'http' }, { serializers: { req: requestLogFields } }),
    bodyLimit: 10 * 1024 * 1024,
    trustProxy: config.trustProxy,
    // Keep-alive sockets idle as long as TCP ones; a whole request within the HTTP deadline.
    connectionTimeout: config.idleTimeoutMs,
    requestTimeout: config.httpRequestTimeoutMs,
  });
  await securityHeaders(app, { metricsToken: config.metricsToken });
  await app.register(swagger, {
    openapi: {
      info: { title: 'OFD ingest server API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // The interactive docs page can be switched off (OFD_API_DOCS=off); the JSON stays.
  if (config.apiDocs) await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  checkBodyText(app);
  await app.register(websocket, { options: { maxPayload: config.maxFrameBytes } });
  metrics.register(app, () => ingest?.writer.pendingRows ?? 0, d.otherMetrics);
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const [redisOk, clickhouseOk] = await Promise.all([
      d.redis.ping().then(
        () => true,
        () => false,
      ),
      d.db.ping().catch(() => false),
    ]);
    return reply.code(redisOk && clickhouseOk ? 200 : 503).send({
      redis: redisOk ? 'ok' : 'unreachable',
      clickhouse: clickhouseOk ? 'ok' : 'unreachable',
    });
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  if (config.roles.has('api')) {
    await app.register(adminJobsRoutes, { queues: d.jobs, adminToken: d.adminToken });
    await app.register(adminForwardingRoutes, {
      store: new ForwardingStore(d.db, d.redis, config.redisPrefix),
      adminToken: d.adminToken,
      transports: describeTransports(config.forwarding),
    });
    await app.register(receiptCheckRoutes, {
      db: d.db,
      redis: d.redis,
      redisPrefix: config.redisPrefix,
      settings: config.receiptCheck,
    });
    const onKkmChanged = kkmChangeFanOut(d);
    await app.register(cabinetApi, {
      db: d.db,
      redis: d.redis,
      registry: d.registry,
      redisPrefix: config.redisPrefix,
      feed: d.feed,
      jobs: d.jobs,
      kkmOnlineWindowMs: config.kkmOnlineWindowSeconds * 1000,
      identity: identityDeps(d),
      forward: d.forward,
      onKkmChanged,
    });
    // The web cabinet at / (its routes are the files of the build; the API keeps its paths).
    await app.register(webCabinet, { dir: config.webDir });
    await app.register(adminRoutes, {
      registry: d.registry,
      adminToken: d.adminToken,
      profile: { orgs: d.orgs, catalogue: d.catalogue },
      selfService: { notify: (list) => d.notifier.raise(list) },
      onKkmChanged,
    });
  }
  if (ingest) {
    await app.register(kkmHttpTransport, {
      handle: ingest.handle,
      admitAddress: ingest.admitAddress,
      maxFrameBytes: config.maxFrameBytes,
      frameDeadlineMs: config.frameDeadlineMs,
      idleTimeoutMs: config.idleTimeoutMs,
      onFrameError: (e) => metrics.frameErrors.inc({ code: e.code }),
      onLimit: (reason) => metrics.limitClosed.inc({ reason }),
    });
  }
  // The TCP server's per-address cap for HTTP connections too (POST /kkm, /kkm/ws, the API).
  new ConnectionsByAddress(config.maxConnectionsPerAddress, d.log.child({ part: 'http' })).guard(
    app.server,
    () => metrics.limitClosed.inc({ reason: 'http_address_connections' }),
  );
  await app.ready();
  return app;
}
