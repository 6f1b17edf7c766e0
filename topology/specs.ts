/**
 * The plain data a compiled topology is made of: its sub-topologies, repartition topics, global tables and stores.
 * `Topology` (topology.ts) carries it; the compiler (compile.ts) produces it; describe.ts renders it.
 */
import type { SourceErrorPolicy, TopologyNode } from './nodes.js';
import type { Serde } from './serdes.js';
import type { ResolvedTableFormat } from './formats/table-format.js';

export interface TableSourceSpec {
  readonly topic: string;
  readonly store: string;
  readonly nodeId: number;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly errorPolicy?: SourceErrorPolicy;
  /** Set for a table fed by a database through Kafka Connect (Debezium, outbox). */
  readonly format?: ResolvedTableFormat;
}

export interface Subtopology {
  readonly id: number;
  /** Node ids in creation order (a valid topological order). */
  readonly nodeIds: readonly number[];
  /** Every topic a task of this sub-topology reads (user + repartition), sorted. All must have equal partition counts. */
  readonly sourceTopics: readonly string[];
  readonly repartitionSourceTopics: readonly string[];
  /** Sources materialized into a store of this sub-topology (tasks checkpoint these partitions with the store). */
  readonly tableSources: readonly TableSourceSpec[];
  /** Task-local stores: table stores, state stores used by process nodes, and the stores of derived tables. */
  readonly stores: readonly string[];
  /** Changelog topics of this sub-topology's derived-table stores, sorted (a task writes partition = its partition). */
  readonly changelogTopics: readonly string[];
  /** User sink topics and repartition topics written by this sub-topology, sorted. */
  readonly sinkTopics: readonly string[];
}

export interface RepartitionTopicSpec {
  readonly topic: string;
  /** User-fixed partition count, if any. Otherwise see `Topology.partitionCounts`. */
  readonly partitions?: number;
  readonly producedBy: number;
  readonly consumedBy: number;
}

export type GlobalTableSpec = TableSourceSpec;

/** The windows of a window store, and how long and in which slices it keeps them. */
export interface WindowStoreSpec {
  readonly windowSizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly segmentIntervalMs: number;
}

/**
 * - `table`: materializes a source topic (the topic is its changelog); `global`: the same on every instance;
 * - `state`: a `process()` node's store (no changelog);
 * - `derived`: a table the topology computes (aggregation, table–table join), with a changelog topic;
 * - `window`: a windowed aggregation's store (window layout, `window` set), with a changelog topic.
 */
export type StoreSpecKind = 'table' | 'global' | 'state' | 'derived' | 'window';

export interface StoreSpec {
  readonly name: string;
  readonly kind: StoreSpecKind;
  /** Source topic for table and global stores. */
  readonly topic?: string;
  /** Key serde of the store's keys (a window store: of the keys inside the windows). */
  readonly keySerde: Serde<unknown>;
  readonly valueSerde?: Serde<unknown>;
  /** Owning sub-topology; undefined for global stores. */
  readonly subtopologyId?: number;
  /** `<applicationId>-<store>-changelog` for derived and window stores. */
  readonly changelogTopic?: string;
  /** Set for window stores. */
  readonly window?: WindowStoreSpec;
  /** The node that writes the store (derived and window stores). */
  readonly nodeId?: number;
}

/** A changelog topic: compacted, one partition per task of the sub-topology owning the store. */
export interface ChangelogTopicSpec {
  readonly topic: string;
  readonly store: string;
  readonly subtopologyId: number;
}

/** Everything `compileTopology` works out, as `Topology` holds it. */
export interface CompiledTopology {
  readonly applicationId: string;
  readonly nodes: readonly TopologyNode[];
  readonly subtopologies: readonly Subtopology[];
  readonly repartitionTopics: readonly RepartitionTopicSpec[];
  readonly changelogTopics: readonly ChangelogTopicSpec[];
  readonly globalTables: readonly GlobalTableSpec[];
  readonly stores: readonly StoreSpec[];
  /** Node id → ids of the nodes it forwards to (repartition sinks have none: the topic is the edge). */
  readonly children: readonly (readonly number[])[];
  /** Node id → its sub-topology id (undefined for global-table nodes). */
  readonly subtopologyOf: readonly (number | undefined)[];
}
