// The HTTP conventions of every route, set once at the encapsulation root: one validator
// (bodies taken as sent, unknown fields refused; params and query strings coerced to their
// schema's types), one schema error message naming the field, and one error handler answering
// JSON {error, message} for refusals of the catalogue, of the store and of validation.
import { STATUS_CODES } from 'node:http';
import { Ajv } from 'ajv';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifySchemaValidationError,
} from 'fastify';
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../../storage/errors.js';

export function sendError(reply: FastifyReply, statusCode: number, message: string, code?: string) {
  const error = STATUS_CODES[statusCode] ?? 'Error';
  return reply.code(statusCode).send(code ? { error, message, code } : { error, message });
}

/** The first schema error as one line: `body/field problem`. */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0];
  if (!e) return new Error(`${dataVar} is invalid`);
  let path = `${dataVar}${e.instancePath}`;
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
    path += `/${e.params.missingProperty}`;
    problem = 'is required';
  } else if (
    e.keyword === 'additionalProperties' &&
    typeof e.params.additionalProperty === 'string'
  ) {
    path += `/${e.params.additionalProperty}`;
    problem = 'is not allowed';
  } else if (e.keyword === 'not' && e.schemaPath.includes('/else/')) {
    path += '/item';
    problem = 'is only allowed for ITEM elements (type 1)';
  } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
    problem = `must be one of ${e.params.allowedValues.join(', ')}`;
  }
  return new Error(`${path} ${problem}`);
}

const common = { allErrors: false, useDefaults: true, removeAdditional: false } as const;
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
const urlAjv = new Ajv({ ...common, coerceTypes: 'array' });

/** Store refusals by status. */
const STORE_STATUS: [new (...args: never[]) => Error, number][] = [
  [NotFoundError, 404],
  [InvalidInputError, 400],
  [ForbiddenError, 403],
  [ConflictError, 409],
  [BusyError, 503],
];

export function useHttpConventions(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : urlAjv).compile(schema),
  );
  app.setSchemaErrorFormatter(formatSchemaErrors);
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) return sendError(reply, 400, err.message);
    // The catalogue's errors (errors.ts) are worded for the caller, whatever their status.
    if (err.code?.startsWith('OFD_')) return sendError(reply, err.statusCode ?? 500, err.message);
    const store = STORE_STATUS.find(([kind]) => err instanceof kind);
    if (store) {
      // A field the store refused is named as the validator names it.
      const message = err instanceof InvalidInputError ? `body/${err.message}` : err.message;
      // A conflict says which, so the cabinet can say it in the user's language.
      const code = err instanceof ConflictError ? err.reason : undefined;
      return sendError(reply, store[1], message, code);
    }
    const status = err.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, status, err.message);
    }
    if (status === 503) return sendError(reply, 503, err.message);
    request.log.error({ err, url: request.url }, 'request failed');
    return sendError(reply, 500, 'internal error; see the server log');
  });
}
