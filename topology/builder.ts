/**
 * The typed DSL: `StreamsBuilder` creates sources; `KStream` operators append immutable nodes; `build()` validates
 * and compiles the node graph into a frozen `Topology` (see compile.ts). Building never touches Kafka.
 *
 * Serdes flow with the stream: an operator that keeps keys (filter, mapValues, ...) keeps the key serde; one that
 * changes them forgets it, and `to()`/`repartition()` then use the serdes you pass or the builder defaults (JSON).
 * A co-partitioned join after a key change gets a repartition topic inserted automatically, keyed with the
 * table's key serde so the stream and the table agree on partitions.
 */
import { describeValue } from '../common/describe-value.js';
import { TopologyBuildError } from '../errors.js';
import { addIssue, addNode, addRepartition, erase, type BuildState, type StreamShape, type TableShape } from './build-state.js';
import { compileTopology } from './compile.js';
import {
  addStreamAggregation,
  addTableAggregation,
  addTableJoin,
  addTableToStream,
  addTableTransform,
  type GroupedOptions,
  type GroupedStream,
  type GroupedTable,
  type MaterializedOptions,
  type WindowedMaterializedOptions,
} from './derived-tables.js';
import type { Topology } from './topology.js';
import type { Emit, ProcessorContext, SourceErrorPolicy, TableJoinType, UntypedAdder, UntypedPartitioner, ValueJoiner } from './nodes.js';
import { Serdes, type Serde } from './serdes.js';
import { ConnectKeySerde } from './formats/connect-key.js';
import { resolveTableFormat, type ResolvedTableFormat, type TableFormat } from './formats/table-format.js';
import type { TimeWindows, Windowed } from './windows.js';

export type { GroupedOptions, MaterializedOptions, WindowedMaterializedOptions } from './derived-tables.js';

export interface SourceOptions<K, V> {
  readonly key: Serde<K>;
  readonly value: Serde<V>;
  /** Overrides the application's error policy for records of this source. */
  readonly errorPolicy?: SourceErrorPolicy;
}

export interface TableOptions<K, V> extends SourceOptions<K, V> {
  /** Name of the store the table is materialized in (unique in the topology; queryable over HTTP). */
  readonly store: string;
  /**
   * Records written by a database through Kafka Connect: `'debezium'` (change events), `'debezium-unwrapped'`
   * (ExtractNewRecordState rows), `'outbox'` (the outbox event router). `key` then describes the unwrapped key and
   * `value` the row. See README "Tables from databases".
   */
  readonly format?: TableFormat<V>;
  /** With a format: unwrap this single column of the Connect key struct (`/stores/customers/keys/42`). */
  readonly keyField?: string;
}

export interface ToOptions<K, V> {
  readonly key?: Serde<K>;
  readonly value?: Serde<V>;
  /** Custom partitioner; the default is murmur2 of the key bytes (Java-client compatible). */
  readonly partitioner?: (key: K, value: V, numPartitions: number) => number;
}

export interface RepartitionOptions<K, V> {
  /**
   * Topic becomes `<applicationId>-<name>-repartition`. Required: the name must not change between deploys, or the
   * records still unread in the old topic are left behind (`build()` refuses a repartition() without one).
   */
  readonly name?: string;
  /** Default: the max partition count of the upstream source topics. */
  readonly partitions?: number;
  readonly key?: Serde<K>;
  readonly value?: Serde<V>;
}

export interface JoinOptions {
  /**
   * Base name of the repartition topic inserted when the stream's key changed before this join:
   * `<applicationId>-<name>-repartition`. Default: the joined table's store name, which stays the same when
   * operators are added upstream; name it when two re-keyed joins read one table.
   */
  readonly repartitionName?: string;
}

export interface ProcessOptions {
  /** Names of stores (declared with `addStateStore`) the function may use through `context.store(name)`. */
  readonly stores?: readonly string[];
}

export interface BuildOptions {
  /** Prefix of internal topic names: `<applicationId>-<name>-repartition`, `<applicationId>-dlq`. */
  readonly applicationId: string;
}

export interface StreamsBuilderOptions {
  /** Used by `to()`/`repartition()` when the key serde is not known (after a key change). Default JSON. */
  readonly defaultKeySerde?: Serde<unknown>;
  /** Used when the value serde is not known (after mapValues, joins ...). Default JSON. */
  readonly defaultValueSerde?: Serde<unknown>;
}

/** `mapValues` on a table: the serde of the new values, for the stores and topics that need one. */
export interface TableMapValuesOptions<V> {
  readonly value?: Serde<V>;
}

/** A table replicated in full on every instance; joined through a key mapper, no co-partitioning needed. */
export class GlobalKTable<K, V> {
  readonly kind = 'global-table' as const;
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly nodeId: number;
  readonly topic: string;
  readonly store: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;

  // Private and kept in the .d.ts (not marked internal): a stripped constructor would read as a public one.
  private constructor(state: BuildState, nodeId: number, topic: string, options: TableOptions<K, V>) {
    this.state = state;
    this.nodeId = nodeId;
    this.topic = topic;
    this.store = options.store;
    this.keySerde = formattedKeySerde(topic, options);
    this.valueSerde = options.value;
  }

  /** @internal created by `StreamsBuilder.globalTable()` */
  static create<K, V>(state: BuildState, nodeId: number, topic: string, options: TableOptions<K, V>): GlobalKTable<K, V> {
    return new GlobalKTable(state, nodeId, topic, options);
  }
}

/**
 * A co-partitioned table: read from a topic (`builder.table`), or derived by an aggregation, a table–table join,
 * filter or mapValues. Stream records joined against it read its current value; its own changes flow to table
 * operations (filter, mapValues, groupBy, joins) and, through `toStream()`, to streams.
 */
export class KTable<K, V> {
  readonly kind = 'table' as const;
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly shape: TableShape<K, V>;

  // Private and kept in the .d.ts (not marked internal): a stripped constructor would read as a public one.
  private constructor(state: BuildState, shape: TableShape<K, V>) {
    this.state = state;
    this.shape = shape;
  }

  /** @internal created by `StreamsBuilder.table()` and by the operators that derive tables */
  static create<K, V>(state: BuildState, shape: TableShape<K, V>): KTable<K, V> {
    return new KTable(state, shape);
  }

  /** @internal */
  get nodeId(): number {
    return this.shape.nodeId;
  }

  /** Source topic of a table read with `builder.table()`; undefined for derived tables. */
  get topic(): string | undefined {
    return this.shape.topic;
  }

  /** The queryable store holding this table; undefined for filter/mapValues results (they read through their source). */
  get store(): string | undefined {
    return this.shape.store;
  }

  get keySerde(): Serde<K> {
    return this.shape.keySerde;
  }

  /** Unknown after mapValues without a value serde. */
  get valueSerde(): Serde<V> | undefined {
    return this.shape.valueSerde;
  }

  private derive<K2, V2>(shape: TableShape<unknown, unknown>): KTable<K2, V2> {
    return new KTable<K2, V2>(this.state, shape as TableShape<K2, V2>);
  }

  private get untyped(): TableShape<unknown, unknown> {
    return this.shape as TableShape<unknown, unknown>;
  }

  /** Rows matching `predicate`; an update that stops matching becomes a deletion downstream. */
  filter(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    const apply = (k: unknown, v: unknown): unknown => (predicate(k as K, v as V) ? v : null);
    return this.derive(addTableTransform(this.state, this.untyped, 'filter', apply, erasedOrUndefined(this.shape.valueSerde)));
  }

  /** Rows not matching `predicate`. */
  filterNot(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    const apply = (k: unknown, v: unknown): unknown => (predicate(k as K, v as V) ? null : v);
    return this.derive(addTableTransform(this.state, this.untyped, 'filterNot', apply, erasedOrUndefined(this.shape.valueSerde)));
  }

  /** Maps every row's value; a mapper returning null or undefined removes the row from the derived table. */
  mapValues<V2>(mapper: (value: V, key: K) => V2 | null | undefined, options: TableMapValuesOptions<V2> = {}): KTable<K, V2> {
    const apply = (k: unknown, v: unknown): unknown => mapper(v as V, k as K);
    return this.derive(addTableTransform(this.state, this.untyped, 'mapValues', apply, erasedOrUndefined(options.value)));
  }

  /** The table's changes as a stream: each update is a record with the new value, a deletion a record with null. */
  toStream(): KStream<K, V | null> {
    return KStream.create<K, V | null>(this.state, addTableToStream(this.state, this.untyped) as StreamShape<K, V | null>);
  }

  /**
   * Re-keys the table for an aggregation: `selector` maps each row to `[newKey, newValue]`. An update of a row is
   * subtracted from the group of its old row and added to the group of its new one; a deletion is subtracted.
   * Always goes through a repartition topic `<applicationId>-<store or name>-repartition`.
   */
  groupBy<K2, V2>(selector: (key: K, value: V) => readonly [K2, V2], options: GroupedOptions<K2, V2> = {}): KGroupedTable<K2, V2> {
    return KGroupedTable.create<K2, V2>(this.state, {
      table: this.untyped,
      selector: selector as (key: unknown, value: unknown) => readonly [unknown, unknown],
      options: options as GroupedOptions<unknown, unknown>,
    });
  }

  /** Inner table–table join (co-partitioned): a row exists where both sides have one. Materialized in `options.store`. */
  join<VO, R>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO, key: K) => R, options: MaterializedOptions<K, R>): KTable<K, R> {
    return this.addJoin('inner', other, joiner as ValueJoiner, options);
  }

  /** Left table–table join: a row for every row of this table; the other side is null when absent. */
  leftJoin<VO, R>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => R,
    options: MaterializedOptions<K, R>,
  ): KTable<K, R> {
    return this.addJoin('left', other, joiner as ValueJoiner, options);
  }

  /** Outer table–table join: a row where either side has one; the absent side is null. */
  outerJoin<VO, R>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => R,
    options: MaterializedOptions<K, R>,
  ): KTable<K, R> {
    return this.addJoin('outer', other, joiner as ValueJoiner, options);
  }

  private addJoin<VO, R>(
    joinType: TableJoinType,
    other: KTable<K, VO>,
    joiner: ValueJoiner,
    options: MaterializedOptions<K, R>,
  ): KTable<K, R> {
    if (other.state !== this.state) {
      addIssue(
        this.state,
        `${joinType} join`,
        'the other table belongs to another StreamsBuilder; create both tables with the same builder.',
      );
    }
    const shape = addTableJoin(
      this.state,
      this.untyped,
      other.shape as TableShape<unknown, unknown>,
      joinType,
      (left, right, key) => joiner(left, right, key),
      options as MaterializedOptions<unknown, unknown>,
    );
    return this.derive<K, R>(shape);
  }
}

function erasedOrUndefined<T>(serde: Serde<T> | undefined): Serde<unknown> | undefined {
  return serde === undefined ? undefined : erase(serde);
}

/** Count as an adder: one more per record, one less per subtracted row. */
const countAdd: UntypedAdder = (_key, _value, current) => ((current as number | undefined) ?? 0) + 1;
const countSubtract: UntypedAdder = (_key, _value, current) => (current as number) - 1;

/** A stream grouped by key, ready for an aggregation (`groupByKey()` / `groupBy()`). */
export class KGroupedStream<K, V> {
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly grouped: GroupedStream;

  private constructor(state: BuildState, grouped: GroupedStream) {
    this.state = state;
    this.grouped = grouped;
  }

  /** @internal created by `KStream.groupByKey()` / `groupBy()` */
  static create<K, V>(state: BuildState, grouped: GroupedStream): KGroupedStream<K, V> {
    return new KGroupedStream(state, grouped);
  }

  /** Records per key (records with a null key or value are skipped and counted, as in Kafka Streams). */
  count(options: MaterializedOptions<K, number>): KTable<K, number> {
    return this.materialize('count', countAdd, options);
  }

  /** Combines the values per key: the first value is the aggregate, then `reducer(aggregate, value, key)`. */
  reduce(reducer: (aggregate: V, value: V, key: K) => V, options: MaterializedOptions<K, V>): KTable<K, V> {
    const add: UntypedAdder = (key, value, current) => (current === undefined ? value : reducer(current as V, value as V, key as K));
    return this.materialize('reduce', add, options);
  }

  /** Folds the values per key into an aggregate that starts as `initializer()`. */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    options: MaterializedOptions<K, VA>,
  ): KTable<K, VA> {
    const add: UntypedAdder = (key, value, current) =>
      aggregator(key as K, value as V, current === undefined ? initializer() : (current as VA));
    return this.materialize('aggregate', add, options);
  }

  /** Aggregates per key and time window (tumbling or hopping `TimeWindows`) into a window store. */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V> {
    return TimeWindowedKStream.create<K, V>(this.state, this.grouped, windows);
  }

  private materialize<VA>(op: 'count' | 'reduce' | 'aggregate', add: UntypedAdder, options: MaterializedOptions<K, VA>): KTable<K, VA> {
    const shape = addStreamAggregation(this.state, this.grouped, {
      op,
      add,
      options: options as MaterializedOptions<unknown, unknown>,
    });
    return KTable.create<K, VA>(this.state, shape as TableShape<K, VA>);
  }
}

/** A grouped stream with time windows: aggregations produce a windowed table (`KTable<Windowed<K>, V>`). */
export class TimeWindowedKStream<K, V> {
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly grouped: GroupedStream;
  readonly windows: TimeWindows;

  private constructor(state: BuildState, grouped: GroupedStream, windows: TimeWindows) {
    this.state = state;
    this.grouped = grouped;
    this.windows = windows;
  }

  /** @internal created by `KGroupedStream.windowedBy()` */
  static create<K, V>(state: BuildState, grouped: GroupedStream, windows: TimeWindows): TimeWindowedKStream<K, V> {
    return new TimeWindowedKStream(state, grouped, windows);
  }

  /** Records per key and window. */
  count(options: WindowedMaterializedOptions<K, number>): KTable<Windowed<K>, number> {
    return this.materialize('count', countAdd, options);
  }

  reduce(reducer: (aggregate: V, value: V, key: K) => V, options: WindowedMaterializedOptions<K, V>): KTable<Windowed<K>, V> {
    const add: UntypedAdder = (key, value, current) => (current === undefined ? value : reducer(current as V, value as V, key as K));
    return this.materialize('reduce', add, options);
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    options: WindowedMaterializedOptions<K, VA>,
  ): KTable<Windowed<K>, VA> {
    const add: UntypedAdder = (key, value, current) =>
      aggregator(key as K, value as V, current === undefined ? initializer() : (current as VA));
    return this.materialize('aggregate', add, options);
  }

  private materialize<VA>(
    op: 'count' | 'reduce' | 'aggregate',
    add: UntypedAdder,
    options: WindowedMaterializedOptions<K, VA>,
  ): KTable<Windowed<K>, VA> {
    const shape = addStreamAggregation(this.state, this.grouped, {
      op,
      add,
      options: options as WindowedMaterializedOptions<unknown, unknown>,
      windows: this.windows,
    });
    return KTable.create<Windowed<K>, VA>(this.state, shape as TableShape<Windowed<K>, VA>);
  }
}

/** A re-keyed table, ready for an aggregation that subtracts old rows and adds new ones (`table.groupBy()`). */
export class KGroupedTable<K, V> {
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly grouped: GroupedTable;

  private constructor(state: BuildState, grouped: GroupedTable) {
    this.state = state;
    this.grouped = grouped;
  }

  /** @internal created by `KTable.groupBy()` */
  static create<K, V>(state: BuildState, grouped: GroupedTable): KGroupedTable<K, V> {
    return new KGroupedTable(state, grouped);
  }

  /** Rows per new key. */
  count(options: MaterializedOptions<K, number>): KTable<K, number> {
    return this.materialize('count', countAdd, countSubtract, options);
  }

  /** `adder(aggregate, value, key)` for a new row, `subtractor(aggregate, value, key)` for a removed one. */
  reduce(
    adder: (aggregate: V, value: V, key: K) => V,
    subtractor: (aggregate: V, value: V, key: K) => V,
    options: MaterializedOptions<K, V>,
  ): KTable<K, V> {
    const add: UntypedAdder = (key, value, current) => (current === undefined ? value : adder(current as V, value as V, key as K));
    const subtract: UntypedAdder = (key, value, current) => subtractor(current as V, value as V, key as K);
    return this.materialize('reduce', add, subtract, options);
  }

  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    options: MaterializedOptions<K, VA>,
  ): KTable<K, VA> {
    const add: UntypedAdder = (key, value, current) => adder(key as K, value as V, current === undefined ? initializer() : (current as VA));
    const subtract: UntypedAdder = (key, value, current) => subtractor(key as K, value as V, current as VA);
    return this.materialize('aggregate', add, subtract, options);
  }

  private materialize<VA>(
    op: 'count' | 'reduce' | 'aggregate',
    add: UntypedAdder,
    subtract: UntypedAdder,
    options: MaterializedOptions<K, VA>,
  ): KTable<K, VA> {
    const shape = addTableAggregation(this.state, this.grouped, {
      op,
      add,
      subtract,
      options: options as MaterializedOptions<unknown, unknown>,
    });
    return KTable.create<K, VA>(this.state, shape as TableShape<K, VA>);
  }
}

export class KStream<K, V> {
  /** @internal */ readonly state: BuildState;
  /** @internal */ readonly shape: StreamShape<K, V>;

  // Private and kept in the .d.ts (not marked internal): a stripped constructor would read as a public one.
  private constructor(state: BuildState, shape: StreamShape<K, V>) {
    this.state = state;
    this.shape = shape;
  }

  /** @internal created by `StreamsBuilder.stream()`; operators create theirs with the constructor */
  static create<K, V>(state: BuildState, shape: StreamShape<K, V>): KStream<K, V> {
    return new KStream(state, shape);
  }

  private transform<K2, V2>(
    prefix: string,
    op: string,
    changesKey: boolean,
    apply: (key: K, value: V, emit: (key: K2, value: V2) => void) => void,
    serdes: { key?: Serde<K2>; value?: Serde<V2> },
  ): KStream<K2, V2> {
    const node = addNode(this.state, prefix, {
      kind: 'transform',
      op,
      changesKey,
      parents: [this.shape.nodeId],
      apply: apply as (key: unknown, value: unknown, emit: Emit) => void,
    });
    return new KStream<K2, V2>(this.state, {
      nodeId: node.id,
      keySerde: serdes.key,
      valueSerde: serdes.value,
      keyChanged: this.shape.keyChanged || changesKey,
    });
  }

  filter(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.transform<K, V>(
      'KSTREAM-FILTER',
      'filter',
      false,
      (k, v, emit) => {
        if (predicate(k, v)) emit(k, v);
      },
      { key: this.shape.keySerde, value: this.shape.valueSerde },
    );
  }

  filterNot(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.transform<K, V>(
      'KSTREAM-FILTER',
      'filterNot',
      false,
      (k, v, emit) => {
        if (!predicate(k, v)) emit(k, v);
      },
      { key: this.shape.keySerde, value: this.shape.valueSerde },
    );
  }

  map<K2, V2>(mapper: (key: K, value: V) => readonly [K2, V2]): KStream<K2, V2> {
    return this.transform<K2, V2>(
      'KSTREAM-MAP',
      'map',
      true,
      (k, v, emit) => {
        const [k2, v2] = mapper(k, v);
        emit(k2, v2);
      },
      {},
    );
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2): KStream<K, V2> {
    return this.transform<K, V2>('KSTREAM-MAPVALUES', 'mapValues', false, (k, v, emit) => emit(k, mapper(v, k)), {
      key: this.shape.keySerde,
    });
  }

  flatMap<K2, V2>(mapper: (key: K, value: V) => Iterable<readonly [K2, V2]>): KStream<K2, V2> {
    return this.transform<K2, V2>(
      'KSTREAM-FLATMAP',
      'flatMap',
      true,
      (k, v, emit) => {
        for (const [k2, v2] of mapper(k, v)) emit(k2, v2);
      },
      {},
    );
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>): KStream<K, V2> {
    return this.transform<K, V2>(
      'KSTREAM-FLATMAPVALUES',
      'flatMapValues',
      false,
      (k, v, emit) => {
        for (const v2 of mapper(v, k)) emit(k, v2);
      },
      { key: this.shape.keySerde },
    );
  }

  /** Re-keys the stream. Pass `key` to tell later `to()`/`repartition()` how to serialize the new key. */
  selectKey<K2>(selector: (key: K, value: V) => K2, options: { key?: Serde<K2> } = {}): KStream<K2, V> {
    return this.transform<K2, V>('KSTREAM-KEY-SELECT', 'selectKey', true, (k, v, emit) => emit(selector(k, v), v), {
      key: options.key,
      value: this.shape.valueSerde,
    });
  }

  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.transform<K, V>(
      'KSTREAM-PEEK',
      'peek',
      false,
      (k, v, emit) => {
        action(k, v);
        emit(k, v);
      },
      { key: this.shape.keySerde, value: this.shape.valueSerde },
    );
  }

  merge(other: KStream<K, V>): KStream<K, V> {
    if (other.state !== this.state) {
      this.state.issues.push(
        new TopologyBuildError('merge', 'the merged stream belongs to another StreamsBuilder; build each topology from one builder.'),
      );
    }
    const node = addNode(this.state, 'KSTREAM-MERGE', {
      kind: 'transform',
      op: 'merge',
      changesKey: false,
      parents: [this.shape.nodeId, other.shape.nodeId],
      apply: (k, v, emit) => emit(k, v),
    });
    const sameKeySerde = this.shape.keySerde === other.shape.keySerde ? this.shape.keySerde : undefined;
    const sameValueSerde = this.shape.valueSerde === other.shape.valueSerde ? this.shape.valueSerde : undefined;
    return new KStream<K, V>(this.state, {
      nodeId: node.id,
      keySerde: sameKeySerde,
      valueSerde: sameValueSerde,
      keyChanged: this.shape.keyChanged || other.shape.keyChanged,
    });
  }

  /**
   * Routes each record to the FIRST branch whose predicate matches; records matching none go to `default`.
   * `split({ big: (k, v) => v.total > 100, small: () => true })` → `{ big, small, default }`.
   */
  split<B extends string>(branches: Record<B, (key: K, value: V) => boolean>): Record<B | 'default', KStream<K, V>> {
    const entries = Object.entries(branches) as [B, (key: K, value: V) => boolean][];
    const predicates = entries.map(([, predicate]) => predicate);
    const result = {} as Record<B | 'default', KStream<K, V>>;
    const serdes = { key: this.shape.keySerde, value: this.shape.valueSerde };
    entries.forEach(([branch], index) => {
      result[branch] = this.transform<K, V>(
        'KSTREAM-BRANCH',
        `branch:${branch}`,
        false,
        (k, v, emit) => {
          for (let i = 0; i < index; i++) if (predicates[i](k, v)) return;
          if (predicates[index](k, v)) emit(k, v);
        },
        serdes,
      );
    });
    result.default = this.transform<K, V>(
      'KSTREAM-BRANCH',
      'branch:default',
      false,
      (k, v, emit) => {
        if (!predicates.some((predicate) => predicate(k, v))) emit(k, v);
      },
      serdes,
    );
    return result;
  }

  /** Writes the stream through `<applicationId>-<name>-repartition` so records are partitioned by their current key. */
  repartition(options: RepartitionOptions<K, V> = {}): KStream<K, V> {
    if (options.name === undefined) {
      // A name generated from the node graph would change whenever an operator is added upstream, silently leaving
      // the records still unread in the old topic behind: ask for a stable one.
      const generated = `${this.state.nodes[this.shape.nodeId].name}`;
      this.state.issues.push(
        new TopologyBuildError(
          'repartition()',
          `give the repartition topic a name that stays the same across deploys, e.g. .repartition({ name: 'orders-by-customer' }) ` +
            `(the topic is <applicationId>-<name>-repartition). Earlier versions named it after the upstream node ('${generated}'); ` +
            `pass name: '${generated}' to keep reading the topic an earlier deploy created.`,
        ),
      );
    }
    return this.insertRepartition(
      options.name ?? this.state.nodes[this.shape.nodeId].name,
      options.partitions,
      options.key ?? this.shape.keySerde,
      options.value ?? this.shape.valueSerde,
    );
  }

  private insertRepartition<K2>(
    baseName: string,
    partitions: number | undefined,
    keySerde: Serde<K2> | undefined,
    valueSerde: Serde<V> | undefined,
  ): KStream<K2, V> {
    const key = keySerde ? erase(keySerde) : this.state.defaultKeySerde;
    const value = valueSerde ? erase(valueSerde) : this.state.defaultValueSerde;
    const sourceId = addRepartition(this.state, this.shape.nodeId, baseName, partitions, key, value);
    return new KStream<K2, V>(this.state, {
      nodeId: sourceId,
      keySerde: key as Serde<K2>,
      valueSerde: value as Serde<V>,
      keyChanged: false,
    });
  }

  /**
   * Groups by the current key for an aggregation. When the key changed since the source (selectKey, map, ...), the
   * aggregation repartitions through `<applicationId>-<store or name>-repartition` first, like a join would.
   */
  groupByKey(options: GroupedOptions<K, V> = {}): KGroupedStream<K, V> {
    return KGroupedStream.create<K, V>(this.state, {
      stream: this.shape as StreamShape<unknown, unknown>,
      repartition: this.shape.keyChanged,
      options: options as GroupedOptions<unknown, unknown>,
    });
  }

  /** Groups by a new key (`selector`); the aggregation always repartitions by it first (Kafka Streams' groupBy). */
  groupBy<K2>(selector: (key: K, value: V) => K2, options: GroupedOptions<K2, V> = {}): KGroupedStream<K2, V> {
    const selected = this.selectKey(selector, { key: options.key });
    return KGroupedStream.create<K2, V>(this.state, {
      stream: selected.shape as StreamShape<unknown, unknown>,
      repartition: true,
      options: options as GroupedOptions<unknown, unknown>,
    });
  }

  to(topic: string, options: ToOptions<K, V> = {}): void {
    const keySerde = options.key ?? this.shape.keySerde;
    const valueSerde = options.value ?? this.shape.valueSerde;
    addNode(this.state, 'KSTREAM-SINK', {
      kind: 'sink',
      parents: [this.shape.nodeId],
      topic,
      keySerde: keySerde ? erase(keySerde) : this.state.defaultKeySerde,
      valueSerde: valueSerde ? erase(valueSerde) : this.state.defaultValueSerde,
      partitioner: options.partitioner as UntypedPartitioner | undefined,
    });
  }

  /**
   * Escape hatch: runs `fn` per record with a context that can forward any number of records and use the named
   * stores. `fn` may be async (to read stores); the engine then waits for it before the next record of the task.
   */
  process<K2, V2>(
    fn: (key: K, value: V, context: ProcessorContext<K2, V2>) => void | Promise<void>,
    options: ProcessOptions = {},
  ): KStream<K2, V2> {
    const node = addNode(this.state, 'KSTREAM-PROCESSOR', {
      kind: 'process',
      parents: [this.shape.nodeId],
      stores: [...(options.stores ?? [])],
      fn: fn as (key: unknown, value: unknown, context: ProcessorContext<unknown, unknown>) => void | Promise<void>,
    });
    return new KStream<K2, V2>(this.state, { nodeId: node.id, keyChanged: true });
  }

  /** Inner join with a co-partitioned table: emits `joiner(value, tableValue, key)` when the key is in the table. */
  join<TV, R>(table: KTable<NonNullable<K>, TV>, joiner: (value: V, tableValue: TV, key: K) => R, options?: JoinOptions): KStream<K, R>;
  /** Inner join with a global table: `keyMapper` picks the table key; null/undefined drops the record. */
  join<GK, GV, R>(
    table: GlobalKTable<GK, GV>,
    keyMapper: (key: K, value: V) => GK | null | undefined,
    joiner: (value: V, tableValue: GV, key: K) => R,
  ): KStream<K, R>;
  join(
    table: KTable<NonNullable<K>, unknown> | GlobalKTable<unknown, unknown>,
    second: ((key: K, value: V) => unknown) | ((value: V, tableValue: unknown, key: K) => unknown),
    third?: ((value: V, tableValue: unknown, key: K) => unknown) | JoinOptions,
  ): KStream<K, unknown> {
    return this.addJoin(false, table, second, third);
  }

  /** Left join with a co-partitioned table: every stream record emits; the table side is null when absent. */
  leftJoin<TV, R>(
    table: KTable<NonNullable<K>, TV>,
    joiner: (value: V, tableValue: TV | null, key: K) => R,
    options?: JoinOptions,
  ): KStream<K, R>;
  /** Left join with a global table; a null/undefined mapped key emits with a null table side. */
  leftJoin<GK, GV, R>(
    table: GlobalKTable<GK, GV>,
    keyMapper: (key: K, value: V) => GK | null | undefined,
    joiner: (value: V, tableValue: GV | null, key: K) => R,
  ): KStream<K, R>;
  leftJoin(
    table: KTable<NonNullable<K>, unknown> | GlobalKTable<unknown, unknown>,
    second: ((key: K, value: V) => unknown) | ((value: V, tableValue: unknown, key: K) => unknown),
    third?: ((value: V, tableValue: unknown, key: K) => unknown) | JoinOptions,
  ): KStream<K, unknown> {
    return this.addJoin(true, table, second, third);
  }

  private addJoin(
    leftJoin: boolean,
    table: KTable<NonNullable<K>, unknown> | GlobalKTable<unknown, unknown>,
    second: ((key: K, value: V) => unknown) | ((value: V, tableValue: unknown, key: K) => unknown),
    third: ((value: V, tableValue: unknown, key: K) => unknown) | JoinOptions | undefined,
  ): KStream<K, unknown> {
    const kind = leftJoin ? 'leftJoin' : 'join';
    if (table.state !== this.state) {
      this.state.issues.push(
        new TopologyBuildError(
          `${kind}(${table.topic ?? table.store ?? 'table'})`,
          'the table belongs to another StreamsBuilder; create the table and the stream with the same builder.',
        ),
      );
    }
    if (table instanceof GlobalKTable) {
      const node = addNode(this.state, leftJoin ? 'KSTREAM-LEFTJOIN-GLOBAL' : 'KSTREAM-JOIN-GLOBAL', {
        kind: 'stream-global-join',
        parents: [this.shape.nodeId],
        globalTableId: table.nodeId,
        store: table.store,
        tableKeySerde: erase(table.keySerde),
        leftJoin,
        keyMapper: second as (key: unknown, value: unknown) => unknown,
        joiner: third as ValueJoiner,
      });
      return new KStream<K, unknown>(this.state, { nodeId: node.id, keySerde: this.shape.keySerde, keyChanged: this.shape.keyChanged });
    }
    const options = (third ?? {}) as JoinOptions;
    // Co-partitioning: after a key change the stream goes through a repartition topic keyed like the table.
    // Named after the table's store by default: the name then survives operators added upstream of the join.
    const getter = table.shape.getter;
    const joinStore = getter?.store ?? table.store ?? '';
    const left: KStream<K, V> = this.shape.keyChanged
      ? this.insertRepartition(options.repartitionName ?? joinStore, undefined, table.keySerde as Serde<K>, this.shape.valueSerde)
      : this;
    const node = addNode(this.state, leftJoin ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN', {
      kind: 'stream-table-join',
      parents: [left.shape.nodeId],
      table: getter ?? { rootId: table.nodeId, store: joinStore, transforms: [] },
      store: joinStore,
      tableKeySerde: erase(table.keySerde),
      leftJoin,
      joiner: second as ValueJoiner,
    });
    if (getter === undefined) {
      addIssue(
        this.state,
        node.name,
        'a stream cannot be joined with a windowed table: it has no single value per key. Join with a table that is not windowed.',
      );
    }
    return new KStream<K, unknown>(this.state, {
      nodeId: node.id,
      keySerde: left.shape.keySerde ?? (table.keySerde as Serde<K>),
      keyChanged: false,
    });
  }
}

export class StreamsBuilder {
  private readonly state: BuildState;
  private built = false;

  constructor(options: StreamsBuilderOptions = {}) {
    this.state = {
      nodes: [],
      stateStores: [],
      issues: [],
      defaultKeySerde: options.defaultKeySerde ?? Serdes.json(),
      defaultValueSerde: options.defaultValueSerde ?? Serdes.json(),
    };
  }

  stream<K, V>(topic: string, options: SourceOptions<K, V>): KStream<K, V> {
    const node = addNode(this.state, 'KSTREAM-SOURCE', {
      kind: 'source',
      parents: [],
      topic,
      keySerde: erase(options.key),
      valueSerde: erase(options.value),
      errorPolicy: options.errorPolicy,
    });
    return KStream.create<K, V>(this.state, { nodeId: node.id, keySerde: options.key, valueSerde: options.value, keyChanged: false });
  }

  table<K, V>(topic: string, options: TableOptions<K, V>): KTable<K, V> {
    const format = this.tableFormat(topic, options, 'table');
    const keySerde = formattedKeySerde(topic, options);
    const node = addNode(this.state, 'KTABLE-SOURCE', {
      kind: 'table-source',
      parents: [],
      topic,
      store: options.store,
      keySerde: erase(keySerde),
      valueSerde: erase(options.value),
      errorPolicy: options.errorPolicy,
      ...(format === undefined ? {} : { format }),
    });
    return KTable.create<K, V>(this.state, {
      nodeId: node.id,
      keySerde,
      valueSerde: options.value,
      store: options.store,
      topic,
      getter: { rootId: node.id, store: options.store, transforms: [] },
    });
  }

  globalTable<K, V>(topic: string, options: TableOptions<K, V>): GlobalKTable<K, V> {
    const format = this.tableFormat(topic, options, 'globalTable');
    const table = GlobalKTable.create<K, V>(this.state, this.state.nodes.length, topic, options);
    addNode(this.state, 'GLOBALKTABLE-SOURCE', {
      kind: 'global-table',
      parents: [],
      topic,
      store: options.store,
      keySerde: erase(table.keySerde),
      valueSerde: erase(options.value),
      errorPolicy: options.errorPolicy,
      ...(format === undefined ? {} : { format }),
    });
    return table;
  }

  /** Checks and resolves a table's `format`/`keyField` options (problems are reported by `build()`). */
  private tableFormat<K, V>(topic: string, options: TableOptions<K, V>, method: string): ResolvedTableFormat | undefined {
    if (options.format === undefined) {
      if (options.keyField !== undefined) {
        this.state.issues.push(
          new TopologyBuildError(
            `${method}('${topic}')`,
            'keyField unwraps Kafka Connect key structs and needs a format (debezium, debezium-unwrapped or outbox).',
          ),
        );
      }
      return undefined;
    }
    const format = resolveTableFormat(options.format, options.keyField);
    if (format.truncate === 'clear' && method === 'table') {
      this.state.issues.push(
        new TopologyBuildError(
          `table('${topic}')`,
          "truncate: 'clear' needs a globalTable: Debezium's truncate events have no key, so they land on one partition of a partitioned table and cannot clear the others.",
        ),
      );
    }
    if (format.type === 'outbox' && options.keyField !== undefined) {
      this.state.issues.push(new TopologyBuildError(`${method}('${topic}')`, 'outbox keys are aggregate ids, not structs: drop keyField.'));
    }
    return format;
  }

  /** Declares a task-local store for `process` nodes (one per partition; not backed by a topic). */
  addStateStore<K>(name: string, options: { key: Serde<K> }): this {
    this.state.stateStores.push(Object.freeze({ name, keySerde: erase(options.key) }));
    return this;
  }

  /** Validates and compiles. The builder can build once; the result is frozen. Throws `TopologyBuildError`. */
  build(options: BuildOptions): Topology {
    const applicationId = applicationIdOption(options);
    if (this.built) throw new TopologyBuildError('StreamsBuilder', 'build() was already called; use a new StreamsBuilder per topology.');
    if (this.state.issues.length > 0) throw this.state.issues[0];
    const topology = compileTopology({
      applicationId,
      nodes: [...this.state.nodes],
      stateStores: [...this.state.stateStores],
    });
    this.built = true;
    return topology;
  }
}

const BUILD_EXAMPLE = "builder.build({ applicationId: 'my-app' })";
const APPLICATION_ID_ROLE =
  'the application id is the consumer group id and prefixes internal topic names such as <applicationId>-<name>-repartition';

/**
 * `build()`'s options, checked at run time too: JavaScript callers and `tsx` (which does not typecheck) reach here
 * with whatever they passed, and `build()` without options would otherwise fail on `undefined.applicationId`.
 */
function applicationIdOption(options: unknown): string {
  const fail = (detail: string): never => {
    throw new TopologyBuildError('build', detail);
  };
  if (typeof options !== 'object' || options === null) {
    return fail(`build() needs its options: call ${BUILD_EXAMPLE} (${APPLICATION_ID_ROLE}); got ${describeValue(options)}.`);
  }
  const unknown = Object.keys(options).filter((key) => key !== 'applicationId');
  if (unknown.length > 0) {
    return fail(
      `unknown build() option(s) ${unknown.map((key) => `'${key}'`).join(', ')}; the only option is applicationId (Kafka Streams' application.id), as in ${BUILD_EXAMPLE}.`,
    );
  }
  const { applicationId } = options as { readonly applicationId?: unknown };
  if (applicationId === undefined) return fail(`applicationId is missing: call ${BUILD_EXAMPLE} (${APPLICATION_ID_ROLE}).`);
  if (typeof applicationId !== 'string')
    return fail(`applicationId must be a string, as in ${BUILD_EXAMPLE}; got ${describeValue(applicationId)}.`);
  return applicationId;
}

/** The key serde a table handle and its node use: with a format, the Connect key serde over the user's key serde. */
function formattedKeySerde<K, V>(topic: string, options: TableOptions<K, V>): Serde<K> {
  if (options.format === undefined) return options.key;
  const type = typeof options.format === 'string' ? options.format : options.format.type;
  return new ConnectKeySerde<K>({
    topic,
    inner: options.key,
    keyField: options.keyField,
    expect: type === 'outbox' ? 'any' : 'struct',
  });
}
