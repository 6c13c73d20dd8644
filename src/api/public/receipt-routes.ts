// The buyer's receipt check behind every QR code: GET <path of OFD_RECEIPT_URL> (a page) and
// GET /api/v1/public/receipts (the same as JSON), no login. All four QR facts must match the
// stored receipt, or the answer is 404 whichever one is wrong, so a number alone reveals
// nothing; a missing or malformed one is 400; each address has a rate limit kept in Redis so
// every API process shares its buckets (429 with Retry-After).
//
// A receipt never changes except for a cancellation, so answers are cached in this process
// and by browsers for OFD_RECEIPT_CACHE_TTL_MS (max-age), with an ETag (a digest of the
// receipt, and the page's language) to revalidate: a cancellation shows within that time. Misses are not cached (an offline receipt may be
// uploaded any moment).
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { parseReceiptQuery, type ReceiptKey } from '../../fiscal/receipt-url.js';
import type { Db } from '../../storage/db.js';
import { ReceiptCheckCache } from '../../storage/receipt-check-cache.js';
import { ReceiptLookup, type Seller } from '../../storage/receipt-lookup.js';
import { publicReceipt, type PublicReceipt } from './public-receipt.js';
import type { ReceiptCheckConfig } from '../../config/receipt-check.js';
import { problemPage, receiptPage, type ProblemKind } from './receipt-page.js';
import { pickLang } from './receipt-texts.js';

export interface ReceiptCheckOptions {
  db: Db;
  redis: Redis;
  redisPrefix: string;
  settings: ReceiptCheckConfig;
}

export const RECEIPT_JSON_PATH = '/api/v1/public/receipts';

/** Sellers (org, point, KKM) change rarely and are shared by many receipts. */
const SELLER_CACHE_ENTRIES = 10_000;

// The page runs no script and loads nothing: its own inline style is all it may use.
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
};

type Query = Record<string, unknown>;

/** Sets the ETag; true when the client holds that version already (answer 304, no body). */
function notModified(req: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  reply.header('etag', tag);
  const held = req.headers['if-none-match'];
  return !!held && held.split(',').some((t) => t.trim().replace(/^W\//, '') === tag);
}

/** A receipt as answered, with a digest of its content for ETags (computed once). */
interface Answer {
  receipt: PublicReceipt;
  digest: string;
}

const answerOf = (receipt: PublicReceipt): Answer => ({
  receipt,
  digest: createHash('sha1').update(JSON.stringify(receipt)).digest('base64url').slice(0, 22),
});

/** The receipt a QR code names, built once per cache lifetime. */
function receiptSource(db: Db, settings: ReceiptCheckConfig, cache?: ReceiptCheckCache) {
  const lookup = new ReceiptLookup(db, cache);
  const ttl = settings.cacheTtlMs;
  const sellers = new LRUCache<string, Seller, [number, number, number]>({
    max: SELLER_CACHE_ENTRIES,
    ttl,
    fetchMethod: async (_id, _stale, { context }) => (await lookup.seller(...context)) ?? undefined,
  });
  const build = async (key: ReceiptKey): Promise<Answer | undefined> => {
    const found = await lookup.find(key);
    if (!found) return undefined;
    const ids: [number, number, number] = [found.orgId, found.pointId, found.kkmId];
    const seller = await sellers.fetch(ids.join(':'), { context: ids });
    return seller && answerOf(publicReceipt(found, seller));
  };
  if (!settings.cacheEntries) return build;
  const answers = new LRUCache<string, Answer, ReceiptKey>({
    max: settings.cacheEntries,
    ttl,
    fetchMethod: (_id, _stale, { context }) => build(context),
  });
  return (key: ReceiptKey) =>
    answers.fetch(`${key.kgdNumber}\n${key.number}\n${key.deviceTime}\n${key.total}`, {
      context: key,
    });
}

export async function receiptCheckRoutes(
  app: FastifyInstance,
  opts: ReceiptCheckOptions,
): Promise<void> {
  const { settings } = opts;
  const pagePath = settings.pagePath;
  // The read model in Redis: a check reads the engine only on a miss there.
  const cache = settings.redisDays
    ? new ReceiptCheckCache(opts.redis, opts.redisPrefix, settings.redisDays)
    : undefined;
  const receiptFor = receiptSource(opts.db, settings, cache);
  const maxAge = `public, max-age=${Math.floor(settings.cacheTtlMs / 1000)}`;

  const isPage = (url: string | undefined) => url !== RECEIPT_JSON_PATH;
  const problem = (reply: FastifyReply, status: number, kind: ProblemKind, key?: ReceiptKey) => {
    reply.code(status).header('cache-control', status === 429 ? 'no-store' : 'no-cache');
    const req = reply.request;
    if (!isPage(req.routeOptions.url)) {
      return reply.send({ error: kind, message: status === 404 ? 'no such receipt' : kind });
    }
    const q = req.query as Query;
    const lang = pickLang(q.lang, req.headers['accept-language']);
    return reply.headers(PAGE_HEADERS).send(problemPage(kind, lang, pagePath, key ?? null));
  };

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.statusCode === 429) return problem(reply, 429, 'tooMany');
    req.log.error({ err, url: req.url }, 'receipt check failed');
    return reply.code(500).send({ error: 'Internal Server Error', message: 'see the server log' });
  });
  if (settings.rateMax > 0) {
    // A connection of its own: scripts defined on the shared one would be copied into every
    // auto-pipeline of the ingest path.
    const redis = opts.redis.duplicate();
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis error (receipt rate)'));
    app.addHook('onClose', async () => redis.disconnect());
    await app.register(rateLimit, {
      max: settings.rateMax,
      timeWindow: settings.rateWindowMs,
      redis,
      nameSpace: `${opts.redisPrefix}receipt-rate:`,
      // Redis unreachable: the check still answers (the limit is a guard, not a gate).
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) =>
        Object.assign(new Error(`rate limit exceeded, retry in ${ctx.after}`), {
          statusCode: ctx.statusCode,
        }),
    });
  }

  /** The receipt of the request's QR facts, or the reply already sent for a problem. */
  const lookupFor = async (q: Query, reply: FastifyReply) => {
    const parsed = parseReceiptQuery(q);
    if ('problem' in parsed) {
      problem(reply, 400, 'badRequest');
      return null;
    }
    const answer = await receiptFor(parsed.key);
    if (!answer) {
      problem(reply, 404, 'notFound', parsed.key);
      return null;
    }
    reply.header('cache-control', maxAge);
    return { key: parsed.key, ...answer };
  };

  app.get<{ Querystring: Query }>(pagePath, { schema: { hide: true } }, async (req, reply) => {
    // Without ?lang= the page's language follows Accept-Language.
    reply.header('vary', 'accept-language');
    const hit = await lookupFor(req.query, reply);
    if (!hit) return reply;
    const lang = pickLang(req.query.lang, req.headers['accept-language']);
    // The ETag is the receipt's and the language's: a revalidation costs no rendering.
    reply.headers(PAGE_HEADERS);
    if (notModified(req, reply, `"${hit.digest}-${lang}"`)) return reply.code(304).send();
    return reply.send(receiptPage(hit.receipt, lang, pagePath, hit.key));
  });

  app.get<{ Querystring: Query }>(
    RECEIPT_JSON_PATH,
    {
      schema: {
        summary: "The buyer's receipt check: the receipt a QR code names",
        description:
          'No login. `i` (fiscal number), `f` (KGD number of the KKM), `s` (total in tenge, ' +
          'two decimals) and `t` (device time YYYYMMDDTHHMMSS) must all match the stored ' +
          'receipt, else 404; a missing or malformed one is 400; 429 past the per-address ' +
          'rate limit. Money in tiyn; items, payments and taxes as in the cabinet receipt.',
        tags: ['public'],
        security: [],
      },
    },
    async (req, reply) => {
      const hit = await lookupFor(req.query, reply);
      if (!hit) return reply;
      if (notModified(req, reply, `"${hit.digest}"`)) return reply.code(304).send();
      return reply.send(hit.receipt);
    },
  );
}
