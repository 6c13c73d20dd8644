// Route schemas every route family shares (TypeBox: the schema is the type): ids, error
// answers, id params, and the forms of an answer's objects and nullable fields.
import { Type, type Static, type TProperties, type TSchema, type TSchemaOptions } from 'typebox';
import { MAX_UINT32 } from '../../protocol/numbers.js';

export const idSchema = Type.Integer({ minimum: 1, maximum: MAX_UINT32 });
export const uint32 = Type.Integer({ minimum: 0, maximum: MAX_UINT32 });

/** An answer's object: its fields documented, none required (the serializer skips a missing one). */
export const answerObject = <P extends TProperties>(properties: P, options?: TSchemaOptions) =>
  Type.Partial(Type.Object(properties), options);

/** A schema or null, as one JSON type list (`type: ['string', 'null']`) like the serializer's. */
export const nullable = <T extends TSchema & { type: string }>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

/**
 * An optional field the validator fills with its `default` (useDefaults): left out of
 * `required`, and so typed as always present in the handler.
 */
export const defaulted = <T extends TSchema>(schema: T) => Type.Optional(schema) as unknown as T;

/** A 204 answer: no body, documented as `type: 'null'`. */
export const noContent = (description: string) =>
  Type.Unsafe<undefined>(Type.Null({ description }));

/**
 * An answer's string documented by its values (`enum`), typed as any string: the serializer
 * does not check the values, and a name of a code the table lacks answers as it is.
 */
export const answerEnum = (values: readonly string[], options?: TSchemaOptions) =>
  Type.Unsafe<string>(Type.Enum([...values], { type: 'string', ...options }));

/** An answer's free-form JSON object (`additionalProperties: true`, no fields listed). */
export const anyObject = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  additionalProperties: true,
});

const errorFields = {
  error: Type.String(),
  message: Type.String(),
  code: Type.String({ description: 'Why a 409 conflicts (kkm_deregistered, shift_open, …)' }),
};
export const errorSchema = answerObject(errorFields);

/** An error answer with its own description, for the OpenAPI document. */
export const errorAnswer = (description: string) => answerObject(errorFields, { description });

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
export function errorResponses<C extends number>(...codes: C[]) {
  return Object.fromEntries(
    codes.map((c) => [c, errorAnswer(DESCRIPTIONS[c] ?? 'Error')]),
  ) as Record<C, typeof errorSchema>;
}

/** Params of one id, e.g. `idParams('kkmId')`. */
export const idParams = <N extends string>(name: N) =>
  Type.Object({ [name]: idSchema } as Record<N, typeof idSchema>, { additionalProperties: false });
