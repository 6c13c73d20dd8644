// GET /api/v1/kkms/:kkmId/reconciliation: what reconciling the KKM's offline uploads found
// (gaps, duplicate offline numbers, documents outside the offline period, offline Z reports
// that differ from the stored documents), per shift. Scoped like every cabinet read.
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { ReconciliationStore } from '../../storage/reconciliation-store.js';
import { requirePermission } from './authenticate.js';
import type { CabinetContext } from './index.js';
import { readErrors, kkmParams, requireKkm } from './read-support.js';
import { answerEnum, answerObject, anyObject, nullable } from '../http/schemas.js';

const finding = answerObject({
  shiftNumber: Type.Integer({ description: '0: not tied to a shift' }),
  kind: answerEnum([
    'printed_gap',
    'printed_order',
    'shift_gap',
    'shift_order',
    'duplicate_offline_number',
    'outside_offline_period',
    'offline_period_missing',
    'offline_period_too_long',
    'z_mismatch',
  ]),
  subject: Type.String({ description: 'what the finding is about, unique per kind' }),
  docSeq: Type.Integer({ description: 'the document concerned (0: none)' }),
  severity: Type.Enum(['warning', 'error'], { type: 'string' }),
  message: Type.String(),
  detail: anyObject,
  foundAt: Type.String({ description: 'UTC' }),
});

export async function reconciliationRoutes(
  app: TypeBoxApp,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const { ctx } = opts;
  const store = new ReconciliationStore(ctx.db);
  app.get(
    '/api/v1/kkms/:kkmId/reconciliation',
    {
      preHandler: requirePermission('transactions'),
      schema: {
        summary: 'Findings of the reconciliation of offline uploads',
        tags: ['transactions'],
        params: kkmParams,
        querystring: Type.Object(
          { shift: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff_ffff })) },
          { additionalProperties: false },
        ),
        response: {
          200: answerObject({
            kkmId: Type.Integer(),
            reconciledUpTo: answerObject({ docSeq: Type.Integer(), at: nullable(Type.String()) }),
            findings: Type.Array(finding),
          }),
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
