// Notifications (cabinet manual §19): list by period, mark read, unread count. A sub-user sees
// organization-wide notifications and those of its points.
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { Notifications, PERIODS, type Period } from '../../storage/notifications.js';
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
      items: await store.list(req.caller.orgId, PERIODS[req.query.period ?? 'month'], points(req)),
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
    async (req) => ({ marked: await store.markRead(req.caller.orgId, req.body.ids, points(req)) }),
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
    async (req) => ({ unread: await store.unreadCount(req.caller.orgId, points(req)) }),
  );
}
