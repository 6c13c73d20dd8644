// The cabinet's bearer authentication: resolves `Authorization: Bearer <session token>` to the
// caller (organization, role, permissions, points) or answers 401. `requirePermission` guards a
// module (transactions, reports, …) with 403 (404 for a service centre).
import type {
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preValidationAsyncHookHandler,
} from 'fastify';
import { bearerOf } from '../bearer.js';
import type { Caller, Permission, Scope } from '../../storage/cabinet-scope.js';
import type { Sessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    sessionToken: string;
    /** The cabinet module the route belongs to (set by requirePermission). */
    module?: Permission;
  }
}

export function bearerToken(req: FastifyRequest): string | null {
  return bearerOf(req.headers.authorization);
}

/** Runs on request, before the body and query are even validated: 401 comes first. */
export function authenticate(sessions: Sessions, scope: Scope): onRequestAsyncHookHandler {
  return async function (req: FastifyRequest, reply: FastifyReply) {
    const token = bearerToken(req);
    const session = token ? await sessions.get(token) : null;
    const caller = session
      ? await scope.caller(session.userId, session.orgId, session.centre === true)
      : null;
    if (!token || !caller) {
      return reply.code(401).send({
        error: 'Unauthorized',
        message: 'log in: a valid bearer session token is required',
      });
    }
    req.caller = caller;
    req.sessionToken = token;
  };
}

/**
 * Guards a module with 403. Register it as `preValidation` (or earlier) so a caller without
 * the permission never hears what is wrong with its request.
 */
export function requirePermission(permission: Permission): preValidationAsyncHookHandler {
  return async function (req: FastifyRequest, reply: FastifyReply) {
    req.module = permission;
    if (!req.caller.permissions.has(permission)) {
      // A service centre sees nothing of a module no client granted it: not even that it exists.
      if (req.caller.serviced) {
        return reply.code(404).send({ error: 'Not Found', message: 'not found' });
      }
      return reply
        .code(403)
        .send({ error: 'Forbidden', message: `this account has no "${permission}" permission` });
    }
  };
}
