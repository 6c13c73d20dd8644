// Transactions (cabinet manual §9): a KKM's receipts by shift or by device-time period, paged
// by an opaque keyset cursor on doc_seq, and one whole receipt with the QR URL the device was
// answered. Receipts made offline carry `offline: true` (the cabinet's "A" mark); receipts a
// cancel_ticket annulled carry `annulled: true`. Money is integer tiyn.
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { ticketNumber as fiscalNumber } from '../../fiscal/device-state.js';
import { Response } from '../../protocol/schema.js';
import { CabinetQueries, type TicketSummary } from '../../storage/cabinet-queries.js';
import { pageAfter } from './read-cache.js';
import { paymentsJson, receiptLines } from '../receipt-view.js';
import type { CabinetContext } from './index.js';
import { requirePermission } from './authenticate.js';
import {
  item203Properties,
  payment203Properties,
  receipt203Json,
  receipt203Properties,
} from './receipt-203.js';
import {
  cursorProperties,
  decodeCursor,
  documentFilter,
  encodeCursor,
  pageResponses,
  readErrors,
  kkmParams,
  isoWall,
  operationName,
  optionalPeriodProperties,
  OPERATION_NAMES,
  requireKkm,
} from './read-support.js';
import { answerEnum, answerObject, idSchema, nullable } from '../http/schemas.js';
import { httpError } from '../http/errors.js';

const HEADER_BYTES = 18;

const payment = answerObject({ type: Type.String(), sum: Type.Integer() });

const common = {
  ticketNumber: Type.String(),
  dateTime: Type.String({ description: 'device wall clock, no time zone' }),
  receivedAt: Type.String({ description: 'UTC' }),
  shiftNumber: Type.Integer(),
  operation: answerEnum([...OPERATION_NAMES]),
  total: Type.Integer({ description: 'tiyn' }),
  payments: Type.Array(payment),
  offline: Type.Boolean({ description: 'made in offline mode (marked "A")' }),
  offlineNumber: Type.Integer({ description: 'the offline receipt number (0: online)' }),
  annulled: Type.Boolean({ description: 'annulled by a cancel_ticket' }),
};

const ticketItem = answerObject(common);

const receipt = answerObject({
  kkmId: Type.Integer(),
  ...common,
  payments: Type.Array(answerObject({ ...payment.properties, ...payment203Properties })),
  ...receipt203Properties,
  printedNumber: Type.Integer(),
  cashier: answerObject({ code: Type.Integer(), name: Type.String() }),
  items: Type.Array(
    answerObject({
      type: Type.String(),
      name: Type.String(),
      section: Type.String(),
      quantity: Type.Integer({ description: 'thousandths (1000 = 1)' }),
      price: Type.Integer(),
      sum: Type.Integer(),
      code: Type.Integer(),
      barcode: Type.String(),
      unit: Type.String(),
      taxPercent: Type.Integer({ description: 'thousandths of a percent' }),
      taxSum: Type.Integer(),
      ...item203Properties,
    }),
  ),
  taxes: Type.Array(
    answerObject({
      type: Type.Integer(),
      percent: Type.Integer({ description: 'thousandths of a percent' }),
      sum: Type.Integer(),
      turnover: Type.Integer(),
    }),
  ),
  amounts: answerObject({
    total: Type.Integer(),
    taken: Type.Integer(),
    change: Type.Integer(),
    discount: Type.Integer(),
    markup: Type.Integer(),
  }),
  customer: answerObject({
    iinOrBin: Type.String(),
    email: Type.String(),
    phone: Type.String(),
  }),
  qrUrl: nullable(Type.String({ description: 'the QR code answered to the device' })),
});

const summaryJson = (t: TicketSummary) => ({
  ticketNumber: t.ticketNumber,
  dateTime: isoWall(t.deviceTime),
  receivedAt: new Date(t.receivedAt).toISOString(),
  shiftNumber: t.shiftNumber,
  operation: operationName(t.operation),
  total: t.total,
  payments: paymentsJson(t.payments),
  offline: t.offline,
  offlineNumber: t.offlineNumber,
  annulled: t.annulled,
});

/** The QR text of a stored answer frame (header + protobuf Response), or null. */
export function qrUrl(responseBase64: string): string | null {
  if (!responseBase64) return null;
  try {
    const frame = Buffer.from(responseBase64, 'base64');
    const qr = Response.decode(frame.subarray(HEADER_BYTES)).ticket?.qr_code;
    return qr && qr.length ? Buffer.from(qr).toString('utf8') : null;
  } catch {
    return null;
  }
}

export async function ticketsRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }): Promise<void> {
  const { ctx } = opts;
  const queries = new CabinetQueries(ctx.db);
  app.addHook('preValidation', requirePermission('transactions'));

  app.get(
    '/api/v1/kkms/:kkmId/tickets',
    {
      schema: {
        summary: 'Receipts of a KKM by shift or by device-time period, paged',
        description:
          'Give `shift`, or `from` and `to`. Items come in the order the KKM made them ' +
          '(doc_seq). `nextCursor` points after the last item of this page and is null only ' +
          'when the page is empty, so a client may keep polling with it for receipts that ' +
          'arrive later; `hasMore` tells whether more receipts already exist after the page.',
        tags: ['transactions'],
        params: kkmParams,
        querystring: Type.Object(
          {
            shift: Type.Optional(Type.Integer({ ...idSchema, description: 'shift number' })),
            ...optionalPeriodProperties,
            ...cursorProperties,
          },
          { additionalProperties: false },
        ),
        response: {
          ...pageResponses(ticketItem),
        },
      },
    },
    async (req) => {
      const { kkmId } = req.params;
      const filter = documentFilter(req.query);
      const after = decodeCursor(req.query.cursor, kkmId);
      await requireKkm(ctx, req, kkmId);
      const { limit } = req.query;
      const kept = 'shift' in filter ? await ctx.reads.shift(kkmId, filter.shift) : null;
      const { items, more } =
        kept && 'receipts' in kept
          ? pageAfter(kept.receipts, after, limit)
          : await queries.tickets(kkmId, filter, after, limit);
      const last = items[items.length - 1];
      return {
        items: items.map(summaryJson),
        nextCursor: last ? encodeCursor(kkmId, last.docSeq) : null,
        hasMore: more,
      };
    },
  );

  app.get(
    '/api/v1/kkms/:kkmId/tickets/:ticketNumber',
    {
      schema: {
        summary: 'One whole receipt by its fiscal number',
        tags: ['transactions'],
        params: Type.Object(
          { kkmId: idSchema, ticketNumber: Type.String({ pattern: '^[0-9]{1,32}$' }) },
          { additionalProperties: false },
        ),
        response: { 200: receipt, ...readErrors },
      },
    },
    async (req) => {
      const { kkmId, ticketNumber } = req.params;
      await requireKkm(ctx, req, kkmId);
      // Our fiscal numbers are the KKM id and its 10-digit document number: that finds the row
      // by primary key. Any other number is still looked up by value.
      const digits = ticketNumber.slice(String(kkmId).length);
      const seq = /^[0-9]{10}$/.test(digits) ? Number(digits) : undefined;
      const exact = seq !== undefined && fiscalNumber(kkmId, seq) === ticketNumber;
      const t = exact
        ? await ctx.reads.receipt(kkmId, seq, ticketNumber)
        : await queries.ticket(kkmId, ticketNumber);
      if (!t) throw httpError(404, `ticket ${ticketNumber} of kkm ${kkmId} not found`);
      return {
        kkmId,
        ...summaryJson(t),
        ...receipt203Json(t),
        printedNumber: t.printedNumber,
        cashier: { code: t.operatorCode, name: t.operatorName },
        ...receiptLines(t),
        amounts: {
          total: t.total,
          taken: t.taken,
          change: t.change,
          discount: t.discount,
          markup: t.markup,
        },
        customer: { iinOrBin: t.customerIin, email: t.customerEmail, phone: t.customerPhone },
        qrUrl: qrUrl(t.response),
      };
    },
  );
}
