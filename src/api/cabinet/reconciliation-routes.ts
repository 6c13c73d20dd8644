// GET /api/v1/kkms/:kkmId/reconciliation: what reconciling the KKM's offline uploads found
// (gaps, duplicate offline numbers, documents outside the offline period, offline Z reports
// that differ from the stored documents), per shift. Scoped like every cabinet read.
import type { FastifyInstance } from 'fastify';
import { ReconciliationStore } from '../../storage/reconciliation-store.js';
import { requirePermission } from './authenticate.js';
import type { CabinetContext } from './index.js';
import { readErrors, kkmParams, requireKkm } from './read-support.js';

const finding = {
  type: 'object',
  properties: {
    shiftNumber: { type: 'integer', description: '0: not tied to a shift' },
    kind: {
      type: 'string',
      enum: [
        'printed_gap',
        'printed_order',
        'shift_gap',
        'shift_order',
        'duplicate_offline_number',
        'outside_offline_period',
        'offline_period_missing',
        'offline_period_too_long',
        'z_mismatch',
      ],
    },
    subject: { type: 'string', description: 'what the finding is about, unique per kind' },
    docSeq: { type: 'integer', description: 'the document concerned (0: none)' },
    severity: { type: 'string', enum: ['warning', 'error'] },
    message: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    foundAt: { type: 'string', description: 'UTC' },
  },
} as const;

export async function reconciliationRoutes(
  app: FastifyInstance,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const { ctx } = opts;
  const store = new ReconciliationStore(ctx.db);
  app.get<{ Params: { kkmId: number }; Querystring: { shift?: number } }>(
    '/api/v1/kkms/:kkmId/reconciliation',
    {
      preValidation: requirePermission('transactions'),
      schema: {
        summary: 'Findings of the reconciliation of offline uploads',
        tags: ['transactions'],
        params: kkmParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { shift: { type: 'integer', minimum: 0, maximum: 0xffff_ffff } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              kkmId: { type: 'integer' },
              reconciledUpTo: {
                type: 'object',
                properties: {
                  docSeq: { type: 'integer' },
                  at: { type: ['string', 'null'] },
                },
              },
              findings: { type: 'array', items: finding },
            },
          },
          ...readErrors,
        },
      },
    },
    async (req) => {
      const { kkmId } = req.params;
      await requireKkm(ctx, req, kkmId);
      const [findings, progress] = await Promise.all([
        store.findings(kkmId, req.query.shift),
        store.reconciledUpTo(kkmId),
      ]);
      return { kkmId, reconciledUpTo: progress, findings };
    },
  );
}
