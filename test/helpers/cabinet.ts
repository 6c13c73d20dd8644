// Cabinet-side helpers for API tests: JSON calls with a bearer session token, logging in (the
// owner's login is the org's BIN and its password the one registerKkm sets), and creating a
// sub-user with chosen points and permissions and logging in as it.
import { createHttpApp } from '../../src/api/http/app.js';
import { authPublicRoutes } from '../../src/api/cabinet/auth-routes.js';
import type { CabinetContext } from '../../src/api/cabinet/index.js';
import type { LoginThrottleOptions } from '../../src/api/cabinet/login-throttle.js';
import { Scope } from '../../src/storage/cabinet-scope.js';
import { Sessions } from '../../src/api/cabinet/sessions.js';
import type { TestServer } from './server.js';

/** The org password registerKkm gives every organization (the owner logs in with it). */
export const ORG_PASSWORD = 'Secret-pass1!';

export interface CabinetResponse {
  status: number;
  json: any;
  headers: Headers;
}

export interface SubUser {
  id: number;
  login: string;
  password: string;
  token: string;
}

let loginCounter = 0;

export function cabinetClient(server: TestServer) {
  const base = `http://127.0.0.1:${server.httpPort}`;

  async function call(
    method: string,
    url: string,
    opts: { token?: string; body?: unknown } = {},
  ): Promise<CabinetResponse> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
  }

  /** POST /api/v1/auth/login; the session token, or an error with the answer. */
  async function login(loginName: string, password = ORG_PASSWORD): Promise<string> {
    const res = await call('POST', '/api/v1/auth/login', {
      body: { login: loginName, password },
    });
    if (res.status !== 200) throw new Error(`login ${loginName}: ${JSON.stringify(res.json)}`);
    return res.json.token as string;
  }

  /** Creates a sub-user as `managerToken` (the owner's, say) and logs in as it. */
  async function createSubUser(
    managerToken: string,
    grants: { pointIds: number[]; permissions: string[]; groupIds?: number[] },
  ): Promise<SubUser> {
    const name = `user${process.pid}x${++loginCounter}`;
    const password = 'Sub-user-pass1!';
    const res = await call('POST', '/api/v1/users', {
      token: managerToken,
      body: { login: name, password, name: 'Sub User', email: `${name}@example.kz`, ...grants },
    });
    if (res.status !== 201) throw new Error(`create user: ${JSON.stringify(res.json)}`);
    return { id: res.json.id as number, login: name, password, token: await login(name, password) };
  }

  return { call, login, createSubUser };
}

export type CabinetClient = ReturnType<typeof cabinetClient>;

/**
 * The login route alone on a Fastify app of its own, over the server's ClickHouse and Redis
 * (own key prefix), with chosen throttle thresholds; called with `app.inject` and any address.
 */
export async function loginApp(
  server: TestServer,
  throttle: Partial<LoginThrottleOptions>,
  options: Parameters<typeof createHttpApp>[0] = {},
) {
  const prefix = `${server.config.redisPrefix}alt:`;
  const ctx = {
    db: server.db,
    redis: server.redis,
    registry: server.registry,
    redisPrefix: prefix,
    scope: new Scope(server.db),
    sessions: new Sessions(server.redis, prefix),
  } as unknown as CabinetContext;
  const app = createHttpApp(options);
  await app.register(authPublicRoutes, { ctx, throttle });
  return app;
}
