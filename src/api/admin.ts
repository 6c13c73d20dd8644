// Operator admin API: organizations, points of sale, KKM registration, token issue ("Получить
// токен"), block/unblock, deregistration, KKM cashiers and nomenclature. Every route needs
// `Authorization: Bearer <admin token>`. Bodies are validated strictly (no coercion, unknown
// fields refused) and every 4xx answer is JSON {error, message} naming the offending field.
// Tokens and passwords never reach a log line.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxApp } from './http/app.js';
import { Type, type TProperties, type TSchemaOptions } from 'typebox';
import { NotFoundError } from '../storage/errors.js';
import type { Registry } from '../storage/registry.js';
import type { KkmRecord } from '../storage/kkms.js';
import type { NomenclatureElement } from '../storage/nomenclature.js';
import type { KkmStatus } from '../fiscal/device-state.js';
import type { KkmChange } from '../telemetry/events.js';
import { checkBearer } from './admin-token.js';
import { sendError } from './http/conventions.js';
import { httpError } from './http/errors.js';
import { answerObject, idParams, idSchema, uint32 } from './http/schemas.js';
import { adminCatalogueRoutes, type AdminCatalogueOptions } from './admin-catalogue.js';
import { cashierPasswordProblem } from './cashier-password.js';
import { checkPasswordPolicy } from './password-policy.js';

export interface AdminApiOptions {
  registry: Registry;
  adminToken: string;
  /** Called after a KKM's token or status changed, so ingest drops its cached device state. */
  onKkmChanged: (kkmId: number, change: KkmChange) => Promise<void>;
  /** Catalogue, ads and taxation routes (admin-catalogue.ts), when given. */
  profile?: Omit<AdminCatalogueOptions, 'registry' | 'prefix'>;
}

export const ADMIN_PREFIX = '/api/v1/admin';
const NOMENCLATURE_MAX_ELEMENTS = 100_000;
const NOMENCLATURE_BODY_LIMIT = 32 * 1024 * 1024;

// ---- schemas --------------------------------------------------------------------------------

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const uint64 = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const tiyn = uint64;

/** A body object: unknown fields refused, every field required unless Type.Optional. */
const object = <P extends TProperties>(properties: P, options?: TSchemaOptions) =>
  Type.Object(properties, { additionalProperties: false, ...options });
/** An answer object: none of its fields required, no others. */
const answer = <P extends TProperties>(properties: P) =>
  answerObject(properties, { additionalProperties: false });

const orgBody = object({
  bin: Type.String({ pattern: '^[0-9]{12}$' }),
  title: text(500),
  address: text(500),
  okved: text(64),
  // Length and composition are the password policy's business (clearer messages).
  password: Type.String({ maxLength: 128 }),
});

const pointBody = object({ title: text(500), address: text(500) });

const kkmBody = object({
  serialNumber: text(64),
  model: text(128),
  fnsKkmId: text(64),
});

const BULK_KKMS_MAX = 10_000;
const bulkKkmBody = object({
  kkms: Type.Array(kkmBody, { minItems: 1, maxItems: BULK_KKMS_MAX }),
});

const cashierBody = object({
  code: idSchema,
  name: text(200),
  login: text(64),
  password: Type.String({ minLength: 1, maxLength: 128 }),
  roles: Type.Array(Type.Enum([1, 2, 3], { type: 'integer' }), {
    minItems: 1,
    maxItems: 3,
    uniqueItems: true,
  }),
});

const taxSchema = object({
  taxation_type: uint32,
  tax_type: uint32,
  tax_percent: uint32,
});

const itemSchema = object({
  article: Type.Optional(Type.String({ maxLength: 128 })),
  barcode: Type.Optional(Type.String({ maxLength: 128 })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  purchase_price: tiyn,
  sell_price: tiyn,
  discount_percent: Type.Optional(uint32),
  discount_sum: Type.Optional(tiyn),
  markup_percent: Type.Optional(uint32),
  markup_sum: Type.Optional(tiyn),
  taxes: Type.Optional(Type.Array(taxSchema, { maxItems: 16 })),
  measure_count: Type.Optional(uint32),
  measure_title: Type.Optional(Type.String({ maxLength: 64 })),
  measure_fractional: Type.Optional(Type.Boolean()),
  measure_unit_code: Type.Optional(Type.String({ maxLength: 16 })),
});

const elementSchema = object(
  {
    type: Type.Enum([0, 1], { type: 'integer' }),
    title: text(500),
    id: uint64,
    parent_group_id: Type.Optional(uint64),
    item: Type.Optional(itemSchema),
  },
  {
    // An ITEM needs its item; a GROUP has none.
    if: { properties: { type: { const: 1 } } },
    then: { required: ['item'] },
    else: { not: { required: ['item'] } },
  },
);

const nomenclatureBody = object({
  elements: Type.Array(elementSchema, { maxItems: NOMENCLATURE_MAX_ELEMENTS }),
});

const kkmView = answerObject({
  id: Type.Integer(),
  orgId: Type.Integer(),
  pointId: Type.Integer(),
  serialNumber: Type.String(),
  model: Type.String(),
  fnsKkmId: Type.String(),
  status: Type.String(),
  tokenEpoch: Type.Integer(),
  createdAt: Type.String(),
});

const idStatus = answerObject({ id: Type.Integer(), status: Type.String() });

// ---- validation and errors ------------------------------------------------------------------

/** Semantic checks the schema cannot express: unique ids, parents that are groups, no cycles. */
export function nomenclatureProblem(elements: NomenclatureElement[]): string | null {
  const byId = new Map<number, NomenclatureElement>();
  for (const [i, el] of elements.entries()) {
    if (byId.has(el.id)) return `body/elements/${i}/id ${el.id} is used by another element`;
    byId.set(el.id, el);
  }
  for (const [i, el] of elements.entries()) {
    if (el.parent_group_id === undefined) continue;
    const parent = byId.get(el.parent_group_id);
    if (!parent || parent.type !== 0) {
      return `body/elements/${i}/parent_group_id ${el.parent_group_id} is not a GROUP element`;
    }
    // Follow the parents; more steps than elements means a cycle.
    let cur: NomenclatureElement | undefined = parent;
    for (let steps = 0; cur; steps++) {
      if (cur === el || steps > elements.length) {
        return `body/elements/${i}/parent_group_id ${el.parent_group_id} makes a cycle of groups`;
      }
      cur = cur.parent_group_id === undefined ? undefined : byId.get(cur.parent_group_id);
    }
  }
  return null;
}

function kkmJson(k: KkmRecord) {
  return {
    id: k.kkmId,
    orgId: k.orgId,
    pointId: k.pointId,
    serialNumber: k.serialNumber,
    model: k.model,
    fnsKkmId: k.fnsKkmId,
    status: k.status,
    tokenEpoch: k.tokenEpoch,
    createdAt: k.createdAt.toISOString(),
  };
}

// ---- the plugin -----------------------------------------------------------------------------

export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (
  app: TypeBoxApp,
  opts: AdminApiOptions,
) => {
  const { registry, adminToken, onKkmChanged } = opts;
  if (!adminToken) throw new Error('admin API needs an admin token');

  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (checkBearer(header, adminToken)) return;
    request.log.warn({ url: request.url }, 'admin API: refused a request without a valid token');
    reply.header('www-authenticate', 'Bearer');
    sendError(
      reply,
      401,
      header ? 'invalid admin token' : 'send the admin token as "Authorization: Bearer <token>"',
    );
    return reply;
  });

  /** Tell ingest to drop its cached state; the change is stored either way. */
  async function kkmChanged(
    request: FastifyRequest,
    kkmId: number,
    change: KkmChange,
  ): Promise<void> {
    try {
      await onKkmChanged(kkmId, change);
    } catch (err) {
      request.log.error({ err, kkmId }, 'admin API: could not refresh the ingest device state');
      throw httpError(
        500,
        `kkm ${kkmId} was updated but ingest nodes could not refresh it; repeat the request`,
      );
    }
  }

  app.post(
    `${ADMIN_PREFIX}/orgs`,
    {
      schema: {
        body: orgBody,
        response: { 201: answer({ id: idSchema, bin: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { password, ...org } = request.body;
      const policy = checkPasswordPolicy(password, 'body/password');
      if (policy) return sendError(reply, 400, policy);
      const { orgId, bin } = await registry.orgs.createOrg({ ...org, password });
      request.log.info({ action: 'org.create', orgId, bin }, 'admin: organization registered');
      return reply.code(201).send({ id: orgId, bin });
    },
  );

  app.post(
    `${ADMIN_PREFIX}/orgs/:orgId/points`,
    {
      schema: {
        params: idParams('orgId'),
        body: pointBody,
        response: { 201: answer({ id: idSchema }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { pointId } = await registry.orgs.createPoint(orgId, request.body);
      request.log.info({ action: 'point.create', orgId, pointId }, 'admin: point of sale added');
      return reply.code(201).send({ id: pointId });
    },
  );

  app.post(
    `${ADMIN_PREFIX}/points/:pointId/kkms`,
    {
      schema: {
        params: idParams('pointId'),
        body: kkmBody,
        response: { 201: answer({ id: idSchema }) },
      },
    },
    async (request, reply) => {
      const { pointId } = request.params;
      const { kkmId } = await registry.kkms.createKkm(pointId, request.body);
      request.log.info(
        { action: 'kkm.create', pointId, kkmId, serialNumber: request.body.serialNumber },
        'admin: KKM registered',
      );
      return reply.code(201).send({ id: kkmId });
    },
  );

  // Many KKMs at one point in one go, each with its first token (roll-outs, the fleet bench).
  app.post(
    `${ADMIN_PREFIX}/points/:pointId/kkms/bulk`,
    {
      bodyLimit: BULK_KKMS_MAX * 1024,
      schema: {
        params: idParams('pointId'),
        body: bulkKkmBody,
        response: {
          201: answer({ kkms: Type.Array(answer({ id: idSchema, token: Type.Integer() })) }),
        },
      },
    },
    async (request, reply) => {
      const { pointId } = request.params;
      const created = await registry.kkms.createKkms(pointId, request.body.kkms);
      request.log.info(
        { action: 'kkm.create_bulk', pointId, count: created.length },
        'admin: KKMs registered with their tokens',
      );
      return reply
        .code(201)
        .send({ kkms: created.map(({ kkmId, token }) => ({ id: kkmId, token })) });
    },
  );

  app.post(
    `${ADMIN_PREFIX}/kkms/:kkmId/token`,
    {
      schema: {
        params: idParams('kkmId'),
        response: { 200: answer({ token: Type.Integer() }) },
      },
    },
    async (request) => {
      const { kkmId } = request.params;
      const { token, tokenEpoch } = await registry.kkms.issueToken(kkmId);
      request.log.info({ action: 'kkm.token', kkmId, tokenEpoch }, 'admin: KKM token issued');
      await kkmChanged(request, kkmId, 'token_issued');
      return { token };
    },
  );

  const statusRoute = (method: 'POST' | 'DELETE', path: string, status: KkmStatus) =>
    app.route({
      method,
      url: `${ADMIN_PREFIX}${path}`,
      schema: { params: idParams('kkmId'), response: { 200: idStatus } },
      handler: async (request) => {
        const { kkmId } = request.params;
        const kkm = await registry.kkms.setStatus(kkmId, status);
        request.log.info({ action: `kkm.${status}`, kkmId }, `admin: KKM ${status}`);
        await kkmChanged(request, kkmId, status);
        return { id: kkm.kkmId, status: kkm.status };
      },
    });
  statusRoute('POST', '/kkms/:kkmId/block', 'blocked');
  statusRoute('POST', '/kkms/:kkmId/unblock', 'active');
  statusRoute('DELETE', '/kkms/:kkmId', 'deregistered');

  app.get(
    `${ADMIN_PREFIX}/kkms/:kkmId`,
    { schema: { params: idParams('kkmId'), response: { 200: kkmView } } },
    async (request) => {
      const { kkmId } = request.params;
      const kkm = await registry.kkms.getKkm(kkmId);
      if (!kkm) throw new NotFoundError('kkm', kkmId);
      return kkmJson(kkm);
    },
  );

  app.post(
    `${ADMIN_PREFIX}/orgs/:orgId/cashiers`,
    {
      schema: {
        params: idParams('orgId'),
        body: cashierBody,
        response: { 201: answer({ code: Type.Integer(), login: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const weak = cashierPasswordProblem(request.body.password, 'body/password');
      if (weak) return sendError(reply, 400, weak);
      const { code, login } = await registry.cashiers.upsertCashier(orgId, request.body);
      request.log.info({ action: 'cashier.upsert', orgId, code, login }, 'admin: cashier saved');
      return reply.code(201).send({ code, login });
    },
  );

  app.put(
    `${ADMIN_PREFIX}/orgs/:orgId/nomenclature`,
    {
      bodyLimit: NOMENCLATURE_BODY_LIMIT,
      schema: {
        params: idParams('orgId'),
        body: nomenclatureBody,
        response: { 200: answer({ version: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { elements } = request.body;
      const problem = nomenclatureProblem(elements);
      if (problem) return sendError(reply, 400, problem);
      const { version } = await registry.nomenclature.putNomenclature(orgId, elements);
      request.log.info(
        { action: 'nomenclature.put', orgId, version, elements: elements.length },
        'admin: nomenclature stored',
      );
      return { version };
    },
  );

  if (opts.profile) {
    await adminCatalogueRoutes(app, { ...opts.profile, registry, prefix: ADMIN_PREFIX });
  }
};

export default adminApi;
