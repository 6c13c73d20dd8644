// Notifications (cabinet manual §19): list by period, mark read, unread count. A sub-user sees
// organization-wide notifications and those of its points; the operator's notices only with
// the "users" permission.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  Notifications,
  PERIODS,
  type Notification,
  type Period,
} from '../../storage/notifications.js';
import { mayUse } from '../../access/grants.js';
import { OPERATOR_NOTICE } from '../admin-self-service.js';
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
  // The operator's notices reach a sub-user only with the "users" permission (manual §19).
  const visible = (req: FastifyRequest, list: Notification[]) =>
    mayUse(req.caller, 'users') ? list : list.filter((n) => n.kind !== OPERATOR_NOTICE);

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
      items: visible(
        req,
        await store.list(req.caller.orgId, PERIODS[req.query.period ?? 'month'], points(req)),
      ),
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
    async (req) => ({
      unread: visible(req, await store.list(req.caller.orgId, PERIODS.month, points(req))).filter(
        (n) => !n.readAt,
      ).length,
    }),
  );
}
