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

export interface StreamTableJoinNode extends NodeBase {
  readonly kind: 'stream-table-join';
  readonly tableSourceId: number;
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
  | ProcessNode;

/** A store declared for `process` nodes (table and global stores are declared by their sources). */
export interface StateStoreDeclaration {
  readonly name: string;
  readonly keySerde: Serde<unknown>;
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
      return undefined;
    default:
      return assertNever(node, 'topology node');
  }
}
