/**
 * GET /stores/:store/entries — ordered, paged scans across all partitions (see scan.ts), and the internal
 * GET /internal/stores/:store/entries that one instance asks of another for the partitions of a partitioned store it
 * holds.
 */
import type { FastifyPluginAsync } from 'fastify';
import { QueryWrongRouteError } from '../../errors.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { MAX_KEY_BYTES } from '../keys.js';
import { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT, parsePartitionList, scanLocalPartitions, scanStore, type ScanQuery } from '../scan.js';
import { anyJsonSchema, commonErrorResponses, storeParamsSchema } from '../schemas.js';
import { requireKeyValueStore, type RouteContext } from './context.js';

const keyBound = (description: string) => ({ type: 'string', maxLength: MAX_KEY_BYTES, description }) as const;

const scanQueryProperties = {
  prefix: keyBound('Only keys starting with this key prefix (string form, encoded with the key serde).'),
  from: keyBound('Inclusive lower bound (string form of a key).'),
  to: keyBound('Exclusive upper bound (string form of a key).'),
  // base64url of the key plus two header bytes
  cursor: {
    type: 'string',
    minLength: 1,
    maxLength: Math.ceil(((MAX_KEY_BYTES + 2) * 4) / 3),
    description: 'nextCursor of the previous page.',
  },
  reverse: { type: 'boolean', default: false },
  limit: { type: 'integer', minimum: 1, maximum: MAX_SCAN_LIMIT, default: DEFAULT_SCAN_LIMIT },
} as const;

const pageEntrySchema = {
  type: 'object',
  required: ['key', 'value'],
  properties: { key: anyJsonSchema, value: anyJsonSchema },
} as const;

export const entriesRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  app.get<{ Params: { store: string }; Querystring: ScanQuery }>(
    '/stores/:store/entries',
    {
      schema: {
        summary: 'Ordered scan of a store (all partitions, merged in key byte order)',
        params: storeParamsSchema,
        querystring: { type: 'object', properties: scanQueryProperties },
        response: {
          200: {
            type: 'object',
            required: ['entries', 'nextCursor'],
            properties: {
              entries: { type: 'array', items: pageEntrySchema },
              nextCursor: { type: ['string', 'null'], description: 'null on the last page' },
            },
          },
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const store = requireKeyValueStore(source, request.params.store);
      if (request.headers[FORWARDED_HEADER] !== undefined) {
        // A forwarded public scan would fan out again; instances only ever call the internal route. The same
        // request can never succeed, so this is not a 503.
        throw new QueryWrongRouteError(
          'TRIBUTARY_QUERY_FORWARDED_SCAN',
          `A request with the ${FORWARDED_HEADER} header cannot scan a whole store: instances ask each other with ` +
            `GET /internal/stores/:store/entries?partitions=…. Send the scan without the ${FORWARDED_HEADER} header.`,
        );
      }
      return scanStore(store, source.scanTargets(store.name), request.query, forwarder);
    },
  );

  app.get<{ Params: { store: string }; Querystring: ScanQuery & { partitions: string } }>(
    '/internal/stores/:store/entries',
    {
      schema: {
        summary: 'Instance-to-instance scan of the listed partitions of a partitioned store, which must all be held here',
        tags: ['internal'],
        params: storeParamsSchema,
        querystring: {
          type: 'object',
          required: ['partitions'],
          properties: {
            ...scanQueryProperties,
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
                  type: 'object',
                  required: ['k', 'key', 'value'],
                  properties: { k: { type: 'string' }, key: anyJsonSchema, value: anyJsonSchema },
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
      const store = requireKeyValueStore(source, request.params.store);
      if (store.kind === 'global') {
        // Every instance holds all of a global store; no instance ever asks another for a part of it.
        throw new QueryWrongRouteError(
          'TRIBUTARY_QUERY_STORE_KIND_MISMATCH',
          `Store "${store.name}" is a global store: it has no partitions to scan on the internal route. ` +
            `Scan it with GET /stores/${encodeURIComponent(store.name)}/entries.`,
        );
      }
      const partitions = parsePartitionList(request.query.partitions, store.partitionCount);
      return scanLocalPartitions(store, source.scanTargets(store.name), partitions, request.query);
    },
  );
};
