/**
 * Node factories for the tables a topology derives, used by the DSL handles in builder.ts: aggregations of grouped
 * streams (windowed or not) and grouped tables, table filter/mapValues/toStream, and table–table joins. Each
 * factory appends the nodes (with the repartition topic a re-keying needs), records any problem for `build()` to
 * report with the node's name and the fix, and returns the shape of the resulting table or stream.
 */
import { describeValue } from '../common/describe-value.js';
import { addIssue, addNode, addRepartition, erase, type BuildState, type StreamShape, type TableShape } from './build-state.js';
import { changeSerde } from './change.js';
import type { EmitMode, TableJoinType, TableValueGetter, UntypedAdder } from './nodes.js';
import { sameSerde, Serdes, type Serde } from './serdes.js';
import { defaultSegmentIntervalMs, type WindowSpec } from './windows.js';

/** Where a derived table lives: its queryable store (with a changelog topic) and how it serializes. */
export interface MaterializedOptions<K, V> {
  /** Store name, unique in the topology and queryable over HTTP; its changelog topic is `<applicationId>-<store>-changelog`. */
  readonly store: string;
  /** Key serde of the store (and of the repartition topic a re-keying inserts). Default: the grouped key serde. */
  readonly key?: Serde<K>;
  /** Value serde of the store's changelog and of queries. Default: the builder's default value serde (JSON). */
  readonly value?: Serde<V>;
  /** `every-update` (default) forwards each change; `on-commit` at most one change per key per commit. */
  readonly emit?: EmitMode;
}

export interface WindowedMaterializedOptions<K, V> extends MaterializedOptions<K, V> {
  /** How long a window stays in the store after its start (stream time). Default and minimum: size + grace. */
  readonly retentionMs?: number;
}

/** `groupBy`/`groupByKey` options: serdes of the grouped records (and of the repartition topic, if any). */
export interface GroupedOptions<K, V> {
  readonly key?: Serde<K>;
  readonly value?: Serde<V>;
  /** Base name of the repartition topic `<applicationId>-<name>-repartition`. Default: the aggregation's store name. */
  readonly name?: string;
}

/** A grouped stream before its aggregation: where its records come from and whether they must be repartitioned. */
export interface GroupedStream {
  readonly stream: StreamShape<unknown, unknown>;
  readonly repartition: boolean;
  readonly options: GroupedOptions<unknown, unknown>;
}

/** A grouped table before its aggregation: the table and the re-keying selector. */
export interface GroupedTable {
  readonly table: TableShape<unknown, unknown>;
  readonly selector: (key: unknown, value: unknown) => readonly [unknown, unknown];
  readonly options: GroupedOptions<unknown, unknown>;
}

export type AggregateOp = 'count' | 'reduce' | 'aggregate';

/**
 * The repartition topic of a grouped stream, once its first aggregation created it: later aggregations of the same
 * grouped stream read the same topic instead of writing every record twice.
 */
const repartitioned = new WeakMap<GroupedStream, { readonly sourceId: number; readonly keySerde: Serde<unknown> }>();

const EMIT_MODES: readonly EmitMode[] = ['every-update', 'on-commit'];
const VALID_NAME = /^[a-zA-Z0-9._-]+$/;

/**
 * The options as given (JavaScript callers and `tsx` reach here with whatever they passed): the store name, the emit
 * mode; problems become issues naming `where`.
 */
function materialized(state: BuildState, where: string, options: unknown): { store: string; emit: EmitMode } {
  const example = `{ store: 'orders-per-customer' }`;
  if (typeof options !== 'object' || options === null) {
    addIssue(state, where, `needs its options with a store name, as in ${example}; got ${describeValue(options)}.`);
    return { store: `${where}-store`, emit: 'every-update' };
  }
  const { store, emit } = options as { store?: unknown; emit?: unknown };
  let name = `${where}-store`;
  if (typeof store !== 'string' || !VALID_NAME.test(store)) {
    addIssue(
      state,
      where,
      `the store name must be a non-empty string of letters, digits, '.', '_' and '-' (it names the changelog topic), as in ${example}; got ${describeValue(store)}.`,
    );
  } else name = store;
  if (emit !== undefined && !EMIT_MODES.includes(emit as EmitMode)) {
    addIssue(state, where, `emit must be one of ${EMIT_MODES.map((m) => `'${m}'`).join(', ')}; got ${describeValue(emit)}.`);
    return { store: name, emit: 'every-update' };
  }
  return { store: name, emit: (emit as EmitMode | undefined) ?? 'every-update' };
}

/** The store key serde: the option, else the grouped records' key serde; both given and different is a problem. */
function storeKeySerde(
  state: BuildState,
  where: string,
  option: Serde<unknown> | undefined,
  grouped: Serde<unknown> | undefined,
): Serde<unknown> {
  if (option !== undefined && grouped !== undefined && !sameSerde(option, grouped)) {
    addIssue(
      state,
      where,
      `the store key serde '${option.name}' differs from the grouped key serde '${grouped.name}', so queries would look for keys on the wrong partition. Pass the same serde to groupBy/groupByKey({ key }) and to the aggregation, or only one of them.`,
    );
  }
  return option ?? grouped ?? state.defaultKeySerde;
}

function defaultValueSerde(state: BuildState, op: AggregateOp, reduced: Serde<unknown> | undefined): Serde<unknown> {
  if (op === 'count') return Serdes.json<number>() as Serde<unknown>;
  if (op === 'reduce' && reduced !== undefined) return reduced;
  return state.defaultValueSerde;
}

export interface StreamAggregation {
  readonly op: AggregateOp;
  readonly add: UntypedAdder;
  readonly options: MaterializedOptions<unknown, unknown> | WindowedMaterializedOptions<unknown, unknown>;
  /** Set for a windowed aggregation. */
  readonly windows?: WindowSpec;
}

/** `groupByKey()/groupBy()[.windowedBy()]` then count/reduce/aggregate. */
export function addStreamAggregation(
  state: BuildState,
  grouped: GroupedStream,
  aggregation: StreamAggregation,
): TableShape<unknown, unknown> {
  const { op, windows } = aggregation;
  const where = `${op}()`;
  const { store, emit } = materialized(state, where, aggregation.options);
  const options = aggregation.options ?? {};
  const { stream } = grouped;
  const groupedKey = grouped.options.key ?? (grouped.repartition ? undefined : stream.keySerde);
  const keySerde = storeKeySerde(state, where, options.key, groupedKey);
  const groupedValue = grouped.options.value ?? stream.valueSerde;
  let parent = stream.nodeId;
  if (grouped.repartition) {
    const existing = repartitioned.get(grouped);
    if (existing === undefined) {
      const baseName = grouped.options.name ?? store;
      parent = addRepartition(state, stream.nodeId, baseName, undefined, keySerde, groupedValue ?? state.defaultValueSerde);
      repartitioned.set(grouped, { sourceId: parent, keySerde });
    } else {
      parent = existing.sourceId;
      if (!sameSerde(existing.keySerde, keySerde)) {
        addIssue(
          state,
          where,
          `the store key serde '${keySerde.name}' differs from the key serde '${existing.keySerde.name}' of the repartition topic this grouped stream already writes for another aggregation. Pass the key serde once, to groupBy({ key }).`,
        );
      }
    }
  } else if (stream.keySerde !== undefined && options.key !== undefined && !sameSerde(stream.keySerde, options.key)) {
    addIssue(
      state,
      where,
      `the store key serde '${options.key.name}' differs from the stream's key serde '${stream.keySerde.name}', so the stream's partitions do not match the store's. Use groupBy() (which repartitions) or pass the stream's key serde.`,
    );
  }
  const valueSerde = options.value ?? defaultValueSerde(state, op, groupedValue);
  const common = { op, parents: [parent], store, keySerde, valueSerde, emit, add: aggregation.add };
  if (windows === undefined) {
    const node = addNode(state, op === 'reduce' ? 'KSTREAM-REDUCE' : 'KSTREAM-AGGREGATE', { kind: 'stream-aggregate', ...common });
    return { nodeId: node.id, keySerde, valueSerde, store, getter: { rootId: node.id, store, transforms: [] } };
  }
  const minimum = windows.sizeMs + windows.graceMs;
  const retention = (options as WindowedMaterializedOptions<unknown, unknown>).retentionMs ?? minimum;
  const node = addNode(state, op === 'reduce' ? 'KSTREAM-REDUCE' : 'KSTREAM-AGGREGATE', {
    kind: 'window-aggregate',
    ...common,
    windows: { sizeMs: windows.sizeMs, advanceMs: windows.advanceMs, graceMs: windows.graceMs },
    retentionMs: retention,
    segmentIntervalMs: defaultSegmentIntervalMs(retention),
  });
  if (!Number.isSafeInteger(retention) || retention < minimum) {
    addIssue(
      state,
      node.name,
      `retentionMs must be an integer of at least the window size plus grace (${minimum} ms), or windows still accepting records would be deleted; got ${describeValue(retention)}.`,
    );
  }
  // No getter: a windowed table has no single value per key to join against.
  return { nodeId: node.id, keySerde: erase(Serdes.windowed(keySerde, windows.sizeMs)), valueSerde, store };
}

export interface TableAggregation {
  readonly op: AggregateOp;
  readonly add: UntypedAdder;
  readonly subtract: UntypedAdder;
  readonly options: MaterializedOptions<unknown, unknown>;
}

/** `table.groupBy(selector)` then count/reduce/aggregate: re-key every change, repartition, subtract old and add new. */
export function addTableAggregation(state: BuildState, grouped: GroupedTable, aggregation: TableAggregation): TableShape<unknown, unknown> {
  const { op } = aggregation;
  const where = `${op}()`;
  const { store, emit } = materialized(state, where, aggregation.options);
  const options = aggregation.options ?? {};
  const keySerde = storeKeySerde(state, where, options.key, grouped.options.key);
  const groupedValue = grouped.options.value ?? grouped.table.valueSerde;
  const select = addNode(state, 'KTABLE-SELECT', { kind: 'table-group-by', parents: [grouped.table.nodeId], selector: grouped.selector });
  const source = addRepartition(
    state,
    select.id,
    grouped.options.name ?? store,
    undefined,
    keySerde,
    erase(changeSerde(groupedValue ?? state.defaultValueSerde)),
  );
  const valueSerde = options.value ?? defaultValueSerde(state, op, groupedValue);
  const node = addNode(state, op === 'reduce' ? 'KTABLE-REDUCE' : 'KTABLE-AGGREGATE', {
    kind: 'table-aggregate',
    op,
    parents: [source],
    store,
    keySerde,
    valueSerde,
    emit,
    add: aggregation.add,
    subtract: aggregation.subtract,
  });
  return { nodeId: node.id, keySerde, valueSerde, store, getter: { rootId: node.id, store, transforms: [] } };
}

/** `table.filter/filterNot/mapValues`: not materialized; joins read through the same transforms. */
export function addTableTransform(
  state: BuildState,
  table: TableShape<unknown, unknown>,
  op: 'filter' | 'filterNot' | 'mapValues',
  apply: (key: unknown, value: unknown) => unknown,
  valueSerde: Serde<unknown> | undefined,
): TableShape<unknown, unknown> {
  const node = addNode(state, op === 'mapValues' ? 'KTABLE-MAPVALUES' : 'KTABLE-FILTER', {
    kind: 'table-transform',
    op,
    parents: [table.nodeId],
    apply,
  });
  const getter: TableValueGetter | undefined =
    table.getter === undefined ? undefined : { ...table.getter, transforms: [...table.getter.transforms, node.id] };
  return { nodeId: node.id, keySerde: table.keySerde, valueSerde, getter };
}

/** `table.toStream()`: the table's changes as a stream of new values (null for deletions). */
export function addTableToStream(state: BuildState, table: TableShape<unknown, unknown>): StreamShape<unknown, unknown> {
  const node = addNode(state, 'KTABLE-TOSTREAM', { kind: 'table-to-stream', parents: [table.nodeId] });
  return { nodeId: node.id, keySerde: table.keySerde, valueSerde: table.valueSerde, keyChanged: false };
}

const JOIN_PREFIX: Readonly<Record<TableJoinType, string>> = {
  inner: 'KTABLE-JOIN',
  left: 'KTABLE-LEFTJOIN',
  outer: 'KTABLE-OUTERJOIN',
};

/** Table–table join, materialized in its own store. */
export function addTableJoin(
  state: BuildState,
  left: TableShape<unknown, unknown>,
  right: TableShape<unknown, unknown>,
  joinType: TableJoinType,
  joiner: (left: unknown, right: unknown, key: unknown) => unknown,
  options: MaterializedOptions<unknown, unknown>,
): TableShape<unknown, unknown> {
  const where = `${joinType === 'inner' ? 'join' : `${joinType}Join`}()`;
  const { store, emit } = materialized(state, where, options);
  const keySerde = (options ?? {}).key ?? left.keySerde;
  const valueSerde = (options ?? {}).value ?? state.defaultValueSerde;
  const placeholder: TableValueGetter = { rootId: -1, store: '', transforms: [] };
  const node = addNode(state, JOIN_PREFIX[joinType], {
    kind: 'table-join',
    op: where.slice(0, -2),
    joinType,
    parents: [left.nodeId, right.nodeId],
    store,
    keySerde,
    valueSerde,
    emit,
    joiner,
    left: { ...(left.getter ?? placeholder), nodeId: left.nodeId },
    right: { ...(right.getter ?? placeholder), nodeId: right.nodeId },
  });
  if (left.getter === undefined || right.getter === undefined) {
    addIssue(
      state,
      node.name,
      'a windowed table cannot be joined: it has no single value per key. Join the tables before windowing, or turn the windowed table into a stream with toStream().',
    );
  }
  if (left.nodeId === right.nodeId) {
    addIssue(state, node.name, 'joins a table with itself; join it with a mapValues() of itself, or use mapValues() alone.');
  }
  const storeKey = (options ?? {}).key;
  if (storeKey !== undefined && !sameSerde(storeKey, left.keySerde)) {
    addIssue(
      state,
      node.name,
      `the join store's key serde '${storeKey.name}' differs from the tables' key serde '${left.keySerde.name}'; a table join keeps the tables' keys, so leave the key option out.`,
    );
  }
  if (!sameSerde(left.keySerde, right.keySerde)) {
    addIssue(
      state,
      node.name,
      `the left table's key serde '${left.keySerde.name}' differs from the right table's '${right.keySerde.name}', so equal keys can land on different partitions and the join can never be co-partitioned. Give both tables the same key serde (the table source's key option, or the key option of the aggregation or groupBy that made it).`,
    );
  }
  return { nodeId: node.id, keySerde, valueSerde, store, getter: { rootId: node.id, store, transforms: [] } };
}
