// The buyer's receipt check behind every QR code: GET <path of OFD_RECEIPT_URL> (a page) and
// GET /api/v1/public/receipts (the same as JSON), no login. All four QR facts must match the
// stored receipt, or the answer is 404 whichever one is wrong, so a number alone reveals
// nothing; a missing or malformed one is 400; each address has a rate limit shared by every
// API process through Redis (429 with Retry-After).
//
// A check is one read of the Redis read model (or of the engine on a miss there); its page is
// rendered straight from the cached columns (receipt-page.ts) and kept, as bytes, per receipt
// and language in this process for OFD_RECEIPT_CACHE_TTL_MS, which is also the answers'
// max-age: a cancellation shows within that time. A check of a receipt held here costs a map
// lookup and the write of those bytes: its four QR parameters, as sent, are the key (they were
// checked when it was stored), and the page's headers are one constant set (helmet's, with the
// page's own Content-Security-Policy) instead of helmet's per-request work. The ETag is a
// digest of the cached value (the receipt and its cancellation) and of its seller, made once
// per answer, so a revalidation costs no rendering and every process and restart gives the
// same one. Misses are not cached (an offline receipt may be uploaded any moment).
//
// The rate limit is a token bucket per address (OFD_RECEIPT_RATE_MAX a window, bursts of as
// many): each process spends from its own and reports to the shared one in Redis every few
// checks (access/token-buckets.ts), so no check waits for Redis; a process overspends an
// address by at most such a chunk between reports, and goes on alone while Redis fails.
import { hash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { TokenBuckets } from '../../access/token-buckets.js';
import { parseReceiptQuery, type ReceiptKey } from '../../fiscal/receipt-url.js';
import type { Db } from '../../storage/db.js';
import { SharedRateBuckets } from '../../storage/rate-buckets.js';
import { TtlCache } from '../../storage/ttl-cache.js';
import {
  cachedRow,
  cachedValues,
  COLUMN,
  ReceiptCheckCache,
} from '../../storage/receipt-check-cache.js';
import { ReceiptLookup, receiptOfRow, type Seller } from '../../storage/receipt-lookup.js';
import { publicReceipt } from './public-receipt.js';
import type { ReceiptCheckConfig } from '../../config/receipt-check.js';
import {
  PAGE_START,
  problemPage,
  receiptPage,
  sellerFacts,
  type ProblemKind,
} from './receipt-page.js';
import { pickLang, type Lang } from './receipt-texts.js';

export interface ReceiptCheckOptions {
  db: Db;
  redis: Redis;
  redisPrefix: string;
  settings: ReceiptCheckConfig;
}

export const RECEIPT_JSON_PATH = '/api/v1/public/receipts';

/** Sellers (org, point, KKM) change rarely and are shared by many receipts. */
const SELLER_CACHE_ENTRIES = 10_000;
/** Checks an address spends between reports to the shared bucket, at most. */
const RATE_CHUNK_MAX = 16;
/** Bumped when the page's markup changes, so that browsers do not keep an old page by ETag. */
const PAGE_VERSION = '2';

// The page runs no script and loads nothing: its own inline style is all it may use. The rest
// is what helmet sends with every other answer (test/public/receipt-check.test.ts compares).
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-robots-tag': 'noindex',
  'x-xss-protection': '0',
  // Without ?lang= the page's language follows Accept-Language.
  vary: 'accept-language',
};

type Query = Record<string, unknown>;

/** Sets the ETag; true when the client holds that version already (answer 304, no body). */
function notModified(req: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  reply.header('etag', tag);
  const held = req.headers['if-none-match'];
  return !!held && held.split(',').some((t) => t.trim().replace(/^W\//, '') === tag);
}

/** A seller as the pages show it: its facts rendered per language, and a digest of them. */
interface SellerAnswer {
  seller: Seller;
  facts: Record<Lang, string>;
  digest: string;
}

/**
 * A receipt as this process answers it: its cached value, and what was made of it. Every first
 * touch leaves one behind in the young generation, so it holds few objects: not its QR facts
 * (parsed again from the query on the rare render of a held one), flat strings only.
 */
interface Answer {
  /** The read model's value (packed columns). */
  value: Buffer;
  seller: SellerAnswer;
  /** Of the value: the ETag's start (the seller's digest and, for a page, the language follow). */
  digest: string;
  /** Held until then (Date.now()). */
  expires: number;
  pages: Partial<Record<Lang, Buffer>>;
  json?: Buffer;
}

/** `chars` of a SHA-1 digest (a multiple of 4), as a flat string: no slice keeps the rest. */
const digestOf = (data: string | Buffer, chars: number) =>
  hash('sha1', data, 'buffer').toString('base64url', 0, (chars / 4) * 3);

/** Of the value and the seller: the ETag's (with the language for a page). */
const etagOf = (answer: Answer) => answer.digest + answer.seller.digest;

/**
 * The QR parameters as sent, when each is one string: a held answer's key. Joined into one flat
 * string: concatenated, it would be a tree of pieces that keeps each parameter (and the URL it
 * may be a slice of) alive while the answer is held, twice the bytes a first touch leaves behind.
 */
function sentKey(q: Query): string | null {
  const { i, f, s, t } = q;
  if (typeof i !== 'string' || typeof f !== 'string') return null;
  if (typeof s !== 'string' || typeof t !== 'string') return null;
  return [i, f, s, t].join('\n');
}

/**
 * Answers held for `ttlMs` each, at most `max` of them: the oldest goes first when full (first
 * in, first out: since every answer expires anyway, recency would keep little more, at the
 * cost of reordering on every hit).
 */
class HeldAnswers {
  private readonly entries = new Map<string, Answer>();

  constructor(private readonly max: number) {}

  get(key: string): Answer | undefined {
    const answer = this.entries.get(key);
    if (!answer) return undefined;
    if (answer.expires > Date.now()) return answer;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, answer: Answer): void {
    this.entries.delete(key);
    this.entries.set(key, answer);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** Bytes of the pages held, in slabs of this size. */
const SLAB_BYTES = 256 * 1024;
/** No constant start (the JSON answer). */
const NOTHING = Buffer.alloc(0);

/**
 * The bytes of held pages, written one after another into shared slabs instead of a buffer
 * each (which costs an allocation and, past a few KiB, zero-filling of its own): held answers
 * go first in, first out, so a slab is freed soon after the last of its pages.
 */
class PageBytes {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  /** `start` (bytes) and then `text`, as one piece. */
  of(start: Buffer, text: string): Buffer {
    const most = start.length + text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (most > SLAB_BYTES / 8) return Buffer.concat([start, Buffer.from(text)]);
    if (this.used + most > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const begin = this.used;
    this.slab.set(start, begin);
    this.used += start.length + this.slab.write(text, begin + start.length);
    return this.slab.subarray(begin, this.used);
  }
}

/** The receipts QR codes name, as answers, held for a while when the settings say so. */
function answerSource(db: Db, settings: ReceiptCheckConfig, cache?: ReceiptCheckCache) {
  const lookup = new ReceiptLookup(db, cache);
  const ttl = settings.cacheTtlMs;
  const sellers = new TtlCache<string, SellerAnswer | null>(ttl, SELLER_CACHE_ENTRIES);
  const sellerOf = (values: readonly unknown[]) => {
    const [org, point, kkm] = [COLUMN.org_id, COLUMN.point_id, COLUMN.kkm_id].map((c) =>
      Number(values[c]),
    ) as [number, number, number];
    return sellers.get(`${org}:${point}:${kkm}`, async () => {
      const s = await lookup.seller(org, point, kkm);
      return s && { seller: s, facts: sellerFacts(s), digest: digestOf(JSON.stringify(s), 8) };
    });
  };
  /** The answer to a check by `key`, with its columns (to render it at once), or null. */
  const load = async (key: ReceiptKey) => {
    const read = await lookup.value(key);
    if (!read) return null;
    // Redis hands back a slice of the socket's read chunk (up to 64 KiB); held as it is, every
    // held answer would keep its whole chunk alive. A copy of its own is a few hundred bytes.
    const value = Buffer.from(read);
    const values = cachedValues(value);
    if (Number(values[COLUMN.total]) !== key.total) return null;
    const seller = await sellerOf(values);
    if (!seller) return null;
    const digest = digestOf(value, 16);
    const answer: Answer = { value, seller, digest, expires: Date.now() + ttl, pages: {} };
    return { answer, values };
  };
  const answers = settings.cacheEntries ? new HeldAnswers(settings.cacheEntries) : null;
  return {
    /** The answer held for these QR parameters as sent, if any. */
    held: (sent: string | null) => (sent === null ? undefined : answers?.get(sent)),
    async load(key: ReceiptKey, sent: string | null) {
      const found = await load(key);
      if (found && sent !== null) answers?.set(sent, found.answer);
      return found;
    },
  };
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
  const answers = answerSource(opts.db, settings, cache);
  const bytes = new PageBytes();
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
    req.log.error({ err, url: req.url }, 'receipt check failed');
    return reply.code(500).send({ error: 'Internal Server Error', message: 'see the server log' });
  });

  const rate = (settings.rateMax * 1000) / settings.rateWindowMs;
  const shared = new SharedRateBuckets(opts.redis, opts.redisPrefix);
  let warnedAt = -Infinity;
  const limiter =
    settings.rateMax > 0
      ? new TokenBuckets<string>(
          rate,
          settings.rateMax,
          undefined,
          (address, spent) =>
            shared.spend('receipt', address, spent, rate, settings.rateMax).catch((err) => {
              // Every report fails while Redis does: a line every 10 s is enough.
              if (Date.now() - warnedAt > 10_000) {
                warnedAt = Date.now();
                app.log.warn({ err: (err as Error).message }, 'receipt check rate not shared');
              }
              throw err;
            }),
          Math.min(RATE_CHUNK_MAX, Math.ceil(settings.rateMax / 10)),
        )
      : null;
  if (limiter) {
    const sweeper = setInterval(() => limiter.sweep(), 10_000).unref();
    app.addHook('onClose', async () => clearInterval(sweeper));
  }
  /** Takes a check out of the address's budget; false when over it (429 sent). */
  const admitted = (req: FastifyRequest, reply: FastifyReply) => {
    const over = limiter?.take(req.ip);
    if (!over) return true;
    reply.header('retry-after', String(Math.max(1, Math.ceil((1 - over.tokens) / rate))));
    problem(reply, 429, 'tooMany');
    return false;
  };

  /**
   * The answer to the request's QR facts and a way to what it is rendered from (its QR facts and
   * columns, decoded at most once), or null when the reply for a problem (429, 400, 404) was sent.
   */
  const answerFor = async (req: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
    if (!admitted(req, reply)) return null;
    const sent = sentKey(req.query);
    const held = answers.held(sent);
    if (held) {
      // The query parsed when the answer was stored: it parses the same now.
      const key = () => (parseReceiptQuery(req.query) as { key: ReceiptKey }).key;
      return { answer: held, key, columns: () => cachedValues(held.value) };
    }
    const parsed = parseReceiptQuery(req.query);
    if ('problem' in parsed) {
      problem(reply, 400, 'badRequest');
      return null;
    }
    const found = await answers.load(parsed.key, sent);
    if (!found) {
      problem(reply, 404, 'notFound', parsed.key);
      return null;
    }
    return { answer: found.answer, key: () => parsed.key, columns: () => found.values };
  };

  // helmet's headers are in PAGE_HEADERS.
  const pageRoute = { schema: { hide: true }, helmet: false as const };
  app.get<{ Querystring: Query }>(pagePath, pageRoute, async (req, reply) => {
    const found = await answerFor(req, reply);
    if (!found) return reply;
    const { answer } = found;
    const lang = pickLang(req.query.lang, req.headers['accept-language']);
    reply.headers(PAGE_HEADERS).header('cache-control', maxAge);
    if (notModified(req, reply, `"${etagOf(answer)}${PAGE_VERSION}-${lang}"`)) {
      return reply.code(304).send();
    }
    let page = answer.pages[lang];
    if (!page) {
      const html = receiptPage(found.columns(), found.key(), answer.seller.facts, lang, pagePath);
      page = answer.pages[lang] = bytes.of(PAGE_START[lang], html);
    }
    return reply.send(page);
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
      const found = await answerFor(req, reply);
      if (!found) return reply;
      const { answer } = found;
      reply.header('cache-control', maxAge);
      if (notModified(req, reply, `"${etagOf(answer)}"`)) return reply.code(304).send();
      if (!answer.json) {
        const receipt = receiptOfRow(cachedRow(found.key().deviceTime, found.columns()));
        answer.json = bytes.of(
          NOTHING,
          JSON.stringify(publicReceipt(receipt, answer.seller.seller)),
        );
      }
      return reply.type('application/json; charset=utf-8').send(answer.json);
    },
  );
}
