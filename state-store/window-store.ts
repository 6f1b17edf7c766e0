/**
 * Window stores: a key-value store (LevelDB in production, in memory in the test driver) holding windowed aggregates
 * under the key layout of window-layout.ts. Writers (the engine, restoration) put entries under `windowStorageKey`
 * through the store's ordinary atomic batches and call `expireWindows` after a batch; readers (queries, the test
 * driver) use `WindowStoreReader`, which clips windows that are past retention but not yet deleted.
 */
import type { KeyedWrite, KeyValueStore, ReadOnlyKeyValueStore, StoreWrite } from './types.js';
import {
  RESERVED_SEGMENT,
  STREAM_TIME_KEY,
  firstLiveSegment,
  keyWindowsInSegment,
  minLiveStart,
  parseWindowStorageKey,
  segmentOf,
  segmentStartKey,
  windowStorageKey,
  type WindowLayout,
} from './window-layout.js';

export interface WindowEntry<V> {
  /** The key's bytes (serialized with the store's key serde). */
  readonly key: Buffer;
  /** Window start (inclusive) and end (exclusive), epoch milliseconds. */
  readonly start: number;
  readonly end: number;
  readonly value: V;
}

/** An entry of an all-keys scan, with its storage key: scans resume after it and merge across partitions by it. */
export interface PositionedWindowEntry<V> extends WindowEntry<V> {
  readonly position: Buffer;
}

export interface WindowScanOptions {
  /** Window starts in `[fromStart, toStart]` (inclusive both, like Kafka Streams' fetch). */
  readonly fromStart?: number;
  readonly toStart?: number;
  /** Resume strictly after this storage key (the `position` of the last entry of the previous page). */
  readonly after?: Uint8Array;
}

/** The store write that puts (or, for `undefined`, deletes) the window of `key` starting at `start`. */
export function windowWrite<V>(key: Uint8Array, start: number, value: V | undefined, layout: WindowLayout): StoreWrite<V> {
  const stored = windowStorageKey(key, start, layout.segmentIntervalMs);
  return value === undefined ? { type: 'delete', key: stored } : { type: 'put', key: stored, value };
}

/** The store write recording the store's stream time (written in the same batch as the windows it expires). */
export function streamTimeWrite(streamTime: number): KeyedWrite<number> {
  return { type: 'put', key: STREAM_TIME_KEY, value: streamTime };
}

/**
 * Deletes every segment whose windows are all past retention at `streamTime`: one range delete from the first
 * segment to the first live one. Idempotent; after a crash between a batch and this call the next call catches up
 * (and readers clip the expired windows meanwhile).
 */
export async function expireWindows(store: KeyValueStore<unknown>, layout: WindowLayout, streamTime: number): Promise<void> {
  const live = firstLiveSegment(streamTime, layout);
  if (live > 0) await store.deleteRange({ gte: segmentStartKey(0), lt: segmentStartKey(live) });
}

/** Reads a window store; every read hides windows past retention (by the stream time stored with the data). */
export class WindowStoreReader<V> {
  readonly store: ReadOnlyKeyValueStore<V>;
  readonly layout: WindowLayout;

  constructor(store: ReadOnlyKeyValueStore<V>, layout: WindowLayout) {
    this.store = store;
    this.layout = layout;
  }

  /**
   * The part of `[fromStart, toStart]` that can hold windows: none start before retention or after the stream time
   * (a window holding the newest record starts no later than it), and none outside the stored segments.
   */
  private async liveSpan(fromStart: number, toStart: number): Promise<LiveSpan | undefined> {
    const streamTime = await this.streamTime();
    const from = Math.max(fromStart, minLiveStart(streamTime, this.layout.retentionMs));
    const to = Math.min(toStart, streamTime ?? Number.MAX_SAFE_INTEGER);
    if (from > to) return undefined;
    const stored = await this.storedSegments();
    if (stored === undefined) return undefined;
    const { segmentIntervalMs } = this.layout;
    const firstSegment = Math.max(segmentOf(from, segmentIntervalMs), stored.first);
    const lastSegment = Math.min(segmentOf(to, segmentIntervalMs), stored.last);
    return firstSegment > lastSegment ? undefined : { from, to, firstSegment, lastSegment };
  }

  /** First and last segment holding a window (two single-entry seeks); undefined when there is none. */
  private async storedSegments(): Promise<{ first: number; last: number } | undefined> {
    const edge = async (reverse: boolean): Promise<number | undefined> => {
      for await (const entry of this.store.range({ gte: segmentStartKey(0), lt: RESERVED_SEGMENT, reverse, limit: 1 })) {
        return parseWindowStorageKey(entry.key)?.segment;
      }
      return undefined;
    };
    const [first, last] = await Promise.all([edge(false), edge(true)]);
    return first === undefined || last === undefined ? undefined : { first, last };
  }

  /** Stream time recorded with the data; undefined before the first write. */
  async streamTime(): Promise<number | undefined> {
    const value: unknown = await this.store.get(STREAM_TIME_KEY);
    return typeof value === 'number' ? value : undefined;
  }

  /** Windows of one key with a start in `[fromStart, toStart]`, by ascending start: one seek per segment. */
  async *fetch(key: Uint8Array, fromStart = 0, toStart = Number.MAX_SAFE_INTEGER): AsyncGenerator<WindowEntry<V>> {
    const span = await this.liveSpan(fromStart, toStart);
    if (span === undefined) return;
    const { windowSizeMs } = this.layout;
    const keyBytes = Buffer.from(key);
    for (let segment = span.firstSegment; segment <= span.lastSegment; segment++) {
      for await (const entry of this.store.range(keyWindowsInSegment(segment, keyBytes, span.from, span.to))) {
        const start = startOf(entry.key);
        yield { key: keyBytes, start, end: start + windowSizeMs, value: entry.value };
      }
    }
  }

  /**
   * Windows of every key with a start in `[fromStart, toStart]`, in storage order (segment, key bytes, start): one
   * contiguous run over the segments the range touches. Lazy: a caller reading one page reads about one page.
   */
  async *fetchAll(options: WindowScanOptions = {}): AsyncGenerator<PositionedWindowEntry<V>> {
    const span = await this.liveSpan(options.fromStart ?? 0, options.toStart ?? Number.MAX_SAFE_INTEGER);
    if (span === undefined) return;
    const { from, to: toStart } = span;
    const { windowSizeMs } = this.layout;
    const lower = segmentStartKey(span.firstSegment);
    const upper = segmentStartKey(span.lastSegment + 1);
    const after = options.after === undefined ? undefined : Buffer.from(options.after);
    const range = after !== undefined && Buffer.compare(after, lower) >= 0 ? { gt: after, lt: upper } : { gte: lower, lt: upper };
    for await (const entry of this.store.range(range)) {
      const parsed = parseWindowStorageKey(entry.key);
      if (parsed === undefined || parsed.start < from || parsed.start > toStart) continue;
      yield {
        key: parsed.key,
        start: parsed.start,
        end: parsed.start + windowSizeMs,
        value: entry.value,
        position: Buffer.from(entry.key),
      };
    }
  }
}

interface LiveSpan {
  /** Window starts to read, clipped to what can exist: retention below, stream time above. */
  readonly from: number;
  readonly to: number;
  /** Segments holding data in that span (bounded by the first and last stored segment). */
  readonly firstSegment: number;
  readonly lastSegment: number;
}

function startOf(stored: Buffer): number {
  const offset = stored.length - 8;
  return stored.readUInt32BE(offset) * 2 ** 32 + stored.readUInt32BE(offset + 4);
}
