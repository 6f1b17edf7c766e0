/**
 * GET /stores/:store/keys/:key — the hot path. Local partition: read the store. Remote owner: forward once (the
 * forwarded header stops a second hop) and relay its answer byte for byte. Moving/restoring: 503 + Retry-After —
 * unless the client allows a stale answer (`?staleness=<records>` or the `Tributary-Max-Staleness` header) and this
 * instance keeps a standby replica of the partition at most that far behind: then the replica answers, and the
 * `Tributary-Staleness` header says how many records behind it was.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KeyNotFoundError, QueryUnavailableError } from '../../errors.js';
import { AnswerBatch } from '../answer-batch.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { encodeKey } from '../keys.js';
import { remoteFailed, storeReadFailed } from '../scan.js';
import { anyJsonSchema, commonErrorResponses } from '../schemas.js';
import type { KeyLocation, StoreInfo } from '../query-source.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { StoredJsonText } from '../../state-store/value-codec.js';
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

type LookupRequest = FastifyRequest<{ Params: { store: string; key: string }; Querystring: { staleness?: number } }>;

export const lookupRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  const answerBatch = new AnswerBatch();
  // Not async: a local read that the store answers at once (readStored) answers without a promise.
  app.get('/stores/:store/keys/:key', { schema: lookupSchema }, (request: LookupRequest, reply) => {
    const { params } = request;
    const store = requireKeyValueStore(source, params.store);
    const key = encodeKey(store, params.key);
    const location = source.locate(store.name, key);
    switch (location.kind) {
      case 'local': {
        const answer = readAnswer(store, location.store, key, params.key);
        if (typeof answer !== 'string') return answer;
        answerBatch.send(reply, answer);
        return undefined;
      }
      case 'remote':
        return remoteAnswer(request, reply, store, key, location.url);
      case 'unavailable':
        return unavailableAnswer(request, reply, store, key, location);
    }
  });

  async function remoteAnswer(request: LookupRequest, reply: FastifyReply, store: StoreInfo, key: Buffer, url: string): Promise<unknown> {
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
      response = await forwarder.get(url, request.url);
    } catch (error) {
      // The owner is gone (its session not expired yet) or unreachable: a standby may answer.
      const stale = await replicaAnswer(request, reply, store, key);
      if (stale !== undefined) return stale;
      throw error;
    }
    if (response.statusCode === 503) {
      const stale = await replicaAnswer(request, reply, store, key);
      if (stale !== undefined) return stale;
    }
    if (!RELAYED_STATUSES.has(response.statusCode)) {
      throw remoteFailed(url, response.statusCode, response.body);
    }
    reply.code(response.statusCode).type(JSON_TYPE);
    if (response.retryAfter !== undefined) reply.header('retry-after', response.retryAfter);
    return response.body;
  }

  async function unavailableAnswer(
    request: LookupRequest,
    reply: FastifyReply,
    store: StoreInfo,
    key: Buffer,
    location: Extract<KeyLocation, { kind: 'unavailable' }>,
  ): Promise<unknown> {
    const stale = await replicaAnswer(request, reply, store, key);
    if (stale !== undefined) return stale;
    throw new QueryUnavailableError(
      'TRIBUTARY_QUERY_UNAVAILABLE',
      `The partition of this key in store "${store.name}" cannot be read right now: ${location.reason}. ` +
        `Retry after ${location.retryAfterSeconds}s.`,
      location.retryAfterSeconds,
    );
  }

  /** A standby replica's answer when the client allows it and one close enough is kept here; else undefined. */
  async function replicaAnswer(request: LookupRequest, reply: FastifyReply, store: StoreInfo, key: Buffer): Promise<unknown> {
    const maxStaleness = request.query.staleness ?? headerStaleness(request.headers[MAX_STALENESS_HEADER]);
    if (maxStaleness === undefined) return undefined;
    const replica = source.locateReplica?.(store.name, key);
    if (replica === undefined || replica.lagRecords > maxStaleness) return undefined;
    let answer: unknown;
    try {
      answer = await readAnswer(store, replica.store, key, request.params.key);
    } catch (error) {
      // A missing key's 404 is as stale as a found value would be; a failed read is no answer.
      if (error instanceof KeyNotFoundError) markStale(reply, replica.lagRecords);
      throw error;
    }
    markStale(reply, replica.lagRecords);
    if (typeof answer === 'string') reply.type(JSON_TYPE);
    return answer;
  }
};

const JSON_TYPE = 'application/json; charset=utf-8';

/** Any UTF-16 surrogate: a key text with one takes the codec's path (a lone one does not survive UTF-8). */
const SURROGATE = /[\uD800-\uDFFF]/;

/** The key's JSON text in an answer: the text as sent when the codec says it is the key's JSON (string keys). */
function keyJsonText(store: StoreInfo, key: Buffer, keyText: string): string {
  if (store.codec.keyJsonIsText === true && !SURROGATE.test(keyText)) return JSON.stringify(keyText);
  return JSON.stringify(store.codec.keyToJson(key));
}

/**
 * The 200 answer for `key` read from a local store (or replica): `{ key, value }`. A value the store keeps as JSON text
 * comes back as the answer's JSON text (a string), the text inside it never parsed, when the store's codec renders
 * parsed JSON as it is; anything else as an object rendered by the codec (serialized by the route's schema), or its
 * promise for a store without `readStored`. A missing key throws the 404.
 */
function readAnswer(store: StoreInfo, target: ReadOnlyKeyValueStore, key: Buffer, keyText: string): string | object {
  if (target.readStored === undefined) return readAnswerAsync(store, target, key);
  let value: unknown;
  try {
    value = target.readStored(key);
  } catch (error) {
    throw storeReadFailed(store.name, error);
  }
  if (value === undefined) throw new KeyNotFoundError(store.name);
  if (value instanceof StoredJsonText) {
    if (store.codec.valueJsonTextAsIs === true) return `{"key":${keyJsonText(store, key, keyText)},"value":${value.text}}`;
    value = JSON.parse(value.text);
  }
  return { key: store.codec.keyToJson(key), value: store.codec.valueToJson(value) };
}

async function readAnswerAsync(store: StoreInfo, target: ReadOnlyKeyValueStore, key: Buffer): Promise<unknown> {
  let value: unknown;
  try {
    value = await target.get(key);
  } catch (error) {
    throw storeReadFailed(store.name, error);
  }
  if (value === undefined) throw new KeyNotFoundError(store.name);
  return { key: store.codec.keyToJson(key), value: store.codec.valueToJson(value) };
}

function headerStaleness(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function markStale(reply: FastifyReply, lagRecords: number): void {
  reply.header(STALENESS_HEADER, String(lagRecords));
}
