// Service centres (ЦТО, cabinet manual §18). An organization finds a centre, asks it to serve
// chosen KKMs with chosen modules, changes the KKMs, and stops the showing of data (access
// ends at once). The centre lists the requests, accepts or rejects them, and then reads the
// granted KKMs through the same cabinet routes as the client (GET /api/v1/kkms, tickets,
// reports, …), only those KKMs and only the granted modules; anything else answers 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { seesKkm } from '../../access/grants.js';
import type { GrantRecord } from '../../storage/service-centres.js';
import { NotFound } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { requirePermission } from './authenticate.js';
import type { CabinetContext } from './index.js';

const Id = Type.Integer({ minimum: 1, maximum: 4294967295 });
const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

/** The modules a centre can be shown: the client's reading ones. */
export const SERVICE_MODULES = ['transactions', 'reports', 'analytics', 'exports'] as const;
const Modules = Type.Array(Type.Union(SERVICE_MODULES.map((m) => Type.Literal(m))), {
  minItems: 1,
  uniqueItems: true,
});
const KkmIds = Type.Array(Id, { minItems: 1, maxItems: 10_000, uniqueItems: true });

const CentreView = Type.Object({
  id: Type.Integer(),
  bin: Type.String(),
  title: Type.String(),
  models: Type.Array(Type.String()),
});
const GrantView = Type.Object({
  id: Type.Integer(),
  centreId: Type.Integer(),
  clientOrgId: Type.Integer(),
  kkmIds: Type.Array(Type.Integer()),
  modules: Type.Array(Type.String()),
  status: Type.String({ description: 'pending, accepted, rejected or terminated' }),
  since: Type.String({ format: 'date-time', description: 'When it entered its status' }),
});
const GrantBody = Type.Object(
  { centreId: Id, kkmIds: KkmIds, modules: Modules },
  { additionalProperties: false },
);
const GrantPatch = Type.Object(
  { kkmIds: KkmIds, modules: Type.Optional(Modules) },
  { additionalProperties: false },
);

const grantJson = (g: GrantRecord): Static<typeof GrantView> => ({
  id: g.id,
  centreId: g.centreId,
  clientOrgId: g.clientOrgId,
  kkmIds: g.kkmIds,
  modules: g.modules,
  status: g.status,
  since: g.since.toISOString(),
});

export async function serviceCentreRoutes(app: FastifyInstance, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;
  const centres = ctx.registry.serviceCentres;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const guard = { preValidation: requirePermission('organization') };
  const tags = ['service-centres'];

  /** Every KKM named must be the caller's own (at its points), else 404. */
  const requireOwnKkms = async (req: FastifyRequest, kkmIds: number[]) => {
    const places = await ctx.registry.kkms.kkmPlaces(kkmIds);
    const hidden = kkmIds.filter(
      (id) => req.caller.serviced || !seesKkm(req.caller, places.get(id)),
    );
    if (hidden.length) throw new NotFound(`kkm ${hidden.join(', ')} not found`);
  };
  const grantList = Type.Object({ items: Type.Array(GrantView) });
  /**
   * The organization's grants the caller may see and change: the owner all of them, a sub-user
   * those whose every KKM is at its points (a grant of KKMs it cannot see is not its to end).
   */
  const clientGrants = async (req: FastifyRequest) => {
    const grants = await centres.grantsOfClient(req.caller.orgId);
    if (req.caller.pointIds === 'all' || !grants.length) return grants;
    const places = await ctx.registry.kkms.kkmPlaces([...new Set(grants.flatMap((g) => g.kkmIds))]);
    return grants.filter((g) => g.kkmIds.every((id) => seesKkm(req.caller, places.get(id))));
  };
  const clientGrant = async (req: FastifyRequest, id: number) => {
    if (!(await clientGrants(req)).some((g) => g.id === id)) {
      throw new NotFound(`grant ${id} not found`);
    }
  };

  r.get(
    '/api/v1/service-centres',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Find service centres by the KKM model they serve or by name/BIN',
        querystring: Type.Object(
          {
            model: Type.Optional(Type.String({ maxLength: 128 })),
            q: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(CentreView) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (req) => ({
      items: (await centres.search(req.query)).map((c) => ({
        id: c.centreId,
        bin: c.bin,
        title: c.title,
        models: c.models,
      })),
    }),
  );

  r.get(
    '/api/v1/service-centre-grants',
    {
      ...guard,
      schema: {
        tags,
        summary: "The organization's requests to service centres and their status",
        response: { 200: grantList, ...errorResponses(401, 403) },
      },
    },
    async (req) => ({ items: (await clientGrants(req)).map(grantJson) }),
  );

  r.post(
    '/api/v1/service-centre-grants',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Ask a service centre to serve these KKMs with these modules',
        body: GrantBody,
        response: { 201: GrantView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await requireOwnKkms(req, req.body.kkmIds);
      const grant = await centres.requestService({ clientOrgId: req.caller.orgId, ...req.body });
      req.log.info(
        {
          action: 'grant.request',
          id: grant.id,
          orgId: req.caller.orgId,
          centreId: grant.centreId,
        },
        'cabinet: service centre asked',
      );
      return reply.code(201).send(grantJson(grant));
    },
  );

  r.put(
    '/api/v1/service-centre-grants/:id',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Change the KKMs (and modules) a service centre is shown',
        params: IdParams,
        body: GrantPatch,
        response: { 200: GrantView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      await clientGrant(req, req.params.id);
      await requireOwnKkms(req, req.body.kkmIds);
      return grantJson(await centres.changeGrant(req.caller.orgId, req.params.id, req.body));
    },
  );

  r.post(
    '/api/v1/service-centre-grants/:id/terminate',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Stop showing data to the service centre (at once)',
        params: IdParams,
        response: { 200: GrantView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      await clientGrant(req, req.params.id);
      const grant = await centres.terminate(req.caller.orgId, req.params.id);
      req.log.info({ action: 'grant.terminate', id: grant.id }, 'cabinet: service centre stopped');
      return grantJson(grant);
    },
  );

  // -- the centre's side

  r.get(
    '/api/v1/service-requests',
    {
      ...guard,
      schema: {
        tags,
        summary: "A service centre's requests from its clients",
        response: { 200: grantList, ...errorResponses(401, 403) },
      },
    },
    async (req) => ({
      items: req.caller.serviced
        ? (await centres.grantsOfCentre(req.caller.orgId)).map(grantJson)
        : [],
    }),
  );

  for (const [path, status] of [
    ['accept', 'accepted'],
    ['reject', 'rejected'],
  ] as const) {
    r.post(
      `/api/v1/service-requests/:id/${path}`,
      {
        ...guard,
        schema: {
          tags,
          summary: `${path === 'accept' ? 'Accept' : 'Reject'} a client's request`,
          params: IdParams,
          response: { 200: GrantView, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (req) => {
        if (!req.caller.serviced) throw new NotFound(`request ${req.params.id} not found`);
        const grant = await centres.decide(req.caller.orgId, req.params.id, status);
        req.log.info({ action: `grant.${status}`, id: grant.id }, `cabinet: request ${status}`);
        return grantJson(grant);
      },
    );
  }
}
