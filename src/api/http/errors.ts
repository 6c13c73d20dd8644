// The HTTP error catalogue: every refusal a route raises itself, with its code and status
// (@fastify/error). Store refusals (src/storage/errors.ts) map to statuses in conventions.ts.
import createError from '@fastify/error';

export const BadRequest = createError('OFD_BAD_REQUEST', '%s', 400);
export const Unauthorized = createError('OFD_UNAUTHORIZED', '%s', 401);
export const Forbidden = createError('OFD_FORBIDDEN', '%s', 403);
export const NotFound = createError('OFD_NOT_FOUND', '%s', 404);
export const Conflict = createError('OFD_CONFLICT', '%s', 409);
export const Gone = createError('OFD_GONE', '%s', 410);
export const TooManyRequests = createError('OFD_TOO_MANY_REQUESTS', '%s', 429);
export const Internal = createError('OFD_INTERNAL', '%s', 500);
export const Unavailable = createError('OFD_UNAVAILABLE', '%s', 503);

const BY_STATUS = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  409: Conflict,
  410: Gone,
  429: TooManyRequests,
  500: Internal,
  503: Unavailable,
} as const;
export type ErrorStatus = keyof typeof BY_STATUS;

/** The catalogue's error for a status, for code that decides the status at run time. */
export const httpError = (status: ErrorStatus, message: string) => new BY_STATUS[status](message);
