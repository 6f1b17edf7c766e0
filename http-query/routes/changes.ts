/**
 * GET /stores/:store/changes — a live feed of the changes applied to a store, as Server-Sent Events:
 *
 *   id: 0:15,1:22            the position after this event (per partition: next offset); Last-Event-ID resumes
 *   event: change            also `subscribed` (first, with the start position), `heartbeat`, `end` (with a reason)
 *   data: {"type":"upsert","key":...,"value":...,"partition":1,"offset":21,"timestamp":...}
 *
 * Partitioned stores are merged across the instances owning their partitions (change-stream.ts). A client that
 * cannot keep up is ended with `TRIBUTARY_FEED_SLOW_CONSUMER`; a rebalance or shutdown ends streams with a
 * retryable reason (`retry:` tells EventSource to reconnect after a second, resuming from its Last-Event-ID).
 *
 * Hand-rolled on the raw response (no SSE plugin): every frame goes through one bounded queue and one write loop
 * that waits for `drain`, which is what bounds memory per subscriber.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { ChangeFeedSubscriberLimitError } from '../../errors.js';
import { parsePosition, type ChangeFeedEnd, type ChangeFeedSource } from '../change-feed.js';
import type { ChangeFeedClient } from '../change-feed-client.js';
import { ChangeReader, openChangeStream, type ChangeStream } from '../change-stream.js';
import { FORWARDED_HEADER } from '../forwarding-client.js';
import { MAX_KEY_BYTES } from '../keys.js';
import { parsePartitionList } from '../scan.js';
import { commonErrorResponses, errorResponseSchema, storeParamsSchema } from '../schemas.js';
import { requireStore, type RouteContext } from './context.js';

/** Open streams of one server, so a shutdown can end them (a hijacked response would hold `close()` forever). */
export class ChangeStreams {
  readonly open = new Set<ChangeStream>();

  endAll(end: ChangeFeedEnd): void {
    for (const stream of this.open) stream.close(end);
  }
}

interface ChangesQuery {
  readonly from?: string;
  readonly key?: string;
  readonly prefix?: string;
  readonly partitions?: string;
}

/** How long a dropped stream's last frame may take to flush before the socket is destroyed. */
const END_GRACE_MS = 2000;
/** Retry delay EventSource uses after a retryable end. */
const RETRY_MS = 1000;

export function changeRoutes(feed: ChangeFeedSource, client: ChangeFeedClient, streams: ChangeStreams): FastifyPluginAsync<RouteContext> {
  return async (app, { source }) => {
    app.get<{ Params: { store: string }; Querystring: ChangesQuery }>(
      '/stores/:store/changes',
      {
        schema: {
          summary: 'Live changes of a store (Server-Sent Events)',
          description:
            'Each `change` event is {type, key, value|null, partition, offset, timestamp}; its id is the position ' +
            '(partition:nextOffset,...). Reconnect with Last-Event-ID (or `from`) to resume without a gap; 410 when ' +
            'the position is older than the owners can replay. Partitioned stores are merged across instances.',
          params: storeParamsSchema,
          querystring: {
            type: 'object',
            properties: {
              from: { type: 'string', maxLength: 16_384, description: 'Position to resume from (the id of the last event received).' },
              key: { type: 'string', maxLength: MAX_KEY_BYTES, description: 'Only changes of this key (string form).' },
              prefix: { type: 'string', maxLength: MAX_KEY_BYTES, description: 'Only keys whose text form starts with this.' },
              partitions: { type: 'string', maxLength: 16_384, description: 'Only these partitions (comma-separated).' },
            },
          },
          response: {
            200: { type: 'string', description: 'text/event-stream' },
            410: errorResponseSchema,
            429: errorResponseSchema,
            ...commonErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const store = requireStore(source, request.params.store);
        if (streams.open.size >= feed.settings.maxSubscribers) throw new ChangeFeedSubscriberLimitError(feed.settings.maxSubscribers);
        const lastEventId = request.headers['last-event-id'];
        const fromText = typeof lastEventId === 'string' && lastEventId.length > 0 ? lastEventId : request.query.from;
        const stream = await openChangeStream(
          feed,
          store,
          {
            from: fromText === undefined ? undefined : parsePosition(fromText),
            key: request.query.key,
            prefix: request.query.prefix,
            partitions:
              request.query.partitions === undefined ? undefined : parsePartitionList(request.query.partitions, store.partitionCount),
            localOnly: request.headers[FORWARDED_HEADER] !== undefined,
          },
          client,
        );
        streams.open.add(stream);
        reply.hijack();
        const response = reply.raw;
        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          'x-accel-buffering': 'no',
          // One connection per stream: closed with it, so a shutdown never waits on an idle keep-alive socket.
          connection: 'close',
        });
        response.write(`retry: ${RETRY_MS}\n\n`);
        const heartbeat = setInterval(() => stream.queue.push({ kind: 'heartbeat' }), feed.settings.heartbeatMs);
        heartbeat.unref();
        const onClose = (): void => stream.close();
        response.on('close', onClose);
        try {
          await writeFrames(store.name, stream, response);
        } catch (error) {
          request.log.warn({ err: error }, 'change feed stream failed');
        } finally {
          clearInterval(heartbeat);
          response.off('close', onClose);
          streams.open.delete(stream);
          stream.close();
          if (!response.writableEnded) response.end();
          if (!response.destroyed) setTimeout(() => response.destroy(), END_GRACE_MS).unref();
        }
      },
    );
  };
}

/** The write loop: frames for everything queued, one write per batch, waiting for `drain` (or the end) between. */
async function writeFrames(storeName: string, stream: ChangeStream, response: ServerResponse): Promise<void> {
  const reader = new ChangeReader(stream);
  for (;;) {
    let chunk = '';
    let ended = false;
    for (const message of await reader.next()) {
      switch (message.kind) {
        case 'subscribed':
          chunk += `id: ${message.position}\nevent: subscribed\ndata: ${JSON.stringify({ store: storeName, position: message.position })}\n\n`;
          break;
        case 'change':
          chunk += `id: ${message.position}\nevent: change\ndata: ${message.data}\n\n`;
          break;
        case 'heartbeat':
          chunk += `id: ${message.position}\nevent: heartbeat\ndata: {}\n\n`;
          break;
        case 'end':
          chunk += `event: end\ndata: ${JSON.stringify(message.end)}\n\n`;
          ended = true;
          break;
      }
    }
    if (chunk.length > 0 && !response.destroyed) {
      const flushed = response.write(chunk);
      if (!flushed && !ended) await drainOrEnd(response, stream);
    }
    if (ended || response.destroyed) return;
  }
}

/** Resolves on `drain`, when the socket closes, or when the stream ends (a slow consumer waits no longer). */
async function drainOrEnd(response: ServerResponse, stream: ChangeStream): Promise<void> {
  const controller = new AbortController();
  const ended = new Promise<void>((resolve) => stream.queue.whenEnded(() => resolve()));
  try {
    await Promise.race([
      once(response, 'drain', { signal: controller.signal }),
      once(response, 'close', { signal: controller.signal }),
      ended,
    ]);
  } catch {
    // aborted below, or the response errored: the loop sees `destroyed` or the end item
  } finally {
    controller.abort();
  }
}
