/**
 * The change feed's vocabulary, shared by the SSE route, the instance-to-instance client and the runtime that
 * publishes changes: events, positions, the bounded per-subscriber queue, and the `ChangeFeedSource` seam.
 *
 * A **position** is, per partition of the store's source topic, the next offset not yet seen: every change below
 * it was delivered (or filtered out). It is written as `0:15,1:22` and is the SSE event id, so `Last-Event-ID`
 * resumes exactly after the last event a client received.
 *
 * Memory is bounded per subscriber: a queue of at most `queueLimit` items; a subscriber whose queue is full is ended
 * with `TRIBUTARY_FEED_SLOW_CONSUMER` (its queue freed at once), never buffered without bound. Events are
 * rendered to JSON once and shared by every subscriber's queue.
 */
import { InvalidQueryParameterError } from '../errors.js';

/** JSON as the feed renders keys and values (the same shape as query-source.ts's; not imported: no import circle). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** One change applied to a store (committed with its checkpoint before it is published). */
export interface ChangeEvent {
  /** `upsert`: a put; `delete`: the key was removed (value null); `clear`: the table was truncated (key null). */
  readonly type: 'upsert' | 'delete' | 'clear';
  readonly key: JsonValue;
  readonly value: JsonValue;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

/** Per partition: the next offset not yet delivered. */
export type ChangePosition = ReadonlyMap<number, number>;

export function encodePosition(position: ChangePosition): string {
  let text = '';
  for (const partition of [...position.keys()].sort((a, b) => a - b)) {
    text += `${text.length === 0 ? '' : ','}${partition}:${position.get(partition) as number}`;
  }
  return text;
}

/** Parses `0:15,1:22`; throws `InvalidQueryParameterError` for anything else. */
export function parsePosition(text: string): Map<number, number> {
  const position = new Map<number, number>();
  if (text.trim() === '') return position;
  for (const part of text.split(',')) {
    const match = /^(\d{1,6}):(\d{1,16})$/.exec(part.trim());
    if (match === null) throw new InvalidQueryParameterError(`"${text}" is not a change-feed position (partition:offset,...)`);
    position.set(Number(match[1]), Number(match[2]));
  }
  return position;
}

/** Which changes a subscriber wants. */
export interface ChangeFilter {
  /** Only this key (its bytes, from the store's key serde). */
  readonly key?: Uint8Array;
  /** Only keys whose text form (the string, or the JSON of other keys) starts with this. */
  readonly prefix?: string;
}

/** What travels through a subscriber's queue. */
export type ChangeItem =
  /** `data` is the event's JSON, rendered once per event. */
  | { readonly kind: 'change'; readonly event: ChangeEvent; readonly data: string; readonly frame: Buffer }
  /** The position of `partition` moved to `next` without a delivered event (filtered out, or nothing to replay). */
  | { readonly kind: 'advance'; readonly partition: number; readonly next: number }
  /** One part of the subscription (local partitions, or a remote instance) starts at these positions. */
  | { readonly kind: 'start'; readonly position: ChangePosition }
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'end'; readonly end: ChangeFeedEnd };

/** Why a subscription ended. `retryable`: reconnecting with the last position resumes it. */
export interface ChangeFeedEnd {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export const SLOW_CONSUMER = 'TRIBUTARY_FEED_SLOW_CONSUMER';

/** How many times `limit` may wait while the consumer is not blocked (see ChangeQueue). */
const BURST_FACTOR = 10;

/**
 * A subscriber's bounded queue. Producers `push` synchronously (false once ended); the consumer `take`s everything
 * queued, waiting when empty. Consecutive `advance` items of one partition coalesce, so filtered-out changes cost no
 * queue space.
 *
 * Slow means: more than `limit` items wait while the consumer is blocked on its socket. While it is not blocked (a
 * burst released by one commit, a replay), up to BURST_FACTOR × `limit` may wait, so a fast subscriber is not dropped
 * for a large commit.
 */
export class ChangeQueue {
  private items: ChangeItem[] = [];
  private waiter: (() => void) | undefined;
  private ending: ChangeFeedEnd | undefined;
  private blocked = false;
  /** Ended as a slow consumer: what was queued is gone. */
  dropped = false;
  private readonly onEnd = new Set<(end: ChangeFeedEnd) => void>();

  constructor(readonly limit: number) {}

  get ended(): boolean {
    return this.ending !== undefined;
  }

  get size(): number {
    return this.items.length;
  }

  push(item: ChangeItem): boolean {
    if (this.ending !== undefined) return false;
    if (item.kind === 'advance') {
      const last = this.items[this.items.length - 1];
      if (last?.kind === 'advance' && last.partition === item.partition) {
        this.items[this.items.length - 1] = item;
        return true;
      }
    }
    if (this.items.length >= (this.blocked ? this.limit : this.limit * BURST_FACTOR)) {
      this.overflow();
      return false;
    }
    this.items.push(item);
    this.wake();
    return true;
  }

  /** The consumer waits for its socket to drain (true) or writes again (false). */
  consumerBlocked(blocked: boolean): void {
    this.blocked = blocked;
    if (blocked && this.items.length >= this.limit) this.overflow();
  }

  private overflow(): void {
    this.dropped = true;
    this.end({
      code: SLOW_CONSUMER,
      message: `the subscriber fell ${this.limit} items behind and was dropped; reconnect with Last-Event-ID to resume`,
      retryable: true,
    });
  }

  /**
   * Ends the queue after what is queued (a rebalance, a shutdown: the consumer still gets every change published
   * before, so its position reaches what was committed). A slow consumer's queue is dropped instead.
   */
  end(end: ChangeFeedEnd): void {
    if (this.ending !== undefined) return;
    this.ending = end;
    if (this.dropped) this.items = [{ kind: 'end', end }];
    else this.items.push({ kind: 'end', end });
    this.wake();
    for (const listener of this.onEnd) listener(end);
    this.onEnd.clear();
  }

  /** Called once when the queue ends (by a producer, the consumer or overflow); returns the unsubscribe. */
  whenEnded(listener: (end: ChangeFeedEnd) => void): () => void {
    if (this.ending !== undefined) {
      listener(this.ending);
      return () => undefined;
    }
    this.onEnd.add(listener);
    return () => this.onEnd.delete(listener);
  }

  /** Everything queued (waits while nothing is); the last batch of an ended queue holds its `end` item. */
  async take(): Promise<ChangeItem[]> {
    while (this.items.length === 0) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
    const taken = this.items;
    this.items = [];
    return taken;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** Where the changes of some partitions of a store can be subscribed right now. */
export type ChangeTarget =
  | { readonly kind: 'local'; readonly partitions: readonly number[] }
  | { readonly kind: 'remote'; readonly url: string; readonly partitions: readonly number[] }
  | { readonly kind: 'unavailable'; readonly partitions: readonly number[]; readonly reason: string; readonly retryAfterSeconds: number };

export interface LocalChangeRequest {
  /** Partitions to follow (all of `targets()`'s local ones when omitted). */
  readonly partitions?: readonly number[];
  /** Resume position; partitions without an entry start now. */
  readonly from?: ChangePosition;
  readonly filter: ChangeFilter;
  /** Items go here; a `start` item first, then replayed and live changes. */
  readonly sink: ChangeQueue;
}

/** The runtime's side of the change feed (implemented by processor/runtime/change-feed.ts). */
export interface ChangeFeedSource {
  /** Per partition of the store: local, the owner's URL, or unavailable. Throws for a store without a feed. */
  targets(store: string): readonly ChangeTarget[];
  /**
   * Subscribes `sink` to local partitions: replays what the replay buffer holds from `from`, then live changes.
   * Throws `ChangeFeedPositionTooOldError` when `from` is older than the buffer, `QueryUnavailableError` when a
   * partition is not (or no longer) served here. Returns the unsubscribe function.
   */
  subscribeLocal(store: string, request: LocalChangeRequest): () => void;
  readonly settings: ChangeFeedSettings;
}

export interface ChangeFeedSettings {
  /** Queue items per subscriber before it is dropped as too slow. */
  readonly queueLimit: number;
  /** Most concurrent subscribers (SSE streams, including other instances' merged streams) per instance. */
  readonly maxSubscribers: number;
  /** An `event: heartbeat` (carrying the position as its id) every this many ms. */
  readonly heartbeatMs: number;
}

/**
 * The SSE frame of a change after its `id:` line, encoded once per event and shared by every subscriber's socket
 * write (writing it costs no per-subscriber copy in the heap).
 */
export function changeFrame(data: string): Buffer {
  return Buffer.from(`event: change\ndata: ${data}\n\n`, 'utf8');
}

/** Text a `prefix` filter matches: the key itself when a string, else its JSON. */
export function keyText(key: JsonValue): string {
  return typeof key === 'string' ? key : JSON.stringify(key);
}
