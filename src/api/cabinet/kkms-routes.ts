// GET /api/v1/kkms (cabinet manual §3, §9): the caller's KKMs with their state — online when a
// document or a device event arrived within the online window, otherwise offline since the
// last contact; blocked and deregistered KKMs show that instead — the last contact and the
// open shift (the shift of the last receipt or money placement not closed yet).
import type { FastifyInstance } from 'fastify';
import { CabinetQueries } from '../../storage/cabinet-queries.js';
import type { CabinetContext } from './index.js';
import { readErrors, isoWall } from './read-support.js';

export const DEFAULT_ONLINE_WINDOW_MS = 10 * 60_000;

const kkmView = {
  type: 'object',
  required: ['id', 'pointId', 'status', 'lastSeenAt', 'openShift'],
  properties: {
    id: { type: 'integer' },
    pointId: { type: 'integer' },
    pointTitle: { type: 'string' },
    serialNumber: { type: 'string' },
    model: { type: 'string' },
    fnsKkmId: { type: 'string' },
    registeredAt: { type: 'string', description: 'UTC' },
    status: {
      type: 'string',
      enum: ['online', 'offline', 'blocked', 'deregistered'],
      description:
        'blocked/deregistered from the registry; otherwise online when heard from within the ' +
        'online window (OFD_KKM_ONLINE_WINDOW_S, default 600 s)',
    },
    lastSeenAt: {
      type: ['string', 'null'],
      description: 'UTC receive time of the last document or device event; null: never',
    },
    offlineSince: {
      type: ['string', 'null'],
      description: 'When offline: the last contact (null when never heard from)',
    },
    lastShiftNumber: { type: 'integer' },
    vpn: {
      type: ['string', 'null'],
      description: "Status of the organization's latest wired VPN request; null: none",
    },
    openShift: {
      type: ['object', 'null'],
      properties: {
        number: { type: 'integer' },
        openedAt: { type: 'string', description: 'device wall clock, no time zone' },
      },
    },
  },
} as const;

export async function kkmsRoutes(
  app: FastifyInstance,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const { ctx } = opts;
  const queries = new CabinetQueries(ctx.db);
  const windowMs = ctx.kkmOnlineWindowMs ?? DEFAULT_ONLINE_WINDOW_MS;

  app.get(
    '/api/v1/kkms',
    {
      schema: {
        summary: 'KKMs in scope with online/offline/blocked state, last contact and open shift',
        tags: ['kkms'],
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: kkmView } },
          },
          401: readErrors[401],
        },
      },
    },
    async (req) => {
      const kkms = await queries.overview(await ctx.scope.kkmIds(req.caller));
      const vpn = req.caller.serviced
        ? null
        : ((await ctx.registry.applications.list(req.caller.orgId, { kind: 'vpn' }))[0]?.status ??
          null);
      const now = Date.now();
      return {
        items: kkms.map((k) => {
          const seen = Math.max(k.lastDocumentAt ?? 0, k.lastEventAt ?? 0) || null;
          const online = seen !== null && now - seen <= windowMs;
          const status = k.status !== 'active' ? k.status : online ? 'online' : 'offline';
          const lastSeenAt = seen === null ? null : new Date(seen).toISOString();
          return {
            id: k.kkmId,
            pointId: k.pointId,
            pointTitle: k.pointTitle,
            serialNumber: k.serialNumber,
            model: k.model,
            fnsKkmId: k.fnsKkmId,
            registeredAt: new Date(k.createdAt).toISOString(),
            status,
            lastSeenAt,
            ...(status === 'offline' ? { offlineSince: lastSeenAt } : {}),
            lastShiftNumber: k.lastShiftNumber,
            vpn,
            openShift: k.openShift
              ? { number: k.openShift.number, openedAt: isoWall(k.openShift.openedAt) }
              : null,
          };
        }),
      };
    },
  );
}
