/**
 * GET /stores/:store/keys/:key — the hot path. Local partition: read the store. Remote owner: forward once (the
 * forwarded header stops a second hop) and relay its answer byte for byte. Moving/restoring: 503 + Retry-After.
 */
import type { FastifyPluginAsync } from 'fastify';
import { KeyNotFoundError, QueryUnavailableError } from '../../errors.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { encodeKey } from '../keys.js';
import { remoteFailed, storeReadFailed } from '../scan.js';
import { anyJsonSchema, commonErrorResponses } from '../schemas.js';
import { requireKeyValueStore, type RouteContext } from './context.js';

/** Remote statuses whose body is a meaningful answer to relay as is; anything else is a remote failure. */
const RELAYED_STATUSES = new Set([200, 400, 404, 503]);

const lookupSchema = {
  summary: 'Value of one key',
  description:
    'The key is given in its string form, URL-encoded (`/` as `%2F`). Answered by the instance owning the key ' +
    'partition (forwarded if needed); 503 with Retry-After while that partition moves or restores.',
  params: {
    type: 'object',
    required: ['store', 'key'],
    properties: { store: { type: 'string', minLength: 1, maxLength: 249 }, key: { type: 'string' } },
  },
  response: {
    200: { type: 'object', required: ['key', 'value'], properties: { key: anyJsonSchema, value: anyJsonSchema } },
    ...commonErrorResponses,
  },
} as const;

export const lookupRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  app.get<{ Params: { store: string; key: string } }>('/stores/:store/keys/:key', { schema: lookupSchema }, async (request, reply) => {
    const store = requireKeyValueStore(source, request.params.store);
    const key = encodeKey(store, request.params.key);
    const location = source.locate(store.name, key);
    switch (location.kind) {
      case 'local': {
        let value: unknown;
        try {
          value = await location.store.get(key);
        } catch (error) {
          throw storeReadFailed(store.name, error);
        }
        if (value === undefined) throw new KeyNotFoundError(store.name);
        return { key: store.codec.keyToJson(key), value: store.codec.valueToJson(value) };
      }
      case 'remote': {
        if (request.headers[FORWARDED_HEADER] !== undefined) {
          throw new QueryUnavailableError(
            'TRIBUTARY_QUERY_NOT_LOCAL',
            `This instance was asked for a key of store "${store.name}" it does not hold: the instances ` +
              'disagree on who owns its partition (a rebalance is in progress). Retry shortly.',
            1,
          );
        }
        // request.url is the path exactly as the client encoded it, so the key survives the hop unchanged.
        const response = await forwarder.get(location.url, request.url);
        if (!RELAYED_STATUSES.has(response.statusCode)) {
          throw remoteFailed(location.url, response.statusCode, response.body);
        }
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
  });
};
