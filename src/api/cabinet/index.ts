// The taxpayer cabinet API under /api/v1: login is public, everything else runs as an
// authenticated caller and sees only its organization (and, for sub-users, its points).
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Db } from '../../storage/db.js';
import type { JobQueues } from '../../jobs/queues.js';
import type { Registry } from '../../storage/registry.js';
import type { LiveFeed } from '../../telemetry/live-feed.js';
import { authPublicRoutes, authSecuredRoutes } from './auth-routes.js';
import { authenticate, dropCachedAccessOnChange } from './authenticate.js';
import { groupsRoutes } from './groups-routes.js';
import { analyticsRoutes } from './analytics-routes.js';
import { kkmsRoutes } from './kkms-routes.js';
import { liveRoutes } from './live-routes.js';
import { meRoutes } from './me-routes.js';
import { publishAccessChanges } from './live-watch.js';
import { notificationsRoutes } from './notifications-routes.js';
import { reconciliationRoutes } from './reconciliation-routes.js';
import { exportRoutes } from './export-routes.js';
import { reportsRoutes } from './reports-routes.js';
import { Scope } from '../../storage/cabinet-scope.js';
import { Sessions } from './sessions.js';
import { CabinetReads, KkmVersions, ReadCache } from './read-cache.js';
import { CabinetQueries } from '../../storage/cabinet-queries.js';
import { ticketsRoutes } from './tickets-routes.js';
import { usersRoutes } from './users-routes.js';
import { identityRoutes } from './identity-routes.js';
import { organizationRoutes } from './organization-routes.js';
import { kkmApplicationRoutes } from './kkm-applications-routes.js';
import { serviceCentreRoutes } from './service-centre-routes.js';
import { IdentityCodes } from '../../storage/identity-codes.js';
import { completeAtOnce, type ForwardingDecision } from '../../storage/applications.js';
import type { KkmChange } from '../../telemetry/events.js';
import type { IdentityDeps } from '../identity/proof.js';
import { logSender } from '../identity/messages.js';

export interface CabinetOptions {
  db: Db;
  redis: Redis;
  registry: Registry;
  redisPrefix: string;
  feed: LiveFeed;
  /** Producers of the background jobs (exports). */
  jobs: JobQueues;
  /** A KKM heard from within this window counts as online (default 10 minutes). */
  kkmOnlineWindowMs?: number;
  /** Identity proofs (EDS, one-time codes); default: no EDS, codes written to the log. */
  identity?: IdentityDeps;
  /** Complete a KKM application at once or wait for the tax authority (default: at once). */
  forward?: ForwardingDecision;
  /** Called after a KKM's token, point or status changed (ingest drops its cached state). */
  onKkmChanged?: (kkmId: number, change: KkmChange) => Promise<void>;
}

/** Plugins of the cabinet; each registers its routes (public ones before the auth hook). */
export interface CabinetContext extends CabinetOptions {
  scope: Scope;
  /** Reads kept while the KKMs they show have no new document (read-cache.ts). */
  reads: CabinetReads;
  sessions: Sessions;
  identity: IdentityDeps;
  forward: ForwardingDecision;
  onKkmChanged: (kkmId: number, change: KkmChange) => Promise<void>;
}

export async function cabinetApi(app: FastifyInstance, opts: CabinetOptions): Promise<void> {
  const ctx: CabinetContext = {
    ...opts,
    scope: new Scope(opts.db),
    reads: new CabinetReads(
      opts.db,
      new CabinetQueries(opts.db),
      new ReadCache(new KkmVersions(opts.redis, opts.redisPrefix)),
    ),
    sessions: new Sessions(opts.redis, opts.redisPrefix),
    identity: opts.identity ?? {
      codes: new IdentityCodes(opts.redis, opts.redisPrefix, {
        ttlSeconds: 300,
        maxAttempts: 5,
        perRecipient: 5,
        perAddress: 20,
        windowSeconds: 3600,
      }),
      eds: null,
      sms: logSender(app.log as never, 'sms'),
      email: logSender(app.log as never, 'email'),
    },
    forward: opts.forward ?? completeAtOnce,
    onKkmChanged: opts.onKkmChanged ?? (async () => undefined),
  };
  app.decorateRequest('caller', null as never);
  app.decorateRequest('sessionToken', '');
  app.decorateRequest('module', undefined);
  // The live feed authenticates itself (a WebSocket may carry the token as ?token=).
  await app.register(liveRoutes, { ctx, feed: opts.feed });
  // Public routes (login) register here, before the hook below.
  await app.register(authPublicRoutes, { ctx });
  await app.register(identityRoutes, { ctx });
  await app.register(async (secured) => {
    secured.addHook('onRequest', authenticate(ctx.sessions, ctx.scope));
    secured.addHook('onSend', dropCachedAccessOnChange(ctx.sessions));
    publishAccessChanges(secured, ctx.feed);
    // Authenticated route plugins register here.
    await secured.register(authSecuredRoutes, { ctx });
    await secured.register(meRoutes);
    await secured.register(usersRoutes, { ctx });
    await secured.register(groupsRoutes, { ctx });
    await secured.register(notificationsRoutes, { ctx });
    await secured.register(reconciliationRoutes, { ctx });
    await secured.register(exportRoutes, { ctx });
    await secured.register(kkmsRoutes, { ctx });
    await secured.register(ticketsRoutes, { ctx });
    await secured.register(reportsRoutes, { ctx });
    await secured.register(analyticsRoutes, { ctx });
    await secured.register(organizationRoutes, { ctx });
    await secured.register(kkmApplicationRoutes, { ctx });
    await secured.register(serviceCentreRoutes, { ctx });
    void secured;
  });
}
