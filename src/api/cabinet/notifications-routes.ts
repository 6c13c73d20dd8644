// Notifications (cabinet manual §19): list by period, mark read, unread count. A sub-user sees
// organization-wide notifications and those of its points.
import type { FastifyInstance } from 'fastify';
import { Notifications, PERIODS, type Period } from '../../storage/notifications.js';
import type { CabinetContext } from './index.js';

const notification = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    kkmId: { type: 'integer' },
    pointId: { type: 'integer' },
    title: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    createdAt: { type: 'string' },
    readAt: { type: ['string', 'null'] },
  },
} as const;

export async function notificationsRoutes(
  app: FastifyInstance,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const store = new Notifications(opts.ctx.db);
  const points = (req: { caller: { pointIds: Set<number> | 'all' } }) =>
    req.caller.pointIds === 'all' ? ('all' as const) : [...req.caller.pointIds];

  app.get<{ Querystring: { period?: Period } }>(
    '/api/v1/notifications',
    {
      schema: {
        summary: 'Notifications of the last day, week or month (default month)',
        tags: ['notifications'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { period: { type: 'string', enum: Object.keys(PERIODS) } },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: notification } } },
        },
      },
    },
    async (req) => ({
      items: await store.list(req.caller.orgId, PERIODS[req.query.period ?? 'month'], points(req)),
    }),
  );

  app.post<{ Body: { ids: string[] } }>(
    '/api/v1/notifications/read',
    {
      schema: {
        summary: 'Mark notifications read',
        tags: ['notifications'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: {
            ids: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 64 } },
          },
        },
        response: { 200: { type: 'object', properties: { marked: { type: 'integer' } } } },
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
        response: { 200: { type: 'object', properties: { unread: { type: 'integer' } } } },
      },
    },
    async (req) => ({ unread: await store.unreadCount(req.caller.orgId, points(req)) }),
  );
}
