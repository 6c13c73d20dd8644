// GET /api/v1/kkms (cabinet manual §3, §9): the caller's KKMs with their state — online when a
// document or a device event arrived within the online window, otherwise offline since the
// last contact; blocked and deregistered KKMs show that instead — the last contact and the
// open shift (the shift of the last receipt or money placement not closed yet).
import type { TypeBoxApp } from '../http/app.js';
import { Type, type Static } from 'typebox';
import { CabinetQueries } from '../../storage/cabinet-queries.js';
import type { CabinetContext } from './index.js';
import { readErrors, isoWall } from './read-support.js';
import { answerObject, nullable } from '../http/schemas.js';
import type { KgdStatus } from '../../storage/kkm-events.js';

export const DEFAULT_ONLINE_WINDOW_MS = 10 * 60_000;

const kkmView = Type.Object({
  id: Type.Integer(),
  pointId: Type.Integer(),
  pointTitle: Type.Optional(Type.String()),
  serialNumber: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  fnsKkmId: Type.Optional(Type.String()),
  registeredAt: Type.Optional(Type.String({ description: 'UTC' })),
  status: Type.Enum(['online', 'offline', 'blocked', 'deregistered'], {
    type: 'string',
    description:
      'blocked/deregistered from the registry; otherwise online when heard from within the ' +
      'online window (OFD_KKM_ONLINE_WINDOW_S, default 600 s)',
  }),
  lastSeenAt: nullable(
    Type.String({
      description: 'UTC receive time of the last document or device event; null: never',
    }),
  ),
  offlineSince: Type.Optional(
    nullable(
      Type.String({ description: 'When offline: the last contact (null when never heard from)' }),
    ),
  ),
  lastShiftNumber: Type.Optional(Type.Integer()),
  vpn: Type.Optional(
    nullable(
      Type.String({
        description: "Status of the organization's latest wired VPN request; null: none",
      }),
    ),
  ),
  kgdStatus: nullable(
    answerObject(
      {
        status: Type.Enum(
          [
            'awaiting_kgd_registration',
            'awaiting_reregistration',
            'awaiting_kgd_deregistration',
            'registered',
            'deregistered',
          ],
          { type: 'string' },
        ),
        since: Type.String({ description: 'UTC' }),
      },
      {
        description:
          "The tax authority's side: awaiting its confirmation of the last registration, " +
          're-registration or deregistration, or what it confirmed; null: nothing sent yet',
      },
    ),
  ),
  openShift: nullable(
    answerObject({
      number: Type.Integer(),
      openedAt: Type.String({ description: 'device wall clock, no time zone' }),
    }),
  ),
});

const kgdView = (s: { status: KgdStatus; since: number } | undefined) =>
  s ? { status: s.status, since: new Date(s.since).toISOString() } : null;

export async function kkmsRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }): Promise<void> {
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
          200: answerObject({ items: Type.Array(kkmView) }),
          401: readErrors[401],
        },
      },
    },
    async (req) => {
      const kkms = await queries.overview(await ctx.scope.kkmIds(req.caller));
      const kgd = await ctx.registry.kkmEvents.kgdStatuses(kkms.map((k) => k.kkmId));
      const vpn = req.caller.serviced
        ? null
        : ((await ctx.registry.applications.list(req.caller.orgId, { kind: 'vpn' }))[0]?.status ??
          null);
      const now = Date.now();
      return {
        items: kkms.map((k) => {
          const seen = Math.max(k.lastDocumentAt ?? 0, k.lastEventAt ?? 0) || null;
          const online = seen !== null && now - seen <= windowMs;
          const status: Static<typeof kkmView>['status'] =
            k.status !== 'active' ? k.status : online ? 'online' : 'offline';
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
            kgdStatus: kgdView(kgd.get(k.kkmId)),
            openShift: k.openShift
              ? { number: k.openShift.number, openedAt: isoWall(k.openShift.openedAt) }
              : null,
          };
        }),
      };
    },
  );
}
