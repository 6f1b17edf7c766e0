/**
 * StreamTask: runs one sub-topology for one partition. The SAME class runs under the Kafka runtime and under
 * `TopologyTestDriver`; only where records come from and where outputs go differs. See index.ts for the protocol.
 *
 * Execution model (no per-record await):
 * - Records are taken in timestamp order across the task's input partitions and pushed synchronously through
 *   the node graph.
 * - A record that reaches a join whose key is not in the overlay/cache is PARKED with a reserved output slot.
 *   Parked lookups are resolved together with one `getMany` per store when the chunk ends, or earlier when a
 *   table update would change what a parked record must see. Resumed records write into their reserved slots,
 *   so outputs keep input order.
 * - `process` nodes that return a promise act as a barrier: the task waits for them before the next record.
 */
import { taskId, type TaskId } from '../../common/task-id.js';
import { MissingStoreError, TaskStateError } from '../../errors.js';
import type { TableSourceSpec, Topology } from '../../topology/compile.js';
import type { RepartitionSinkNode, SinkNode, StreamGlobalJoinNode, StreamTableJoinNode, TopologyNode } from '../../topology/nodes.js';
import type { Logger } from '../../common/logger.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import type { ErrorPolicy, ResolvedErrorPolicy } from './error-policy.js';
import type { InFlight, Origin } from './in-flight.js';
import { TaskOutputs } from './output-slots.js';
import { RecordErrorHandler, TaskFailure } from './record-errors.js';
import { errorMessageOf } from '../../common/dead-letters.js';
import { EngineMetrics } from './metrics.js';
import { decodeTableRecord, deserializePart } from './table-decoder.js';
import { NOT_CACHED, TaskStoreView } from './task-store.js';
import { InputQueues, type InputQueue } from './input-queues.js';
import { JoinLookups, type ResumeJoin } from './join-lookups.js';
import { ProcessorCalls, ProcessorStores } from './processor-context.js';

export interface StreamTaskOptions {
  readonly topology: Topology;
  readonly subtopologyId: number;
  readonly partition: number;
  /** One opened store per name in `topology.subtopologies[subtopologyId].stores`, for this partition. */
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  /** Global stores by name (every global store a join of this sub-topology reads). */
  readonly globalStores?: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  readonly errorPolicy?: ErrorPolicy;
  /** Shared counters; one per instance is typical. */
  readonly metrics?: EngineMetrics;
  readonly logger?: Logger;
  /**
   * Kafka Streams' max.task.idle.ms: while some input partition has no buffered records, wait up to this long
   * (measured with the `nowMs` passed to process/readyToProcess) before processing the others. Default 0.
   */
  readonly maxTaskIdleMs?: number;
  /**
   * Longest a task waits for an input partition that is known to have unfetched records (see `noteFetchPosition`)
   * before processing the others anyway: a bound for logs whose end the consumer never reaches by records (e.g. a
   * trailing transaction marker). Default 1000.
   */
  readonly maxFetchWaitMs?: number;
  /** Partition count of a sink topic; required only when a sink has a custom partitioner. */
  readonly partitionCount?: (topic: string) => number;
  /** Decoded lookups cached per task store (LRU). Default 10 000. */
  readonly cacheSize?: number;
}

export interface ProcessOptions {
  /** Upper bound on input records taken in this call. Default: everything buffered and ready. */
  readonly maxRecords?: number;
  /** Clock for the idle rule. Default `Date.now()`. */
  readonly nowMs?: number;
}

export interface ProcessResult {
  /** Input records taken. */
  readonly processed: number;
  /** Everything to send, in order: sink, repartition and dead-letter records. */
  readonly outputs: readonly ProducedRecord[];
}

/** Makes a switch over a union exhaustive: a new member that is not handled is a compile error here. */
function assertNever(value: never): never {
  const unhandled: unknown = value;
  const kind = typeof unhandled === 'object' && unhandled !== null && 'kind' in unhandled ? unhandled.kind : unhandled;
  throw new Error(`unreachable: unhandled case '${String(kind)}'`);
}

export class StreamTask {
  /** `<subtopologyId>_<partition>`, as Kafka Streams names tasks. */
  readonly id: TaskId;
  readonly subtopologyId: number;
  readonly partition: number;
  /** Every topic-partition this task reads. */
  readonly inputPartitions: readonly TopicPartitionId[];

  private readonly topology: Topology;
  private readonly nodes: readonly TopologyNode[];
  private readonly metrics: EngineMetrics;
  private readonly logger: Logger | undefined;
  private readonly partitionCount: ((topic: string) => number) | undefined;
  private readonly views = new Map<string, TaskStoreView>();
  private readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  private readonly inputs: InputQueues;
  private readonly lookups: JoinLookups;
  private readonly resumeJoin: ResumeJoin = (node, record, tableValue) => this.finishJoin(node, record, tableValue);
  /** Source nodes of this sub-topology per topic, each with its resolved error policy. */
  private readonly sourcesByTopic = new Map<string, { node: TopologyNode; policy: ResolvedErrorPolicy }[]>();
  /** Table-source node id → its definition (serdes, store, policy). */
  private readonly tableSpecs = new Map<number, TableSourceSpec>();
  /** Table-source partition → store it feeds (for checkpoints). */
  private readonly tableInputs = new Map<TopicPartitionId, string>();
  private readonly nextOffsets = new Map<TopicPartitionId, number>();

  /** Node id → topic a sink or repartition sink of this sub-topology writes (resolved once, not per record). */
  private readonly sinkTopics: string[] = [];
  /** Per transform node: reusable buffer and the emit function writing into it. */
  private readonly emitters: readonly { readonly buffer: unknown[]; readonly emit: (key: unknown, value: unknown) => void }[];
  private readonly processors: ProcessorCalls;
  private readonly outputs = new TaskOutputs();
  private readonly errors: RecordErrorHandler;
  private failure: unknown;
  private closed = false;
  private processing = false;

  constructor(options: StreamTaskOptions) {
    const { topology, subtopologyId, partition } = options;
    const sub = topology.subtopologies[subtopologyId];
    if (!sub) throw new TaskStateError(taskId(subtopologyId, partition), `the topology has no sub-topology ${subtopologyId}.`);
    this.id = taskId(subtopologyId, partition);
    this.subtopologyId = subtopologyId;
    this.partition = partition;
    this.topology = topology;
    this.nodes = topology.nodes;
    this.metrics = options.metrics ?? new EngineMetrics();
    this.logger = options.logger;
    this.partitionCount = options.partitionCount;
    this.globalStores = options.globalStores ?? new Map();

    this.errors = new RecordErrorHandler({
      taskId: this.id,
      applicationId: topology.applicationId,
      errorPolicy: options.errorPolicy,
      metrics: this.metrics,
      logger: this.logger,
      outputs: this.outputs,
    });

    const cacheSize = options.cacheSize ?? 10_000;
    for (const name of sub.stores) {
      const store = options.stores.get(name);
      if (!store) throw new MissingStoreError(name, `task ${this.id}`);
      this.views.set(name, new TaskStoreView(store, cacheSize));
    }
    this.processors = new ProcessorCalls(
      { taskId: this.id, outputs: this.outputs, errors: this.errors, forward: (fromId, record) => this.forward(fromId, record) },
      new ProcessorStores(this.id, this.views, topology.stores),
    );

    this.inputs = new InputQueues({
      taskId: this.id,
      partition,
      topics: sub.sourceTopics,
      tableSources: sub.tableSources,
      maxTaskIdleMs: options.maxTaskIdleMs ?? 0,
      maxFetchWaitMs: options.maxFetchWaitMs ?? 1000,
    });
    this.inputPartitions = this.inputs.partitions;
    for (const t of sub.tableSources) {
      this.tableInputs.set(topicPartitionId(t.topic, partition), t.store);
      this.tableSpecs.set(t.nodeId, t);
    }

    for (const id of sub.nodeIds) {
      const node = this.nodes[id];
      if (node.kind === 'source' || node.kind === 'table-source' || node.kind === 'repartition-source') {
        const topic = topology.topicOf(node) as string;
        const policy = this.errors.policyFor('errorPolicy' in node ? node.errorPolicy : undefined);
        this.sourcesByTopic.set(topic, [...(this.sourcesByTopic.get(topic) ?? []), { node, policy }]);
      }
      if (node.kind === 'sink' || node.kind === 'repartition-sink') this.sinkTopics[node.id] = topology.topicOf(node) as string;
      if (node.kind === 'stream-global-join' && !this.globalStores.has(node.store)) {
        throw new MissingStoreError(node.store, `task ${this.id} (global store for ${node.name})`);
      }
    }
    this.lookups = new JoinLookups({
      taskId: this.id,
      topology,
      nodeIds: sub.nodeIds,
      views: this.views,
      globalStores: this.globalStores,
      outputs: this.outputs,
    });
    this.emitters = this.nodes.map(() => {
      const buffer: unknown[] = [];
      return { buffer, emit: (key: unknown, value: unknown) => void buffer.push(key, value) };
    });
  }

  /** Buffers consumed records (any order across partitions; offsets ascending within a partition). */
  addRecords(records: readonly ConsumedRecord[]): void {
    this.assertUsable();
    this.inputs.add(records);
  }

  /**
   * What the consumer knows of an input partition: the next offset it will deliver and the log end offset (high
   * watermark). While a partition has nothing buffered but records are known to wait in Kafka (`nextOffset < end`),
   * the task does not process its other partitions (up to `maxFetchWaitMs`): Kafka Streams' rule even at
   * max.task.idle.ms = 0, so a table update older than an order is applied before the order is joined even when
   * the two partitions' fetches arrive separately. Runtimes that never call this never wait (the test driver).
   */
  noteFetchPosition(tp: TopicPartitionId, nextOffset: number, endOffset: number): void {
    this.inputs.noteFetchPosition(tp, nextOffset, endOffset);
  }

  /** Records buffered and not yet processed. */
  bufferedCount(): number {
    return this.inputs.bufferedCount();
  }

  /** Whether `process` would take a record now (idle rule included). */
  readyToProcess(nowMs: number = Date.now()): boolean {
    return this.inputs.next(nowMs) !== undefined;
  }

  /**
   * Processes up to `maxRecords` buffered records in timestamp order and returns the records to send.
   * Throws the typed error (`DeserializationError`/`ProcessingError`) when a 'fail' policy triggers; the task
   * is then failed: do not commit it, close it, and restart from the last committed offsets.
   */
  async process(options: ProcessOptions = {}): Promise<ProcessResult> {
    this.assertUsable();
    if (this.processing) throw new TaskStateError(this.id, 'process() called while a previous call is still running; await it first.');
    this.processing = true;
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const nowMs = options.nowMs ?? Date.now();
    this.outputs.begin();
    let processed = 0;
    try {
      while (processed < maxRecords) {
        const queue = this.inputs.next(nowMs);
        if (!queue) break;
        const record = queue.peek();
        if (this.processors.hasPending || this.lookups.mustResolveBefore(queue.tableStore, record.key)) await this.flush();
        queue.take();
        this.runInput(queue, record);
        this.nextOffsets.set(queue.tp, record.offset + 1);
        processed++;
      }
      await this.flush();
    } catch (error) {
      this.failure = error instanceof TaskFailure ? error.error : error;
      throw this.failure;
    } finally {
      this.processing = false;
    }
    return { processed, outputs: this.outputs.flatten() };
  }

  /** Next offset to read per input partition, for everything processed so far. */
  committableOffsets(): ReadonlyMap<TopicPartitionId, number> {
    this.assertUsable();
    return new Map(this.nextOffsets);
  }

  /**
   * Call once every output returned by `process` so far has been acknowledged. Writes each store's pending
   * batch atomically with its checkpoints (table stores: next offset of the table's input partition; state
   * stores: next offsets of all inputs), then returns the offsets the runtime must commit to the group.
   */
  async commit(): Promise<ReadonlyMap<TopicPartitionId, number>> {
    this.assertUsable();
    if (this.processing) throw new TaskStateError(this.id, 'commit() called while process() is running; await it first.');
    const writes: Promise<void>[] = [];
    for (const view of this.views.values()) {
      const checkpoints = new Map<TopicPartitionId, number>();
      for (const [tp, store] of this.tableInputs) {
        const next = this.nextOffsets.get(tp);
        if (store === view.name && next !== undefined) checkpoints.set(tp, next);
      }
      const isTableStore = [...this.tableInputs.values()].includes(view.name);
      if (!isTableStore) for (const [tp, next] of this.nextOffsets) checkpoints.set(tp, next);
      if (view.pendingCount === 0 && checkpoints.size === 0) continue;
      const batch = view.takePending();
      writes.push(
        view.store.write(batch, checkpoints).catch((error: unknown) => {
          view.restorePending(batch);
          throw error;
        }),
      );
    }
    await Promise.all(writes);
    return new Map(this.nextOffsets);
  }

  /** True after a 'fail' policy (or a store error) stopped the task. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Drops buffered records. Stores stay open: whoever opened them closes them. */
  close(): void {
    this.closed = true;
    this.inputs.clear();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Record flow
  // ---------------------------------------------------------------------------------------------------------

  private assertUsable(): void {
    if (this.closed) throw new TaskStateError(this.id, 'the task is closed.');
    if (this.failure !== undefined) {
      throw new TaskStateError(
        this.id,
        `the task failed (${errorMessageOf(this.failure)}); close it and restart from the committed offsets.`,
        { cause: this.failure },
      );
    }
  }

  private runInput(queue: InputQueue, record: ConsumedRecord): void {
    this.metrics.recordProcessed(queue.topic);
    for (const { node, policy } of this.sourcesByTopic.get(queue.topic) ?? []) {
      const origin: Origin = { record, policy, deadLettered: false };
      if (node.kind === 'table-source') {
        this.applyTableRecord(node.store, node.id, origin);
        continue;
      }
      if (node.kind !== 'source' && node.kind !== 'repartition-source') continue;
      let key: unknown;
      let value: unknown;
      try {
        key = deserializePart(node.keySerde, record, 'key');
        value = deserializePart(node.valueSerde, record, 'value');
      } catch (error) {
        this.errors.deserializationFailed(origin, error);
        continue;
      }
      this.forward(node.id, { key, value, timestamp: record.timestamp, headers: record.headers, origin });
    }
  }

  private applyTableRecord(store: string, nodeId: number, origin: Origin): void {
    const spec = this.tableSpecs.get(nodeId);
    const view = this.views.get(store);
    if (!spec || !view) return;
    try {
      const write = decodeTableRecord(spec, origin.record);
      view.write(Buffer.from(write.key).toString('hex'), write);
      if (write.type === 'put') this.metrics.tablePuts++;
      else this.metrics.tableDeletes++;
    } catch (error) {
      this.errors.deserializationFailed(origin, error);
    }
  }

  private forward(fromId: number, record: InFlight): void {
    for (const child of this.topology.children[fromId]) this.runNode(this.nodes[child], record);
  }

  private runNode(node: TopologyNode, record: InFlight): void {
    switch (node.kind) {
      case 'transform': {
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
        return;
      }
      case 'sink':
      case 'repartition-sink':
        this.emit(node, record);
        return;
      case 'stream-table-join':
        this.startTableJoin(node, record);
        return;
      case 'stream-global-join':
        this.startGlobalJoin(node, record);
        return;
      case 'process':
        this.processors.run(node, record);
        return;
      case 'source':
      case 'table-source':
      case 'repartition-source':
      case 'global-table':
        // Sources have no parents, so they are never a child: records enter them through runInput.
        return;
      default:
        assertNever(node);
    }
  }

  private emit(node: SinkNode | RepartitionSinkNode, record: InFlight): void {
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
    this.outputs.push({ topic, partition, timestamp: record.timestamp, key, value, headers: record.headers });
  }

  private startTableJoin(node: StreamTableJoinNode, record: InFlight): void {
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
    if (known === NOT_CACHED) this.lookups.park(node, record, keyBytes, hex);
    else this.finishJoin(node, record, known);
  }

  private startGlobalJoin(node: StreamGlobalJoinNode, record: InFlight): void {
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
    this.lookups.park(node, record, keyBytes, keyBytes.toString('hex'));
  }

  private nullJoinKey(node: StreamTableJoinNode | StreamGlobalJoinNode, record: InFlight): void {
    if (node.leftJoin) this.finishJoin(node, record, undefined);
    else this.metrics.nullKeyDrops++;
  }

  private finishJoin(node: StreamTableJoinNode | StreamGlobalJoinNode, record: InFlight, tableValue: unknown): void {
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

  /** Resolves parked lookups (one getMany per store per round) and waits for async processors, until quiet. */
  private async flush(): Promise<void> {
    while (this.lookups.count > 0 || this.processors.hasPending) {
      if (this.processors.hasPending) await this.processors.settle();
      else await this.lookups.resolveRound(this.resumeJoin);
    }
  }
}
