/**
 * Runs a task's node graph: a consumed record enters at its topic's source nodes (`runInput`) and is pushed
 * synchronously from node to node (`forward`). One small function per node kind; `runNode`'s switch is exhaustive,
 * so a new node kind does not compile until it is handled here. Aggregations live in aggregations.ts, table nodes
 * (records carrying a `Change`) in table-flow.ts.
 *
 * What may not finish synchronously leaves the flow with a reserved output slot: a record that needs store values
 * not known in memory (a join's table row, an aggregate, a table's old row) parks in `ParkedReads` and comes back
 * through `resume`; an async processor stays pending in `ProcessorCalls`. The task decides when to resolve them.
 */
import { assertNever } from '../../common/assert-never.js';
import type { TaskId } from '../../common/task-id.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { Topology } from '../../topology/topology.js';
import type { GlobalTableSpec, Subtopology, TableSourceSpec } from '../../topology/specs.js';
import type {
  RepartitionSinkNode,
  RepartitionSourceNode,
  SinkNode,
  StreamGlobalJoinNode,
  StreamSourceNode,
  StreamTableJoinNode,
  TableSourceNode,
  TopologyNode,
  TransformNode,
} from '../../topology/nodes.js';
import { Aggregations } from './aggregations.js';
import type { ResolvedErrorPolicy } from './error-policy.js';
import { RecordFate, type InFlight, type Origin } from './in-flight.js';
import type { EngineMetrics } from './metrics.js';
import type { NodeHost } from './node-host.js';
import type { TaskOutputs } from './output-slots.js';
import type { ParkedReads, ParkedRecord, ResumeParked, StoreReader } from './parked-reads.js';
import { ProcessorCalls, ProcessorStores } from './processor-context.js';
import type { RecordErrorHandler } from './record-errors.js';
import { checkTableRecord, decodeKeyedTableRecord, deserializePart } from './table-decoder.js';
import { TableFlow } from './table-flow.js';
import type { TableUpdates } from './table-updates.js';
import { NOT_CACHED, type TaskStoreView } from './task-store.js';

type JoinNode = StreamTableJoinNode | StreamGlobalJoinNode;

type SourceNode = StreamSourceNode | TableSourceNode | RepartitionSourceNode;

/** A transform node's reusable output buffer and the emit function writing into it. */
interface Emitter {
  readonly buffer: unknown[];
  readonly emit: (key: unknown, value: unknown) => void;
}

export interface NodeInterpreterOptions {
  readonly taskId: TaskId;
  readonly topology: Topology;
  readonly subtopology: Subtopology;
  /** The task's stores by name. */
  readonly views: ReadonlyMap<string, TaskStoreView>;
  readonly reads: ParkedReads;
  readonly updates: TableUpdates;
  readonly outputs: TaskOutputs;
  readonly errors: RecordErrorHandler;
  readonly metrics: EngineMetrics;
  /** Partition count of a sink topic, for custom partitioners. */
  readonly partitionCount: ((topic: string) => number) | undefined;
}

export class NodeInterpreter implements NodeHost {
  /** `process()` calls started by the flow; the task settles the async ones. */
  readonly processors: ProcessorCalls;
  /** Continues a parked record once its reads are resolved (handed to `ParkedReads.resolveRound`). */
  readonly resume: ResumeParked = (parked, reader) => this.resumeParked(parked, reader);
  readonly aggregations: Aggregations;

  readonly taskId: TaskId;
  readonly topology: Topology;
  readonly views: ReadonlyMap<string, TaskStoreView>;
  readonly reads: ParkedReads;
  readonly updates: TableUpdates;
  readonly errors: RecordErrorHandler;
  readonly metrics: EngineMetrics;

  private readonly tables: TableFlow;
  private readonly nodes: readonly TopologyNode[];
  private readonly children: readonly (readonly number[])[];
  private readonly outputs: TaskOutputs;
  private readonly partitionCount: ((topic: string) => number) | undefined;
  /** Source nodes of this sub-topology per topic, each with its resolved error policy. */
  private readonly sourcesByTopic = new Map<string, { node: SourceNode; policy: ResolvedErrorPolicy }[]>();
  /** Repartition topics this sub-topology reads (their records carry the user record's origin). */
  private readonly repartitionInputs = new Set<string>();
  /**
   * Per topic, the global tables on it whose bad records this task dead-letters: the task owning a partition owns
   * the dead letters of every reader of that partition (global updaters defer to it). Global tables whose decoding
   * a table source here already covers (same serdes, same policy) are left out.
   */
  private readonly globalChecks = new Map<string, { spec: GlobalTableSpec; policy: ResolvedErrorPolicy }[]>();
  /** Table-source node id → its definition (serdes, store, policy). */
  private readonly tableSpecs = new Map<number, TableSourceSpec>();
  /** Node id → topic a sink or repartition sink writes (resolved once, not per record). */
  private readonly sinkTopics: string[] = [];
  /** Per node id; used by transform nodes. */
  private readonly emitters: readonly Emitter[];
  /** Stores of table sources that forward their changes (they read old rows, so their writes may park). */
  private readonly changeSources = new Set<string>();

  constructor(options: NodeInterpreterOptions) {
    const { topology, subtopology } = options;
    this.taskId = options.taskId;
    this.topology = topology;
    this.nodes = topology.nodes;
    this.children = topology.children;
    this.views = options.views;
    this.reads = options.reads;
    this.updates = options.updates;
    this.outputs = options.outputs;
    this.errors = options.errors;
    this.metrics = options.metrics;
    this.partitionCount = options.partitionCount;
    this.processors = new ProcessorCalls(
      { taskId: options.taskId, outputs: this.outputs, errors: this.errors, forward: (fromId, record) => this.forward(fromId, record) },
      new ProcessorStores(options.taskId, this.views, topology.stores),
    );
    for (const t of subtopology.tableSources) this.tableSpecs.set(t.nodeId, t);
    for (const id of subtopology.nodeIds) {
      const node = this.nodes[id];
      if (node.kind === 'source' || node.kind === 'table-source' || node.kind === 'repartition-source') {
        const topic = topology.topicOf(node) as string;
        const policy = this.errors.policyFor('errorPolicy' in node ? node.errorPolicy : undefined);
        this.sourcesByTopic.set(topic, [...(this.sourcesByTopic.get(topic) ?? []), { node, policy }]);
        if (node.kind === 'repartition-source') this.repartitionInputs.add(topic);
      }
      if (node.kind === 'sink' || node.kind === 'repartition-sink') this.sinkTopics[node.id] = topology.topicOf(node) as string;
    }
    for (const spec of topology.globalTables) {
      if (!this.sourcesByTopic.has(spec.topic)) continue;
      const policy = this.errors.policyFor(spec.errorPolicy);
      if (policy.deserialization !== 'dead-letter') continue;
      const covered = subtopology.tableSources.some(
        (t) =>
          t.topic === spec.topic &&
          t.keySerde === spec.keySerde &&
          t.valueSerde === spec.valueSerde &&
          this.errors.policyFor(t.errorPolicy).deserialization === 'dead-letter',
      );
      if (!covered) this.globalChecks.set(spec.topic, [...(this.globalChecks.get(spec.topic) ?? []), { spec, policy }]);
    }
    this.emitters = this.nodes.map(() => {
      const buffer: unknown[] = [];
      return { buffer, emit: (key: unknown, value: unknown) => void buffer.push(key, value) };
    });
    this.aggregations = new Aggregations(this);
    this.tables = new TableFlow(this);
    for (const id of subtopology.nodeIds) {
      const node = this.nodes[id];
      if (node.kind === 'table-source' && this.tables.forwardsChanges(node)) this.changeSources.add(node.store);
    }
  }

  /**
   * Whether the task must resolve its parked records before taking a record of `tableStore`'s source: a table write
   * that does not park must not change what a parked record will read. Table sources that forward changes park
   * behind such records instead.
   */
  mustResolveBeforeTableRecord(tableStore: string | undefined, key: Buffer | null): boolean {
    if (tableStore === undefined || this.changeSources.has(tableStore)) return false;
    return this.reads.mustResolveBeforeWrite(tableStore, key);
  }

  /** Runs a consumed record of `topic` through every source node reading that topic. */
  runInput(topic: string, consumed: ConsumedRecord): void {
    this.metrics.recordProcessed(topic);
    const fate = new RecordFate(consumed, this.repartitionInputs.has(topic));
    const record = fate.record;
    for (const { node, policy } of this.sourcesByTopic.get(topic) ?? []) {
      const origin: Origin = { record, policy, fate };
      switch (node.kind) {
        case 'table-source':
          if (this.changeSources.has(node.store)) this.tables.startSource(node, this.tableSpecs.get(node.id) as TableSourceSpec, origin);
          else this.applyTableRecord(node.store, node.id, origin);
          break;
        case 'source':
        case 'repartition-source':
          this.runSource(node, origin);
          break;
        default:
          assertNever(node, 'source node kind');
      }
    }
    const checks = this.globalChecks.get(topic);
    if (checks !== undefined && !fate.deadLettered) this.checkGlobalTables(checks, record, fate);
  }

  /** Decodes the record as each global table on its topic would, and dead-letters it if one of them cannot. */
  private checkGlobalTables(
    checks: readonly { spec: GlobalTableSpec; policy: ResolvedErrorPolicy }[],
    record: ConsumedRecord,
    fate: RecordFate,
  ): void {
    for (const { spec, policy } of checks) {
      try {
        checkTableRecord(spec, record);
      } catch (error) {
        this.errors.deserializationFailed({ record, policy, fate }, error);
        return;
      }
    }
  }

  /** Sends `record` to every child of node `fromId`. */
  forward(fromId: number, record: InFlight): void {
    for (const child of this.children[fromId]) this.runNode(this.nodes[child], record, fromId);
  }

  /** Emits the updates derived tables hold back until commit (`on-commit`), into the current output slot. */
  flushCachedUpdates(): void {
    this.updates.flush();
  }

  private runNode(node: TopologyNode, record: InFlight, fromId: number): void {
    switch (node.kind) {
      case 'transform':
        this.runTransform(node, record);
        return;
      case 'sink':
      case 'repartition-sink':
        this.runSink(node, record);
        return;
      case 'stream-table-join':
        this.startTableJoin(node, record, fromId);
        return;
      case 'stream-global-join':
        this.startGlobalJoin(node, record, fromId);
        return;
      case 'process':
        this.processors.run(node, record);
        return;
      case 'stream-aggregate':
      case 'window-aggregate':
      case 'table-aggregate':
        this.aggregations.start(node, record, fromId);
        return;
      case 'table-transform':
        this.tables.transform(node, record);
        return;
      case 'table-to-stream':
        this.tables.toStream(node, record);
        return;
      case 'table-group-by':
        this.tables.groupBy(node, record);
        return;
      case 'table-join':
        this.tables.startJoin(node, record, fromId);
        return;
      case 'source':
      case 'table-source':
      case 'repartition-source':
      case 'global-table':
        // Sources have no parents, so they are never a child: records enter them through runInput.
        return;
      default:
        assertNever(node, 'node kind');
    }
  }

  private runSource(node: StreamSourceNode | RepartitionSourceNode, origin: Origin): void {
    const { record } = origin;
    let key: unknown;
    let value: unknown;
    try {
      key = deserializePart(node.keySerde, record, 'key');
      value = deserializePart(node.valueSerde, record, 'value');
    } catch (error) {
      this.errors.deserializationFailed(origin, error);
      return;
    }
    this.forward(node.id, { key, value, timestamp: record.timestamp, headers: record.headers, origin });
  }

  private applyTableRecord(store: string, nodeId: number, origin: Origin): void {
    const spec = this.tableSpecs.get(nodeId);
    const view = this.views.get(store);
    if (!spec || !view) return;
    try {
      const write = decodeKeyedTableRecord(spec, origin.record);
      if (write === null) return;
      view.write(Buffer.from(write.key).toString('hex'), write);
      if (write.type === 'put') this.metrics.tablePuts++;
      else this.metrics.tableDeletes++;
    } catch (error) {
      this.errors.deserializationFailed(origin, error);
    }
  }

  private runTransform(node: TransformNode, record: InFlight): void {
    // Collect first, forward after: a function that throws midway forwards nothing (one policy decision per
    // record and node). The buffer is per node and reused: a node is never re-entered while it forwards (DAG).
    const emitter = this.emitters[node.id];
    const emitted = emitter.buffer;
    try {
      node.apply(record.key, record.value, emitter.emit);
    } catch (error) {
      emitted.length = 0;
      this.errors.processingFailed(node, record, error);
      return;
    }
    if (emitted.length === 2) {
      const key = emitted[0];
      const value = emitted[1];
      emitted.length = 0;
      this.forward(node.id, key === record.key && value === record.value ? record : { ...record, key, value });
      return;
    }
    const pairs = emitted.splice(0);
    for (let i = 0; i < pairs.length; i += 2) this.forward(node.id, { ...record, key: pairs[i], value: pairs[i + 1] });
  }

  private runSink(node: SinkNode | RepartitionSinkNode, record: InFlight): void {
    const topic = this.sinkTopics[node.id];
    let key: Buffer | null;
    let value: Buffer | null;
    let partition: number | undefined;
    try {
      key = record.key === null || record.key === undefined ? null : node.keySerde.serialize(record.key);
      value = record.value === null || record.value === undefined ? null : node.valueSerde.serialize(record.value);
      if (node.kind === 'sink' && node.partitioner) {
        if (!this.partitionCount)
          throw new Error(`a custom partitioner needs the partition count of '${topic}'; pass partitionCount to the task.`);
        partition = node.partitioner(record.key, record.value, this.partitionCount(topic));
      }
    } catch (error) {
      this.errors.processingFailed(node, record, error);
      return;
    }
    // A repartition record carries its user record's origin (and dead-letter mark) in a trailer of its value.
    if (node.kind === 'repartition-sink') value = record.origin.fate.repartitionValue(value);
    this.outputs.push({ topic, partition, timestamp: record.timestamp, key, value, headers: record.headers });
  }

  private startTableJoin(node: StreamTableJoinNode, record: InFlight, fromId: number): void {
    if (record.key === null || record.key === undefined) {
      this.nullJoinKey(node, record);
      return;
    }
    let keyBytes: Buffer;
    try {
      keyBytes = node.tableKeySerde.serialize(record.key);
    } catch (error) {
      this.errors.processingFailed(node, record, error);
      return;
    }
    const hex = keyBytes.toString('hex');
    const known = (this.views.get(node.store) as TaskStoreView).peek(hex);
    if (known === NOT_CACHED || this.reads.mustWait(node, hex))
      this.reads.park(node, fromId, record, [{ store: node.store, keyBytes, hex }], hex);
    else this.finishTableJoin(node, record, hex, this.reads.syncReader);
  }

  /** Joins with the table's current value: its root's stored row through the table's filters and mappers. */
  private finishTableJoin(node: StreamTableJoinNode, record: InFlight, hex: string, reader: StoreReader): void {
    if (node.table.transforms.length === 0) {
      this.finishJoin(node, record, reader.read(node.store, hex));
      return;
    }
    let tableValue: unknown;
    try {
      tableValue = this.tables.valueOf(node.table, reader, hex, record.key);
    } catch (error) {
      this.errors.processingFailed(node, record, error);
      return;
    }
    this.finishJoin(node, record, tableValue ?? undefined);
  }

  private startGlobalJoin(node: StreamGlobalJoinNode, record: InFlight, fromId: number): void {
    let tableKey: unknown;
    let keyBytes: Buffer;
    try {
      tableKey = node.keyMapper(record.key, record.value);
      if (tableKey === null || tableKey === undefined) {
        this.nullJoinKey(node, record);
        return;
      }
      keyBytes = node.tableKeySerde.serialize(tableKey);
    } catch (error) {
      this.errors.processingFailed(node, record, error);
      return;
    }
    // Global stores change under the task (the global updater writes them), so they are never cached.
    this.reads.park(node, fromId, record, [{ store: node.store, keyBytes, hex: keyBytes.toString('hex') }], '');
  }

  private resumeParked(parked: ParkedRecord, reader: StoreReader): void {
    const { node, record } = parked;
    switch (node.kind) {
      case 'stream-table-join':
        this.finishTableJoin(node, record, parked.reads[0].hex, reader);
        return;
      case 'stream-global-join':
        this.finishJoin(node, record, reader.read(node.store, parked.reads[0].hex));
        return;
      case 'table-source':
        this.tables.finishSource(node, record, parked.reads[0].hex, reader);
        return;
      case 'stream-aggregate':
      case 'window-aggregate':
      case 'table-aggregate':
        this.aggregations.resume(node, parked, reader);
        return;
      case 'table-join':
        this.tables.resumeJoin(node, parked, reader);
        return;
      default:
        assertNever(node, 'parked node kind');
    }
  }

  private nullJoinKey(node: JoinNode, record: InFlight): void {
    if (node.leftJoin) this.finishJoin(node, record, undefined);
    else this.metrics.nullKeyDrops++;
  }

  private finishJoin(node: JoinNode, record: InFlight, tableValue: unknown): void {
    const matched = tableValue !== undefined;
    if (matched) this.metrics.joinHits++;
    else this.metrics.joinMisses++;
    if (!matched && !node.leftJoin) return;
    let joined: unknown;
    try {
      joined = node.joiner(record.value, matched ? tableValue : null, record.key);
    } catch (error) {
      this.errors.processingFailed(node, record, error);
      return;
    }
    this.forward(node.id, { ...record, value: joined });
  }
}
