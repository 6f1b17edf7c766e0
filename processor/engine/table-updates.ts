/**
 * Where the changes of a derived table (an aggregation or a table–table join) go once its store holds them: the
 * store's changelog record to the task's outputs, and the change (old and new value) to the downstream nodes.
 *
 * `every-update` tables do both right away. `on-commit` tables keep the latest change per key in a record cache
 * (first old value, last new value) and emit it when the task prepares its commit (Kafka Streams' record cache:
 * at most one update per key per commit interval, and one changelog record). The cache is bounded: past
 * `maxEntries` per node the least recently updated key is emitted early.
 */
import type { ProducedRecord } from '../../common/records.js';
import { changelogTopicName, type DerivedTableNode } from '../../topology/nodes.js';
import type { Change } from '../../topology/change.js';
import type { InFlight } from './in-flight.js';
import type { TaskOutputs } from './output-slots.js';

/** One change of a derived table, ready to emit. */
export interface TableUpdate {
  readonly node: DerivedTableNode;
  /** The record that caused it: its timestamp, headers and origin carry over. */
  readonly record: InFlight;
  /** The key downstream nodes see (a `Windowed` key for window aggregations). */
  readonly key: unknown;
  readonly changelogKey: Buffer;
  /** The new value's bytes, null for a deletion (computed when the store was written, so a serde error surfaced then). */
  readonly changelogValue: Buffer | null;
  readonly change: Change;
}

export interface TableUpdatesOptions {
  readonly applicationId: string;
  readonly partition: number;
  readonly outputs: TaskOutputs;
  /** Sends a record to the children of node `fromId`. */
  readonly forward: (fromId: number, record: InFlight) => void;
  /** Cached keys per on-commit node before the oldest is emitted early. */
  readonly maxEntries: number;
}

const isAbsent = (value: unknown): boolean => value === null || value === undefined;

export class TableUpdates {
  private readonly options: TableUpdatesOptions;
  private readonly changelogTopics = new Map<number, string>();
  /** On-commit nodes by id (ascending: upstream caches flush first) → hex key → latest update. */
  private readonly caches = new Map<number, Map<string, TableUpdate>>();
  private cached = 0;

  constructor(options: TableUpdatesOptions) {
    this.options = options;
  }

  /** Updates waiting in record caches for the next `flush`. */
  get cachedCount(): number {
    return this.cached;
  }

  /** Emits `update` now, or caches it under `hex` for the node's next flush. */
  emit(update: TableUpdate, hex: string): void {
    if (update.node.emit === 'every-update') {
      this.emitNow(update);
      return;
    }
    let cache = this.caches.get(update.node.id);
    if (!cache) {
      cache = new Map();
      this.caches.set(update.node.id, cache);
    }
    const previous = cache.get(hex);
    if (previous !== undefined) {
      // Re-inserted so the map's order stays least recently updated first.
      cache.delete(hex);
      cache.set(hex, { ...update, change: { newValue: update.change.newValue, oldValue: previous.change.oldValue } });
      return;
    }
    cache.set(hex, update);
    this.cached++;
    if (cache.size > this.options.maxEntries) {
      const [oldestHex, oldest] = cache.entries().next().value as [string, TableUpdate];
      cache.delete(oldestHex);
      this.cached--;
      this.emitNow(oldest);
    }
  }

  /** Emits every cached update, upstream nodes first, into the current output slot. */
  flush(): void {
    const nodeIds = [...this.caches.keys()].sort((a, b) => a - b);
    for (const id of nodeIds) {
      const cache = this.caches.get(id) as Map<string, TableUpdate>;
      const updates = [...cache.values()];
      cache.clear();
      this.cached -= updates.length;
      for (const update of updates) this.emitNow(update);
    }
  }

  private emitNow(update: TableUpdate): void {
    const { change, node, record } = update;
    // A key created and deleted within one cache interval: nothing changed for anyone.
    if (isAbsent(change.newValue) && isAbsent(change.oldValue)) return;
    this.options.outputs.push(this.changelogRecord(update));
    this.options.forward(node.id, { ...record, key: update.key, value: change });
  }

  private changelogRecord(update: TableUpdate): ProducedRecord {
    let topic = this.changelogTopics.get(update.node.id);
    if (topic === undefined) {
      topic = changelogTopicName(this.options.applicationId, update.node.store);
      this.changelogTopics.set(update.node.id, topic);
    }
    return {
      topic,
      partition: this.options.partition,
      timestamp: update.record.timestamp,
      key: update.changelogKey,
      value: update.changelogValue,
      headers: {},
    };
  }
}
