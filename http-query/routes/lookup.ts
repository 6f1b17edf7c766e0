/**
 * GET /stores/:store/keys/:key — the hot path. Local partition: read the store. Remote owner: forward once (the
 * forwarded header stops a second hop) and relay its answer byte for byte. Moving/restoring: 503 + Retry-After —
 * unless the client allows a stale answer (`?staleness=<records>` or the `Tributary-Max-Staleness` header) and this
 * instance keeps a standby replica of the partition at most that far behind: then the replica answers, and the
 * `Tributary-Staleness` header says how many records behind it was.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { KeyNotFoundError, QueryUnavailableError } from '../../errors.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { encodeKey } from '../keys.js';
import { remoteFailed, storeReadFailed } from '../scan.js';
import { anyJsonSchema, commonErrorResponses } from '../schemas.js';
import { requireKeyValueStore, type RouteContext } from './context.js';

/** Remote statuses whose body is a meaningful answer to relay as is; anything else is a remote failure. */
const RELAYED_STATUSES = new Set([200, 400, 404, 503]);

/** Header a client sets instead of `?staleness=`; and the one an answer from a standby replica carries. */
export const MAX_STALENESS_HEADER = 'tributary-max-staleness';
export const STALENESS_HEADER = 'tributary-staleness';

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
  querystring: {
    type: 'object',
    properties: {
      staleness: {
        type: 'integer',
        minimum: 0,
        description:
          'Accept an answer from a standby replica at most this many records behind its topic when the owner cannot ' +
          'answer (gone, moving or restoring); the header Tributary-Max-Staleness does the same. The answer then ' +
          'carries Tributary-Staleness: <records behind>. Without it: 503 + Retry-After.',
      },
    },
  },
  response: {
    200: { type: 'object', required: ['key', 'value'], properties: { key: anyJsonSchema, value: anyJsonSchema } },
    ...commonErrorResponses,
  },
} as const;

export const lookupRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  app.get<{ Params: { store: string; key: string }; Querystring: { staleness?: number } }>(
    '/stores/:store/keys/:key',
    { schema: lookupSchema },
    async (request, reply) => {
      const store = requireKeyValueStore(source, request.params.store);
      const key = encodeKey(store, request.params.key);
      const location = source.locate(store.name, key);
      const maxStaleness = request.query.staleness ?? headerStaleness(request.headers[MAX_STALENESS_HEADER]);
      /** A standby replica's answer when the client allows it and one close enough is kept here; else undefined. */
      const fromReplica = async (): Promise<unknown> => {
        if (maxStaleness === undefined) return undefined;
        const replica = source.locateReplica?.(store.name, key);
        if (replica === undefined || replica.lagRecords > maxStaleness) return undefined;
        let value: unknown;
        try {
          value = await replica.store.get(key);
        } catch (error) {
          throw storeReadFailed(store.name, error);
        }
        markStale(reply, replica.lagRecords);
        if (value === undefined) throw new KeyNotFoundError(store.name);
        return { key: store.codec.keyToJson(key), value: store.codec.valueToJson(value) };
      };
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
          let response: Awaited<ReturnType<typeof forwarder.get>>;
          try {
            response = await forwarder.get(location.url, request.url);
          } catch (error) {
            // The owner is gone (its session not expired yet) or unreachable: a standby may answer.
            const stale = await fromReplica();
            if (stale !== undefined) return stale;
            throw error;
          }
          if (response.statusCode === 503) {
            const stale = await fromReplica();
            if (stale !== undefined) return stale;
          }
          if (!RELAYED_STATUSES.has(response.statusCode)) {
            throw remoteFailed(location.url, response.statusCode, response.body);
          }
          reply.code(response.statusCode).type('application/json; charset=utf-8');
          if (response.retryAfter !== undefined) reply.header('retry-after', response.retryAfter);
          return response.body;
        }
        case 'unavailable': {
          const stale = await fromReplica();
          if (stale !== undefined) return stale;
          throw new QueryUnavailableError(
            'TRIBUTARY_QUERY_UNAVAILABLE',
            `The partition of this key in store "${store.name}" cannot be read right now: ${location.reason}. ` +
              `Retry after ${location.retryAfterSeconds}s.`,
            location.retryAfterSeconds,
          );
        }
      }
    },
  );
};

function headerStaleness(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function markStale(reply: FastifyReply, lagRecords: number): void {
  reply.header(STALENESS_HEADER, String(lagRecords));
}
