// Cabinet user groups (cabinet manual §14): a group grants points of sale and modules to its
// members. Managed by the owner or a user with the "users" permission, within its own access.
// Another organization's group is answered like a missing one (404, nothing else).
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { requirePermission } from './authenticate.js';
import { groupJson, groupViewSchema } from './user-views.js';
import type { CabinetContext } from './index.js';
import { idList, permissionsSchema } from './identity-http.js';
import { answerObject, errorResponses, idParams, noContent } from '../http/schemas.js';
import { sendError } from '../http/conventions.js';

const groupFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  pointIds: idList('Points of sale the members see'),
  permissions: permissionsSchema,
  memberIds: idList('Users of the group (replaces the membership when given)'),
};

const newGroupBody = Type.Object(
  { ...groupFields, memberIds: Type.Optional(groupFields.memberIds) },
  { additionalProperties: false },
);

const groupPatchBody = Type.Partial(Type.Object(groupFields), {
  additionalProperties: false,
  minProperties: 1,
  description: 'Fields left out keep their values',
});

export async function groupsRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;
  const users = ctx.registry.users;
  const preHandler = requirePermission('users');
  const tags = ['groups'];

  app.post(
    '/api/v1/groups',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Create a group granting points of sale and modules to its members',
        body: newGroupBody,
        response: { 201: groupViewSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const { org, group } = await users.createGroup(req.caller, req.body);
      req.log.info(
        {
          action: 'group.create',
          orgId: req.caller.orgId,
          by: req.caller.userId,
          id: group.groupId,
        },
        'cabinet: group created',
      );
      return reply.code(201).send(groupJson(org, group));
    },
  );

  app.get(
    '/api/v1/groups',
    {
      preHandler,
      schema: {
        tags,
        summary: "The organization's groups",
        response: {
          200: answerObject({ items: Type.Array(groupViewSchema) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (req) => {
      const org = await users.directory(req.caller.orgId);
      return { items: org.groups.map((g) => groupJson(org, g)) };
    },
  );

  app.get(
    '/api/v1/groups/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'One group with its members',
        params: idParams('id'),
        response: { 200: groupViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const org = await users.directory(req.caller.orgId);
      const group = org.groups.find((g) => g.groupId === req.params.id);
      if (!group) return sendError(reply, 404, `group ${req.params.id} not found`);
      return groupJson(org, group);
    },
  );

  app.put(
    '/api/v1/groups/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: "Change a group's name, grants or members",
        params: idParams('id'),
        body: groupPatchBody,
        response: { 200: groupViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { org, group } = await users.updateGroup(req.caller, req.params.id, req.body);
      req.log.info(
        {
          action: 'group.update',
          orgId: req.caller.orgId,
          by: req.caller.userId,
          id: group.groupId,
          fields: Object.keys(req.body),
        },
        'cabinet: group changed',
      );
      return groupJson(org, group);
    },
  );

  app.delete(
    '/api/v1/groups/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Delete a group; its members lose what it granted',
        params: idParams('id'),
        response: {
          204: noContent('Deleted'),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (req, reply) => {
      await users.deleteGroup(req.caller, req.params.id);
      req.log.info(
        {
          action: 'group.delete',
          orgId: req.caller.orgId,
          by: req.caller.userId,
          id: req.params.id,
        },
        'cabinet: group deleted',
      );
      return reply.code(204).send();
    },
  );
}
