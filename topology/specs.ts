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
  /** Task-local stores: table stores + state stores used by process nodes. */
  readonly stores: readonly string[];
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

export interface StoreSpec {
  readonly name: string;
  readonly kind: 'table' | 'global' | 'state';
  /** Source topic for table and global stores. */
  readonly topic?: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde?: Serde<unknown>;
  /** Owning sub-topology; undefined for global stores. */
  readonly subtopologyId?: number;
}

/** Everything `compileTopology` works out, as `Topology` holds it. */
export interface CompiledTopology {
  readonly applicationId: string;
  readonly nodes: readonly TopologyNode[];
  readonly subtopologies: readonly Subtopology[];
  readonly repartitionTopics: readonly RepartitionTopicSpec[];
  readonly globalTables: readonly GlobalTableSpec[];
  readonly stores: readonly StoreSpec[];
  /** Node id → ids of the nodes it forwards to (repartition sinks have none: the topic is the edge). */
  readonly children: readonly (readonly number[])[];
  /** Node id → its sub-topology id (undefined for global-table nodes). */
  readonly subtopologyOf: readonly (number | undefined)[];
}
