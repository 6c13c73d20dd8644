// Operator routes of the self-service: registering a service centre (ЦТО) with the KKM models
// it serves — its owner then logs in with the centre's BIN like an organization's — and
// operator notices that appear in the chosen organizations' notifications (cabinet manual
// §18, §19). Mounted by admin.ts behind the admin token.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { NewNotification } from '../storage/notifications.js';
import type { Registry } from '../storage/registry.js';
import { sendError } from './http/conventions.js';
import { errorResponses } from './http/schemas.js';
import { checkPasswordPolicy } from './password-policy.js';

export const OPERATOR_NOTICE = 'operator_notice';

export interface AdminSelfServiceOptions {
  registry: Registry;
  prefix: string;
  /** Stores and announces notifications (the Notifier). */
  notify: (list: NewNotification[]) => Promise<void>;
}

const CentreBody = Type.Object(
  {
    bin: Type.String({ pattern: '^[0-9]{12}$' }),
    title: Type.String({ minLength: 1, maxLength: 500 }),
    models: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
    }),
    password: Type.String({ maxLength: 128 }),
  },
  { additionalProperties: false },
);

const NoticeBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500 }),
    body: Type.String({ minLength: 1, maxLength: 20_000 }),
    orgIds: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 4294967295 }), {
        minItems: 1,
        maxItems: 1_000_000,
        uniqueItems: true,
        description: 'The organizations to tell; every taxpayer when left out',
      }),
    ),
  },
  { additionalProperties: false },
);

export async function adminSelfServiceRoutes(app: FastifyInstance, o: AdminSelfServiceOptions) {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    `${o.prefix}/service-centres`,
    {
      schema: {
        tags: ['admin'],
        summary: 'Register a service centre and the KKM models it serves',
        body: CentreBody,
        response: { 201: Type.Object({ id: Type.Integer() }), ...errorResponses(400, 401, 409) },
      },
    },
    async (req, reply) => {
      const policy = checkPasswordPolicy(req.body.password, 'body/password');
      if (policy) return sendError(reply, 400, policy);
      const { centreId } = await o.registry.serviceCentres.register(req.body);
      req.log.info(
        { action: 'centre.create', centreId, bin: req.body.bin },
        'admin: service centre registered',
      );
      return reply.code(201).send({ id: centreId });
    },
  );

  r.post(
    `${o.prefix}/notices`,
    {
      schema: {
        tags: ['admin'],
        summary: "Post a notice to the chosen organizations' notifications (all when none)",
        body: NoticeBody,
        response: {
          201: Type.Object({ id: Type.String(), organizations: Type.Integer() }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (req, reply) => {
      const { title, body, orgIds } = req.body;
      const known = new Set((await o.registry.orgs.listOrgs('taxpayer')).map((org) => org.orgId));
      const targets = orgIds ? orgIds.filter((id) => known.has(id)) : [...known];
      const id = randomBytes(8).toString('hex');
      await o.notify(
        targets.map((orgId) => ({
          orgId,
          kind: OPERATOR_NOTICE,
          subject: id,
          title,
          detail: { body, noticeId: id },
        })),
      );
      req.log.info(
        { action: 'notice.create', id, organizations: targets.length },
        'admin: notice posted',
      );
      return reply.code(201).send({ id, organizations: targets.length });
    },
  );
}
