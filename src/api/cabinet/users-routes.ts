// Cabinet users (cabinet manual §13): the owner, or a user with the "users" permission, creates
// sub-users and grants them points of sale and modules, directly or through groups. A sub-user
// manager only grants what it has itself and only manages users within its own access. Another
// organization's user is answered like a missing one (404, nothing else). Password hashes are
// never shown; passwords follow the cabinet password policy.
import type { OrgUsers, UserRecord } from '../../storage/users.js';
import type { Caller } from '../../storage/cabinet-scope.js';
import { seesUser } from '../../access/user-admin.js';
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { checkPasswordPolicy } from '../password-policy.js';
import { requirePermission } from './authenticate.js';
import type { CabinetContext } from './index.js';
import { userJson, userViewSchema } from './user-views.js';
import { idList, permissionsSchema } from './identity-http.js';
import { answerObject, errorResponses, idParams, noContent } from '../http/schemas.js';
import { sendError } from '../http/conventions.js';

const passwordSchema = Type.String({
  maxLength: 128,
  description: 'At least 8 characters with a-z, A-Z and one of @ ? * = + ! /',
});

const userFields = {
  password: passwordSchema,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' }),
  pointIds: idList('Points of sale granted directly'),
  permissions: permissionsSchema,
  groupIds: idList('Groups the user belongs to'),
};

const newUserBody = Type.Object(
  {
    login: Type.String({
      minLength: 3,
      maxLength: 64,
      // Latin only: a Cyrillic "А" would let "subА1" stand beside "subA1".
      pattern: '^[A-Za-z0-9._@+-]+$',
      description: 'Unique in the whole system; Latin letters, digits and . _ @ + -',
    }),
    ...userFields,
    groupIds: Type.Optional(userFields.groupIds),
  },
  { additionalProperties: false },
);

const userPatchBody = Type.Partial(Type.Object(userFields), {
  additionalProperties: false,
  minProperties: 1,
  description: 'Fields left out keep their values',
});

export async function usersRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;
  const users = ctx.registry.users;
  /** The users the caller may see, as JSON. */
  const visible = (caller: Caller, org: OrgUsers, list: UserRecord[]) =>
    list.map((u) => userJson(org, u)).filter((j) => seesUser(caller, { ...j, userId: j.id }));
  const preHandler = requirePermission('users');
  const tags = ['users'];

  app.post(
    '/api/v1/users',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Create a user with access to chosen points of sale and modules',
        body: newUserBody,
        response: { 201: userViewSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const policy = checkPasswordPolicy(req.body.password, 'body/password');
      if (policy) return sendError(reply, 400, policy);
      const { org, user } = await users.createUser(req.caller, req.body);
      req.log.info(
        { action: 'user.create', orgId: req.caller.orgId, by: req.caller.userId, id: user.userId },
        'cabinet: user created',
      );
      return reply.code(201).send(userJson(org, user));
    },
  );

  app.get(
    '/api/v1/users',
    {
      preHandler,
      schema: {
        tags,
        summary: "The organization's users",
        response: {
          200: answerObject({ items: Type.Array(userViewSchema) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (req) => ({
      items: await users
        .directory(req.caller.orgId)
        .then((org) => visible(req.caller, org, org.users)),
    }),
  );

  app.get(
    '/api/v1/users/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'One user with its direct and effective access',
        params: idParams('id'),
        response: { 200: userViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const org = await users.directory(req.caller.orgId);
      const [user] = visible(
        req.caller,
        org,
        org.users.filter((u) => u.userId === req.params.id),
      );
      if (!user) return sendError(reply, 404, `user ${req.params.id} not found`);
      return user;
    },
  );

  app.put(
    '/api/v1/users/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: "Change a user's name, e-mail, password or access",
        params: idParams('id'),
        body: userPatchBody,
        response: { 200: userViewSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      if (req.body.password !== undefined) {
        const policy = checkPasswordPolicy(req.body.password, 'body/password');
        if (policy) return sendError(reply, 400, policy);
      }
      const { org, user } = await users.updateUser(req.caller, req.params.id, req.body);
      // A new password ends the user's other sessions (one's own change keeps the current one).
      if (req.body.password !== undefined) {
        const own = user.userId === req.caller.userId;
        await ctx.sessions.revokeUser(user.userId, own ? req.sessionToken : undefined);
      }
      req.log.info(
        {
          action: 'user.update',
          orgId: req.caller.orgId,
          by: req.caller.userId,
          id: user.userId,
          fields: Object.keys(req.body),
        },
        'cabinet: user changed',
      );
      return userJson(org, user);
    },
  );

  app.delete(
    '/api/v1/users/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Delete a user; its sessions stop working (the owner cannot be deleted)',
        params: idParams('id'),
        response: {
          204: noContent('Deleted'),
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (req, reply) => {
      await users.deleteUser(req.caller, req.params.id);
      await ctx.sessions.revokeUser(req.params.id);
      req.log.info(
        {
          action: 'user.delete',
          orgId: req.caller.orgId,
          by: req.caller.userId,
          id: req.params.id,
        },
        'cabinet: user deleted',
      );
      return reply.code(204).send();
    },
  );
}
