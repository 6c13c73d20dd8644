// The process logger (pino) and the request log fields, with every secret masked.
import type { FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';

export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    // Device tokens and passwords never reach the log, wherever they appear.
    redact: {
      paths: ['*.password', '*.token', 'password', 'token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Secrets a URL may carry in its query string (the live feed takes its session as ?token=). */
const redactQuery = (url: string) =>
  url.replace(/([?&](?:token|password)=)[^&#]*/gi, '$1[redacted]');

/** Fastify's request log fields, with the query-string secrets masked. */
export const requestLogFields = (req: FastifyRequest) => ({
  method: req.method,
  url: redactQuery(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});
