// Downloads of receipts and reports as archives (cabinet manual §9.2, §10.2), built by a
// background job: POST /api/v1/exports queues it (202 {jobId}), GET /api/v1/exports/:jobId
// tells its state and progress (0–100), GET /api/v1/exports/:jobId/file streams the zip once it
// is done. An export is seen only by callers of its organization who see its KKM.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import type { Job } from 'bullmq';
import { exportPeriod } from '../../fiscal/periods.js';
import { type ExportJobData, type ExportResult } from '../../jobs/queues.js';
import { requirePermission } from './authenticate.js';
import { ExportQuota } from './export-quota.js';
import type { CabinetContext } from './index.js';
import { readErrors, requireKkm } from './read-support.js';
import { answerObject, errorAnswer, idSchema } from '../http/schemas.js';
import { httpError } from '../http/errors.js';

const JOB_ID = '^exp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const jobParams = Type.Object(
  { jobId: Type.String({ pattern: JOB_ID }) },
  { additionalProperties: false },
);

const statusSchema = answerObject({
  jobId: Type.String(),
  state: Type.String({
    description: 'waiting, delayed, active, completed, failed (or prioritized, unknown)',
  }),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  kkmId: Type.Integer(),
  kind: Type.String(),
  format: Type.String(),
  createdAt: Type.String(),
  rows: Type.Integer({ description: 'documents exported (when completed)' }),
  bytes: Type.Integer({ description: 'size of the archive (when completed)' }),
  expiresAt: Type.String({ description: 'the file is deleted after this (UTC)' }),
  error: Type.String({ description: 'why it failed (when failed)' }),
});

/** The archive, streamed as it is (the serializer leaves a stream alone). */
const zipFile = Type.Unsafe<Readable>(
  Type.String({ description: 'the zip archive', format: 'binary' }),
);

export async function exportRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }): Promise<void> {
  const { ctx } = opts;
  const exportsQueue = ctx.jobs.exports;
  const quota = new ExportQuota(exportsQueue, ctx.jobs.config.exportsPerOrg);
  const guard = requirePermission('exports');

  /** The caller's export job, or 404 (unknown, another org's, or a KKM out of scope). */
  async function ownJob(
    req: FastifyRequest,
    jobId: string,
  ): Promise<Job<ExportJobData, ExportResult>> {
    const job = (await exportsQueue.getJob(jobId)) as Job<ExportJobData, ExportResult> | undefined;
    if (!job || job.data.orgId !== req.caller.orgId) {
      throw httpError(404, `export ${jobId} not found`);
    }
    if (!(await ctx.scope.seesKkm(req.caller, job.data.kkmId))) {
      throw httpError(404, `export ${jobId} not found`);
    }
    return job;
  }

  app.post(
    '/api/v1/exports',
    {
      preHandler: guard,
      schema: {
        summary: "Queue an archive of a KKM's receipts or Z reports (by shift or by period)",
        tags: ['exports'],
        body: Type.Object(
          {
            kkmId: idSchema,
            kind: Type.Enum(['tickets', 'reports'], { type: 'string' }),
            format: Type.Optional(Type.Enum(['csv', 'json'], { type: 'string', default: 'csv' })),
            shift: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffff_ffff })),
            from: Type.Optional(
              Type.String({
                maxLength: 19,
                description: 'device wall clock YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss], inclusive',
              }),
            ),
            to: Type.Optional(
              Type.String({
                maxLength: 19,
                description:
                  'device wall clock; a date-time is exclusive, a bare date includes that day',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: answerObject({ jobId: Type.String() }),
          ...readErrors,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const hasPeriod = b.from !== undefined || b.to !== undefined;
      if (b.shift !== undefined && hasPeriod) {
        throw httpError(400, 'body: give either shift or from and to, not both');
      }
      const data: ExportJobData = {
        orgId: req.caller.orgId,
        userId: req.caller.userId,
        kkmId: b.kkmId,
        kind: b.kind,
        format: b.format ?? 'csv',
      };
      if (b.shift !== undefined) {
        data.shift = b.shift;
      } else {
        if (b.from === undefined || b.to === undefined) {
          throw httpError(400, 'body: give shift, or from and to');
        }
        const period = exportPeriod(b.from, b.to);
        if ('error' in period) throw httpError(400, period.error);
        data.from = period.from;
        data.to = period.to;
      }
      await requireKkm(ctx, req, b.kkmId);
      const jobId = `exp-${randomUUID()}`;
      const add = () => exportsQueue.add('export', data, { jobId });
      if (!(await quota.admit(data.orgId, add))) {
        reply.header('retry-after', '60');
        throw httpError(
          429,
          `at most ${quota.perOrg} exports may be queued or running at once; wait for one to finish`,
        );
      }
      req.log.info({ jobId, kkmId: b.kkmId, kind: b.kind }, 'export queued');
      return reply.code(202).send({ jobId });
    },
  );

  app.get(
    '/api/v1/exports/:jobId',
    {
      preHandler: guard,
      schema: {
        summary: 'State and progress of an export',
        tags: ['exports'],
        params: jobParams,
        response: { 200: statusSchema, ...readErrors },
      },
    },
    async (req) => {
      let job = await ownJob(req, req.params.jobId);
      const state = await job.getState();
      if (state === 'completed' && !job.returnvalue) {
        // Finished between reading the job and its state: read it again for the result.
        job = (await exportsQueue.getJob(job.id!)) ?? job;
      }
      const progress = typeof job.progress === 'number' ? job.progress : 0;
      const result = state === 'completed' ? job.returnvalue : null;
      return {
        jobId: job.id,
        state,
        progress: state === 'completed' ? 100 : Math.max(0, Math.min(100, Math.floor(progress))),
        kkmId: job.data.kkmId,
        kind: job.data.kind,
        format: job.data.format,
        createdAt: new Date(job.timestamp).toISOString(),
        ...(result ? { rows: result.rows, bytes: result.bytes, expiresAt: result.expiresAt } : {}),
        ...(state === 'failed' ? { error: job.failedReason } : {}),
      };
    },
  );

  app.get(
    '/api/v1/exports/:jobId/file',
    {
      preHandler: guard,
      schema: {
        summary: 'The archive of a finished export (application/zip)',
        tags: ['exports'],
        params: jobParams,
        response: {
          200: zipFile,
          ...readErrors,
          409: errorAnswer('Not finished yet'),
          410: errorAnswer('The file has expired'),
        },
      },
    },
    async (req, reply) => {
      let job = await ownJob(req, req.params.jobId);
      const state = await job.getState();
      if (state === 'completed' && !job.returnvalue) {
        job = (await exportsQueue.getJob(job.id!)) ?? job;
      }
      if (state !== 'completed' || !job.returnvalue) {
        throw httpError(409, `export ${job.id} is ${state}, not completed`);
      }
      const { file } = job.returnvalue;
      const info = await stat(file).catch(() => null);
      // Expired is expired, whether or not the cleanup has deleted the file yet.
      if (!info || Date.parse(job.returnvalue.expiresAt) <= Date.now())
        throw httpError(410, `the file of export ${job.id} has expired`);
      const name = `${job.data.kind}-kkm${job.data.kkmId}-${job.id}.zip`;
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('content-length', info.size)
        .send(createReadStream(file));
    },
  );
}
