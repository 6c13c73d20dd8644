// Notifications (cabinet manual §19): list by period, mark read, unread count. A sub-user sees
// organization-wide notifications and those of its points; the operator's notices only with
// the "users" permission.
import type { FastifyRequest } from 'fastify';
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import {
  Notifications,
  PERIODS,
  type Notification,
  type Period,
} from '../../storage/notifications.js';
import { mayUse } from '../../access/grants.js';
import { OPERATOR_NOTICE } from '../admin-self-service.js';
import type { CabinetContext } from './index.js';
import { answerObject, anyObject, nullable } from '../http/schemas.js';

const notification = answerObject({
  id: Type.String(),
  kind: Type.String(),
  kkmId: Type.Integer(),
  pointId: Type.Integer(),
  title: Type.String(),
  detail: anyObject,
  createdAt: Type.String(),
  readAt: nullable(Type.String()),
});

export async function notificationsRoutes(
  app: TypeBoxApp,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const store = new Notifications(opts.ctx.db);
  const points = (req: { caller: { pointIds: Set<number> | 'all' } }) =>
    req.caller.pointIds === 'all' ? ('all' as const) : [...req.caller.pointIds];
  // The operator's notices reach a sub-user only with the "users" permission (manual §19).
  const visible = (req: FastifyRequest, list: Notification[]) =>
    mayUse(req.caller, 'users') ? list : list.filter((n) => n.kind !== OPERATOR_NOTICE);

  app.get(
    '/api/v1/notifications',
    {
      schema: {
        summary: 'Notifications of the last day, week or month (default month)',
        tags: ['notifications'],
        querystring: Type.Object(
          {
            period: Type.Optional(Type.Enum(Object.keys(PERIODS) as Period[], { type: 'string' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: answerObject({ items: Type.Array(notification) }) },
      },
    },
    async (req) => ({
      items: visible(
        req,
        await store.list(req.caller.orgId, PERIODS[req.query.period ?? 'month'], points(req)),
      ),
    }),
  );

  app.post(
    '/api/v1/notifications/read',
    {
      schema: {
        summary: 'Mark notifications read',
        tags: ['notifications'],
        body: Type.Object(
          { ids: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }) },
          { additionalProperties: false },
        ),
        response: { 200: answerObject({ marked: Type.Integer() }) },
      },
    },
    async (req) => {
      // Only what the caller is shown: an operator's notice stays unread for those who see it.
      const shown = new Set(
        visible(req, await store.list(req.caller.orgId, PERIODS.month, points(req))).map(
          (n) => n.id,
        ),
      );
      const ids = req.body.ids.filter((id) => shown.has(id));
      return { marked: ids.length ? await store.markRead(req.caller.orgId, ids, points(req)) : 0 };
    },
  );

  app.get(
    '/api/v1/notifications/unread-count',
    {
      schema: {
        summary: 'Number of unread notifications of the last month',
        tags: ['notifications'],
        response: { 200: answerObject({ unread: Type.Integer() }) },
      },
    },
    async (req) => ({
      unread: visible(req, await store.list(req.caller.orgId, PERIODS.month, points(req))).filter(
        (n) => !n.readAt,
      ).length,
    }),
  );
}
