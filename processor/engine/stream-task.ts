/**
 * StreamTask: runs one sub-topology for one partition. The SAME class runs under the Kafka runtime and under
 * `TopologyTestDriver`; only where records come from and where outputs go differs. See index.ts for the protocol.
 *
 * The task orchestrates (addRecords → process → commit); each of its jobs has a module:
 * - InputQueues (input-queues.ts): one queue per input partition; the next record is the smallest head timestamp,
 *   unless the idle/fetch-wait rule says to wait for an empty input.
 * - NodeInterpreter (node-interpreter.ts): pushes each record synchronously through the node graph.
 * - ParkedReads (parked-reads.ts): a record needing store values that are not in the task's pending writes or
 *   cache (a join's row, an aggregate, a table's old row) parks with a reserved output slot; parked records are
 *   resolved with one `getMany` per store when the chunk ends, or before a table write that would change what a
 *   parked record must see; later records sharing state with a parked one park behind it.
 * - Aggregations, TableFlow (aggregations.ts, table-flow.ts) and TableUpdates (table-updates.ts): derived tables,
 *   their changelog records (outputs like any other) and the record cache of `on-commit` tables.
 * - ProcessorCalls (processor-context.ts): `process` nodes; a call that returns a promise is a barrier: the task
 *   settles it before the next record.
 * - TaskOutputs (output-slots.ts): outputs keep input order through the reserved slots.
 * - RecordErrorHandler (record-errors.ts): error policies and dead letters.
 * - TaskStoreView (task-store.ts): pending writes and a cache per store; `commit` writes them with checkpoints
 *   (window stores then drop their expired segments).
 * Nothing awaits per record: the only awaits are per lookup round and per pending async processor.
 */
import { taskId, type TaskId } from '../../common/task-id.js';
import { errorMessageOf } from '../../common/dead-letters.js';
import type { Logger } from '../../common/logger.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import { MissingStoreError, TaskStateError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { ErrorPolicy } from './error-policy.js';
import { InputQueues } from './input-queues.js';
import { EngineMetrics } from './metrics.js';
import { NodeInterpreter } from './node-interpreter.js';
import { ParkedReads } from './parked-reads.js';
import { TaskOutputs } from './output-slots.js';
import { RecordErrorHandler, TaskFailure } from './record-errors.js';
import { TableUpdates } from './table-updates.js';
import { TaskStoreView } from './task-store.js';
import { firstLiveSegment, type WindowLayout } from '../../state-store/window-layout.js';
import { expireWindows } from '../../state-store/window-store.js';

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
  /** Decoded values cached per task store (recently used, approximately; see task-store.ts). Default 1,000 (`memory.taskCacheEntries`). */
  readonly cacheSize?: number;
  /**
   * Keys an `on-commit` derived table holds back per task before emitting the least recently updated one early
   * (the bound on its record cache). Default 10 000.
   */
  readonly maxCachedUpdates?: number;
}

export interface CommitOptions {
  /**
   * Next offset of each changelog partition this task wrote, after the acknowledged changelog records (the producer's
   * offsets). Stored as the checkpoint of the derived-table store writing that changelog: restoration resumes there.
   * A store without an entry keeps its previous checkpoint (restoring from an older checkpoint replays more of the
   * changelog, which is safe: changelog records hold whole values).
   */
  readonly changelogOffsets?: ReadonlyMap<TopicPartitionId, number>;
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

export class StreamTask {
  /** `<subtopologyId>_<partition>`, as Kafka Streams names tasks. */
  readonly id: TaskId;
  readonly subtopologyId: number;
  readonly partition: number;
  /** Every topic-partition this task reads. */
  readonly inputPartitions: readonly TopicPartitionId[];

  private readonly views = new Map<string, TaskStoreView>();
  /** Table-source partition → store it feeds (for checkpoints). */
  private readonly tableInputs = new Map<TopicPartitionId, string>();
  private readonly nextOffsets = new Map<TopicPartitionId, number>();
  private readonly inputs: InputQueues;
  private readonly outputs = new TaskOutputs();
  private readonly reads: ParkedReads;
  private readonly graph: NodeInterpreter;
  /** Derived-table store → its changelog partition (this task's partition of `<applicationId>-<store>-changelog`). */
  private readonly changelogPartitions = new Map<string, TopicPartitionId>();
  /** Window store → its layout, and the first segment not yet deleted by retention. */
  private readonly windowLayouts = new Map<string, WindowLayout>();
  private readonly expiredBelow = new Map<string, number>();
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
    const metrics = options.metrics ?? new EngineMetrics();
    const globalStores = options.globalStores ?? new Map<string, ReadOnlyKeyValueStore<unknown>>();

    const cacheSize = options.cacheSize ?? 1_000;
    for (const name of sub.stores) {
      const store = options.stores.get(name);
      if (!store) throw new MissingStoreError(name, `task ${this.id}`);
      this.views.set(name, new TaskStoreView(store, cacheSize));
    }
    for (const id of sub.nodeIds) {
      const node = topology.nodes[id];
      if (node.kind === 'stream-global-join' && !globalStores.has(node.store)) {
        throw new MissingStoreError(node.store, `task ${this.id} (global store for ${node.name})`);
      }
    }
    for (const t of sub.tableSources) this.tableInputs.set(topicPartitionId(t.topic, partition), t.store);
    for (const spec of topology.stores) {
      if (spec.subtopologyId !== subtopologyId || spec.changelogTopic === undefined) continue;
      this.changelogPartitions.set(spec.name, topicPartitionId(spec.changelogTopic, partition));
      if (spec.window !== undefined) this.windowLayouts.set(spec.name, spec.window);
    }

    this.inputs = new InputQueues({
      taskId: this.id,
      partition,
      topics: sub.sourceTopics,
      tableSources: sub.tableSources,
      maxTaskIdleMs: options.maxTaskIdleMs ?? 0,
      maxFetchWaitMs: options.maxFetchWaitMs ?? 1000,
    });
    this.inputPartitions = this.inputs.partitions;
    this.reads = new ParkedReads({
      taskId: this.id,
      topology,
      nodeIds: sub.nodeIds,
      views: this.views,
      globalStores,
      outputs: this.outputs,
    });
    this.graph = new NodeInterpreter({
      taskId: this.id,
      topology,
      subtopology: sub,
      views: this.views,
      reads: this.reads,
      updates: new TableUpdates({
        applicationId: topology.applicationId,
        partition,
        outputs: this.outputs,
        forward: (fromId, record) => this.graph.forward(fromId, record),
        maxEntries: options.maxCachedUpdates ?? 10_000,
      }),
      outputs: this.outputs,
      errors: new RecordErrorHandler({
        taskId: this.id,
        applicationId: topology.applicationId,
        errorPolicy: options.errorPolicy,
        metrics,
        logger: options.logger,
        outputs: this.outputs,
      }),
      metrics,
      partitionCount: options.partitionCount,
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

  /**
   * The next offset of input `tp` the task expects from the consumer (after the last record it was given, or where
   * it was told the consumer stands): where to resume fetching when the task stays open across a rebalance and
   * keeps its buffered records. Undefined when never told.
   */
  fetchPosition(tp: TopicPartitionId): number | undefined {
    return this.inputs.fetchPosition(tp);
  }

  /**
   * The consumer moved past offsets of input `tp` that hold no record it delivers (transaction markers, aborted
   * records) up to `nextOffset`, after delivering every record below it. Once those are processed, the task's
   * position for `tp` is `nextOffset`: its committed offset and, for a table input, its store's checkpoint, so a
   * partition ending in markers is fully consumed instead of one short of its end. Also a fetch position (see
   * `noteFetchPosition`).
   */
  advancePosition(tp: TopicPartitionId, nextOffset: number): void {
    this.assertUsable();
    this.inputs.advancePosition(tp, nextOffset);
  }

  /** Next offset of input `tp` for everything processed so far (skipped offsets included), if any. */
  position(tp: TopicPartitionId): number | undefined {
    this.inputs.applySkips(this.nextOffsets);
    return this.nextOffsets.get(tp);
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
        // The table-write check only for records of a table's topic.
        if (
          this.graph.processors.hasPending ||
          (queue.tableStore !== undefined && this.graph.mustResolveBeforeTableRecord(queue.tableStore, record.key))
        )
          await this.flush();
        queue.take();
        this.graph.runInput(queue.topic, record);
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

  /**
   * Emits what `on-commit` derived tables held back (one update per key since the last commit, with its changelog
   * record) and everything it causes downstream. Call before the commit's acknowledgement wait and send these
   * outputs with the others: `commit()` refuses while updates are held back. Returns nothing new when no table
   * uses `on-commit`.
   */
  async prepareCommit(): Promise<ProcessResult> {
    this.assertUsable();
    if (this.processing) throw new TaskStateError(this.id, 'prepareCommit() called while process() is running; await it first.');
    this.processing = true;
    this.outputs.begin();
    try {
      while (this.graph.updates.cachedCount > 0) {
        this.graph.flushCachedUpdates();
        await this.flush();
      }
    } catch (error) {
      this.failure = error instanceof TaskFailure ? error.error : error;
      throw this.failure;
    } finally {
      this.processing = false;
    }
    return { processed: 0, outputs: this.outputs.flatten() };
  }

  /** Next offset to read per input partition, for everything processed so far. */
  committableOffsets(): ReadonlyMap<TopicPartitionId, number> {
    this.assertUsable();
    this.inputs.applySkips(this.nextOffsets);
    return new Map(this.nextOffsets);
  }

  /**
   * Call once every output returned by `process` and `prepareCommit` so far has been acknowledged. Writes each
   * store's pending batch atomically with its checkpoints (table stores: next offset of the table's input partition;
   * derived-table stores: next offset of their changelog partition, from `options.changelogOffsets`; state stores:
   * next offsets of all inputs), lets window stores drop expired segments, then returns the offsets the runtime must
   * commit to the group.
   */
  async commit(options: CommitOptions = {}): Promise<ReadonlyMap<TopicPartitionId, number>> {
    this.assertUsable();
    if (this.processing) throw new TaskStateError(this.id, 'commit() called while process() is running; await it first.');
    if (this.graph.updates.cachedCount > 0) {
      throw new TaskStateError(
        this.id,
        `${this.graph.updates.cachedCount} derived-table update(s) are held back until commit (emit: 'on-commit'); call prepareCommit() and send its outputs before commit().`,
      );
    }
    this.inputs.applySkips(this.nextOffsets);
    const writes: Promise<void>[] = [];
    for (const view of this.views.values()) {
      const checkpoints = new Map<TopicPartitionId, number>();
      const changelog = this.changelogPartitions.get(view.name);
      if (changelog !== undefined) {
        const next = options.changelogOffsets?.get(changelog);
        if (next !== undefined) checkpoints.set(changelog, next);
      } else {
        for (const [tp, store] of this.tableInputs) {
          const next = this.nextOffsets.get(tp);
          if (store === view.name && next !== undefined) checkpoints.set(tp, next);
        }
        const isTableStore = [...this.tableInputs.values()].includes(view.name);
        if (!isTableStore) for (const [tp, next] of this.nextOffsets) checkpoints.set(tp, next);
      }
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
    await this.expireWindows();
    return new Map(this.nextOffsets);
  }

  /** Deletes the segments of window stores whose windows all passed retention since the last commit (whole ranges). */
  private async expireWindows(): Promise<void> {
    const expiries: Promise<void>[] = [];
    for (const [store, streamTime] of this.graph.aggregations.windowStreamTimes()) {
      const layout = this.windowLayouts.get(store);
      const view = this.views.get(store);
      if (layout === undefined || view === undefined) continue;
      const live = firstLiveSegment(streamTime, layout);
      if (live <= (this.expiredBelow.get(store) ?? -1)) continue;
      expiries.push(expireWindows(view.store, layout, streamTime).then(() => void this.expiredBelow.set(store, live)));
    }
    await Promise.all(expiries);
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

  /** Resolves parked records (one getMany per store per round) and waits for async processors, until quiet. */
  private async flush(): Promise<void> {
    const { processors, resume } = this.graph;
    while (this.reads.count > 0 || processors.hasPending) {
      if (processors.hasPending) await processors.settle();
      else await this.reads.resolveRound(resume);
    }
  }
}
