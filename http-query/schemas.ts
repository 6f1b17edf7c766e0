/** JSON schemas shared by routes (validation, fast serialization and the OpenAPI document). */
import { QUERY_ERROR_CODES } from './error-codes.js';

export const errorResponseSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        // Lists the codes in the OpenAPI document; see http-query/README.md for what each means.
        code: { type: 'string', enum: QUERY_ERROR_CODES },
        message: { type: 'string' },
      },
    },
  },
} as const;

/** Error statuses every authenticated route can answer with. */
export const commonErrorResponses = {
  400: errorResponseSchema,
  401: errorResponseSchema,
  404: errorResponseSchema,
  503: errorResponseSchema,
} as const;

/** Any JSON value: rendered by the store's codec. */
export const anyJsonSchema = {} as const;

export const storeParamsSchema = {
  type: 'object',
  required: ['store'],
  properties: { store: { type: 'string', minLength: 1, maxLength: 249 } },
} as const;
