// Analytics (cabinet manual §11): a summary of receipts over a device-time period for one KKM
// (up to 31 days) or 2–20 KKMs (up to 7 days): totals by operation, by payment type and by
// tax, for the whole selection, per device day and per KKM, with receipt counts and the
// average receipt. Annulled receipts are left out, as in the Z report. Money is integer tiyn;
// averages are integer divisions rounded down (floor(sum / count), 0 when there is no receipt).
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { CabinetQueries, type SummaryRow } from '../../storage/cabinet-queries.js';
import type { CabinetContext } from './index.js';
import { requirePermission } from './authenticate.js';
import {
  OPERATION_NAMES,
  readErrors,
  isoWall,
  operationName,
  parsePeriod,
  paymentName,
  periodProperties,
  requireKkms,
} from './read-support.js';
import { MAX_UINT32 } from '../../protocol/numbers.js';
import { BadRequest } from '../http/errors.js';
import { answerObject } from '../http/schemas.js';

export const ANALYTICS_LIMITS = { maxKkms: 20, oneKkmDays: 31, manyKkmsDays: 7 } as const;
const DAY_MS = 86_400_000;

/** Figures of a set of receipts. */
export interface Figures {
  receipts: number;
  /** floor(sell total / sell receipts): the average sale receipt. */
  averageReceipt: number;
  /** sell − sell_return − (buy − buy_return). */
  revenue: number;
  byOperation: { operation: string; receipts: number; sum: number; average: number }[];
  byPayment: { operation: string; type: string; count: number; sum: number }[];
  byTax: {
    operation: string;
    taxType: number;
    percent: number;
    count: number;
    sum: number;
    turnover: number;
  }[];
}

const avg = (sum: number, count: number) => (count ? Math.floor(sum / count) : 0);

class Accumulator {
  private ops = OPERATION_NAMES.map(() => ({ receipts: 0, sum: 0 }));
  private pay = new Map<string, { operation: number; type: number; count: number; sum: number }>();
  private tax = new Map<
    string,
    {
      operation: number;
      type: number;
      percent: number;
      count: number;
      sum: number;
      turnover: number;
    }
  >();

  add(r: SummaryRow): void {
    const op = this.ops[r.operation];
    if (op) {
      op.receipts += r.receipts;
      op.sum += r.sum;
    }
    for (const p of r.payments) {
      const key = `${r.operation}:${p.type}`;
      const a = this.pay.get(key) ?? { operation: r.operation, type: p.type, count: 0, sum: 0 };
      a.count += p.count;
      a.sum += p.sum;
      this.pay.set(key, a);
    }
    for (const t of r.taxes) {
      const key = `${r.operation}:${t.type}:${t.percent}`;
      const a = this.tax.get(key) ?? {
        operation: r.operation,
        type: t.type,
        percent: t.percent,
        count: 0,
        sum: 0,
        turnover: 0,
      };
      a.count += t.count;
      a.sum += t.sum;
      a.turnover += t.turnover;
      this.tax.set(key, a);
    }
  }

  figures(): Figures {
    const [buy, buyReturn, sell, sellReturn] = this.ops as [
      { receipts: number; sum: number },
      { receipts: number; sum: number },
      { receipts: number; sum: number },
      { receipts: number; sum: number },
    ];
    return {
      receipts: this.ops.reduce((a, o) => a + o.receipts, 0),
      averageReceipt: avg(sell.sum, sell.receipts),
      revenue: sell.sum - sellReturn.sum - (buy.sum - buyReturn.sum),
      byOperation: this.ops.map((o, i) => ({
        operation: operationName(i),
        receipts: o.receipts,
        sum: o.sum,
        average: avg(o.sum, o.receipts),
      })),
      byPayment: [...this.pay.values()]
        .sort((a, b) => a.operation - b.operation || a.type - b.type)
        .map((p) => ({
          operation: operationName(p.operation),
          type: paymentName(p.type),
          count: p.count,
          sum: p.sum,
        })),
      byTax: [...this.tax.values()]
        .sort((a, b) => a.operation - b.operation || a.type - b.type || a.percent - b.percent)
        .map((t) => ({
          operation: operationName(t.operation),
          taxType: t.type,
          percent: t.percent,
          count: t.count,
          sum: t.sum,
          turnover: t.turnover,
        })),
    };
  }
}

const figuresProperties = {
  receipts: Type.Integer(),
  averageReceipt: Type.Integer({ description: 'floor(sell sum / sell receipts), tiyn' }),
  revenue: Type.Integer({ description: 'sell − sell_return − (buy − buy_return), tiyn' }),
  byOperation: Type.Array(
    answerObject({
      operation: Type.String(),
      receipts: Type.Integer(),
      sum: Type.Integer(),
      average: Type.Integer({ description: 'floor(sum / receipts)' }),
    }),
  ),
  byPayment: Type.Array(
    answerObject({
      operation: Type.String(),
      type: Type.String(),
      count: Type.Integer(),
      sum: Type.Integer(),
    }),
  ),
  byTax: Type.Array(
    answerObject({
      operation: Type.String(),
      taxType: Type.Integer(),
      percent: Type.Integer({ description: 'thousandths of a percent' }),
      count: Type.Integer(),
      sum: Type.Integer(),
      turnover: Type.Integer(),
    }),
  ),
};

/** KKM ids of `kkmIds=1,2,3` (duplicates dropped) or a 400. */
export function parseKkmIds(text: string): number[] {
  const ids = [...new Set(text.split(',').map(Number))];
  if (ids.some((id) => !Number.isInteger(id) || id < 1 || id > MAX_UINT32)) {
    throw new BadRequest('querystring/kkmIds must be KKM ids separated by commas');
  }
  return ids;
}

/** 400 naming the limit when the selection is too wide for a summary. */
export function checkLimits(kkmCount: number, periodMs: number): void {
  const { maxKkms, oneKkmDays, manyKkmsDays } = ANALYTICS_LIMITS;
  if (kkmCount > maxKkms) {
    throw new BadRequest(`analytics takes at most ${maxKkms} KKMs at once (got ${kkmCount})`);
  }
  const days = kkmCount === 1 ? oneKkmDays : manyKkmsDays;
  if (periodMs > days * DAY_MS) {
    throw new BadRequest(
      kkmCount === 1
        ? `the period for one KKM is at most ${oneKkmDays} days`
        : `the period for 2–${maxKkms} KKMs is at most ${manyKkmsDays} days`,
    );
  }
}

/** Device days 'YYYY-MM-DD' touched by [from, to). */
function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(to.replace(' ', 'T') + 'Z');
  for (let d = Date.parse(from.slice(0, 10) + 'T00:00:00Z'); d < end; d += DAY_MS) {
    out.push(new Date(d).toISOString().slice(0, 10));
  }
  return out;
}

const isWholeDays = (p: { from: string; to: string }) =>
  p.from.endsWith(' 00:00:00') && p.to.endsWith(' 00:00:00');

export async function analyticsRoutes(
  app: TypeBoxApp,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const { ctx } = opts;
  const queries = new CabinetQueries(ctx.db);
  app.addHook('preValidation', requirePermission('analytics'));

  app.get(
    '/api/v1/analytics/summary',
    {
      schema: {
        summary: 'Receipt totals by operation, payment type and tax; per day and per KKM',
        description:
          `One KKM: a period of up to ${ANALYTICS_LIMITS.oneKkmDays} days; 2–` +
          `${ANALYTICS_LIMITS.maxKkms} KKMs: up to ${ANALYTICS_LIMITS.manyKkmsDays} days. ` +
          'Days are device days. Annulled receipts are not counted. Averages are integer ' +
          'divisions rounded down.',
        tags: ['analytics'],
        querystring: Type.Object(
          {
            kkmIds: Type.String({
              pattern: '^[0-9]+(,[0-9]+)*$',
              maxLength: 2000,
              description: 'KKM ids separated by commas (at most 20)',
            }),
            ...periodProperties,
          },
          { additionalProperties: false },
        ),
        response: {
          200: answerObject({
            from: Type.String(),
            to: Type.String({ description: 'exclusive' }),
            kkmIds: Type.Array(Type.Integer()),
            total: answerObject(figuresProperties),
            days: Type.Array(answerObject({ date: Type.String(), ...figuresProperties })),
            kkms: Type.Array(answerObject({ kkmId: Type.Integer(), ...figuresProperties })),
          }),
          ...readErrors,
        },
      },
    },
    async (req) => {
      const kkmIds = parseKkmIds(req.query.kkmIds);
      const period = parsePeriod(req.query.from, req.query.to);
      checkLimits(kkmIds.length, period.ms);
      await requireKkms(ctx, req, kkmIds);

      const dayList = daysOf(period.from, period.to);
      // Whole device days: each KKM's day as kept (read-cache.ts); any other period read as is.
      const rows = isWholeDays(period)
        ? await ctx.reads.summaryOfDays(kkmIds, dayList)
        : await queries.summary(kkmIds, period.from, period.to);
      const total = new Accumulator();
      const days = new Map(dayList.map((d) => [d, new Accumulator()]));
      const kkms = new Map(kkmIds.map((id) => [id, new Accumulator()]));
      for (const r of rows) {
        total.add(r);
        days.get(r.day)?.add(r);
        kkms.get(r.kkmId)?.add(r);
      }
      return {
        from: isoWall(period.from),
        to: isoWall(period.to),
        kkmIds,
        total: total.figures(),
        days: [...days].map(([date, a]) => ({ date, ...a.figures() })),
        kkms: [...kkms].map(([kkmId, a]) => ({ kkmId, ...a.figures() })),
      };
    },
  );
}
