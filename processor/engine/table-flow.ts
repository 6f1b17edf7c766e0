/**
 * Table nodes: records between them carry a `Change` (new and old value of one row; null = absent).
 *
 * - A table source whose changes feed table operations reads the row's old value before writing the new one (a
 *   parked read when it is not known in memory) and forwards the change. A table source only joined against by
 *   streams just writes (node-interpreter.ts), as before.
 * - `table-transform` (filter, filterNot, mapValues) applies to both values; a change that is absent on both sides
 *   after it is dropped.
 * - `table-to-stream` forwards the new value (null for a deletion).
 * - `table-group-by` turns a change into a subtraction of the old row under its old group key and an addition of the
 *   new row under its new one, towards the repartition topic.
 * - `table-join` reads the other side's current value (through its value getter) and the joined row's stored value,
 *   and writes the new joined row to its store (`writeDerived`): an update on either side emits the new joined row,
 *   a deletion emits a deletion.
 */
import type { Change } from '../../topology/change.js';
import type {
  TableGroupByNode,
  TableJoinNode,
  TableSourceNode,
  TableToStreamNode,
  TableTransformNode,
  TableValueGetter,
  TopologyNode,
} from '../../topology/nodes.js';
import type { Serde } from '../../topology/serdes.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import type { KeyedWrite } from '../../state-store/types.js';
import type { InFlight, Origin } from './in-flight.js';
import { isAbsent, viewOf, writeDerived, type NodeHost } from './node-host.js';
import type { ParkedRecord, StoreRead, StoreReader } from './parked-reads.js';
import { decodeTableChange } from './table-decoder.js';
import { NOT_CACHED } from './task-store.js';

export class TableFlow {
  private readonly host: NodeHost;
  private readonly nodes: readonly TopologyNode[];
  private readonly keySerdes = new Map<string, Serde<unknown>>();

  constructor(host: NodeHost) {
    this.host = host;
    this.nodes = host.topology.nodes;
    for (const spec of host.topology.stores) this.keySerdes.set(spec.name, spec.keySerde);
  }

  /** Whether a table source's changes feed other nodes (then it forwards changes, reading old rows). */
  forwardsChanges(node: TableSourceNode): boolean {
    return this.host.topology.children[node.id].length > 0;
  }

  /** A record of a table source that forwards changes: decoded, then applied once its old row is known. */
  startSource(node: TableSourceNode, spec: TableSourceSpec, origin: Origin): void {
    let decoded: { write: KeyedWrite<unknown>; key: unknown } | null;
    try {
      decoded = decodeTableChange(spec, origin.record);
    } catch (error) {
      this.host.errors.deserializationFailed(origin, error);
      return;
    }
    if (decoded === null) return;
    const keyBytes = Buffer.from(decoded.write.key);
    const hex = keyBytes.toString('hex');
    const { record } = origin;
    const inFlight: InFlight = { key: decoded.key, value: decoded.write, timestamp: record.timestamp, headers: record.headers, origin };
    const { reads } = this.host;
    if (reads.mustWait(node, hex) || viewOf(this.host, node, node.store).peek(hex) === NOT_CACHED) {
      reads.park(node, -1, inFlight, [{ store: node.store, keyBytes, hex }], hex);
      return;
    }
    this.finishSource(node, inFlight, hex, reads.syncReader);
  }

  finishSource(node: TableSourceNode, record: InFlight, hex: string, reader: StoreReader): void {
    const write = record.value as KeyedWrite<unknown>;
    const oldValue = reader.read(node.store, hex);
    viewOf(this.host, node, node.store).write(hex, write);
    if (write.type === 'put') this.host.metrics.tablePuts++;
    else this.host.metrics.tableDeletes++;
    const newValue = write.type === 'put' ? write.value : null;
    if (newValue === null && oldValue === undefined) return;
    const change: Change = { newValue, oldValue: oldValue ?? null };
    this.host.forward(node.id, { ...record, value: change });
  }

  transform(node: TableTransformNode, record: InFlight): void {
    const change = record.value as Change;
    let newValue: unknown;
    let oldValue: unknown;
    try {
      newValue = isAbsent(change.newValue) ? null : (node.apply(record.key, change.newValue) ?? null);
      oldValue = isAbsent(change.oldValue) ? null : (node.apply(record.key, change.oldValue) ?? null);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    if (newValue === null && oldValue === null) return;
    this.host.forward(node.id, { ...record, value: { newValue, oldValue } });
  }

  toStream(node: TableToStreamNode, record: InFlight): void {
    const change = record.value as Change;
    this.host.forward(node.id, { ...record, value: change.newValue ?? null });
  }

  groupBy(node: TableGroupByNode, record: InFlight): void {
    const change = record.value as Change;
    let subtract: readonly [unknown, unknown] | undefined;
    let add: readonly [unknown, unknown] | undefined;
    try {
      if (!isAbsent(change.oldValue)) subtract = node.selector(record.key, change.oldValue);
      if (!isAbsent(change.newValue)) add = node.selector(record.key, change.newValue);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    // Subtract first: when the group key is unchanged both go to the same partition, in this order.
    for (const [pair, toChange] of [
      [subtract, (value: unknown): Change => ({ newValue: null, oldValue: value })],
      [add, (value: unknown): Change => ({ newValue: value, oldValue: null })],
    ] as const) {
      if (pair === undefined) continue;
      const [groupKey, value] = pair;
      if (isAbsent(groupKey) || isAbsent(value)) {
        this.host.metrics.aggregationSkips++;
        continue;
      }
      this.host.forward(node.id, { ...record, key: groupKey, value: toChange(value) });
    }
  }

  /** The current value of a table for `key`: its root's stored value through the table's filters and mappers. */
  valueOf(getter: TableValueGetter, reader: StoreReader, hex: string, key: unknown): unknown {
    let value = reader.read(getter.store, hex) ?? null;
    for (const id of getter.transforms) {
      if (value === null) break;
      value = (this.nodes[id] as TableTransformNode).apply(key, value) ?? null;
    }
    return value;
  }

  /** Key bytes of `key` in `store` (serialized with the store's key serde). */
  keyIn(store: string, key: unknown): Buffer {
    const serde = this.keySerdes.get(store);
    if (serde === undefined) throw new Error(`no key serde for store '${store}'. This is a bug in Tributary.`);
    return serde.serialize(key);
  }

  startJoin(node: TableJoinNode, record: InFlight, fromId: number): void {
    if (isAbsent(record.key)) return;
    const other = fromId === node.left.nodeId ? node.right : node.left;
    let otherBytes: Buffer;
    let ownBytes: Buffer;
    try {
      otherBytes = this.keyIn(other.store, record.key);
      ownBytes = node.keySerde.serialize(record.key);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    const otherRead: StoreRead = { store: other.store, keyBytes: otherBytes, hex: otherBytes.toString('hex') };
    const ownRead: StoreRead = { store: node.store, keyBytes: ownBytes, hex: ownBytes.toString('hex') };
    const { reads } = this.host;
    if (
      reads.mustWait(node, ownRead.hex) ||
      viewOf(this.host, node, other.store).peek(otherRead.hex) === NOT_CACHED ||
      viewOf(this.host, node, node.store).peek(ownRead.hex) === NOT_CACHED
    ) {
      reads.park(node, fromId, record, [otherRead, ownRead], ownRead.hex);
      return;
    }
    this.finishJoin(node, record, fromId, otherRead, ownRead, reads.syncReader);
  }

  resumeJoin(node: TableJoinNode, parked: ParkedRecord, reader: StoreReader): void {
    this.finishJoin(node, parked.record, parked.fromId, parked.reads[0], parked.reads[1], reader);
  }

  private finishJoin(
    node: TableJoinNode,
    record: InFlight,
    fromId: number,
    otherRead: StoreRead,
    ownRead: StoreRead,
    reader: StoreReader,
  ): void {
    const fromLeft = fromId === node.left.nodeId;
    const change = record.value as Change;
    let joined: unknown;
    try {
      const otherValue = this.valueOf(fromLeft ? node.right : node.left, reader, otherRead.hex, record.key);
      const thisValue = isAbsent(change.newValue) ? null : change.newValue;
      joined = joinRow(node, fromLeft ? thisValue : otherValue, fromLeft ? otherValue : thisValue, record.key);
    } catch (error) {
      this.host.errors.processingFailed(node, record, error);
      return;
    }
    writeDerived(this.host, {
      node,
      record,
      forwardKey: record.key,
      storeKey: ownRead.keyBytes,
      hex: ownRead.hex,
      changelogKey: ownRead.keyBytes,
      next: joined,
      current: reader.read(node.store, ownRead.hex),
    });
  }
}

/** The joined row for the current left and right values (null = no row), by join type. */
function joinRow(node: TableJoinNode, left: unknown, right: unknown, key: unknown): unknown {
  const hasLeft = left !== null;
  const hasRight = right !== null;
  switch (node.joinType) {
    case 'inner':
      return hasLeft && hasRight ? node.joiner(left, right, key) : null;
    case 'left':
      return hasLeft ? node.joiner(left, right, key) : null;
    case 'outer':
      return hasLeft || hasRight ? node.joiner(left, right, key) : null;
  }
}
