// Response headers every HTTP answer carries (@fastify/helmet): no MIME sniffing, no framing
// by other sites (X-Frame-Options and CSP frame-ancestors), nothing loaded from elsewhere; personal data
// and archives under /api/v1 are never cached (Cache-Control: no-store; the public receipt check
// sets its own); HSTS only on a TLS
// request (directly, or https at a trusted proxy), since over plain HTTP it means nothing.
// /metrics can require its own bearer token (OFD_METRICS_TOKEN).
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { checkBearer } from './admin-token.js';

const HSTS = 'max-age=31536000; includeSubDomains';

export async function securityHeaders(
  app: FastifyInstance,
  opts: { metricsToken?: string },
): Promise<void> {
  await app.register(helmet, {
    global: true,
    // The API docs page (swagger-ui) needs inline scripts and styles; nothing loads from afar.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    hsts: false,
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.protocol === 'https') reply.header('strict-transport-security', HSTS);
    const url = req.url;
    // The buyer's receipt check says itself how long its public answers may be kept.
    if (
      url.startsWith('/api/v1/') &&
      !url.startsWith('/api/v1/docs') &&
      !url.startsWith('/api/v1/public/')
    ) {
      reply.header('cache-control', 'no-store');
    }
  });
  const token = opts.metricsToken;
  if (token) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.url !== '/metrics' && !req.url.startsWith('/metrics?')) return;
      if (checkBearer(req.headers.authorization, token)) return;
      reply.header('www-authenticate', 'Bearer');
      return reply
        .code(401)
        .send({ error: 'Unauthorized', message: 'send the metrics token as a bearer token' });
    });
  }
}
