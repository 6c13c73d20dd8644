// The operator admin API's bearer token: OFD_ADMIN_TOKEN when set; otherwise the token kept in
// DATA_DIR/admin-token; otherwise a new random one written there (mode 0600), its path logged
// (never the token: logs travel further than the host), so a zero-config start is usable and
// still closed to everyone without access to the host.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { bearerOf } from './bearer.js';
import { sendError } from './http/conventions.js';

export const ADMIN_TOKEN_FILE = 'admin-token';
const MIN_TOKEN_LENGTH = 16;

/** The part of a pino (or Fastify) logger this module uses. */
export interface InfoLogger {
  info(obj: object, msg?: string): void;
}

/**
 * Resolves the admin token at start (synchronous file I/O, meant for start-up only). Throws
 * when DATA_DIR/admin-token exists but holds fewer than 16 characters.
 */
export function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
  log: InfoLogger,
): string {
  if (configured) return configured;
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = readToken(path);
  if (existing !== null) return existing;
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('hex');
  try {
    // 'wx': never overwrite; a process starting at the same moment may have written it first.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = readToken(path);
      if (raced !== null) return raced;
    }
    throw err;
  }
  log.info(
    { adminTokenFile: path },
    `Generated the operator admin API token and saved it to ${path} (mode 0600). ` +
      'Send it as "Authorization: Bearer <token>" to /api/v1/admin/*; set OFD_ADMIN_TOKEN to use your own.',
  );
  return token;
}

function readToken(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `${path} must hold the admin token (at least ${MIN_TOKEN_LENGTH} characters); ` +
        'delete the file to have a new one generated',
    );
  }
  return token;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of two secrets of any length (compares their SHA-256 digests). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** True when an Authorization header value is `Bearer <token>` with the expected token. */
export function checkBearer(header: string | undefined, expected: string): boolean {
  if (typeof header !== 'string' || expected.length === 0) return false;
  const token = bearerOf(header);
  // Always compare, so a malformed header costs the same as a wrong token.
  const ok = secretsEqual(token ?? '', expected);
  return ok && token !== null;
}

/** Refuses, with 401 and a log line, every request of `app` without the admin bearer token. */
export function requireAdminToken(app: FastifyInstance, adminToken: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (checkBearer(header, adminToken)) return;
    request.log.warn({ url: request.url }, 'admin API: refused a request without a valid token');
    reply.header('www-authenticate', 'Bearer');
    sendError(
      reply,
      401,
      header ? 'invalid admin token' : 'send the admin token as "Authorization: Bearer <token>"',
    );
    return reply;
  });
}
