/**
 * One subscription to a store's changes, merged across instances: the partitions this instance serves come from the
 * local feed, the others from their owners' feeds over HTTP (change-feed-client.ts), all into one bounded queue.
 * Events of one partition keep their order (one producer per partition); partitions interleave as they arrive.
 *
 * Why merge here instead of redirecting the client: a store's partitions are spread over instances, and a client
 * wants one stream with one resumable position; a redirect can point at one instance only.
 */
import { QueryUnavailableError } from '../errors.js';
import {
  ChangeQueue,
  encodePosition,
  type ChangeFeedEnd,
  type ChangeFeedSource,
  type ChangeItem,
  type ChangePosition,
  type ChangeTarget,
} from './change-feed.js';
import type { ChangeFeedClient } from './change-feed-client.js';
import { InvalidQueryParameterError } from '../errors.js';
import type { StoreInfo } from './query-source.js';
import { encodeKey } from './keys.js';

export interface ChangeStreamRequest {
  /** Resume position (partitions without an entry start now). */
  readonly from?: ChangePosition;
  /** `key=` as typed (the store's key serde parses it). */
  readonly key?: string;
  readonly prefix?: string;
  /** Only these partitions (instances ask each other for their own partitions). */
  readonly partitions?: readonly number[];
  /** A request from another instance: serve local partitions only, never fan out again. */
  readonly localOnly: boolean;
}

export interface ChangeStream {
  readonly queue: ChangeQueue;
  /** Parts that each send a `start` item before their changes. */
  readonly parts: number;
  close(end?: ChangeFeedEnd): void;
}

export const CLIENT_GONE: ChangeFeedEnd = {
  code: 'TRIBUTARY_FEED_CLOSED',
  message: 'the subscriber closed the stream',
  retryable: true,
};

export async function openChangeStream(
  feed: ChangeFeedSource,
  store: StoreInfo,
  request: ChangeStreamRequest,
  client: ChangeFeedClient | undefined,
): Promise<ChangeStream> {
  const wanted = request.partitions === undefined ? undefined : new Set(request.partitions);
  if (wanted !== undefined) {
    for (const p of wanted) {
      if (!Number.isInteger(p) || p < 0 || p >= store.partitionCount) {
        throw new InvalidQueryParameterError(`partition ${p} is not a partition of store "${store.name}" (0..${store.partitionCount - 1})`);
      }
    }
  }
  const targets: ChangeTarget[] = [];
  for (const target of feed.targets(store.name)) {
    const partitions = wanted === undefined ? target.partitions : target.partitions.filter((p) => wanted.has(p));
    if (partitions.length > 0) targets.push({ ...target, partitions });
  }
  for (const target of targets) {
    if (target.kind === 'unavailable') {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_UNAVAILABLE',
        `Partitions ${target.partitions.join(',')} of store "${store.name}" cannot be followed right now: ${target.reason}. Retry after ${target.retryAfterSeconds}s.`,
        target.retryAfterSeconds,
      );
    }
    if (target.kind === 'remote' && (request.localOnly || client === undefined)) {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_NOT_LOCAL',
        `Partitions ${target.partitions.join(',')} of store "${store.name}" are not served here (a rebalance is in progress, or this instance has no HTTP client for the others). Retry shortly.`,
        1,
      );
    }
  }
  const keyBytes = request.key === undefined ? undefined : encodeKey(store, request.key);
  const queue = new ChangeQueue(feed.settings.queueLimit);
  const closers: (() => void)[] = [];
  const close = (end: ChangeFeedEnd = CLIENT_GONE): void => {
    queue.end(end);
    for (const closer of closers.splice(0)) closer();
  };
  queue.whenEnded(() => {
    for (const closer of closers.splice(0)) closer();
  });
  try {
    for (const target of targets) {
      if (target.kind === 'local') {
        closers.push(
          feed.subscribeLocal(store.name, {
            partitions: target.partitions,
            from: request.from,
            filter: { key: keyBytes, prefix: request.prefix },
            sink: queue,
          }),
        );
      } else if (target.kind === 'remote' && client !== undefined) {
        closers.push(
          await client.open({
            url: target.url,
            store: store.name,
            partitions: target.partitions,
            from: request.from,
            filter: { key: request.key, prefix: request.prefix },
            sink: queue,
          }),
        );
      }
    }
  } catch (error) {
    close();
    throw error;
  }
  return { queue, parts: targets.length, close };
}

/**
 * Follows the position a consumer has delivered up to, item by item, and knows when every part has started (ids
 * before that would not cover every partition).
 */
export class PositionTracker {
  private readonly position = new Map<number, number>();
  private started = 0;

  constructor(private readonly parts: number) {}

  get ready(): boolean {
    return this.started >= this.parts;
  }

  /** Applies an item; returns the position text when the item moved it. */
  apply(item: ChangeItem): void {
    switch (item.kind) {
      case 'start':
        for (const [partition, next] of item.position) this.position.set(partition, next);
        this.started++;
        return;
      case 'change':
        this.position.set(item.event.partition, Math.max(this.position.get(item.event.partition) ?? 0, item.event.offset + 1));
        return;
      case 'advance':
        this.position.set(item.partition, Math.max(this.position.get(item.partition) ?? 0, item.next));
        return;
      case 'heartbeat':
      case 'end':
        return;
    }
  }

  get text(): string {
    return encodePosition(this.position);
  }

  snapshot(): ChangePosition {
    return new Map(this.position);
  }
}

/** What a subscriber receives, each with the position after it (the SSE id). */
export type ChangeMessage =
  | { readonly kind: 'subscribed'; readonly position: string }
  | { readonly kind: 'change'; readonly event: ChangeItemEvent; readonly data: string; readonly frame: Buffer; readonly position: string }
  | { readonly kind: 'heartbeat'; readonly position: string }
  | { readonly kind: 'end'; readonly end: ChangeFeedEnd; readonly position: string };

type ChangeItemEvent = Extract<ChangeItem, { kind: 'change' }>['event'];

/**
 * Turns a stream's queue into messages with positions, lazily: `next()` takes the queued items (pointers to shared
 * events), and its generator renders each message (with its position text) only when the consumer asks for it, so
 * a consumer waiting on a slow socket holds no per-message strings. Changes that arrive before every part reported
 * its start position wait (at most the queue limit: their ids would not cover every partition yet).
 */
export class ChangeReader {
  private readonly tracker: PositionTracker;
  private held: ChangeItem[] = [];
  private done = false;

  constructor(private readonly stream: ChangeStream) {
    this.tracker = new PositionTracker(stream.parts);
  }

  get position(): string {
    return this.tracker.text;
  }

  /** Waits for queued items; the generator yields their messages (an ended stream's last one is `end`). */
  async next(): Promise<Generator<ChangeMessage, void, undefined>> {
    const items = this.done ? [] : await this.stream.queue.take();
    return this.messages(items);
  }

  private *messages(items: readonly ChangeItem[]): Generator<ChangeMessage, void, undefined> {
    for (const item of items) {
      if (item.kind === 'end') {
        this.done = true;
        yield { kind: 'end', end: item.end, position: this.tracker.text };
        return;
      }
      if (!this.tracker.ready && item.kind !== 'start') {
        this.held.push(item);
        if (this.held.length > this.stream.queue.limit) {
          this.stream.close({ code: 'TRIBUTARY_FEED_SLOW_CONSUMER', message: 'a part of the feed did not start in time', retryable: true });
        }
        continue;
      }
      if (item.kind === 'start') {
        this.tracker.apply(item);
        if (!this.tracker.ready) continue;
        yield { kind: 'subscribed', position: this.tracker.text };
        const held = this.held;
        this.held = [];
        for (const early of held) {
          const message = this.message(early);
          if (message !== undefined) yield message;
        }
        continue;
      }
      const message = this.message(item);
      if (message !== undefined) yield message;
    }
  }

  private message(item: ChangeItem): ChangeMessage | undefined {
    this.tracker.apply(item);
    if (item.kind === 'change')
      return { kind: 'change', event: item.event, data: item.data, frame: item.frame, position: this.tracker.text };
    if (item.kind === 'heartbeat') return { kind: 'heartbeat', position: this.tracker.text };
    return undefined;
  }
}
