/**
 * Window stores:
 * - GET /stores/:store/keys/:key/windows?from=&to=&limit= — one key's windows with a start in [from, to], from the
 *   instance owning the key's partition (forwarded once, like a key lookup);
 * - GET /stores/:store/windows?from=&to=&cursor=&limit= — every key's windows with a start in [from, to], merged
 *   across partitions and instances, paged;
 * - GET /internal/stores/:store/windows?partitions=… — what one instance asks another for the second route.
 * Windows come with their start and end (epoch ms, end exclusive).
 */
import type { FastifyPluginAsync } from 'fastify';
import { QueryUnavailableError, QueryWrongRouteError } from '../../errors.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { encodeKey } from '../keys.js';
import type { StoreInfo } from '../query-source.js';
import { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT, parsePartitionList, remoteFailed } from '../scan.js';
import { anyJsonSchema, commonErrorResponses, storeParamsSchema } from '../schemas.js';
import {
  MAX_WINDOW_POSITION_BYTES,
  readKeyWindows,
  scanLocalWindowPartitions,
  scanWindows,
  type WindowRangeQuery,
  type WindowScanQuery,
} from '../window-scan.js';
import { requireStore, type RouteContext } from './context.js';

/** Remote statuses whose body is a meaningful answer to relay as is; anything else is a remote failure. */
const RELAYED_STATUSES = new Set([200, 400, 404, 503]);

const time = (description: string) => ({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description }) as const;

const rangeProperties = {
  from: time('Smallest window start (inclusive, epoch ms). Default 0.'),
  to: time('Largest window start (inclusive, epoch ms). Default: no bound.'),
  limit: { type: 'integer', minimum: 1, maximum: MAX_SCAN_LIMIT, default: DEFAULT_SCAN_LIMIT },
} as const;

const cursorProperty = {
  cursor: {
    type: 'string',
    minLength: 1,
    maxLength: Math.ceil(((MAX_WINDOW_POSITION_BYTES + 2) * 4) / 3),
    description: 'nextCursor of the previous page.',
  },
} as const;

const windowSchema = {
  type: 'object',
  required: ['start', 'end', 'value'],
  properties: { start: { type: 'integer' }, end: { type: 'integer' }, value: anyJsonSchema },
} as const;

const entrySchema = {
  type: 'object',
  required: ['key', 'start', 'end', 'value'],
  properties: { key: anyJsonSchema, start: { type: 'integer' }, end: { type: 'integer' }, value: anyJsonSchema },
} as const;

/** The window routes answer window stores only. */
export function requireWindowStore(store: StoreInfo): StoreInfo {
  if (store.kind !== 'windowed') {
    throw new QueryWrongRouteError(
      'TRIBUTARY_QUERY_STORE_KIND_MISMATCH',
      `Store "${store.name}" is not a window store. Read it with GET /stores/${encodeURIComponent(store.name)}/keys/:key or /entries.`,
    );
  }
  return store;
}

export const windowRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  app.get<{ Params: { store: string; key: string }; Querystring: WindowRangeQuery }>(
    '/stores/:store/keys/:key/windows',
    {
      schema: {
        summary: "One key's windows in a window store, by window start",
        description:
          'Answered by the instance owning the key partition (forwarded if needed). nextFrom is the start to pass as ' +
          '`from` for the next windows when more than `limit` match, else null.',
        params: {
          type: 'object',
          required: ['store', 'key'],
          properties: { store: { type: 'string', minLength: 1, maxLength: 249 }, key: { type: 'string' } },
        },
        querystring: { type: 'object', properties: rangeProperties },
        response: {
          200: {
            type: 'object',
            required: ['key', 'windows', 'nextFrom'],
            properties: { key: anyJsonSchema, windows: { type: 'array', items: windowSchema }, nextFrom: { type: ['integer', 'null'] } },
          },
          ...commonErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const store = requireWindowStore(requireStore(source, request.params.store));
      const key = encodeKey(store, request.params.key);
      const location = source.locate(store.name, key);
      switch (location.kind) {
        case 'local':
          return readKeyWindows(store, location.store, key, request.query);
        case 'remote': {
          if (request.headers[FORWARDED_HEADER] !== undefined) {
            throw new QueryUnavailableError(
              'TRIBUTARY_QUERY_NOT_LOCAL',
              `This instance was asked for a key of store "${store.name}" it does not hold: the instances disagree on ` +
                'who owns its partition (a rebalance is in progress). Retry shortly.',
              1,
            );
          }
          const response = await forwarder.get(location.url, request.url);
          if (!RELAYED_STATUSES.has(response.statusCode)) throw remoteFailed(location.url, response.statusCode, response.body);
          reply.code(response.statusCode).type('application/json; charset=utf-8');
          if (response.retryAfter !== undefined) reply.header('retry-after', response.retryAfter);
          return response.body;
        }
        case 'unavailable':
          throw new QueryUnavailableError(
            'TRIBUTARY_QUERY_UNAVAILABLE',
            `The partition of this key in store "${store.name}" cannot be read right now: ${location.reason}. ` +
              `Retry after ${location.retryAfterSeconds}s.`,
            location.retryAfterSeconds,
          );
      }
    },
  );

  app.get<{ Params: { store: string }; Querystring: WindowScanQuery }>(
    '/stores/:store/windows',
    {
      schema: {
        summary: "Every key's windows in a window store with a start in a range (all partitions, merged, paged)",
        description: 'Ordered by time segment, then key bytes, then window start; pages never overlap.',
        params: storeParamsSchema,
        querystring: { type: 'object', properties: { ...rangeProperties, ...cursorProperty } },
        response: {
          200: {
            type: 'object',
            required: ['entries', 'nextCursor'],
            properties: {
              entries: { type: 'array', items: entrySchema },
              nextCursor: { type: ['string', 'null'], description: 'null on the last page' },
            },
          },
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const store = requireWindowStore(requireStore(source, request.params.store));
      if (request.headers[FORWARDED_HEADER] !== undefined) {
        throw new QueryWrongRouteError(
          'TRIBUTARY_QUERY_FORWARDED_SCAN',
          `A request with the ${FORWARDED_HEADER} header cannot scan a whole store: instances ask each other with ` +
            `GET /internal/stores/:store/windows?partitions=…. Send the scan without the ${FORWARDED_HEADER} header.`,
        );
      }
      return scanWindows(store, source.scanTargets(store.name), request.query, forwarder);
    },
  );

  app.get<{ Params: { store: string }; Querystring: WindowScanQuery & { partitions: string } }>(
    '/internal/stores/:store/windows',
    {
      schema: {
        summary: 'Instance-to-instance read of the listed partitions of a window store, which must all be held here',
        tags: ['internal'],
        params: storeParamsSchema,
        querystring: {
          type: 'object',
          required: ['partitions'],
          properties: {
            ...rangeProperties,
            ...cursorProperty,
            partitions: { type: 'string', pattern: '^[0-9]{1,6}(,[0-9]{1,6})*$', maxLength: 16384 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['entries', 'more'],
            properties: {
              entries: {
                type: 'array',
                items: {
                  ...entrySchema,
                  required: ['k', ...entrySchema.required],
                  properties: { k: { type: 'string' }, ...entrySchema.properties },
                },
              },
              more: { type: 'boolean' },
            },
          },
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const store = requireWindowStore(requireStore(source, request.params.store));
      const partitions = parsePartitionList(request.query.partitions, store.partitionCount);
      return scanLocalWindowPartitions(store, source.scanTargets(store.name), partitions, request.query);
    },
  );
};
