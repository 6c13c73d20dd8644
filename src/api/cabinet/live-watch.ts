// Keeps an open live-feed socket true to its session: it closes (4401) once the session ends
// (logout, a password change, the user's removal, expiry) and follows changes of the caller's
// permissions and points. Sessions are checked in Redis every few seconds; access is read again
// from ClickHouse only when a user or group of the organization changed ('access_changed',
// published on the feed by the routes that change them).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LiveFeed } from '../../telemetry/live-feed.js';
import type { Caller, Scope } from '../../storage/cabinet-scope.js';
import type { Sessions } from './sessions.js';
import { callerOf } from './authenticate.js';

/** How often an open socket's session is looked up again. */
export const LIVE_SESSION_CHECK_MS = 2000;

/** The caller a session stands for, if it may read the live feed. */
export async function liveCaller(
  sessions: Sessions,
  scope: Scope,
  token: string | undefined,
): Promise<Caller | null> {
  const caller = token ? await callerOf(sessions, scope, token) : null;
  return caller && caller.permissions.has('transactions') ? caller : null;
}

/**
 * Watches one socket: `current()` is the caller to filter by; `close` is called once, when the
 * session ends or loses the feed. Returns the function that stops watching.
 */
export function watchLiveSession(opts: {
  sessions: Sessions;
  scope: Scope;
  token: string;
  caller: Caller;
  onCaller: (caller: Caller) => void;
  close: () => void;
}): { accessChanged: () => void; stop: () => void } {
  let stopped = false;
  const recheck = async (withAccess: boolean) => {
    try {
      const next = withAccess
        ? await liveCaller(opts.sessions, opts.scope, opts.token)
        : (await opts.sessions.get(opts.token))
          ? opts.caller
          : null;
      if (stopped) return;
      if (!next) {
        stop();
        opts.close();
      } else if (withAccess) {
        opts.caller = next;
        opts.onCaller(next);
      }
    } catch {
      // Redis or ClickHouse unreachable: the next check decides.
    }
  };
  const timer = setInterval(() => void recheck(false), LIVE_SESSION_CHECK_MS);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return { accessChanged: () => void recheck(true), stop };
}

/** After a successful change of users or groups, tells open live sockets of the organization. */
export function publishAccessChanges(app: FastifyInstance, feed: LiveFeed): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === 'GET' || reply.statusCode >= 300 || !req.caller) return;
    if (!/^\/api\/v1\/(users|groups)(\/|$)/.test(req.routeOptions.url ?? '')) return;
    feed.publish({
      type: 'access_changed',
      orgId: req.caller.orgId,
      pointId: 0,
      kkmId: 0,
      at: new Date().toISOString(),
    });
  });
}
