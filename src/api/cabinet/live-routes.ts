// GET /api/v1/live (WebSocket): receipts and KKM status changes within the caller's scope,
// pushed as they are acknowledged. Browsers cannot set headers on a WebSocket, so the session
// token may also come as ?token=.
import type { TypeBoxApp } from '../http/app.js';
import { Type } from 'typebox';
import type { LiveFeed } from '../../telemetry/live-feed.js';
import { bearerToken } from './authenticate.js';
import type { CabinetContext } from './index.js';
import { liveCaller, watchLiveSession } from './live-watch.js';

export async function liveRoutes(
  app: TypeBoxApp,
  opts: { ctx: CabinetContext; feed: LiveFeed },
): Promise<void> {
  const { ctx, feed } = opts;
  app.get(
    '/api/v1/live',
    {
      websocket: true,
      schema: {
        summary: 'Live feed of receipts and KKM status changes (WebSocket)',
        tags: ['cabinet'],
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      },
    },
    async (socket, req) => {
      const token = bearerToken(req) ?? req.query.token;
      const first = await liveCaller(ctx.sessions, ctx.scope, token);
      if (!token || !first) {
        socket.close(4401, 'unauthorized');
        return;
      }
      let caller = first;
      const watch = watchLiveSession({
        sessions: ctx.sessions,
        scope: ctx.scope,
        token,
        caller,
        onCaller: (next) => (caller = next),
        close: () => socket.close(4401, 'session ended'),
      });
      const unsubscribe = await feed.subscribe(caller.orgId, (event) => {
        if (event.type === 'access_changed') return watch.accessChanged();
        if (caller.pointIds !== 'all' && !caller.pointIds.has(event.pointId)) return;
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
      });
      socket.on('close', () => {
        watch.stop();
        unsubscribe();
      });
      socket.send(JSON.stringify({ type: 'hello', orgId: caller.orgId }));
    },
  );
}
