// The taxpayer's own registry work (cabinet manual §3.2, §4, §5.2, §7, §8, §15): register a
// KKM, take its token, move it to another point, deregister it, ask for a wired VPN, and read
// the applications these make. Every change is an application of the organization; KKM
// applications wait for the tax authority unless no forwarding is configured, when they
// complete at once (ctx.forward decides; the server passes `applicationDecision`, and applies a
// waiting one when the authority confirms it: src/app/kgd-applications.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import { seesPoint } from '../../access/grants.js';
import {
  APPLICATION_KINDS,
  type ApplicationKind,
  type ApplicationRecord,
} from '../../storage/applications.js';
import { CabinetQueries } from '../../storage/cabinet-queries.js';
import { ConflictError } from '../../storage/errors.js';
import { ReconciliationStore } from '../../storage/reconciliation-store.js';
import { Forbidden, NotFound } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { Phone, Proof, prove, type ProofBody } from '../identity/proof.js';
import { requirePermission } from './authenticate.js';
import { visiblePoint } from './organization-routes.js';
import type { CabinetContext } from './index.js';

const Id = Type.Integer({ minimum: 1, maximum: 4294967295 });
const KkmParams = Type.Object({ kkmId: Id }, { additionalProperties: false });
const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const SignedBy = Type.Optional(Proof);

const NewKkm = Type.Object(
  {
    pointId: Id,
    serialNumber: text(64),
    model: text(128),
    name: text(200),
    year: Type.Integer({ minimum: 1990, maximum: 2100 }),
    proof: SignedBy,
  },
  { additionalProperties: false },
);
const Reregistration = Type.Object(
  { pointId: Id, proof: SignedBy },
  { additionalProperties: false },
);
const Deregistration = Type.Object(
  { reason: text(1000), proof: SignedBy },
  { additionalProperties: false },
);
const VpnRequest = Type.Object(
  {
    contact: text(200),
    phone: Phone,
    kkmCount: Type.Integer({ minimum: 1, maximum: 100_000 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const ApplicationStatusView = Type.Object({
  applicationId: Type.Integer(),
  kkmId: Type.Integer(),
  status: Type.String({
    description:
      'awaiting_kgd_registration / awaiting_reregistration / awaiting_kgd_deregistration while ' +
      'the tax authority answers; registered / reregistered / deregistered once applied; ' +
      'rejected when refused, failed when it could not be sent',
  }),
});
const KkmCreatedView = Type.Object({
  id: Type.Integer({ description: 'The KKM ID' }),
  applicationId: Type.Integer(),
  status: Type.String(),
});
const TokenView = Type.Object({
  kkmId: Type.Integer({ description: 'The ID to type into the register' }),
  token: Type.Integer({ description: 'The token to type into the register' }),
});

const DOCUMENT_TITLES: Record<ApplicationKind, string> = {
  registration: 'Заявление о регистрации ККМ',
  reregistration: 'Заявление о перерегистрации ККМ',
  deregistration: 'Заявление о снятии ККМ с учета',
  vpn: 'Заявка на подключение проводного VPN',
};
const DocumentView = Type.Object({
  id: Type.Integer(),
  type: Type.String({ description: APPLICATION_KINDS.join(', ') }),
  title: Type.String(),
  kkmId: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.String(),
  signedBy: Type.String({ description: 'eds, otp or password (the session)' }),
  createdAt: Type.String({ format: 'date-time' }),
  decidedAt: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
});
const DocumentsQuery = Type.Object(
  {
    kkmId: Type.Optional(Id),
    type: Type.Optional(Type.Union(APPLICATION_KINDS.map((k) => Type.Literal(k)))),
  },
  { additionalProperties: false },
);

function documentJson(a: ApplicationRecord): Static<typeof DocumentView> {
  return {
    id: a.id,
    type: a.kind,
    title: DOCUMENT_TITLES[a.kind],
    kkmId: a.kkmId || null,
    status: a.status,
    signedBy: a.signedBy,
    createdAt: a.createdAt.toISOString(),
    decidedAt: a.decidedAt?.toISOString() ?? null,
    detail: a.detail,
  };
}

/** Findings that mean the register still owes documents it made offline. */
const OWED_DOCUMENTS = new Set(['printed_gap', 'shift_gap', 'offline_period_missing']);

export async function kkmApplicationRoutes(
  app: FastifyInstance,
  opts: { ctx: CabinetContext },
): Promise<void> {
  const { ctx } = opts;
  const { orgs, kkms, applications } = ctx.registry;
  const queries = new CabinetQueries(ctx.db);
  const reconciliation = new ReconciliationStore(ctx.db);
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const guard = { preValidation: requirePermission('kkms') };
  const tags = ['kkms'];

  const ownPoint = (req: FastifyRequest, pointId: number) => visiblePoint(ctx, req, pointId);
  /** A KKM of the caller's organization at a point it sees, else 404. */
  const ownKkm = async (req: FastifyRequest, kkmId: number) => {
    const kkm = await kkms.getKkm(kkmId);
    if (!kkm || !seesPoint(req.caller, kkm.orgId, kkm.pointId)) {
      throw new NotFound(`kkm ${kkmId} not found`);
    }
    return kkm;
  };
  /** How the application is signed: the proof (of this organization) or the session. */
  const signature = async (req: FastifyRequest, proof: ProofBody | undefined) => {
    if (!proof) return 'password';
    const identity = await prove(ctx.identity, proof);
    const org = await orgs.getOrg(req.caller.orgId);
    if (!org || (identity.bin ?? identity.iin) !== org.bin) {
      throw new Forbidden("the proof is not the organization's (its BIN or IIN differs)");
    }
    return identity.method;
  };
  /** Hands a new application to forwarding; applies it when that says so. */
  const submit = async (req: FastifyRequest, application: ApplicationRecord) => {
    if ((await ctx.forward(application)) === 'await_confirmation') return application;
    const { application: done, kkm } = await applications.confirm(application.id);
    if (kkm && application.kind === 'reregistration') {
      await ctx.onKkmChanged(kkm.kkmId, 'point_changed');
    }
    if (kkm && application.kind === 'deregistration') {
      await ctx.onKkmChanged(kkm.kkmId, 'deregistered');
    }
    req.log.info(
      { action: `application.${application.kind}`, id: done.id, kkmId: done.kkmId },
      `cabinet: application ${done.status}`,
    );
    return done;
  };

  r.post(
    '/api/v1/kkms',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Register a KKM at a point of sale (an application to the tax authority)',
        body: NewKkm,
        response: { 201: KkmCreatedView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      await ownPoint(req, b.pointId);
      const signedBy = await signature(req, b.proof);
      const kkmId = await kkms.allocateKkmId();
      const filed = await applications.file({
        orgId: req.caller.orgId,
        kkmId,
        kind: 'registration',
        detail: {
          pointId: b.pointId,
          serialNumber: b.serialNumber,
          model: b.model,
          name: b.name,
          year: b.year,
        },
        signedBy,
      });
      const done = await submit(req, filed);
      return reply.code(201).send({ id: kkmId, applicationId: done.id, status: done.status });
    },
  );

  r.post(
    '/api/v1/kkms/:kkmId/token',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Issue a new token for the register (the old one stops working)',
        params: KkmParams,
        response: { 200: TokenView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const kkm = await ownKkm(req, req.params.kkmId);
      const { token, tokenEpoch } = await kkms.issueToken(kkm.kkmId);
      await ctx.onKkmChanged(kkm.kkmId, 'token_issued');
      req.log.info(
        { action: 'kkm.token', kkmId: kkm.kkmId, tokenEpoch, by: req.caller.userId },
        'cabinet: KKM token issued',
      );
      return { kkmId: kkm.kkmId, token };
    },
  );

  /** The schema of a route filing an application about one KKM. */
  const applicationSchema = <B extends TSchema>(summary: string, body: B) => ({
    tags,
    summary,
    params: KkmParams,
    body,
    response: { 201: ApplicationStatusView, ...errorResponses(400, 401, 403, 404, 409) },
  });
  /** A KKM that is not deregistered (409 when it is). */
  const activeKkm = async (req: FastifyRequest, kkmId: number) => {
    const kkm = await ownKkm(req, kkmId);
    if (kkm.status === 'deregistered') {
      throw new ConflictError('kkm_deregistered', `kkm ${kkm.kkmId} is deregistered`);
    }
    return kkm;
  };
  /** Files an application about a KKM, hands it on, and answers its status. */
  const fileFor = async (
    req: FastifyRequest,
    kkm: { orgId: number; kkmId: number },
    kind: 'reregistration' | 'deregistration',
    detail: Record<string, unknown>,
    proof: ProofBody | undefined,
  ): Promise<Static<typeof ApplicationStatusView>> => {
    const filed = await applications.file({
      orgId: kkm.orgId,
      kkmId: kkm.kkmId,
      kind,
      detail,
      signedBy: await signature(req, proof),
    });
    const done = await submit(req, filed);
    return { applicationId: done.id, kkmId: kkm.kkmId, status: done.status };
  };

  r.post(
    '/api/v1/kkms/:kkmId/reregistration',
    {
      ...guard,
      schema: applicationSchema(
        'Move the KKM to another point of sale (its documents keep their point)',
        Reregistration,
      ),
    },
    async (req, reply) => {
      const kkm = await activeKkm(req, req.params.kkmId);
      const target = await ownPoint(req, req.body.pointId);
      if (target.pointId === kkm.pointId) {
        throw new ConflictError('point_targeted', `kkm ${kkm.kkmId} is at point ${target.pointId}`);
      }
      const detail = { fromPointId: kkm.pointId, pointId: target.pointId };
      return reply
        .code(201)
        .send(await fileFor(req, kkm, 'reregistration', detail, req.body.proof));
    },
  );

  r.post(
    '/api/v1/kkms/:kkmId/deregistration',
    {
      ...guard,
      schema: applicationSchema(
        'Deregister the KKM (409 while a shift is open or offline documents are owed); ' +
          'the register is then answered 15',
        Deregistration,
      ),
    },
    async (req, reply) => {
      const kkm = await activeKkm(req, req.params.kkmId);
      const [overview] = await queries.overview([kkm.kkmId]);
      if (overview?.openShift) {
        throw new ConflictError(
          'shift_open',
          `kkm ${kkm.kkmId} has shift ${overview.openShift.number} open; close it (Z report) first`,
        );
      }
      const owed = (await reconciliation.findings(kkm.kkmId)).filter((f) =>
        OWED_DOCUMENTS.has(f.kind),
      );
      if (owed.length) {
        throw new ConflictError(
          'offline_documents_expected',
          `kkm ${kkm.kkmId} still owes documents made offline (${owed[0]!.kind}); send them first`,
        );
      }
      const detail = { reason: req.body.reason };
      return reply
        .code(201)
        .send(await fileFor(req, kkm, 'deregistration', detail, req.body.proof));
    },
  );

  r.post(
    '/api/v1/vpn-requests',
    {
      ...guard,
      schema: {
        tags,
        summary: 'Ask for a wired VPN connection (cabinet manual §7)',
        body: VpnRequest,
        response: {
          201: Type.Object({ id: Type.Integer(), status: Type.String() }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      const filed = await applications.file({
        orgId: req.caller.orgId,
        kkmId: 0,
        kind: 'vpn',
        detail: { ...req.body, comment: req.body.comment ?? '' },
        signedBy: 'password',
      });
      req.log.info(
        { action: 'vpn.request', id: filed.id, orgId: req.caller.orgId },
        'cabinet: VPN requested',
      );
      return reply.code(201).send({ id: filed.id, status: filed.status });
    },
  );

  /** The caller's applications: a sub-user sees those of KKMs at its points (and VPN ones). */
  const visibleDocuments = async (req: FastifyRequest, filter: Static<typeof DocumentsQuery>) => {
    const all = await applications.list(req.caller.orgId, {
      kkmId: filter.kkmId,
      kind: filter.type,
    });
    if (req.caller.pointIds === 'all') return all;
    const points = req.caller.pointIds;
    return all.filter((a) => {
      const at = Number(a.detail.pointId ?? a.detail.fromPointId ?? 0);
      return a.kind === 'vpn' || points.has(at) || points.has(Number(a.detail.fromPointId ?? 0));
    });
  };

  r.get(
    '/api/v1/documents',
    {
      ...guard,
      schema: {
        tags: ['documents'],
        summary: "The organization's applications with their status (cabinet manual §15)",
        querystring: DocumentsQuery,
        response: {
          200: Type.Object({ items: Type.Array(DocumentView) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (req) => ({ items: (await visibleDocuments(req, req.query)).map(documentJson) }),
  );

  r.get(
    '/api/v1/documents/:id/file',
    {
      ...guard,
      schema: {
        tags: ['documents'],
        summary: 'One application as a file (JSON)',
        params: Type.Object({ id: Id }, { additionalProperties: false }),
        response: errorResponses(400, 401, 403, 404),
      },
    },
    async (req, reply) => {
      const found = (await visibleDocuments(req, {})).find((a) => a.id === req.params.id);
      if (!found) throw new NotFound(`document ${req.params.id} not found`);
      return reply
        .header('content-disposition', `attachment; filename="application-${found.id}.json"`)
        .type('application/json')
        .send(JSON.stringify(documentJson(found), null, 2) as never);
    },
  );
}
