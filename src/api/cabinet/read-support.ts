// What the cabinet's read routes (KKMs, tickets, reports, analytics) share: the one 404 for a
// KKM that does not exist or is out of the caller's scope, device wall-clock periods, opaque
// keyset cursors and the protocol's names. Validation and errors are the HTTP conventions'.
import type { FastifyRequest } from 'fastify';
import { BadRequest, NotFound } from '../http/errors.js';
import { Type, type TProperties, type TSchema } from 'typebox';
import { answerObject, defaulted, errorResponses, idParams, nullable } from '../http/schemas.js';
import { MAX_UINT32 } from '../../protocol/numbers.js';
import { LRUCache } from 'lru-cache';
import { seesKkm, type KkmPlace } from '../../access/grants.js';
import type { CabinetContext } from './index.js';

// A KKM's organization and point are written once at registration, so a short-lived
// per-process cache saves a query on every read; the TTL bounds how long a re-registration to
// another point could be seen late. Misses are never cached.
const placeCaches = new WeakMap<object, LRUCache<number, KkmPlace>>();

async function kkmPlaces(ctx: CabinetContext, kkmIds: number[]): Promise<Map<number, KkmPlace>> {
  let cache = placeCaches.get(ctx.registry);
  if (!cache) {
    cache = new LRUCache({ max: 100_000, ttl: 10_000 });
    placeCaches.set(ctx.registry, cache);
  }
  const out = new Map<number, KkmPlace>();
  const missing: number[] = [];
  for (const id of kkmIds) {
    const hit = cache.get(id);
    if (hit) out.set(id, hit);
    else missing.push(id);
  }
  if (!missing.length) return out;
  for (const [id, place] of await ctx.registry.kkms.kkmPlaces(missing)) {
    cache.set(id, place);
    out.set(id, place);
  }
  return out;
}

/**
 * 404 unless the caller may see every one of these KKMs. A KKM that does not exist, belongs
 * to another org or to a point not granted gets the same answer, so nobody learns which KKM
 * ids exist elsewhere. (Scope.seesKkm's rule, with the KKMs' registration cached.)
 */
export async function requireKkms(ctx: CabinetContext, req: FastifyRequest, kkmIds: number[]) {
  const places = await kkmPlaces(ctx, kkmIds);
  const hidden = kkmIds.filter((id) => !seesKkm(req.caller, places.get(id)));
  if (hidden.length) throw new NotFound(`kkm ${hidden.join(', ')} not found`);
}

export const requireKkm = (ctx: CabinetContext, req: FastifyRequest, kkmId: number) =>
  requireKkms(ctx, req, [kkmId]);

// ---- schemas --------------------------------------------------------------------------------

/** The error answers every read route may give, for the OpenAPI document. */
export const readErrors = errorResponses(400, 401, 403, 404);

export const kkmParams = idParams('kkmId');

/** The answers of a keyset-paged list: a page of `item`s, its cursor, and the read errors. */
export const pageResponses = <I extends TSchema, M extends TProperties = Record<never, never>>(
  item: I,
  more: M = {} as M,
) => ({
  200: answerObject({
    ...more,
    items: Type.Array(item),
    nextCursor: nullable(Type.String()),
    hasMore: Type.Boolean(),
  }),
  ...readErrors,
});

const WALL_CLOCK = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$';

export const periodProperties = {
  from: Type.String({
    pattern: WALL_CLOCK,
    description:
      'Start of the period, device wall clock without a time zone: YYYY-MM-DD or ' +
      'YYYY-MM-DDThh:mm[:ss] (inclusive)',
  }),
  to: Type.String({
    pattern: WALL_CLOCK,
    description:
      'End of the period, device wall clock: a date-time is exclusive, a bare date YYYY-MM-DD ' +
      'includes that whole day',
  }),
};

/** The period as optional query fields, where a shift may stand instead. */
export const optionalPeriodProperties = {
  from: Type.Optional(periodProperties.from),
  to: Type.Optional(periodProperties.to),
};

export const cursorProperties = {
  limit: defaulted(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'nextCursor of the previous page (opaque)',
    }),
  ),
};

// ---- device wall-clock periods --------------------------------------------------------------

export interface Period {
  /** 'YYYY-MM-DD hh:mm:ss', inclusive. */
  from: string;
  /** 'YYYY-MM-DD hh:mm:ss', exclusive. */
  to: string;
  /** Length of [from, to) in ms. */
  ms: number;
}

const DAY_MS = 86_400_000;
const asUtc = (text: string) => Date.parse(text.replace(' ', 'T') + 'Z');
const wallText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** A wall-clock text as ms on a UTC scale (for arithmetic only), or NaN for an impossible one. */
function parseWall(text: string, field: string): { ms: number; dateOnly: boolean } {
  const dateOnly = text.length === 10;
  const normal = dateOnly
    ? `${text} 00:00:00`
    : `${text.replace('T', ' ')}${text.length === 16 ? ':00' : ''}`;
  const ms = asUtc(normal);
  // Date.parse accepts 2024-02-31 as March 2; the round trip refuses it.
  if (Number.isNaN(ms) || wallText(ms) !== normal) {
    throw new BadRequest(`querystring/${field} is not a valid date and time`);
  }
  return { ms, dateOnly };
}

/** [from, to) of a query, or a 400 naming what is wrong. */
export function parsePeriod(from: string, to: string): Period {
  const f = parseWall(from, 'from');
  const t = parseWall(to, 'to');
  const end = t.dateOnly ? t.ms + DAY_MS : t.ms;
  if (end <= f.ms) throw new BadRequest('querystring/to must be after from');
  return { from: wallText(f.ms), to: wallText(end), ms: end - f.ms };
}

/** 'YYYY-MM-DD hh:mm:ss' (device wall clock) as ISO 8601 without a zone. */
export const isoWall = (text: string) => text.replace(' ', 'T');

/** Shift, or period, or neither (when `optional`); both → 400. */
export function documentFilter(
  q: { shift?: number; from?: string; to?: string },
  optional = false,
): { shift: number } | { from: string; to: string; ms: number } | Record<string, never> {
  const hasPeriod = q.from !== undefined || q.to !== undefined;
  if (q.shift !== undefined && hasPeriod) {
    throw new BadRequest('querystring: give either shift or from and to, not both');
  }
  if (q.shift !== undefined) return { shift: q.shift };
  if (hasPeriod) {
    if (q.from === undefined) throw new BadRequest('querystring/from is required with to');
    if (q.to === undefined) throw new BadRequest('querystring/to is required with from');
    return parsePeriod(q.from, q.to);
  }
  if (optional) return {};
  throw new BadRequest('querystring: give shift, or from and to');
}

// ---- cursors --------------------------------------------------------------------------------

/** An opaque cursor: the KKM and the doc_seq of the last item returned. */
export function encodeCursor(kkmId: number, docSeq: number): string {
  return Buffer.from(JSON.stringify({ k: kkmId, s: docSeq })).toString('base64url');
}

/** The doc_seq a cursor points after (0 for no cursor); a foreign or broken cursor → 400. */
export function decodeCursor(cursor: string | undefined, kkmId: number): number {
  if (cursor === undefined) return 0;
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      k?: unknown;
      s?: unknown;
    };
    if (
      c.k === kkmId &&
      typeof c.s === 'number' &&
      Number.isInteger(c.s) &&
      c.s >= 0 &&
      c.s <= MAX_UINT32
    ) {
      return c.s;
    }
  } catch {
    // falls through to the 400 below
  }
  throw new BadRequest('querystring/cursor is not a cursor of this KKM listing');
}

// ---- protocol names (spelled once, from the schema) ------------------------------------------

export {
  OPERATION_NAMES,
  PAYMENT_NAMES,
  itemTypeName,
  operationName,
  paymentName,
} from '../../fiscal/names.js';
