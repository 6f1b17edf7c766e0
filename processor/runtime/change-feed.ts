/**
 * The change feed of one instance: publishes every change applied to its table and global-table store partitions,
 * after the store write that holds it (the task commit, the global table batch write), to subscribers (the SSE
 * route, `app.changes()`, other instances merging a partitioned store's feed).
 *
 * Source of the changes: the records of the table's source topic. Table records are kept (by reference: they are the
 * task's own fetched records) from the batch that brought them until the commit that wrote their effect; then those
 * below the committed offset are published, in offset order per partition. Restored records are not published:
 * a partition's feed starts at its store's checkpoint when its task is ready (or when its global table has been
 * bootstrapped).
 *
 * Replay: per store partition, a ring of the last `replayEvents` changes. A subscriber resuming at a position inside
 * the ring gets the changes from there, then live ones; a position older than the ring (or than the point this
 * instance started serving the partition, e.g. after a rebalance) cannot be resumed: `ChangeFeedPositionTooOldError`
 * (410). Rendering costs a second decode of each record, so a store's feed starts rendering (and filling its ring)
 * at its first subscription, and stays on.
 *
 * A rebalance closes tasks: subscribers of their partitions are ended with a retryable reason, and resume from their
 * last position on whichever instance owns the partition next.
 */
import { ChangeFeedPositionTooOldError, ChangeFeedUnsupportedError, QueryUnavailableError } from '../../errors.js';
import {
  changeFrame,
  keyText,
  type ChangeEvent,
  type ChangeFeedEnd,
  type ChangeFeedSettings,
  type ChangeFeedSource,
  type ChangeFilter,
  type ChangeItem,
  type ChangeQueue,
  type ChangeTarget,
  type JsonValue,
  type LocalChangeRequest,
} from '../../http-query/change-feed.js';
import type { ScanTarget } from '../../http-query/query-source.js';
import type { ConsumedRecord, TopicPartitionId } from '../../common/records.js';
import { parseTopicPartitionId, topicPartitionId } from '../../common/records.js';
import type { KeyValueStore, StoreWrite } from '../../state-store/types.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import type { Topology } from '../../topology/topology.js';
import { decodeTableRecord } from '../engine/table-decoder.js';

export interface ChangeFeedOptions extends ChangeFeedSettings {
  /** Changes kept per store partition for resuming subscribers. */
  readonly replayEvents: number;
}

export const DEFAULT_CHANGE_FEED_OPTIONS: ChangeFeedOptions = {
  replayEvents: 10_000,
  queueLimit: 1_000,
  maxSubscribers: 2_000,
  heartbeatMs: 15_000,
};

/** A change rendered once for every subscriber. */
interface Rendered {
  readonly event: ChangeEvent;
  readonly data: string;
  readonly frame: Buffer;
  /** The queue item, one object shared by every subscriber's queue. */
  readonly item: ChangeItem;
  readonly keyBytes: Buffer | null;
  readonly keyText: string;
}

interface PartitionFeed {
  readonly partition: number;
  /** The source topic-partition (the store's checkpoint key). */
  readonly tp: TopicPartitionId;
  /** The store holding this partition (its checkpoint is where the feed starts). */
  readonly store: () => KeyValueStore<unknown> | undefined;
  /** True while the partition restores (not served yet). */
  readonly restoring: () => boolean;
  /** Next offset not yet published; undefined until the partition is first used. */
  published: number | undefined;
  /** Records consumed but not yet committed (task partitions only). */
  pending: ConsumedRecord[];
  /** The replay ring (oldest first) and the offset from which it holds every change. */
  ring: Rendered[];
  ringHead: number;
  ringStart: number;
  /** The same partition's feed before its task was closed here (a rebalance): its ring is kept if the store did not move on. */
  previous: PartitionFeed | undefined;
}

interface Subscriber {
  readonly sink: ChangeQueue;
  readonly partitions: ReadonlySet<number>;
  readonly filter: ChangeFilter;
  /** Per partition: changes below this offset were delivered before (a resume position ahead of the ring). */
  readonly floor: Map<number, number>;
}

interface StoreFeed {
  readonly spec: TableSourceSpec;
  readonly kind: 'table' | 'global';
  active: boolean;
  readonly partitions: Map<number, PartitionFeed>;
  readonly subscribers: Set<Subscriber>;
}

export interface ChangeFeedParts {
  readonly topology: Topology;
  readonly options: ChangeFeedOptions;
  /** Where each partition of a store is served (the query source's view). */
  readonly scanTargets: (store: string) => readonly ScanTarget[];
  /** Partition counts of the source topics, once known. */
  readonly partitionCounts: () => ReadonlyMap<string, number> | undefined;
  /** A global store, once its table is bootstrapped. */
  readonly globalStore: (name: string) => KeyValueStore<unknown> | undefined;
}

/** What the task manager tells the feed about a task (ActiveTask has all of it). */
export interface FeedTask {
  readonly partition: number;
  readonly subtopology: { readonly tableSources: readonly TableSourceSpec[] };
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  /** Restoring: the partition's store is being brought up outside the group; it is served once the task processes. */
  readonly restoration: { readonly restoring: boolean };
}

const REBALANCED = (partition: number): ChangeFeedEnd => ({
  code: 'TRIBUTARY_FEED_REBALANCE',
  message: `partition ${partition} moved to another instance or is being reassigned (a rebalance); reconnect with Last-Event-ID to resume`,
  retryable: true,
});

export class ChangeFeed implements ChangeFeedSource {
  readonly settings: ChangeFeedSettings;
  private readonly feeds = new Map<string, StoreFeed>();
  private readonly tableFeedsByTopic = new Map<string, StoreFeed[]>();
  private readonly globalFeedsByTopic = new Map<string, StoreFeed[]>();
  /** Feeds of task partitions closed here, by `<store>:<partition>`, until the partition is opened here again. */
  private readonly retired = new Map<string, PartitionFeed>();

  constructor(private readonly parts: ChangeFeedParts) {
    this.settings = parts.options;
    const add = (spec: TableSourceSpec, kind: 'table' | 'global'): void => {
      const feed: StoreFeed = { spec, kind, active: false, partitions: new Map(), subscribers: new Set() };
      this.feeds.set(spec.store, feed);
      const index = kind === 'table' ? this.tableFeedsByTopic : this.globalFeedsByTopic;
      index.set(spec.topic, [...(index.get(spec.topic) ?? []), feed]);
    };
    for (const sub of parts.topology.subtopologies) for (const spec of sub.tableSources) add(spec, 'table');
    for (const spec of parts.topology.globalTables) add(spec, 'global');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // ChangeFeedSource (the HTTP seam)
  // ---------------------------------------------------------------------------------------------------------------

  targets(store: string): readonly ChangeTarget[] {
    const feed = this.requireFeed(store);
    if (feed.kind === 'global') {
      const count = this.parts.partitionCounts()?.get(feed.spec.topic);
      const all = Array.from({ length: count ?? 1 }, (_, p) => p);
      const ready = count !== undefined && this.parts.globalStore(store) !== undefined;
      return ready
        ? [{ kind: 'local', partitions: all }]
        : [{ kind: 'unavailable', partitions: all, reason: 'the global table is restoring', retryAfterSeconds: 1 }];
    }
    return this.parts.scanTargets(store).map((target): ChangeTarget => {
      if (target.kind === 'local') return { kind: 'local', partitions: [target.partition as number] };
      return target;
    });
  }

  subscribeLocal(store: string, request: LocalChangeRequest): () => void {
    const feed = this.requireFeed(store);
    const wanted = request.partitions ?? [...feed.partitions.keys()];
    const states: PartitionFeed[] = [];
    for (const partition of wanted) {
      const state = feed.kind === 'global' ? this.globalPartition(feed, partition) : feed.partitions.get(partition);
      if (state === undefined || state.restoring() || this.start(state) === undefined) {
        throw new QueryUnavailableError(
          'TRIBUTARY_QUERY_NOT_LOCAL',
          `Partition ${partition} of store "${store}" is not served by this instance right now (moving or restoring). Retry shortly.`,
          1,
        );
      }
      states.push(state);
    }
    if (!feed.active) {
      // From now on changes are rendered and kept for replay: the ring holds everything from here.
      feed.active = true;
      for (const state of feed.partitions.values()) if (state.published !== undefined) state.ringStart = state.published;
    }
    // Check every partition before sending anything.
    const starts = new Map<number, number>();
    for (const state of states) {
      const published = state.published as number;
      const from = request.from?.get(state.partition);
      if (from !== undefined && from < state.ringStart) {
        throw new ChangeFeedPositionTooOldError(
          store,
          `partition ${state.partition} is at offset ${from}, but this instance can replay its changes from offset ${state.ringStart} only`,
        );
      }
      starts.set(state.partition, from ?? published);
    }
    const subscriber: Subscriber = {
      sink: request.sink,
      partitions: new Set(states.map((s) => s.partition)),
      filter: request.filter,
      floor: new Map(),
    };
    request.sink.push({ kind: 'start', position: starts });
    for (const state of states) {
      const from = starts.get(state.partition) as number;
      if (from > (state.published as number)) subscriber.floor.set(state.partition, from);
      for (const rendered of ringFrom(state, from)) deliver(subscriber, rendered);
    }
    feed.subscribers.add(subscriber);
    return () => {
      feed.subscribers.delete(subscriber);
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Hooks: the task manager and the global tables
  // ---------------------------------------------------------------------------------------------------------------

  /** A task was opened: its table partitions are served here once restored. */
  taskOpened(task: FeedTask): void {
    for (const spec of task.subtopology.tableSources) {
      const feed = this.feeds.get(spec.store);
      if (feed === undefined) continue;
      const tp = topicPartitionId(spec.topic, task.partition);
      const state = newPartition(
        tp,
        task.partition,
        () => task.stores.get(spec.store),
        () => task.restoration.restoring,
      );
      state.previous = this.retired.get(`${spec.store}:${task.partition}`);
      this.retired.delete(`${spec.store}:${task.partition}`);
      feed.partitions.set(task.partition, state);
    }
  }

  /** A task was closed (rebalance, stop): its partitions' subscribers end with a retryable reason. */
  taskClosed(task: FeedTask): void {
    for (const spec of task.subtopology.tableSources) {
      const feed = this.feeds.get(spec.store);
      if (feed === undefined) continue;
      const state = feed.partitions.get(task.partition);
      feed.partitions.delete(task.partition);
      if (state?.published !== undefined) {
        state.pending = [];
        state.previous = undefined;
        this.retired.set(`${spec.store}:${task.partition}`, state);
      }
      for (const subscriber of feed.subscribers) {
        if (!subscriber.partitions.has(task.partition)) continue;
        subscriber.sink.end(REBALANCED(task.partition));
        feed.subscribers.delete(subscriber);
      }
    }
  }

  /** Records of a task's input partition handed to the task (after restoration). */
  consumed(tp: TopicPartitionId, records: readonly ConsumedRecord[]): void {
    const { topic, partition } = parseTopicPartitionId(tp);
    for (const feed of this.tableFeedsByTopic.get(topic) ?? []) {
      const state = feed.partitions.get(partition);
      if (state === undefined || this.start(state) === undefined) continue;
      for (const record of records) state.pending.push(record);
    }
  }

  /** Task stores were written with these checkpoints (next offset per input partition): publish what they hold. */
  committed(offsets: ReadonlyMap<TopicPartitionId, number>): void {
    for (const [tp, next] of offsets) {
      const { topic, partition } = parseTopicPartitionId(tp);
      for (const feed of this.tableFeedsByTopic.get(topic) ?? []) {
        const state = feed.partitions.get(partition);
        if (state === undefined || state.published === undefined) continue;
        let released = 0;
        while (released < state.pending.length && state.pending[released].offset < next) released++;
        const records = state.pending.splice(0, released);
        this.publish(feed, state, records, next);
      }
    }
  }

  /** A batch of global-table records was written to the global stores (with checkpoints). */
  globalBatchWritten(records: readonly ConsumedRecord[]): void {
    const byStore = new Map<StoreFeed, Map<number, ConsumedRecord[]>>();
    for (const record of records) {
      for (const feed of this.globalFeedsByTopic.get(record.topic) ?? []) {
        const perPartition = byStore.get(feed) ?? new Map<number, ConsumedRecord[]>();
        byStore.set(feed, perPartition);
        perPartition.set(record.partition, [...(perPartition.get(record.partition) ?? []), record]);
      }
    }
    for (const [feed, perPartition] of byStore) {
      for (const [partition, batch] of perPartition) {
        const state = this.globalPartition(feed, partition);
        if (state === undefined) continue;
        if (state.published === undefined) {
          // First batch after bootstrap: the store checkpoint already includes it; the feed starts before it.
          state.published = batch[0].offset;
          state.ringStart = state.published;
        }
        this.publish(feed, state, batch, batch[batch.length - 1].offset + 1);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  private requireFeed(store: string): StoreFeed {
    const feed = this.feeds.get(store);
    if (feed === undefined) throw new ChangeFeedUnsupportedError(store);
    return feed;
  }

  private globalPartition(feed: StoreFeed, partition: number): PartitionFeed | undefined {
    let state = feed.partitions.get(partition);
    if (state === undefined) {
      if (this.parts.globalStore(feed.spec.store) === undefined) return undefined;
      const tp = topicPartitionId(feed.spec.topic, partition);
      state = newPartition(
        tp,
        partition,
        () => this.parts.globalStore(feed.spec.store),
        () => false,
      );
      feed.partitions.set(partition, state);
    }
    return state;
  }

  /** Where the partition's feed starts: its store's checkpoint the first time it is used. */
  private start(state: PartitionFeed): number | undefined {
    if (state.published !== undefined) return state.published;
    if (state.restoring()) return undefined;
    const store = state.store();
    if (store === undefined) return undefined;
    state.published = store.checkpoints().get(state.tp) ?? 0;
    state.ringStart = state.published;
    const previous = state.previous;
    state.previous = undefined;
    if (previous !== undefined && previous.published === state.published) {
      // The task was closed and reopened here with nothing applied in between (an eager rebalance kept it):
      // its replay ring is still exact.
      state.ring = previous.ring;
      state.ringHead = previous.ringHead;
      state.ringStart = previous.ringStart;
    }
    return state.published;
  }

  /** Publishes `records` (committed, offset order) and moves the partition's position to `next`. */
  private publish(feed: StoreFeed, state: PartitionFeed, records: readonly ConsumedRecord[], next: number): void {
    const published = state.published ?? 0;
    for (const record of records) {
      if (record.offset < published) continue;
      if (!feed.active) continue;
      const rendered = render(feed.spec, record);
      if (rendered === undefined) continue;
      pushRing(state, rendered, this.parts.options.replayEvents);
      for (const subscriber of feed.subscribers) {
        if (subscriber.partitions.has(state.partition) && !deliver(subscriber, rendered)) feed.subscribers.delete(subscriber);
      }
    }
    state.published = Math.max(published, next);
    if (!feed.active) state.ringStart = state.published;
    for (const subscriber of feed.subscribers) {
      if (!subscriber.partitions.has(state.partition)) continue;
      const floor = subscriber.floor.get(state.partition);
      if (floor !== undefined && state.published >= floor) subscriber.floor.delete(state.partition);
      const position = Math.max(state.published, floor ?? 0);
      if (!subscriber.sink.push({ kind: 'advance', partition: state.partition, next: position })) feed.subscribers.delete(subscriber);
    }
  }
}

function newPartition(
  tp: TopicPartitionId,
  partition: number,
  store: () => KeyValueStore<unknown> | undefined,
  restoring: () => boolean,
): PartitionFeed {
  return { tp, partition, store, restoring, published: undefined, pending: [], ring: [], ringHead: 0, ringStart: 0, previous: undefined };
}

/** Pushes into the ring (a circular buffer of `capacity`); the evicted change moves the replayable start. */
function pushRing(state: PartitionFeed, rendered: Rendered, capacity: number): void {
  if (capacity <= 0) {
    state.ringStart = rendered.event.offset + 1;
    return;
  }
  if (state.ring.length < capacity) {
    state.ring.push(rendered);
    return;
  }
  const evicted = state.ring[state.ringHead];
  state.ring[state.ringHead] = rendered;
  state.ringHead = (state.ringHead + 1) % capacity;
  state.ringStart = evicted.event.offset + 1;
}

/** Ring entries with offset >= `from`, oldest first. */
function ringFrom(state: PartitionFeed, from: number): Rendered[] {
  const ordered = [...state.ring.slice(state.ringHead), ...state.ring.slice(0, state.ringHead)];
  return ordered.filter((r) => r.event.offset >= from);
}

/** Sends a change to a subscriber (or just its position, when filtered out). False once the subscriber ended. */
function deliver(subscriber: Subscriber, rendered: Rendered): boolean {
  const { event } = rendered;
  const floor = subscriber.floor.get(event.partition);
  if (floor !== undefined && event.offset < floor) return true;
  if (matches(subscriber.filter, rendered)) return subscriber.sink.push(rendered.item);
  return subscriber.sink.push({ kind: 'advance', partition: event.partition, next: event.offset + 1 });
}

function matches(filter: ChangeFilter, rendered: Rendered): boolean {
  if (filter.key !== undefined && (rendered.keyBytes === null || !rendered.keyBytes.equals(filter.key))) return false;
  if (filter.prefix !== undefined && !rendered.keyText.startsWith(filter.prefix)) return false;
  return true;
}

/** The change a committed record made, through the same decoder as the store; undefined if it changed nothing. */
function render(spec: TableSourceSpec, record: ConsumedRecord): Rendered | undefined {
  let write: StoreWrite<unknown> | null;
  try {
    write = decodeTableRecord(spec, record);
  } catch {
    return undefined; // a bad record: dead-lettered or skipped by the table's policy, never in the store
  }
  if (write === null) return undefined;
  let key: JsonValue = null;
  let keyBytes: Buffer | null = null;
  if (write.type !== 'clear') {
    keyBytes = Buffer.from(write.key.buffer, write.key.byteOffset, write.key.byteLength);
    try {
      key = spec.keySerde.toJSON(spec.keySerde.deserialize(keyBytes)) as JsonValue;
    } catch {
      return undefined;
    }
  }
  const event: ChangeEvent = {
    type: write.type === 'put' ? 'upsert' : write.type,
    key,
    value: write.type === 'put' ? (spec.valueSerde.toJSON(write.value) as JsonValue) : null,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
  };
  const data = JSON.stringify(event);
  const frame = changeFrame(data);
  return {
    event,
    data,
    frame,
    item: { kind: 'change', event, data, frame },
    keyBytes,
    keyText: write.type === 'clear' ? '' : keyText(key),
  };
}
