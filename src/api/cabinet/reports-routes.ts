// Reports (cabinet manual §10). type=z: the Z reports of closed shifts, by shift or by the
// device time of the closure, each with the device's figures, ours and whether they agree
// (the figures compareReports checks). type=x: the X report of the open shift as of now,
// computed from its stored documents exactly as the KKM's own COMMAND_REPORT would get it.
// Reports are the protocol's ZXReport message as JSON (field names as in report.proto), with
// every Money turned into integer tiyn.
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { buildReport, compareReports, reportJson } from '../../fiscal/zx-report.js';
import { fromWallClock, wallClockAt } from '../../protocol/datetime.js';
import { toTiyn } from '../../fiscal/money.js';
import type { IZXReport } from '../../protocol/schema.js';
import { CabinetQueries, type ClosedShiftRow } from '../../storage/cabinet-queries.js';
import { DocumentQueries } from '../../storage/document-queries.js';
import type { CabinetContext } from './index.js';
import { pageAfter } from './read-cache.js';
import { requirePermission } from './authenticate.js';
import {
  cursorProperties,
  decodeCursor,
  documentFilter,
  encodeCursor,
  pageResponses,
  isoWall,
  kkmParams,
  optionalPeriodProperties,
  requireKkm,
} from './read-support.js';
import { answerObject, idSchema, nullable } from '../http/schemas.js';
import { BadRequest } from '../http/errors.js';

const isMoney = (v: object): v is { bills: unknown; coins: unknown } => {
  const keys = Object.keys(v);
  return keys.length === 2 && 'bills' in v && 'coins' in v;
};

/** A report (or any JSON) with every {bills, coins} replaced by integer tiyn. */
export function moneyToTiyn(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(moneyToTiyn);
  if (value && typeof value === 'object') {
    if (isMoney(value)) {
      return toTiyn({ bills: Number(value.bills), coins: Number(value.coins) }) ?? 0;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, moneyToTiyn(v)]));
  }
  return value;
}

/** A stored DateTime message as device wall-clock ISO text, or null. */
function reportTime(dt: unknown): string | null {
  const d = dt as { date?: Record<string, number>; time?: Record<string, number> } | undefined;
  if (!d?.date?.year) return null;
  const p = (n: number | undefined) => String(n ?? 0).padStart(2, '0');
  return (
    `${d.date.year}-${p(d.date.month)}-${p(d.date.day)}` +
    `T${p(d.time?.hour)}:${p(d.time?.minute)}:${p(d.time?.second)}`
  );
}

const parseReport = (json: string): IZXReport | null => {
  if (!json) return null;
  try {
    return JSON.parse(json) as IZXReport;
  } catch {
    return null;
  }
};

const anyJson = Type.Unknown();
/** ZXReport as JSON (report.proto field names), money in integer tiyn; or null. */
const reportSchema = (description: string) =>
  Type.Unsafe<unknown>({ type: ['object', 'null'], additionalProperties: true, description });

const reportItem = answerObject({
  shiftNumber: Type.Integer(),
  openedAt: nullable(Type.String({ description: 'device wall clock' })),
  closedAt: nullable(Type.String({ description: 'device wall clock; null for X' })),
  receivedAt: nullable(Type.String({ description: 'UTC; null for X' })),
  offline: Type.Boolean(),
  device: reportSchema("The KKM's own Z report (null for X)"),
  server: reportSchema('The report the OFD computed'),
  match: nullable(
    Type.Boolean({ description: 'whether the device and server figures agree (null for X)' }),
  ),
  differences: Type.Array(answerObject({ field: Type.String(), device: anyJson, server: anyJson })),
});

const parseValue = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

function zItem(row: ClosedShiftRow) {
  const device = parseReport(row.deviceReport);
  const server = parseReport(row.serverReport);
  const differences = device && server ? compareReports(device, server) : [];
  return {
    shiftNumber: row.shiftNumber,
    openedAt: reportTime(server?.open_shift_time),
    closedAt: isoWall(row.closedAt),
    receivedAt: new Date(row.receivedAt).toISOString(),
    offline: row.offline,
    device: device ? moneyToTiyn(device) : null,
    server: server ? moneyToTiyn(server) : null,
    match: device && server ? differences.length === 0 : null,
    differences: differences.map((d) => ({
      field: d.field,
      device: parseValue(d.device),
      server: parseValue(d.server),
    })),
  };
}

export async function reportsRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }): Promise<void> {
  const { ctx } = opts;
  const queries = new CabinetQueries(ctx.db);
  const documents = new DocumentQueries(ctx.db);
  app.addHook('preValidation', requirePermission('reports'));

  app.get(
    '/api/v1/kkms/:kkmId/reports',
    {
      schema: {
        summary: 'Z reports by shift or period (device vs server), or the current X report',
        description:
          'type=z with `shift`, or `from` and `to` (device time of the closure), paged like ' +
          'the receipts. type=x takes no other parameter and gives the X report of the open ' +
          'shift as of now (no items when no shift is open).',
        tags: ['reports'],
        params: kkmParams,
        querystring: Type.Object(
          {
            type: Type.Enum(['x', 'z'], { type: 'string' }),
            shift: Type.Optional(
              Type.Integer({ ...idSchema, description: 'shift number (type=z)' }),
            ),
            ...optionalPeriodProperties,
            ...cursorProperties,
          },
          { additionalProperties: false },
        ),
        response: {
          ...pageResponses(reportItem, { type: Type.String() }),
        },
      },
    },
    async (req) => {
      const { kkmId } = req.params;
      const q = req.query;
      if (q.type === 'x') {
        if (q.shift !== undefined || q.from !== undefined || q.to !== undefined || q.cursor) {
          throw new BadRequest('querystring: type=x takes no shift, period or cursor');
        }
        await requireKkm(ctx, req, kkmId);
        // The open shift's documents and the totals before it, kept until the KKM's next one.
        const x = await ctx.reads.cache.answer(
          [kkmId],
          `x:${kkmId}`,
          async () => {
            const [kkm] = await queries.overview([kkmId]);
            const open = kkm?.openShift;
            if (!open) return null;
            const [docs, before] = await Promise.all([
              documents.shiftDocuments(kkmId, open.number),
              documents.totalsBefore(kkmId, open.number),
            ]);
            return { open, docs, before };
          },
          (v) => 512 + (v?.docs.length ?? 0) * 400,
        );
        if (!x) return { type: 'x', items: [], nextCursor: null, hasMore: false };
        const { open, docs, before } = x;
        // "Now" on the server's clock, as ingest dates an X report the KKM asked for undated.
        const report = buildReport(docs, before, {
          shiftNumber: open.number,
          dateTime: fromWallClock(wallClockAt(Date.now())),
          openedAt: fromWallClock(open.openedAt),
        });
        return {
          type: 'x',
          items: [
            {
              shiftNumber: open.number,
              openedAt: isoWall(open.openedAt),
              closedAt: null,
              receivedAt: null,
              offline: false,
              device: null,
              server: moneyToTiyn(JSON.parse(reportJson(report))),
              match: null,
              differences: [],
            },
          ],
          nextCursor: null,
          hasMore: false,
        };
      }
      const filter = documentFilter(q);
      const after = decodeCursor(q.cursor, kkmId);
      await requireKkm(ctx, req, kkmId);
      // A shift's closures as kept (read-cache.ts); periods read as they are.
      const { items, more } =
        'shift' in filter
          ? pageAfter(await ctx.reads.closuresOfShift(kkmId, filter.shift), after, q.limit)
          : await queries.closedShifts(kkmId, filter, after, q.limit);
      const last = items[items.length - 1];
      return {
        type: 'z',
        items: items.map(zItem),
        nextCursor: last ? encodeCursor(kkmId, last.docSeq) : null,
        hasMore: more,
      };
    },
  );
}
