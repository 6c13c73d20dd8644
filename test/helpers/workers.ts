// Helpers of the worker tests: cabinet sessions made directly (the owner of a registered
// organization, or a user row with chosen permissions), JSON calls, polling, raw row counts and
// reading zip archives.
import yauzl from 'yauzl';
import pino from 'pino';
import type { Test } from 'tap';
import { LiveFeed } from '../../src/telemetry/live-feed.js';
import { Sessions } from '../../src/api/cabinet/sessions.js';
import { startTestServer, type RegisteredKkm, type TestServer } from './server.js';

export async function rowsOf<T = Record<string, unknown>>(
  server: TestServer,
  query: string,
  query_params: Record<string, unknown> = {},
): Promise<T[]> {
  return server.db.rows<T>(query, query_params);
}

/** A session token of the organization's owner (login = BIN). */
export async function ownerToken(server: TestServer, kkm: RegisteredKkm): Promise<string> {
  const [user] = await rowsOf<{ user_id: number }>(
    server,
    'SELECT user_id FROM users FINAL WHERE login = {login:String} AND deleted = 0',
    { login: kkm.bin },
  );
  if (!user) throw new Error(`no owner for ${kkm.bin}`);
  const sessions = new Sessions(server.redis, server.config.redisPrefix);
  return (await sessions.create(Number(user.user_id), kkm.orgId)).token;
}

let userCounter = 0;

/** A sub-user of the KKM's organization with these permissions and the KKM's point. */
export async function userToken(
  server: TestServer,
  kkm: RegisteredKkm,
  permissions: string[],
): Promise<string> {
  const userId = 4_000_000_000 + (process.pid % 1000) * 1000 + ++userCounter;
  await server.db.insert('users', [
    {
      user_id: userId,
      org_id: kkm.orgId,
      login: `worker-test-${userId}`,
      password_hash: '',
      name: 'Test',
      email: '',
      role: 'user',
      point_ids: [kkm.pointId],
      group_ids: [],
      permissions,
      deleted: 0,
      created_at: Date.now(),
      version: 1,
    },
  ]);
  const sessions = new Sessions(server.redis, server.config.redisPrefix);
  return (await sessions.create(userId, kkm.orgId)).token;
}

export function api(server: TestServer) {
  const base = `http://127.0.0.1:${server.httpPort}`;
  return async (
    method: string,
    url: string,
    token: string | null,
    body?: unknown,
  ): Promise<{ status: number; json: any; bytes: Buffer; headers: Headers }> => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: any = null;
    if (res.headers.get('content-type')?.includes('json')) json = JSON.parse(bytes.toString());
    return { status: res.status, json, bytes, headers: res.headers };
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The entries of a zip archive, name → content. */
export function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('not a zip'));
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** CSV text as rows of fields (RFC 4180 quoting). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * A test server with its workers (tap tears both down) and a subscriber to its live feed, for
 * the suites that watch what the workers raise.
 */
export async function startWatchedServer(t: Pick<Test, 'teardown'>, env: Record<string, string>) {
  const server = await startTestServer(env);
  const feed = new LiveFeed(server.redis, server.config.redisPrefix, pino({ level: 'silent' }));
  t.teardown(async () => {
    await feed.close();
    await server.workers?.close();
    await server.stop();
  });
  return { server, feed };
}
