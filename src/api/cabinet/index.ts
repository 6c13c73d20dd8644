// The taxpayer cabinet API under /api/v1: login is public, everything else runs as an
// authenticated caller and sees only its organization (and, for sub-users, its points).
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ClickHouseClient } from '../../storage/clickhouse.js';
import type { Registry } from '../../storage/registry.js';
import type { LiveFeed } from '../live-feed.js';
import { authenticate } from './authenticate.js';
import { liveRoutes } from './live-routes.js';
import { notificationsRoutes } from './notifications-routes.js';
import { Scope } from './scope.js';
import { Sessions } from './sessions.js';

export interface CabinetOptions {
  ch: ClickHouseClient;
  redis: Redis;
  registry: Registry;
  redisPrefix: string;
  feed: LiveFeed;
}

/** Plugins of the cabinet; each registers its routes (public ones before the auth hook). */
export interface CabinetContext extends CabinetOptions {
  scope: Scope;
  sessions: Sessions;
}

export async function cabinetApi(app: FastifyInstance, opts: CabinetOptions): Promise<void> {
  const ctx: CabinetContext = {
    ...opts,
    scope: new Scope(opts.ch),
    sessions: new Sessions(opts.redis, opts.redisPrefix),
  };
  app.decorateRequest('caller', null as never);
  app.decorateRequest('sessionToken', '');
  // The live feed authenticates itself (a WebSocket may carry the token as ?token=).
  await app.register(liveRoutes, { ctx, feed: opts.feed });
  // Public routes (login) register here, before the hook below.
  await app.register(async (secured) => {
    secured.addHook('preHandler', authenticate(ctx.sessions, ctx.scope));
    // Authenticated route plugins register here.
    await secured.register(notificationsRoutes, { ctx });
    void secured;
  });
}
