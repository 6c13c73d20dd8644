// The one reading of `Authorization: Bearer <token>` for the admin API, the cabinet and the
// live feed (RFC 6750: the scheme is case-insensitive; one token, no spaces inside).
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of a bearer Authorization header, or null when there is none or it is malformed. */
export function bearerOf(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  return BEARER.exec(header)?.[1] ?? null;
}
