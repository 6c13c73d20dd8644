// Cabinet login and logout (cabinet manual §2, "Логин/пароль"): the owner logs in with the
// organization's BIN, sub-users with their own login. A wrong login and a wrong password get
// the same answer; repeated failures are slowed down and then refused (login-throttle.ts).
// Passwords never reach a log line.
import { randomBytes } from 'node:crypto';
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import { hashPassword, verifyPassword } from '../../storage/passwords.js';
import type { CabinetContext } from './index.js';

import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { answerObject, errorResponses, noContent } from '../http/schemas.js';
import { sendError } from '../http/conventions.js';

export interface AuthRoutesOptions {
  ctx: CabinetContext;
  /** Overrides of DEFAULT_LOGIN_THROTTLE. */
  throttle?: Partial<LoginThrottleOptions>;
}

const WRONG_CREDENTIALS = 'wrong login or password';

const loginBody = Type.Object(
  {
    login: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

const sessionView = answerObject({
  token: Type.String({ description: 'Send as "Authorization: Bearer <token>"' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POST /api/v1/auth/login; registered before the cabinet's authentication hook. */
export async function authPublicRoutes(app: TypeBoxApp, opts: AuthRoutesOptions) {
  const { ctx } = opts;
  const users = ctx.registry.users;
  const throttle = new LoginThrottle(ctx.redis, ctx.redisPrefix, opts.throttle);
  // Unknown logins still pay for one scrypt, so timing does not tell which logins exist.
  let dummyHash: Promise<string> | null = null;
  const dummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString('hex')));

  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with login and password; returns a bearer session token',
        security: [],
        body: loginBody,
        response: { 200: sessionView, ...errorResponses(400, 401, 429) },
      },
    },
    async (req, reply) => {
      const { login, password } = req.body;
      const attempt = await throttle.begin(login, req.ip);
      if (!attempt.allowed) {
        req.log.warn({ action: 'login.refused', ip: req.ip }, 'cabinet: login throttled');
        reply.header('retry-after', String(attempt.retryAfterSeconds));
        return sendError(
          reply,
          429,
          `too many failed logins; try again in ${attempt.retryAfterSeconds} s`,
        );
      }
      if (attempt.delayMs > 0) await sleep(attempt.delayMs);
      const user = await users.findLogin(login);
      const ok = user
        ? await verifyPassword(password, user.passwordHash)
        : (await verifyPassword(password, await dummy())) && false;
      if (!user || !ok) {
        req.log.warn(
          { action: 'login.failed', ip: req.ip, userId: user?.userId },
          'cabinet: login failed',
        );
        return sendError(reply, 401, WRONG_CREDENTIALS);
      }
      await throttle.succeeded(login, req.ip);
      const session = await ctx.sessions.create(user.userId, user.orgId);
      req.log.info(
        { action: 'login', userId: user.userId, orgId: user.orgId },
        'cabinet: logged in',
      );
      return { token: session.token, expiresAt: session.expiresAt.toISOString() };
    },
  );
}

/** POST /api/v1/auth/logout; registered behind the authentication hook. */
export async function authSecuredRoutes(app: TypeBoxApp, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;

  app.post(
    '/api/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log out: the session token stops working',
        response: { 204: noContent('Logged out'), ...errorResponses(401) },
      },
    },
    async (req, reply) => {
      await ctx.sessions.revoke(req.sessionToken);
      req.log.info({ action: 'logout', userId: req.caller.userId }, 'cabinet: logged out');
      return reply.code(204).send();
    },
  );
}
