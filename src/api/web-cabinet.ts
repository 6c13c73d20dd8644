// The taxpayer's web cabinet (web/, built by `npm run build` into dist/web): static files at /,
// beside the API under /api/v1 and the receipt page. Without a build the API still runs and
// the log says how to get the cabinet.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** dist/web of the package, whether this file runs from src/ (tsx) or from dist/src/. */
export function defaultWebDir(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  return root.replace(/[\\/]$/, '').endsWith('dist') ? join(root, 'web') : join(root, 'dist/web');
}

export async function webCabinet(app: FastifyInstance, opts: { dir: string }): Promise<void> {
  const dir = opts.dir || defaultWebDir();
  if (!existsSync(join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'web cabinet not built (npm run build): / is not served');
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // Vite names every asset by its content hash: those may be kept; index.html never.
    setHeaders(res, path) {
      res.header(
        'cache-control',
        path.includes(`${join(dir, 'assets')}`)
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      );
    },
  });
}
