// GET /api/v1/me: who the session is — the web cabinet shows the modules and points the caller
// has, and hides what it lacks (the routes still check every request themselves).
import { Type } from 'typebox';
import type { TypeBoxApp } from '../http/app.js';
import { PERMISSIONS } from '../../access/permissions.js';
import { errorResponses } from '../http/schemas.js';

const MeView = Type.Object({
  userId: Type.Integer(),
  orgId: Type.Integer(),
  login: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('user')]),
  permissions: Type.Array(Type.Enum([...PERMISSIONS])),
  pointIds: Type.Union([Type.Literal('all'), Type.Array(Type.Integer())], {
    description: "'all' for the owner; otherwise the points granted directly or through groups",
  }),
});

export async function meRoutes(app: TypeBoxApp): Promise<void> {
  app.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'The logged-in user: organization, role, modules and points',
        tags: ['auth'],
        response: { 200: MeView, ...errorResponses(401) },
      },
    },
    async (req) => {
      const c = req.caller;
      return {
        userId: c.userId,
        orgId: c.orgId,
        login: c.login,
        role: c.role,
        permissions: PERMISSIONS.filter((p) => c.permissions.has(p)),
        pointIds: c.pointIds === 'all' ? ('all' as const) : [...c.pointIds].sort((a, b) => a - b),
      };
    },
  );
}
