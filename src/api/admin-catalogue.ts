// Operator routes for what 2.0.3 and the 2.0.2 service rules need beyond the registry:
//   PUT /api/v1/admin/catalogue             the national product catalogue (НКТ), by barcode
//   PUT /api/v1/admin/orgs/:orgId/ads       an organization's receipt ads (TicketAd, 5.4)
//   PUT /api/v1/admin/orgs/:orgId/taxation  its bound taxation, answered in INFO (3.2)
// Registered inside the admin plugin (admin.ts), so its bearer check, strict validation and
// error answers apply.
import type { FastifyInstance } from 'fastify';
import {
  CATALOGUE_MAX_ENTRIES,
  type Catalogue,
  type CatalogueEntry,
} from '../storage/catalogue.js';
import type { BoundTaxation, OrgProfile } from '../storage/org-profile.js';
import { MAX_UINT32 } from '../protocol/numbers.js';
import { NotFoundError } from '../storage/errors.js';
import type { Registry } from '../storage/registry.js';

export interface AdminCatalogueOptions {
  registry: Registry;
  orgs: OrgProfile;
  catalogue: Catalogue;
  prefix: string;
}

const CATALOGUE_BODY_LIMIT = 64 * 1024 * 1024;
const uint32 = { type: 'integer', minimum: 0, maximum: MAX_UINT32 } as const;
const object = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
const orgParams = object(['orgId'], {
  orgId: { type: 'integer', minimum: 1, maximum: MAX_UINT32 },
});

const catalogueBody = object(['entries'], {
  entries: {
    type: 'array',
    minItems: 1,
    maxItems: CATALOGUE_MAX_ENTRIES,
    items: object(['barcode', 'ntin', 'nameRu', 'nameKk'], {
      barcode: { type: 'string', minLength: 1, maxLength: 64 },
      ntin: { type: 'string', maxLength: 64 },
      nameRu: { type: 'string', maxLength: 1000 },
      nameKk: { type: 'string', maxLength: 1000 },
    }),
  },
});

/** TicketAdTypeEnum: 0 OFD, 1 ORG, 2 POS, 3 KKM, 4 INFO (the text a blocked KKM prints). */
const adsBody = object(['ads'], {
  ads: {
    type: 'array',
    maxItems: 5,
    items: object(['type', 'text'], {
      type: { type: 'integer', enum: [0, 1, 2, 3, 4] },
      text: { type: 'string', maxLength: 4000 },
    }),
  },
});

const taxationBody = object(['taxationType', 'taxes'], {
  taxationType: uint32,
  taxes: {
    type: 'array',
    maxItems: 16,
    items: object(['taxType', 'percent'], { taxType: uint32, percent: uint32 }),
  },
});

export async function adminCatalogueRoutes(app: FastifyInstance, o: AdminCatalogueOptions) {
  const requireOrg = async (orgId: number) => {
    if (!(await o.registry.orgs.getOrg(orgId))) throw new NotFoundError('org', orgId);
  };

  app.put<{ Body: { entries: CatalogueEntry[] } }>(
    `${o.prefix}/catalogue`,
    {
      bodyLimit: CATALOGUE_BODY_LIMIT,
      schema: { body: catalogueBody, response: { 200: object([], { stored: uint32 }) } },
    },
    async (request) => {
      const stored = await o.catalogue.put(request.body.entries);
      request.log.info({ action: 'catalogue.put', stored }, 'admin: catalogue entries stored');
      return { stored };
    },
  );

  app.put<{ Params: { orgId: number }; Body: { ads: { type: number; text: string }[] } }>(
    `${o.prefix}/orgs/:orgId/ads`,
    { schema: { params: orgParams, body: adsBody } },
    async (request) => {
      const { orgId } = request.params;
      const types = request.body.ads.map((a) => a.type);
      if (new Set(types).size !== types.length) {
        throw Object.assign(new Error('body/ads has two ads of one type'), { statusCode: 400 });
      }
      await requireOrg(orgId);
      const ads = await o.orgs.putAds(orgId, request.body.ads);
      request.log.info({ action: 'ads.put', orgId, types }, 'admin: receipt ads stored');
      return { ads };
    },
  );

  app.put<{
    Params: { orgId: number };
    Body: { taxationType: number; taxes: { taxType: number; percent: number }[] };
  }>(
    `${o.prefix}/orgs/:orgId/taxation`,
    { schema: { params: orgParams, body: taxationBody } },
    async (request) => {
      const { orgId } = request.params;
      await requireOrg(orgId);
      const taxation: BoundTaxation = {
        taxation_type: request.body.taxationType,
        taxes: request.body.taxes.map((t) => ({ tax_type: t.taxType, percent: t.percent })),
      };
      await o.orgs.putTaxation(orgId, taxation);
      request.log.info({ action: 'taxation.put', orgId }, 'admin: bound taxation stored');
      return request.body;
    },
  );
}
