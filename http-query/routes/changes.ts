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
import type { Socket } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { ChangeFeedSubscriberLimitError } from '../../errors.js';
import { parsePosition, type ChangeFeedEnd, type ChangeFeedSource } from '../change-feed.js';
import type { ChangeFeedClient } from '../change-feed-client.js';
import { ChangeReader, openChangeStream, type ChangeMessage, type ChangeStream } from '../change-stream.js';
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
        // The stream is written on the socket itself: no chunked encoding (the body ends when the connection
        // closes), and the socket's own backpressure (write() false, 'drain') is what the write loop waits on.
        const response = request.raw.socket;
        response.write(
          'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n' +
            `x-accel-buffering: no\r\nconnection: close\r\n\r\nretry: ${RETRY_MS}\n\n`,
        );
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

/** Bytes handed to the socket before the writer checks for backpressure (what a slow subscriber can hold). */
const WRITE_CHUNK_BYTES = 16 * 1024;

/**
 * The write loop. A change is written as its own `id:` line plus the event's shared frame bytes (corked, so the
 * socket sends them together): no per-subscriber copy of the event. After about WRITE_CHUNK_BYTES it waits for the
 * socket to drain; meanwhile new items pile up in the bounded queue, and a full queue ends the stream (slow
 * consumer): the loop then writes only the end frame.
 */
async function writeFrames(storeName: string, stream: ChangeStream, response: Socket): Promise<void> {
  const reader = new ChangeReader(stream);
  for (;;) {
    let written = 0;
    response.cork();
    try {
      for (const message of await reader.next()) {
        if (response.destroyed) return;
        if (message.kind === 'end') {
          response.write(`event: end\ndata: ${JSON.stringify(message.end)}\n\n`);
          return;
        }
        // Dropped as slow while this batch waited for the socket: skip to its end frame.
        if (stream.queue.dropped) break;
        if (message.kind === 'change') {
          response.write(`id: ${message.position}\n`);
          response.write(message.frame);
          written += message.frame.length + 64;
        } else {
          const frame = frameOf(storeName, message);
          response.write(frame);
          written += frame.length;
        }
        if (written >= WRITE_CHUNK_BYTES) {
          response.uncork();
          written = 0;
          if (response.writableNeedDrain) await drainOrEnd(response, stream);
          response.cork();
        }
      }
    } finally {
      while (response.writableCorked > 0) response.uncork();
    }
    if (response.writableNeedDrain && !stream.queue.dropped) await drainOrEnd(response, stream);
  }
}

function frameOf(storeName: string, message: Exclude<ChangeMessage, { kind: 'end' | 'change' }>): string {
  switch (message.kind) {
    case 'subscribed':
      return `id: ${message.position}\nevent: subscribed\ndata: ${JSON.stringify({ store: storeName, position: message.position })}\n\n`;
    case 'heartbeat':
      return `id: ${message.position}\nevent: heartbeat\ndata: {}\n\n`;
  }
}

/**
 * Resolves on `drain` or when the socket closes; early when the subscriber is dropped as slow (its queue is gone).
 * After a graceful end (rebalance, shutdown) the rest is flushed, but a socket that does not drain within
 * END_GRACE_MS is destroyed: a stuck client never holds a shutdown.
 */
async function drainOrEnd(response: Socket, stream: ChangeStream): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe = (): void => undefined;
  const stop = new Promise<void>((resolve) => {
    unsubscribe = stream.queue.whenEnded(() => {
      if (stream.queue.dropped) resolve();
      else timer = setTimeout(() => response.destroy(), END_GRACE_MS).unref();
    });
  });
  stream.queue.consumerBlocked(true);
  try {
    await Promise.race([
      once(response, 'drain', { signal: controller.signal }),
      once(response, 'close', { signal: controller.signal }),
      stop,
    ]);
  } catch {
    // aborted below, or the socket errored: the loop sees `destroyed` or the end item
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    unsubscribe();
    stream.queue.consumerBlocked(false);
    controller.abort();
  }
}
