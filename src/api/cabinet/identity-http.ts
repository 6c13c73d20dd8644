// What the cabinet's identity routes (auth, users, groups) share: strict validation like the
// admin API's (bodies taken as sent, unknown fields refused, params coerced to integers), one
// error shape {error, message} naming the field, and the JSON schemas of ids and errors.
import { STATUS_CODES } from 'node:http';
import { Ajv } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import {
  IdentityBusyError,
  IdentityConflictError,
  IdentityForbiddenError,
  IdentityInputError,
  IdentityNotFoundError,
} from '../../storage/cabinet-users.js';
import { MAX_UINT32 } from '../../storage/registry.js';
import { formatSchemaErrors } from '../admin.js';
import { PERMISSIONS } from '../../storage/cabinet-scope.js';

export const idSchema = { type: 'integer', minimum: 1, maximum: MAX_UINT32 } as const;

/** A list of distinct ids (points of sale, groups, users). */
export const idList = (description: string) =>
  ({ type: 'array', maxItems: 1000, uniqueItems: true, items: idSchema, description }) as const;

export const permissionsSchema = {
  type: 'array',
  uniqueItems: true,
  items: { type: 'string', enum: [...PERMISSIONS] },
  description: `Cabinet modules: ${PERMISSIONS.join(', ')}`,
} as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

/** Error responses a route documents, by status code. */
export function errorResponses(...codes: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(codes.map((c) => [c, errorSchema]));
}

export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: idSchema },
} as const;

export function sendError(reply: FastifyReply, statusCode: number, message: string) {
  return reply.code(statusCode).send({ error: STATUS_CODES[statusCode] ?? 'Error', message });
}

/** Strict validators, the error formatter and the error handler for one encapsulated plugin. */
export function useIdentityErrors(app: FastifyInstance): void {
  const common = { allErrors: false, useDefaults: true, removeAdditional: false } as const;
  const bodyAjv = new Ajv({ ...common, coerceTypes: false });
  const paramsAjv = new Ajv({ ...common, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : paramsAjv).compile(schema),
  );
  app.setSchemaErrorFormatter(formatSchemaErrors);
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return sendError(reply, 400, err.message);
    if (err instanceof IdentityNotFoundError) return sendError(reply, 404, err.message);
    if (err instanceof IdentityInputError) return sendError(reply, 400, `body/${err.message}`);
    if (err instanceof IdentityForbiddenError) return sendError(reply, 403, err.message);
    if (err instanceof IdentityConflictError) return sendError(reply, 409, err.message);
    if (err instanceof IdentityBusyError) return sendError(reply, 503, err.message);
    const status = err.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, status, err.message);
    }
    req.log.error({ err }, 'cabinet request failed');
    return sendError(reply, 500, 'internal error; see the server log');
  });
}
