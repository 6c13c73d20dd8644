// Operator view of the background jobs (admin bearer, like the rest of /api/v1/admin):
// GET /api/v1/admin/jobs/failed lists jobs that used up their retries, and
// POST /api/v1/admin/jobs/:id/retry runs one of them again.
import type { TypeBoxApp } from './http/app.js';
import { Type } from 'typebox';
import type { Job } from 'bullmq';
import { QUEUE_NAMES, type JobQueues } from '../jobs/queues.js';
import { ADMIN_PREFIX } from './admin.js';
import { checkBearer } from './admin-token.js';
import { answerObject, anyObject, nullable } from './http/schemas.js';
import { sendError } from './http/conventions.js';

export interface AdminJobsOptions {
  queues: JobQueues;
  adminToken: string;
}

const jobView = answerObject({
  queue: Type.String(),
  id: Type.String(),
  name: Type.String(),
  data: anyObject,
  failedReason: Type.String(),
  attemptsMade: Type.Integer(),
  createdAt: Type.String(),
  finishedAt: nullable(Type.String()),
});

const view = (job: Job) => ({
  queue: job.queueName,
  id: job.id,
  name: job.name,
  data: job.data as Record<string, unknown>,
  failedReason: job.failedReason,
  attemptsMade: job.attemptsMade,
  createdAt: new Date(job.timestamp).toISOString(),
  finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
});

export async function adminJobsRoutes(app: TypeBoxApp, opts: AdminJobsOptions) {
  const { queues, adminToken } = opts;
  if (!adminToken) throw new Error('admin job routes need an admin token');

  app.addHook('onRequest', async (request, reply) => {
    if (checkBearer(request.headers.authorization, adminToken)) return;
    request.log.warn({ url: request.url }, 'admin API: refused a request without a valid token');
    reply.header('www-authenticate', 'Bearer');
    sendError(
      reply,
      401,
      request.headers.authorization
        ? 'invalid admin token'
        : 'send the admin token as "Authorization: Bearer <token>"',
    );
    return reply;
  });

  const queueProp = Type.Optional(Type.Enum(QUEUE_NAMES, { type: 'string' }));

  app.get(
    `${ADMIN_PREFIX}/jobs/failed`,
    {
      schema: {
        summary: 'Jobs that failed after all their attempts, newest first',
        tags: ['admin'],
        querystring: Type.Object(
          {
            queue: queueProp,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: answerObject({
            counts: Type.Unsafe<Record<string, number>>({
              type: 'object',
              additionalProperties: { type: 'integer' },
            }),
            items: Type.Array(jobView),
          }),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const counts: Record<string, number> = {};
      const items: ReturnType<typeof view>[] = [];
      for (const q of queues.all()) {
        if (req.query.queue && q.name !== req.query.queue) continue;
        counts[q.name] = await q.getFailedCount();
        const jobs = (await q.getFailed(0, limit - 1)) as Job[];
        items.push(...jobs.filter(Boolean).map(view));
      }
      items.sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
      return { counts, items: items.slice(0, limit) };
    },
  );

  app.post(
    `${ADMIN_PREFIX}/jobs/:id/retry`,
    {
      schema: {
        summary: 'Run a failed job again (its attempts start over)',
        tags: ['admin'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
        querystring: Type.Object({ queue: queueProp }, { additionalProperties: false }),
        response: { 200: jobView },
      },
    },
    async (req, reply) => {
      const job = await queues.findJob(req.params.id, req.query.queue);
      if (!job) return sendError(reply, 404, `job ${req.params.id} not found`);
      const state = await job.getState();
      if (state !== 'failed') {
        return sendError(reply, 409, `job ${req.params.id} is ${state}, not failed`);
      }
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      req.log.info(
        { action: 'job.retry', queue: job.queueName, jobId: job.id },
        'admin: job retried',
      );
      return view(job);
    },
  );
}
