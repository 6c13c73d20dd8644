// The cabinet's bearer authentication: resolves `Authorization: Bearer <session token>` to the
// caller (organization, role, permissions, points) or answers 401, from Redis alone while the
// cached caller is current (sessions.ts). `requirePermission` guards a module (transactions,
// reports, …) with 403 (404 for a service centre).
import type {
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  onSendAsyncHookHandler,
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
    const caller = token ? await callerOf(sessions, scope, token) : null;
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

/** The caller a session token stands for: cached in Redis, else read and cached. */
export async function callerOf(
  sessions: Sessions,
  scope: Scope,
  token: string,
): Promise<Caller | null> {
  const found = await sessions.lookup(token);
  if (!found) return null;
  // A service centre's access is its clients' grants, which their organizations change:
  // it is read every time rather than cached under the centre's own access version.
  if (found.session.centre === true) {
    return scope.caller(found.session.userId, found.session.orgId, true);
  }
  if (found.caller) return found.caller;
  const caller = await scope.caller(found.session.userId, found.session.orgId);
  if (caller) await sessions.rememberCaller(caller, found.accessVersion);
  return caller;
}

/**
 * Any change a caller made (users, groups, or whatever else a non-GET request changes) makes
 * the organization's cached callers stale before the answer leaves, so the next request,
 * the changer's or anyone's, sees the change.
 */
export function dropCachedAccessOnChange(sessions: Sessions): onSendAsyncHookHandler {
  return async function (req, reply, payload) {
    if (req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 300 && req.caller) {
      await sessions.accessChanged(req.caller.orgId);
    }
    return payload;
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
