// Operator admin API: organizations, points of sale, KKM registration, token issue ("Получить
// токен"), block/unblock, deregistration, KKM cashiers and nomenclature. Every route needs
// `Authorization: Bearer <admin token>`. Bodies are validated strictly (no coercion, unknown
// fields refused) and every 4xx answer is JSON {error, message} naming the offending field.
// Tokens and passwords never reach a log line.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NotFoundError } from '../storage/errors.js';
import { type KkmRecord, type NomenclatureElement, type Registry } from '../storage/registry.js';
import type { KkmStatus } from '../fiscal/device-state.js';
import type { KkmChange } from '../telemetry/events.js';
import { requireAdminToken } from './admin-token.js';
import { sendError } from './http/conventions.js';
import { httpError } from './http/errors.js';
import { idParams, idSchema, uint32 } from './http/schemas.js';
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

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const uint64 = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const tiyn = uint64;

const object = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const orgBody = object(['bin', 'title', 'address', 'okved', 'password'], {
  bin: { type: 'string', pattern: '^[0-9]{12}$' },
  title: text(500),
  address: text(500),
  okved: text(64),
  // Length and composition are the password policy's business (clearer messages).
  password: { type: 'string', maxLength: 128 },
});

const pointBody = object(['title', 'address'], { title: text(500), address: text(500) });

const kkmBody = object(['serialNumber', 'model', 'fnsKkmId'], {
  serialNumber: text(64),
  model: text(128),
  fnsKkmId: text(64),
});

const BULK_KKMS_MAX = 10_000;
const bulkKkmBody = object(['kkms'], {
  kkms: { type: 'array', minItems: 1, maxItems: BULK_KKMS_MAX, items: kkmBody },
});

const cashierBody = object(['code', 'name', 'login', 'password', 'roles'], {
  code: idSchema,
  name: text(200),
  login: text(64),
  password: { type: 'string', minLength: 1, maxLength: 128 },
  roles: {
    type: 'array',
    minItems: 1,
    maxItems: 3,
    uniqueItems: true,
    items: { type: 'integer', enum: [1, 2, 3] },
  },
});

const taxSchema = object(['taxation_type', 'tax_type', 'tax_percent'], {
  taxation_type: uint32,
  tax_type: uint32,
  tax_percent: uint32,
});

const itemSchema = object(['purchase_price', 'sell_price'], {
  article: { type: 'string', maxLength: 128 },
  barcode: { type: 'string', maxLength: 128 },
  description: { type: 'string', maxLength: 1000 },
  purchase_price: tiyn,
  sell_price: tiyn,
  discount_percent: uint32,
  discount_sum: tiyn,
  markup_percent: uint32,
  markup_sum: tiyn,
  taxes: { type: 'array', maxItems: 16, items: taxSchema },
  measure_count: uint32,
  measure_title: { type: 'string', maxLength: 64 },
  measure_fractional: { type: 'boolean' },
  measure_unit_code: { type: 'string', maxLength: 16 },
});

const elementSchema = {
  ...object(['type', 'title', 'id'], {
    type: { type: 'integer', enum: [0, 1] },
    title: text(500),
    id: uint64,
    parent_group_id: uint64,
    item: itemSchema,
  }),
  // An ITEM needs its item; a GROUP has none.
  if: { properties: { type: { const: 1 } } },
  then: { required: ['item'] },
  else: { not: { required: ['item'] } },
};

const nomenclatureBody = object(['elements'], {
  elements: { type: 'array', maxItems: NOMENCLATURE_MAX_ELEMENTS, items: elementSchema },
});

const kkmView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    orgId: { type: 'integer' },
    pointId: { type: 'integer' },
    serialNumber: { type: 'string' },
    model: { type: 'string' },
    fnsKkmId: { type: 'string' },
    status: { type: 'string' },
    tokenEpoch: { type: 'integer' },
    createdAt: { type: 'string' },
    // The tax authority's side: awaiting its confirmation of the last registration,
    // re-registration or deregistration, or done (null: no such event).
    kgdStatus: {
      type: ['object', 'null'],
      properties: { status: { type: 'string' }, since: { type: 'string' } },
    },
  },
};

const idStatus = {
  type: 'object',
  properties: { id: { type: 'integer' }, status: { type: 'string' } },
};

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

interface OrgBody {
  bin: string;
  title: string;
  address: string;
  okved: string;
  password: string;
}
interface PointBody {
  title: string;
  address: string;
}
interface KkmBody {
  serialNumber: string;
  model: string;
  fnsKkmId: string;
}
interface CashierBody {
  code: number;
  name: string;
  login: string;
  password: string;
  roles: number[];
}

export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (
  app: FastifyInstance,
  opts: AdminApiOptions,
) => {
  const { registry, adminToken, onKkmChanged } = opts;
  if (!adminToken) throw new Error('admin API needs an admin token');

  requireAdminToken(app, adminToken);

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

  app.post<{ Body: OrgBody }>(
    `${ADMIN_PREFIX}/orgs`,
    {
      schema: {
        body: orgBody,
        response: { 201: object([], { id: idSchema, bin: { type: 'string' } }) },
      },
    },
    async (request, reply) => {
      const { password, ...org } = request.body;
      const policy = checkPasswordPolicy(password, 'body/password');
      if (policy) return sendError(reply, 400, policy);
      const { orgId, bin } = await registry.createOrg({ ...org, password });
      request.log.info({ action: 'org.create', orgId, bin }, 'admin: organization registered');
      return reply.code(201).send({ id: orgId, bin });
    },
  );

  app.post<{ Params: { orgId: number }; Body: PointBody }>(
    `${ADMIN_PREFIX}/orgs/:orgId/points`,
    {
      schema: {
        params: idParams('orgId'),
        body: pointBody,
        response: { 201: object([], { id: idSchema }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { pointId } = await registry.createPoint(orgId, request.body);
      request.log.info({ action: 'point.create', orgId, pointId }, 'admin: point of sale added');
      return reply.code(201).send({ id: pointId });
    },
  );

  app.post<{ Params: { pointId: number }; Body: KkmBody }>(
    `${ADMIN_PREFIX}/points/:pointId/kkms`,
    {
      schema: {
        params: idParams('pointId'),
        body: kkmBody,
        response: { 201: object([], { id: idSchema }) },
      },
    },
    async (request, reply) => {
      const { pointId } = request.params;
      const { kkmId } = await registry.createKkm(pointId, request.body);
      request.log.info(
        { action: 'kkm.create', pointId, kkmId, serialNumber: request.body.serialNumber },
        'admin: KKM registered',
      );
      return reply.code(201).send({ id: kkmId });
    },
  );

  // Many KKMs at one point in one go, each with its first token (roll-outs, the fleet bench).
  app.post<{ Params: { pointId: number }; Body: { kkms: KkmBody[] } }>(
    `${ADMIN_PREFIX}/points/:pointId/kkms/bulk`,
    {
      bodyLimit: BULK_KKMS_MAX * 1024,
      schema: {
        params: idParams('pointId'),
        body: bulkKkmBody,
        response: {
          201: object([], {
            kkms: {
              type: 'array',
              items: object([], { id: idSchema, token: { type: 'integer' } }),
            },
          }),
        },
      },
    },
    async (request, reply) => {
      const { pointId } = request.params;
      const created = await registry.createKkms(pointId, request.body.kkms);
      request.log.info(
        { action: 'kkm.create_bulk', pointId, count: created.length },
        'admin: KKMs registered with their tokens',
      );
      return reply
        .code(201)
        .send({ kkms: created.map(({ kkmId, token }) => ({ id: kkmId, token })) });
    },
  );

  app.post<{ Params: { kkmId: number } }>(
    `${ADMIN_PREFIX}/kkms/:kkmId/token`,
    {
      schema: {
        params: idParams('kkmId'),
        response: { 200: object([], { token: { type: 'integer' } }) },
      },
    },
    async (request) => {
      const { kkmId } = request.params;
      const { token, tokenEpoch } = await registry.issueToken(kkmId);
      request.log.info({ action: 'kkm.token', kkmId, tokenEpoch }, 'admin: KKM token issued');
      await kkmChanged(request, kkmId, 'token_issued');
      return { token };
    },
  );

  const statusRoute = (method: 'POST' | 'DELETE', path: string, status: KkmStatus) =>
    app.route<{ Params: { kkmId: number } }>({
      method,
      url: `${ADMIN_PREFIX}${path}`,
      schema: { params: idParams('kkmId'), response: { 200: idStatus } },
      handler: async (request) => {
        const { kkmId } = request.params;
        const kkm = await registry.setStatus(kkmId, status);
        request.log.info({ action: `kkm.${status}`, kkmId }, `admin: KKM ${status}`);
        await kkmChanged(request, kkmId, status);
        return { id: kkm.kkmId, status: kkm.status };
      },
    });
  statusRoute('POST', '/kkms/:kkmId/block', 'blocked');
  statusRoute('POST', '/kkms/:kkmId/unblock', 'active');
  statusRoute('DELETE', '/kkms/:kkmId', 'deregistered');

  app.get<{ Params: { kkmId: number } }>(
    `${ADMIN_PREFIX}/kkms/:kkmId`,
    { schema: { params: idParams('kkmId'), response: { 200: kkmView } } },
    async (request) => {
      const { kkmId } = request.params;
      const kkm = await registry.getKkm(kkmId);
      if (!kkm) throw new NotFoundError('kkm', kkmId);
      const kgd = await registry.kkmEvents.kgdStatus(kkmId);
      return {
        ...kkmJson(kkm),
        kgdStatus: kgd && { status: kgd.status, since: new Date(kgd.since).toISOString() },
      };
    },
  );

  app.post<{ Params: { orgId: number }; Body: CashierBody }>(
    `${ADMIN_PREFIX}/orgs/:orgId/cashiers`,
    {
      schema: {
        params: idParams('orgId'),
        body: cashierBody,
        response: { 201: object([], { code: { type: 'integer' }, login: { type: 'string' } }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const weak = cashierPasswordProblem(request.body.password, 'body/password');
      if (weak) return sendError(reply, 400, weak);
      const { code, login } = await registry.upsertCashier(orgId, request.body);
      request.log.info({ action: 'cashier.upsert', orgId, code, login }, 'admin: cashier saved');
      return reply.code(201).send({ code, login });
    },
  );

  app.put<{ Params: { orgId: number }; Body: { elements: NomenclatureElement[] } }>(
    `${ADMIN_PREFIX}/orgs/:orgId/nomenclature`,
    {
      bodyLimit: NOMENCLATURE_BODY_LIMIT,
      schema: {
        params: idParams('orgId'),
        body: nomenclatureBody,
        response: { 200: object([], { version: { type: 'integer' } }) },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { elements } = request.body;
      const problem = nomenclatureProblem(elements);
      if (problem) return sendError(reply, 400, problem);
      const { version } = await registry.putNomenclature(orgId, elements);
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
