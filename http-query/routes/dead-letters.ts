/**
 * GET /dead-letters — the newest records of the application's dead-letter topic, one page at a time (`limit`, and
 * `before` = the `next` of the previous page). The source reads at most `limit` records per partition per page, so a
 * request never reads the whole topic.
 */
import type { FastifyPluginAsync } from 'fastify';
import { InvalidQueryParameterError, QueryServerError, QueryUnavailableError } from '../../errors.js';
import { deadLetterJson, formatDeadLetterCursor, parseDeadLetterCursor } from '../dead-letter-view.js';
import type { DeadLetterPage, DeadLetterPageRequest } from '../query-source.js';
import { commonErrorResponses } from '../schemas.js';

export const DEFAULT_DEAD_LETTER_LIMIT = 20;
export const MAX_DEAD_LETTER_LIMIT = 100;

const nullableString = { type: ['string', 'null'] } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;

const bytesSchema = {
  type: 'object',
  required: ['encoding', 'data', 'size', 'truncated'],
  properties: {
    encoding: { type: 'string', enum: ['utf8', 'base64'] },
    data: { type: 'string' },
    size: { type: 'integer' },
    truncated: { type: 'boolean' },
  },
} as const;

const deadLetterPageSchema = {
  type: 'object',
  required: ['topic', 'partitions', 'deadLetters', 'next'],
  properties: {
    topic: { type: 'string' },
    partitions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['partition', 'earliest', 'end'],
        properties: { partition: { type: 'integer' }, earliest: { type: 'integer' }, end: { type: 'integer' } },
      },
    },
    deadLetters: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'partition',
          'offset',
          'timestamp',
          'stage',
          'errorClass',
          'errorMessage',
          'sourceTopic',
          'sourcePartition',
          'sourceOffset',
          'targetTopic',
          'key',
          'value',
          'headers',
        ],
        properties: {
          partition: { type: 'integer' },
          offset: { type: 'integer' },
          timestamp: { type: 'integer' },
          stage: nullableString,
          errorClass: nullableString,
          errorMessage: nullableString,
          sourceTopic: nullableString,
          sourcePartition: nullableInteger,
          sourceOffset: nullableInteger,
          targetTopic: nullableString,
          key: { anyOf: [bytesSchema, { type: 'null' }] },
          value: { anyOf: [bytesSchema, { type: 'null' }] },
          headers: {
            type: 'array',
            items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: bytesSchema } },
          },
        },
      },
    },
    next: { type: ['string', 'null'], description: 'Pass as "before" for the next (older) page; null when nothing older is left.' },
  },
} as const;

interface DeadLetterQuery {
  readonly limit?: number;
  readonly before?: string;
}

/** Registered only when the source can read its dead-letter topic. */
export function deadLetterRoutes(read: (request: DeadLetterPageRequest) => Promise<DeadLetterPage>): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: DeadLetterQuery }>(
      '/dead-letters',
      {
        schema: {
          summary: "The newest records of the application's dead-letter topic with their headers, paged (newest first)",
          querystring: {
            type: 'object',
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: MAX_DEAD_LETTER_LIMIT, default: DEFAULT_DEAD_LETTER_LIMIT },
              before: {
                type: 'string',
                minLength: 3,
                maxLength: 8192,
                description: 'The "next" of the previous page: <partition>:<offset>,… (read below these offsets).',
              },
            },
          },
          response: { 200: deadLetterPageSchema, ...commonErrorResponses },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_DEAD_LETTER_LIMIT;
        const before = request.query.before === undefined ? undefined : parseDeadLetterCursor(request.query.before);
        let page: DeadLetterPage;
        try {
          page = await read({ limit, before });
        } catch (error) {
          if (error instanceof QueryServerError) throw error;
          throw new QueryUnavailableError(
            'TRIBUTARY_QUERY_DEAD_LETTERS_UNAVAILABLE',
            `The dead-letter topic cannot be read right now (${error instanceof Error ? error.message : String(error)}). Retry shortly.`,
            2,
            { cause: error },
          );
        }
        if (before !== undefined) {
          const unknown = [...before.keys()].filter((partition) => !page.partitions.some((p) => p.partition === partition));
          if (unknown.length > 0) {
            throw new InvalidQueryParameterError(`"before" names partitions the dead-letter topic does not have: ${unknown.join(', ')}`);
          }
        }
        return {
          topic: page.topic,
          partitions: page.partitions,
          deadLetters: page.entries.map(deadLetterJson),
          next: page.next === null ? null : formatDeadLetterCursor(page.next),
        };
      },
    );
  };
}
