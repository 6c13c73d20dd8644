// The organization's own card (cabinet manual §16) and its points of sale (§3.1, §6). The
// card's BIN and name come from the registration proof and cannot be edited here. Points have
// a structured address and an optional geo-position, changed at most once a day; a point with
// KKMs, or one a pending re-registration moves a KKM to, cannot be deleted (409). A sub-user
// sees and edits the points granted to it; adding a point takes access to all of them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { seesPoint } from '../../access/grants.js';
import { addressText, type OrgRecord, type PointRecord } from '../../storage/orgs.js';
import { Forbidden, NotFound } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { Phone } from '../identity/proof.js';
import { requirePermission } from './authenticate.js';
import { Address, Bank, Head, LegalForm } from './identity-routes.js';
import type { CabinetContext } from './index.js';

const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
const Id = Type.Integer({ minimum: 1, maximum: 4294967295 });

const OrganizationView = Type.Object({
  id: Type.Integer(),
  bin: Type.String(),
  name: Type.String(),
  kind: Type.String({ description: 'taxpayer or service_centre' }),
  legalForm: Type.Union([LegalForm, Type.Null()]),
  head: Type.Union([Head, Type.Null()]),
  bank: Type.Union([Bank, Type.Null()]),
  legalAddress: Type.Union([Address, Type.Null()]),
  actualAddress: Type.Union([Address, Type.Null()]),
  address: Type.String({ description: 'The legal address as one line' }),
  email: Type.String(),
  phone: Type.String(),
  agreementAcceptedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const OrganizationPatch = Type.Object(
  {
    legalForm: Type.Optional(LegalForm),
    head: Type.Optional(Head),
    bank: Type.Optional(Bank),
    legalAddress: Type.Optional(Address),
    actualAddress: Type.Optional(Address),
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Fields left out keep their values; BIN and name cannot be changed',
  },
);

const Geo = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: false },
);

const PointBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500 }),
    address: Address,
    geo: Type.Optional(Geo),
  },
  { additionalProperties: false },
);
const PointPatch = Type.Partial(PointBody, {
  additionalProperties: false,
  minProperties: 1,
  description: 'Fields left out keep their values; geo changes at most once a day',
});

const PointView = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  address: Type.Union([Address, Type.Null()]),
  addressText: Type.String(),
  geo: Type.Union([Geo, Type.Null()]),
  geoChangedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
const PointParams = Type.Object({ pointId: Id }, { additionalProperties: false });

function organizationJson(o: OrgRecord): Static<typeof OrganizationView> {
  const d = o.details;
  return {
    id: o.orgId,
    bin: o.bin,
    name: o.title,
    kind: o.kind,
    legalForm: d.legalForm ?? null,
    head: d.head ?? null,
    bank: d.bank ?? null,
    legalAddress: d.legalAddress ?? null,
    actualAddress: d.actualAddress ?? null,
    address: o.address,
    email: d.email ?? '',
    phone: d.phone ?? '',
    agreementAcceptedAt: d.agreementAcceptedAt ?? null,
    createdAt: o.createdAt.toISOString(),
  };
}

function pointJson(p: PointRecord): Static<typeof PointView> {
  return {
    id: p.pointId,
    title: p.title,
    address: p.addressParts,
    addressText: p.address,
    geo: p.geo,
    geoChangedAt: p.geoChangedAt ? new Date(p.geoChangedAt).toISOString() : null,
    createdAt: p.createdAt.toISOString(),
  };
}

/** A live point of sale the caller sees, else 404. */
export async function visiblePoint(ctx: CabinetContext, req: FastifyRequest, pointId: number) {
  const point = await ctx.registry.orgs.getPoint(pointId);
  if (!point || !seesPoint(req.caller, point.orgId, point.pointId)) {
    throw new NotFound(`point ${pointId} not found`);
  }
  return point;
}

export async function organizationRoutes(app: FastifyInstance, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;
  const { orgs } = ctx.registry;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  const ownOrg = async (req: FastifyRequest) => {
    const org = await orgs.getOrg(req.caller.orgId);
    if (!org) throw new NotFound(`organization ${req.caller.orgId} not found`);
    return org;
  };
  const organization = { preValidation: requirePermission('organization') };
  r.get(
    '/api/v1/organization',
    {
      ...organization,
      schema: {
        tags: ['organization'],
        summary: "The organization's card: requisites, head, bank, addresses, contacts",
        response: { 200: OrganizationView, ...errorResponses(401, 403) },
      },
    },
    async (req) => organizationJson(await ownOrg(req)),
  );

  r.put(
    '/api/v1/organization',
    {
      ...organization,
      schema: {
        tags: ['organization'],
        summary: "Change the organization's card (BIN and name stay)",
        body: OrganizationPatch,
        response: { 200: OrganizationView, ...errorResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const org = await ownOrg(req);
      const details = { ...org.details, ...req.body };
      if (req.body.email) details.email = req.body.email.toLowerCase();
      const next = await orgs.updateDetails(org.orgId, {
        details,
        address: req.body.legalAddress ? addressText(req.body.legalAddress) : undefined,
      });
      req.log.info(
        {
          action: 'org.update',
          orgId: org.orgId,
          by: req.caller.userId,
          fields: Object.keys(req.body),
        },
        'cabinet: organization changed',
      );
      return organizationJson(next);
    },
  );

  const points = { preValidation: requirePermission('kkms') };
  const tags = ['points'];
  r.get(
    '/api/v1/points',
    {
      ...points,
      schema: {
        tags,
        summary: 'Points of sale in scope',
        response: {
          200: Type.Object({ items: Type.Array(PointView) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (req) => ({
      items: (await orgs.listPoints(req.caller.orgId))
        .filter((p) => seesPoint(req.caller, p.orgId, p.pointId))
        .map(pointJson),
    }),
  );

  r.post(
    '/api/v1/points',
    {
      ...points,
      schema: {
        tags,
        summary: 'Add a point of sale',
        body: PointBody,
        response: { 201: PointView, ...errorResponses(400, 401, 403) },
      },
    },
    async (req, reply) => {
      if (req.caller.pointIds !== 'all') {
        throw new Forbidden('adding a point of sale takes access to all points of sale');
      }
      const b = req.body;
      const { pointId } = await orgs.createPoint(req.caller.orgId, {
        title: b.title,
        address: addressText(b.address),
        addressParts: b.address,
        geo: b.geo,
      });
      req.log.info(
        { action: 'point.create', orgId: req.caller.orgId, pointId },
        'cabinet: point added',
      );
      return reply.code(201).send(pointJson((await orgs.getPoint(pointId))!));
    },
  );

  r.put(
    '/api/v1/points/:pointId',
    {
      ...points,
      schema: {
        tags,
        summary: 'Change a point of sale (geo at most once a day: else 409)',
        params: PointParams,
        body: PointPatch,
        response: { 200: PointView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const point = await visiblePoint(ctx, req, req.params.pointId);
      const b = req.body;
      const next = await orgs.updatePoint(point.orgId, point.pointId, {
        title: b.title,
        geo: b.geo,
        ...(b.address ? { address: addressText(b.address), addressParts: b.address } : {}),
      });
      req.log.info(
        {
          action: 'point.update',
          orgId: point.orgId,
          pointId: point.pointId,
          fields: Object.keys(b),
        },
        'cabinet: point changed',
      );
      return pointJson(next);
    },
  );

  r.delete(
    '/api/v1/points/:pointId',
    {
      ...points,
      schema: {
        tags,
        summary: 'Delete a point of sale without KKMs (else 409)',
        params: PointParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const point = await visiblePoint(ctx, req, req.params.pointId);
      await orgs.deletePoint(point.orgId, point.pointId);
      req.log.info(
        { action: 'point.delete', orgId: point.orgId, pointId: point.pointId },
        'cabinet: point deleted',
      );
      return reply.code(204).send(null);
    },
  );
}
