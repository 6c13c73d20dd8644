// Operator routes for what 2.0.3 and the 2.0.2 service rules need beyond the registry:
//   PUT /api/v1/admin/catalogue             the national product catalogue (НКТ), by barcode
//   PUT /api/v1/admin/orgs/:orgId/ads       an organization's receipt ads (TicketAd, 5.4)
//   PUT /api/v1/admin/orgs/:orgId/taxation  its bound taxation, answered in INFO (3.2)
// Registered inside the admin plugin (admin.ts), so its bearer check, strict validation and
// error answers apply.
import type { TypeBoxApp } from './http/app.js';
import { Type } from 'typebox';
import { CATALOGUE_MAX_ENTRIES, type Catalogue } from '../storage/catalogue.js';
import type { BoundTaxation, OrgProfile } from '../storage/org-profile.js';
import { NotFoundError } from '../storage/errors.js';
import type { Registry } from '../storage/registry.js';
import { answerObject, idParams, uint32 } from './http/schemas.js';

export interface AdminCatalogueOptions {
  registry: Registry;
  orgs: OrgProfile;
  catalogue: Catalogue;
  prefix: string;
}

const CATALOGUE_BODY_LIMIT = 64 * 1024 * 1024;
const strict = { additionalProperties: false } as const;
const orgParams = idParams('orgId');

const catalogueBody = Type.Object(
  {
    entries: Type.Array(
      Type.Object(
        {
          barcode: Type.String({ minLength: 1, maxLength: 64 }),
          ntin: Type.String({ maxLength: 64 }),
          nameRu: Type.String({ maxLength: 1000 }),
          nameKk: Type.String({ maxLength: 1000 }),
        },
        strict,
      ),
      { minItems: 1, maxItems: CATALOGUE_MAX_ENTRIES },
    ),
  },
  strict,
);

/** TicketAdTypeEnum: 0 OFD, 1 ORG, 2 POS, 3 KKM, 4 INFO (the text a blocked KKM prints). */
const adsBody = Type.Object(
  {
    ads: Type.Array(
      Type.Object(
        {
          type: Type.Enum([0, 1, 2, 3, 4], { type: 'integer' }),
          text: Type.String({ maxLength: 4000 }),
        },
        strict,
      ),
      { maxItems: 5 },
    ),
  },
  strict,
);

const taxationBody = Type.Object(
  {
    taxationType: uint32,
    taxes: Type.Array(Type.Object({ taxType: uint32, percent: uint32 }, strict), {
      maxItems: 16,
    }),
  },
  strict,
);

export async function adminCatalogueRoutes(app: TypeBoxApp, o: AdminCatalogueOptions) {
  const requireOrg = async (orgId: number) => {
    if (!(await o.registry.orgs.getOrg(orgId))) throw new NotFoundError('org', orgId);
  };

  app.put(
    `${o.prefix}/catalogue`,
    {
      bodyLimit: CATALOGUE_BODY_LIMIT,
      schema: { body: catalogueBody, response: { 200: answerObject({ stored: uint32 }, strict) } },
    },
    async (request) => {
      const stored = await o.catalogue.put(request.body.entries);
      request.log.info({ action: 'catalogue.put', stored }, 'admin: catalogue entries stored');
      return { stored };
    },
  );

  app.put(
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

  app.put(
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
