/**
 * What the DSL's handles (builder.ts) and the node factories (derived-tables.ts) share while a topology is being
 * built: the growing node list, declared state stores, problems found so far (reported by `build()`), and the
 * default serdes. Nodes themselves are frozen once created; only this state grows.
 */
import { TopologyBuildError } from '../errors.js';
import type { StateStoreDeclaration, TableValueGetter, TopologyNode } from './nodes.js';
import type { Serde } from './serdes.js';

export interface BuildState {
  readonly nodes: TopologyNode[];
  readonly stateStores: StateStoreDeclaration[];
  readonly issues: TopologyBuildError[];
  readonly defaultKeySerde: Serde<unknown>;
  readonly defaultValueSerde: Serde<unknown>;
}

type NodeWithoutId = TopologyNode extends infer N ? (N extends TopologyNode ? Omit<N, 'id' | 'name'> : never) : never;

/** Appends a frozen node named `<prefix>-<10-digit id>` (Kafka Streams' naming) and returns it. */
export function addNode(state: BuildState, prefix: string, node: NodeWithoutId): TopologyNode {
  const id = state.nodes.length;
  const full = Object.freeze({ ...node, id, name: `${prefix}-${String(id).padStart(10, '0')}` }) as TopologyNode;
  state.nodes.push(full);
  return full;
}

/** Records a problem `build()` will throw (the DSL keeps chaining so one build reports the first problem found). */
export function addIssue(state: BuildState, node: string, message: string): void {
  state.issues.push(new TopologyBuildError(node, message));
}

// Serdes are typed at the DSL surface and untyped inside nodes; these casts are the one place that happens.
export const erase = <T>(serde: Serde<T>): Serde<unknown> => serde as Serde<unknown>;

/** What a stream handle knows: the node its records leave from and what is known of their serdes. */
export interface StreamShape<K, V> {
  readonly nodeId: number;
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  /** True when keys may have changed since the last source or repartition (joins then need a repartition). */
  readonly keyChanged: boolean;
}

/** What a table handle knows: its node, serdes, store and how to read its current value. */
export interface TableShape<K, V> {
  readonly nodeId: number;
  readonly keySerde: Serde<K>;
  /** Unknown after mapValues (then the builder default applies where one is needed). */
  readonly valueSerde?: Serde<V>;
  /** The queryable store materializing this table; undefined for filter/mapValues results. */
  readonly store?: string;
  /** The source topic of a table read with `builder.table()`. */
  readonly topic?: string;
  /** How a join reads this table's current value; undefined for windowed tables (they cannot be joined). */
  readonly getter?: TableValueGetter;
}

/**
 * Inserts a repartition sink/source pair after `upstreamId` through `<applicationId>-<baseName>-repartition` and
 * returns the source node id (its records are partitioned by their key, serialized with `keySerde`).
 */
export function addRepartition(
  state: BuildState,
  upstreamId: number,
  baseName: string,
  partitions: number | undefined,
  keySerde: Serde<unknown>,
  valueSerde: Serde<unknown>,
): number {
  const sink = addNode(state, 'KSTREAM-REPARTITION-SINK', {
    kind: 'repartition-sink',
    parents: [upstreamId],
    baseName,
    partitions,
    keySerde,
    valueSerde,
  });
  const source = addNode(state, 'KSTREAM-REPARTITION-SOURCE', {
    kind: 'repartition-source',
    parents: [],
    baseName,
    sinkId: sink.id,
    keySerde,
    valueSerde,
  });
  return source.id;
}
