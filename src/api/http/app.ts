// A Fastify instance with the HTTP conventions at its root, for the server and for tests that
// mount one route family alone.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { useHttpConventions } from './conventions.js';

export function createHttpApp(
  options: Pick<
    FastifyServerOptions,
    'bodyLimit' | 'trustProxy' | 'connectionTimeout' | 'requestTimeout'
  > & {
    loggerInstance?: Logger;
  } = {},
): FastifyInstance {
  const app = Fastify(options as FastifyServerOptions) as unknown as FastifyInstance;
  useHttpConventions(app);
  return app;
}

/** A route plugin's instance, typed by its TypeBox schemas (what `withTypeProvider` returns). */
export type TypeBoxApp = Parameters<FastifyPluginAsyncTypebox>[0];
