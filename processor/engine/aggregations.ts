/**
 * Aggregation nodes: a stream's count/reduce/aggregate per key (`stream-aggregate`) and per key and time window
 * (`window-aggregate`), and a re-keyed table's (`table-aggregate`: subtract the old row, add the new one).
 *
 * Each record needs the current aggregate of its key (of each of its windows): known in the task's pending writes
 * or cache, it is updated synchronously; otherwise the record parks (parked-reads.ts) until the next batched read.
 * The new aggregate goes to the store, its changelog and downstream through `writeDerived`.
 *
 * Windows follow Kafka Streams: the node's stream time is the largest timestamp it has seen in this task (kept with
 * the store, so it survives a restart); a record's window is closed, and the record dropped and counted for it,
 * once window end + grace <= stream time. Stream time is shared by all keys, so records at a window node keep
 * their order across keys (ordering key '').
 */
import type { Change } from '../../topology/change.js';
import type { StreamAggregateNode, TableAggregateNode, WindowAggregateNode } from '../../topology/nodes.js';
import { windowStartsFor } from '../../topology/windows.js';
import { STREAM_TIME_KEY, windowStorageKey } from '../../state-store/window-layout.js';
import { streamTimeWrite } from '../../state-store/window-store.js';
import { windowedChangelogKey } from './changelog.js';
import type { InFlight } from './in-flight.js';
import { copyForUser, isAbsent, viewOf, writeDerived, type NodeHost } from './node-host.js';
import type { ParkedRecord, StoreRead, StoreReader } from './parked-reads.js';
import { NOT_CACHED } from './task-store.js';

export type AggregateNode = StreamAggregateNode | TableAggregateNode | WindowAggregateNode;

const STREAM_TIME_HEX = STREAM_TIME_KEY.toString('hex');

export class Aggregations {
  private readonly host: NodeHost;
  /** Window node id → its stream time, once read from the store (absent: not read yet). */
  private readonly streamTimes = new Map<number, number | undefined>();

  constructor(host: NodeHost) {
    this.host = host;
  }

  /** Stream time per window store, for retention at commit (only stores whose node has seen records). */
  windowStreamTimes(): ReadonlyMap<string, number> {
    const times = new Map<string, number>();
    for (const [id, time] of this.streamTimes) {
      const node = this.host.topology.nodes[id];
      if (time !== undefined && node.kind === 'window-aggregate') times.set(node.store, time);
    }
    return times;
  }

  start(node: AggregateNode, record: InFlight, fromId: number): void {
    if (node.kind === 'window-aggregate') this.startWindowed(node, record, fromId);
    else this.startKeyed(node, record, fromId);
  }

  resume(node: AggregateNode, parked: ParkedRecord, reader: StoreReader): void {
    if (node.kind === 'window-aggregate') this.finishWindowed(node, parked.record, reader);
    else this.finishKeyed(node, parked.record, parked.reads[0].keyBytes, parked.reads[0].hex, reader);
  }

  private skippable(node: AggregateNode, record: InFlight): boolean {
    // Kafka Streams skips stream records without a key or value; a table change always has one or the other.
    if (isAbsent(record.key) || (node.kind !== 'table-aggregate' && isAbsent(record.value))) {
      this.host.metrics.aggregationSkips++;
      return true;
    }
    return false;
  }

  private keyBytes(node: AggregateNode, record: InFlight): Buffer | undefined {
    try {
      return node.keySerde.serialize(record.key);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return undefined;
    }
  }

  private startKeyed(node: StreamAggregateNode | TableAggregateNode, record: InFlight, fromId: number): void {
    if (this.skippable(node, record)) return;
    const keyBytes = this.keyBytes(node, record);
    if (keyBytes === undefined) return;
    const hex = keyBytes.toString('hex');
    const { reads } = this.host;
    if (reads.mustWait(node, hex) || viewOf(this.host, node, node.store).peek(hex) === NOT_CACHED) {
      reads.park(node, fromId, record, [{ store: node.store, keyBytes, hex }], hex);
      return;
    }
    this.finishKeyed(node, record, keyBytes, hex, reads.syncReader);
  }

  private finishKeyed(
    node: StreamAggregateNode | TableAggregateNode,
    record: InFlight,
    keyBytes: Buffer,
    hex: string,
    reader: StoreReader,
  ): void {
    const current = reader.read(node.store, hex);
    let next: unknown;
    try {
      next = node.kind === 'stream-aggregate' ? node.add(record.key, record.value, copyForUser(current)) : fold(node, record, current);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    writeDerived(this.host, { node, record, forwardKey: record.key, storeKey: keyBytes, hex, changelogKey: keyBytes, next, current });
  }

  private startWindowed(node: WindowAggregateNode, record: InFlight, fromId: number): void {
    if (this.skippable(node, record)) return;
    if (record.timestamp < 0) {
      this.host.metrics.aggregationSkips++;
      return;
    }
    const keyBytes = this.keyBytes(node, record);
    if (keyBytes === undefined) return;
    const view = viewOf(this.host, node, node.store);
    const reads: StoreRead[] = [];
    const loaded = this.streamTimes.has(node.id);
    if (!loaded) reads.push({ store: node.store, keyBytes: STREAM_TIME_KEY, hex: STREAM_TIME_HEX });
    // Windows already closed are not read (the record is late for them); until the stream time is read, all are.
    const known = loaded ? this.streamTimes.get(node.id) : undefined;
    const observed = known === undefined ? undefined : Math.max(known, record.timestamp);
    let missing = false;
    for (const start of windowStartsFor(node.windows, record.timestamp)) {
      if (observed !== undefined && isClosed(node, start, observed)) continue;
      const stored = windowStorageKey(keyBytes, start, node.segmentIntervalMs);
      const hex = stored.toString('hex');
      reads.push({ store: node.store, keyBytes: stored, hex });
      if (!missing && view.peek(hex) === NOT_CACHED) missing = true;
    }
    if (!loaded && view.peek(STREAM_TIME_HEX) === NOT_CACHED) missing = true;
    if (missing || this.host.reads.mustWait(node, '')) {
      this.host.reads.park(node, fromId, record, reads, '');
      return;
    }
    this.finishWindowed(node, record, this.host.reads.syncReader);
  }

  private finishWindowed(node: WindowAggregateNode, record: InFlight, reader: StoreReader): void {
    if (!this.streamTimes.has(node.id)) {
      const stored = reader.read(node.store, STREAM_TIME_HEX);
      this.streamTimes.set(node.id, typeof stored === 'number' ? stored : undefined);
    }
    const previous = this.streamTimes.get(node.id);
    const streamTime = Math.max(previous ?? record.timestamp, record.timestamp);
    if (streamTime !== previous) {
      this.streamTimes.set(node.id, streamTime);
      viewOf(this.host, node, node.store).write(STREAM_TIME_HEX, streamTimeWrite(streamTime));
    }
    const keyBytes = this.keyBytes(node, record);
    if (keyBytes === undefined) return;
    // Every open window's new aggregate first: an aggregator that throws changes no window.
    const updates: { start: number; stored: Buffer; hex: string; current: unknown; next: unknown }[] = [];
    try {
      for (const start of windowStartsFor(node.windows, record.timestamp)) {
        if (isClosed(node, start, streamTime)) {
          this.host.metrics.lateRecordDrops++;
          continue;
        }
        const stored = windowStorageKey(keyBytes, start, node.segmentIntervalMs);
        const hex = stored.toString('hex');
        const current = reader.read(node.store, hex);
        updates.push({ start, stored, hex, current, next: node.add(record.key, record.value, copyForUser(current)) });
      }
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    const size = node.windows.sizeMs;
    for (const { start, stored, hex, current, next } of updates) {
      writeDerived(this.host, {
        node,
        record,
        forwardKey: { key: record.key, window: { start, end: start + size } },
        storeKey: stored,
        hex,
        changelogKey: windowedChangelogKey(keyBytes, start),
        next,
        current,
      });
    }
  }
}

/** Kafka Streams' rule: a window accepts records until stream time passes its end plus the grace period. */
function isClosed(node: WindowAggregateNode, start: number, streamTime: number): boolean {
  return start + node.windows.sizeMs + node.windows.graceMs <= streamTime;
}

/** A table aggregation's step: subtract the old row (when there is an aggregate), then add the new row. */
function fold(node: TableAggregateNode, record: InFlight, current: unknown): unknown {
  const change = record.value as Change;
  let aggregate: unknown = copyForUser(current);
  if (!isAbsent(change.oldValue) && !isAbsent(aggregate)) aggregate = node.subtract(record.key, change.oldValue, aggregate);
  if (!isAbsent(change.newValue)) aggregate = node.add(record.key, change.newValue, isAbsent(aggregate) ? undefined : aggregate);
  return aggregate;
}
