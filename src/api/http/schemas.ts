// JSON schemas every route family shares: ids, error answers, id params.
import { MAX_UINT32 } from '../../protocol/numbers.js';

export const idSchema = { type: 'integer', minimum: 1, maximum: MAX_UINT32 } as const;
export const uint32 = { type: 'integer', minimum: 0, maximum: MAX_UINT32 } as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input',
  401: 'No valid session',
  403: 'The account lacks the permission',
  404: 'Not found in the caller scope',
  409: 'Conflicts with stored state',
  410: 'Gone',
  429: 'Too many requests',
  503: 'Busy; try again',
};

/** Error answers a route documents, by status code, for the OpenAPI document. */
export function errorResponses(...codes: number[]) {
  return Object.fromEntries(
    codes.map((c) => [c, { description: DESCRIPTIONS[c] ?? 'Error', ...errorSchema }]),
  ) as Record<number, typeof errorSchema & { description: string }>;
}

/** Params of one id, e.g. `idParams('kkmId')`. */
export const idParams = <N extends string>(name: N) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: [name],
    properties: { [name]: idSchema } as Record<N, typeof idSchema>,
  }) as const;
