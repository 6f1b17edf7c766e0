/**
 * The node tree the DSL builds. Nodes are frozen plain objects; the builder only ever appends, so a node's
 * parents always exist before it. The engine (processor/engine) interprets these nodes; users never see them
 * except through `describe()`.
 *
 * Values inside nodes are untyped (`unknown`): the typed DSL (builder.ts) guarantees the types line up.
 */
import { assertNever } from '../common/assert-never.js';
import type { RecordHeaders } from '../common/records.js';
import type { Serde } from './serdes.js';
import type { ResolvedTableFormat } from './formats/table-format.js';
import type { WindowSpec } from './windows.js';

/** What to do with a record that fails at one stage. */
export type ErrorAction = 'dead-letter' | 'fail' | 'log-and-skip';

/** Per-source override of the application's error policy. */
export interface SourceErrorPolicy {
  readonly deserialization?: ErrorAction;
  readonly processing?: ErrorAction;
}

/** Collects what a transform emits: each call forwards one record downstream. */
export type Emit = (key: unknown, value: unknown) => void;

/** Chooses a partition for a sink record; `numPartitions` is the sink topic's partition count. */
export type UntypedPartitioner = (key: unknown, value: unknown, numPartitions: number) => number;

interface NodeBase {
  readonly id: number;
  /** Unique, stable within one build (e.g. `KSTREAM-FILTER-0000000003`); shown by describe(). */
  readonly name: string;
  readonly parents: readonly number[];
}

export interface StreamSourceNode extends NodeBase {
  readonly kind: 'source';
  readonly topic: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly errorPolicy?: SourceErrorPolicy;
}

/** A co-partitioned table: the topic is materialized into `store` (one store instance per partition). */
export interface TableSourceNode extends NodeBase {
  readonly kind: 'table-source';
  readonly topic: string;
  readonly store: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly errorPolicy?: SourceErrorPolicy;
  /** Records written by a database through Kafka Connect (Debezium, outbox); see formats/table-format.ts. */
  readonly format?: ResolvedTableFormat;
}

/** A global table: every instance materializes every partition of `topic` into one `store`. */
export interface GlobalTableNode extends NodeBase {
  readonly kind: 'global-table';
  readonly topic: string;
  readonly store: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly errorPolicy?: SourceErrorPolicy;
  /** Records written by a database through Kafka Connect (Debezium, outbox); see formats/table-format.ts. */
  readonly format?: ResolvedTableFormat;
}

/** Stateless one-in, zero-or-more-out step (filter, map, flatMap, selectKey, peek, branch, merge ...). */
export interface TransformNode extends NodeBase {
  readonly kind: 'transform';
  /** DSL operator that created it, e.g. `filter`, `selectKey`. */
  readonly op: string;
  /** True when emitted keys may differ from the input key (a co-partitioned join needs a repartition after it). */
  readonly changesKey: boolean;
  readonly apply: (key: unknown, value: unknown, emit: Emit) => void;
}

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly topic: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly partitioner?: UntypedPartitioner;
}

/** Writes to `<applicationId>-<baseName>-repartition`; the paired RepartitionSourceNode reads it back. */
export interface RepartitionSinkNode extends NodeBase {
  readonly kind: 'repartition-sink';
  readonly baseName: string;
  readonly partitions?: number;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
}

export interface RepartitionSourceNode extends NodeBase {
  readonly kind: 'repartition-source';
  readonly baseName: string;
  readonly sinkId: number;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
}

export type ValueJoiner = (streamValue: unknown, tableValue: unknown, key: unknown) => unknown;

/**
 * How to read a table's current value for a key: the materialized table it derives from (a table source, an
 * aggregation or a table–table join: `rootId`, whose store is `store`) and the `table-transform` nodes (filter,
 * mapValues) between that table and this one, applied in order to the stored value (Kafka Streams' value getter).
 */
export interface TableValueGetter {
  readonly rootId: number;
  readonly store: string;
  readonly transforms: readonly number[];
}

export interface StreamTableJoinNode extends NodeBase {
  readonly kind: 'stream-table-join';
  /** The joined table's value getter: its materialized root and the transforms after it. */
  readonly table: TableValueGetter;
  /** The root's store (`table.store`), read with `tableKeySerde`. */
  readonly store: string;
  readonly tableKeySerde: Serde<unknown>;
  readonly leftJoin: boolean;
  readonly joiner: ValueJoiner;
}

export interface StreamGlobalJoinNode extends NodeBase {
  readonly kind: 'stream-global-join';
  readonly globalTableId: number;
  readonly store: string;
  readonly tableKeySerde: Serde<unknown>;
  readonly leftJoin: boolean;
  readonly keyMapper: (key: unknown, value: unknown) => unknown;
  readonly joiner: ValueJoiner;
}

/** Store access for `process` nodes. Reads see this task's uncommitted writes. */
export interface ProcessorStore<K, V> {
  get(key: K): Promise<V | undefined>;
  put(key: K, value: V): void;
  delete(key: K): void;
}

export interface ForwardOptions {
  readonly timestamp?: number;
  readonly headers?: RecordHeaders;
}

export interface ProcessorContext<KOut, VOut> {
  /** Sends a record to the next nodes. Allowed after an `await` too, until the returned promise settles. */
  forward(key: KOut, value: VOut, options?: ForwardOptions): void;
  /** A store declared with `StreamsBuilder.addStateStore` and listed in the process options. */
  store<K, V>(name: string): ProcessorStore<K, V>;
  readonly timestamp: number;
  readonly headers: RecordHeaders;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface ProcessNode extends NodeBase {
  readonly kind: 'process';
  readonly stores: readonly string[];
  readonly fn: (key: unknown, value: unknown, context: ProcessorContext<unknown, unknown>) => void | Promise<void>;
}

/**
 * How a table the topology derives (an aggregation or a table–table join) sends its updates downstream:
 * `every-update` forwards each change as it happens; `on-commit` keeps the latest change per key and forwards it
 * when the task commits (at most one update per key per commit interval: Kafka Streams' record cache).
 */
export type EmitMode = 'every-update' | 'on-commit';

/**
 * Folds one value into an aggregate. `current` is undefined while the key has no aggregate yet; a result of
 * null/undefined deletes the row. Count, reduce and aggregate are all expressed with it.
 */
export type UntypedAdder = (key: unknown, value: unknown, current: unknown) => unknown;

/** Fields every materialized table the topology derives shares: its store, serdes and emit mode. */
interface DerivedTableFields {
  /** The DSL operator (`count`, `reduce`, `aggregate`, `join`, ...), shown by describe(). */
  readonly op: string;
  /** Store name; its changelog topic is `<applicationId>-<store>-changelog`. */
  readonly store: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly emit: EmitMode;
}

/** `groupByKey()/groupBy()` then `count()/reduce()/aggregate()` on a stream: a table of aggregates per key. */
export interface StreamAggregateNode extends NodeBase, DerivedTableFields {
  readonly kind: 'stream-aggregate';
  readonly add: UntypedAdder;
}

/** `windowedBy(TimeWindows...)` then `count()/reduce()/aggregate()`: aggregates per key and window in a window store. */
export interface WindowAggregateNode extends NodeBase, DerivedTableFields {
  readonly kind: 'window-aggregate';
  readonly add: UntypedAdder;
  readonly windows: WindowSpec;
  /** How long (in stream time after its start) a window is kept and queryable; at least size + grace. */
  readonly retentionMs: number;
  /** Time span of one store segment, the unit retention deletes. */
  readonly segmentIntervalMs: number;
}

/**
 * `table.groupBy(...)` then `count()/reduce()/aggregate()`: reads the changes of the re-keyed table (through the
 * repartition topic) and subtracts each old value before adding the new one.
 */
export interface TableAggregateNode extends NodeBase, DerivedTableFields {
  readonly kind: 'table-aggregate';
  readonly add: UntypedAdder;
  /** Removes a value from an aggregate (called only when the key has one). */
  readonly subtract: UntypedAdder;
}

/** `table.filter/filterNot/mapValues`: applied to both the new and the old value of each change. */
export interface TableTransformNode extends NodeBase {
  readonly kind: 'table-transform';
  readonly op: 'filter' | 'filterNot' | 'mapValues';
  /** The derived value of a row, null/undefined when the row is absent from the derived table. */
  readonly apply: (key: unknown, value: unknown) => unknown;
}

/** `table.toStream()`: each change becomes a record with the new value (null for a deletion). */
export interface TableToStreamNode extends NodeBase {
  readonly kind: 'table-to-stream';
}

/**
 * `table.groupBy(selector)`: each change becomes a subtraction of the old row (under its old new-key) and an addition
 * of the new row (under its new new-key), as two records towards the repartition topic.
 */
export interface TableGroupByNode extends NodeBase {
  readonly kind: 'table-group-by';
  readonly selector: (key: unknown, value: unknown) => readonly [unknown, unknown];
}

export type TableJoinType = 'inner' | 'left' | 'outer';

/**
 * Table–table join (co-partitioned): parents are `[left.nodeId, right.nodeId]`; an update on either side reads the
 * other side's current value and forwards the change of the joined row, which is materialized in `store`.
 */
export interface TableJoinNode extends NodeBase, DerivedTableFields {
  readonly kind: 'table-join';
  readonly joinType: TableJoinType;
  readonly left: TableValueGetter & { readonly nodeId: number };
  readonly right: TableValueGetter & { readonly nodeId: number };
  /** `(leftValue, rightValue, key)`; a side is null when absent (left/outer joins). */
  readonly joiner: (left: unknown, right: unknown, key: unknown) => unknown;
}

export type TopologyNode =
  | StreamSourceNode
  | TableSourceNode
  | GlobalTableNode
  | TransformNode
  | SinkNode
  | RepartitionSinkNode
  | RepartitionSourceNode
  | StreamTableJoinNode
  | StreamGlobalJoinNode
  | ProcessNode
  | StreamAggregateNode
  | WindowAggregateNode
  | TableAggregateNode
  | TableTransformNode
  | TableToStreamNode
  | TableGroupByNode
  | TableJoinNode;

/** Nodes that materialize a table the topology derives; their stores have a changelog topic. */
export type DerivedTableNode = StreamAggregateNode | WindowAggregateNode | TableAggregateNode | TableJoinNode;

export function isDerivedTableNode(node: TopologyNode): node is DerivedTableNode {
  return (
    node.kind === 'stream-aggregate' || node.kind === 'window-aggregate' || node.kind === 'table-aggregate' || node.kind === 'table-join'
  );
}

/** A store declared for `process` nodes (table and global stores are declared by their sources). */
export interface StateStoreDeclaration {
  readonly name: string;
  readonly keySerde: Serde<unknown>;
}

/** Full changelog topic name of a derived table's store (compacted; one partition per task). */
export function changelogTopicName(applicationId: string, store: string): string {
  return `${applicationId}-${store}-changelog`;
}

/** Full repartition topic name. */
export function repartitionTopicName(applicationId: string, baseName: string): string {
  return `${applicationId}-${baseName}-repartition`;
}

/** Topic a source or sink node reads or writes (repartition nodes: their full topic name); undefined for the others. */
export function nodeTopic(applicationId: string, node: TopologyNode): string | undefined {
  switch (node.kind) {
    case 'source':
    case 'table-source':
    case 'global-table':
    case 'sink':
      return node.topic;
    case 'repartition-sink':
    case 'repartition-source':
      return repartitionTopicName(applicationId, node.baseName);
    case 'transform':
    case 'stream-table-join':
    case 'stream-global-join':
    case 'process':
    case 'stream-aggregate':
    case 'window-aggregate':
    case 'table-aggregate':
    case 'table-transform':
    case 'table-to-stream':
    case 'table-group-by':
    case 'table-join':
      return undefined;
    default:
      return assertNever(node, 'topology node');
  }
}
