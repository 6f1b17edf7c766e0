/**
 * The partitioned work of one instance: the group callbacks and the at-least-once process/commit cycle. It drives
 * a member of the application's group through the group-member port (kafka/group-member.ts: seek, pause, resume,
 * commit, assignment callbacks), keeps its open tasks in a TaskRegistry (task-registry.ts, also the read path for
 * queries and stats), restores table stores with a RestorationPlan per task (restoration-plan.ts) and sends every
 * output through one RecordCollector (record-collector.ts). Offsets and partition counts come from the cluster
 * lookups port (kafka/cluster-lookups.ts).
 *
 * Assignment (rebalances are eager: every assignment replaces the previous one):
 *   flush the previous tasks (stores written; the offset commit may be refused), stop their restoration; tasks kept
 *   by this member stay open as they are (restored ones; their inputs are sought to where each task stands), the
 *   others are closed, with the stores of tasks that moved away (kept on disk for a later return); open stores for the new tasks and
 *   plan their table restoration (restoration-plan.ts, range rule in restore-range.ts: from the local checkpoint up
 *   to the group's committed offset; a store the log cannot continue is cleared first). Restoration runs outside the
 *   group, through one ChangelogReader per assignment (changelog-reader.ts, the same component global tables
 *   bootstrap with), while the restoring task's inputs stay paused on the member; table partitions are sought to
 *   where the task takes over. Per task, when its last table partition is restored, its inputs resume and it
 *   processes; its table partitions are caught up (served, ready) once the task's commits brought their stores to
 *   the end offsets taken at assignment.
 * Cycle (per fetched batch, and on a timer while idle):
 *   records → every task reading that partition → `task.process()` for ready tasks (timestamp order) →
 *   (1) the outputs (sinks, repartition, dead letters) join the record collector (record-collector.ts): one
 *   producer send in flight, acks=all, processing overlapping it, a bounded queue whose limit makes the cycle wait
 *   before returning to the consumer (backpressure) →
 *   every `commitIntervalMs` (commit-sequence.ts): held-back `on-commit` updates sent, every queued and in-flight
 *   output acknowledged (awaited; changelog records included), then (2) `task.commit({ changelogOffsets })` per
 *   task = one atomic write per store with its checkpoints (derived stores: the acknowledged changelog position) →
 *   (3) commit the next offsets to the group. A crash between steps re-processes from the last (3): at-least-once.
 *   A failed send fails the manager: nothing after it is committed.
 * Exactly-once (`processingGuarantee`): each task has a transactional producer (`<applicationId>-<taskId>`),
 *   initialised before the task's committed offsets are read (which fences a previous owner and settles its open
 *   transaction). A task's outputs stay in memory until the commit, where one transaction per task carries them and
 *   its input offsets, and its stores are written after the transaction committed (commit-sequence.ts); the group
 *   member commits nothing. A fenced producer closes its task (a newer owner has it; the rebalance follows); a
 *   failed transaction is aborted and every task is reopened from the committed offsets (the batch is reprocessed).
 */
import type { TributaryError } from '../../errors.js';
import { StaleAssignmentError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import { parseTaskId, taskId, type TaskId } from '../../common/task-id.js';
import type { ClusterLookups } from '../kafka/cluster-lookups.js';
import type {
  BatchContext,
  GroupAssignment,
  GroupMember,
  GroupMemberFactory,
  PositionAdvance,
  TopicPartition,
} from '../kafka/group-member.js';
import type { LogOffsets } from '../kafka/cluster-lookups.js';
import type { PartitionReaderFactory } from '../kafka/partition-reading.js';
import { ChangelogReader, type ChangelogTarget } from './changelog-reader.js';
import {
  parseTopicPartitionId,
  topicPartitionId,
  type ConsumedRecord,
  type ProducedRecord,
  type TopicPartitionId,
} from '../../common/records.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { AssignmentEvent } from './events.js';
import type { Logger } from '../../common/logger.js';
import type { OutputSender } from './output-sender.js';
import { completeDeadLetters, type FetchRecords } from './original-records.js';
import { OutputPartitioner, RecordCollector } from './record-collector.js';
import type { RestorationTracker } from './restoration-tracker.js';
import { SerialExecutor } from './serial.js';
import { TaskRegistry, type TaskRegistryView } from './task-registry.js';
import {
  closeActiveTask,
  dropMovedKeys,
  holdsAllItsKeys,
  openActiveTask,
  regroupKeptTask,
  type ActiveTask,
  type TaskOpeningContext,
} from './active-task.js';
import { runRegroup } from './store-regrouping.js';
import { commitTasks, commitTasksInTransactions, type TransactionOutcome } from './commit-sequence.js';
import { StandbyTasks } from './standby-tasks.js';
import type { TransactionalProducer, TransactionalProducerFactory } from '../kafka/transactional-producer.js';
import { transactionalIdOf } from '../kafka/transactional-producer.js';
import { probingMembers } from '../kafka/warmup-assignor.js';
import { LocalCheckpoints } from './local-checkpoints.js';
import { MAX_QUEUED_OUTPUT_BYTES } from './record-collector.js';
import type { ProcessingGuarantee } from './options.js';

export interface TaskManagerOptions {
  readonly topology: Topology;
  /** Builds this instance's member of the application's group (the real one wraps kafkajs: see app.ts). */
  readonly member: GroupMemberFactory;
  /** Committed and end offsets at every assignment, sink partition counts at start. */
  readonly cluster: ClusterLookups;
  readonly stateDirectory: StateDirectory;
  /** The group whose committed offsets bound table restoration. */
  readonly groupId: string;
  readonly partitions: ReadonlyMap<string, number>;
  readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  readonly errorPolicy: ErrorPolicy;
  readonly metrics: EngineMetrics;
  readonly tracker: RestorationTracker;
  readonly sender: OutputSender;
  /**
   * Reads user records back by position: the originals of dead letters written after a repartition
   * (original-records.ts). Without it such letters keep the internal record's bytes, marked re-serialized.
   */
  readonly fetchRecords?: FetchRecords;
  readonly logger: Logger;
  readonly commitIntervalMs: number;
  /** Default 'at-least-once'. */
  readonly processingGuarantee?: ProcessingGuarantee;
  /** Exactly-once: builds the transactional producer of a task (app.ts: kafkajs). Required then. */
  readonly transactionalProducers?: TransactionalProducerFactory;
  readonly maxTaskIdleMs: number;
  /** Records per atomic store write when restoring (`memory.restoreBatchRecords`). Default restore.ts's. */
  readonly restoreBatchRecords?: number;
  /** Decoded values each task caches per store (`memory.taskCacheEntries`). Default stream-task.ts's. */
  readonly taskCacheEntries?: number;
  /** Output bytes queued behind the send in flight (exactly-once: held per commit) before a cycle waits (`memory.outputQueueBytes`). */
  readonly outputQueueBytes?: number;
  /** Builds the readers that restore table stores outside the group (app.ts: kafkajs PartitionReader). */
  readonly readers: PartitionReaderFactory;
  /** Records a table store partition may be behind the end offset at assignment and count as caught up. Default 0. */
  readonly readinessLag?: number;
  /** Keep the standby replicas the group assigns this member (standby-tasks.ts), warm-ups included. Default false. */
  readonly standbys?: boolean;
  /**
   * Warm-ups (warmup-assignor.ts): while the group has any, the members `probingMembers` names ask for a rebalance
   * this often, so caught-up warm-ups take their tasks over. Absent: never.
   */
  readonly probingRebalanceIntervalMs?: number;
  /**
   * Re-reads partition counts at every assignment, before its tasks open (input topics may have grown; it updates
   * `partitions` in place). A rejection fails the app (e.g. PartitionCountDecreasedError).
   */
  readonly refreshPartitions?: () => Promise<void>;
  /** Partition counts seen over time per topic (partition-history.ts, kept up to date by the app): stores regroup their keys. */
  readonly partitionHistory?: ReadonlyMap<string, readonly number[]>;
  /** When a topic's count was first seen, and how long new tasks wait after it before reading earlier partitions. */
  readonly partitionSeenAt?: (topic: string, count: number) => number | undefined;
  readonly expansionGraceMs?: number;
  /** How long after a rebalance that changed counts other members may still flush with the old ones. Default 5000. */
  readonly movedKeysGraceMs?: number;
  /** A rebalance started: queries must answer 503 until the next assignment is set up. */
  readonly onRebalancing: () => void;
  /** A new assignment is set up and its records flow (restoration may still be running). */
  readonly onAssigned: (event: AssignmentEvent) => void;
  /** Something the manager cannot recover from (fail policy, store write error, group crash): fail the app. */
  readonly onFailure: (error: unknown) => void;
  /** The change feed (change-feed.ts): told which table records reached tasks, what each commit wrote, task moves. */
  readonly changes?: TaskChangeHooks;
}

/** What the task manager tells the change feed (ChangeFeed implements it). */
export interface TaskChangeHooks {
  taskOpened(task: ActiveTask): void;
  taskClosed(task: ActiveTask): void;
  consumed(tp: TopicPartitionId, records: readonly ConsumedRecord[]): void;
  committed(offsets: ReadonlyMap<TopicPartitionId, number>): void;
}

/**
 * How long tasks this member kept through a rebalance stopped processing: from a kept task's last record before the
 * rebalance to its first record after it. One measurement per rebalance (the longest among its kept tasks that
 * processed records on both sides).
 */
export interface RebalancePauses {
  readonly count: number;
  readonly lastMs: number | undefined;
  readonly maxMs: number | undefined;
}

export interface TaskManagerCounters {
  readonly recordsProcessed: number;
  readonly commits: number;
  /** Exactly-once: task transactions committed, and aborted (failed or fenced). */
  readonly transactionsCommitted: number;
  readonly transactionsAborted: number;
  /** Commits (all tasks: acknowledgements or transactions, store writes, offsets) and their total and longest time. */
  readonly commitLatency: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
  readonly rebalances: number;
  readonly unmovedTaskPauses: RebalancePauses;
  readonly firstAssignmentAt: number | undefined;
  readonly firstRecordProcessedAt: number | undefined;
}

export class TaskManager {
  private readonly options: TaskManagerOptions;
  private readonly member: GroupMember;
  private readonly serial = new SerialExecutor();
  /** The open tasks; what queries and stats read of them (see `view`). */
  private readonly registry = new TaskRegistry();
  /** Offsets last committed to the group by this member (commits only send what moved). */
  private readonly committed = new Map<TopicPartitionId, number>();
  /** Per input partition: high watermark − next offset, from the last fetched batch. */
  private readonly lag = new Map<TopicPartitionId, number>();
  private epoch = -1;
  private halted = false;
  private dirty = false;
  private lastCommitAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** The next probing rebalance this member asks for (warm-ups pending). */
  private probeTimer: NodeJS.Timeout | undefined;
  /** Checkpoint sums of task state on disk that is neither active nor standby here (sent in JoinGroup). */
  private readonly checkpoints: LocalCheckpoints;
  private readonly partitioner = new OutputPartitioner();
  /** Every task's outputs and dead letters, in processing order (see record-collector.ts). */
  private readonly collector: RecordCollector;
  /** When each open task last processed a record. */
  private readonly lastProcessedAt = new Map<TaskId, number>();
  /** Kept tasks of the latest rebalance that have not processed since: their last record before it. */
  private readonly pausedSince = new Map<TaskId, number>();
  /** The longest pause measured so far for the latest rebalance (reported when its last kept task resumed). */
  private currentPause: number | undefined;
  private pauses: RebalancePauses = { count: 0, lastMs: undefined, maxMs: undefined };
  private counters = {
    recordsProcessed: 0,
    commits: 0,
    transactionsCommitted: 0,
    transactionsAborted: 0,
    commitLatency: { count: 0, totalMs: 0, maxMs: 0 },
    rebalances: 0,
    firstAssignmentAt: undefined as number | undefined,
    firstRecordProcessedAt: undefined as number | undefined,
  };

  /** Tasks with a store directory on local disk (asked at every join: the assignor prefers us for them). */
  private readonly localStateTasks: Set<TaskId>;
  private readonly taskContext: TaskOpeningContext;
  /** The restoration of the current assignment's table stores, while it runs. */
  private restoration: { stop(): Promise<void> } | undefined;
  /** Standby replicas of other members' tasks (when enabled). */
  private readonly standbys: StandbyTasks | undefined;
  private readonly exactlyOnce: boolean;
  /** Exactly-once: the transactional producer of each open task (kept while the task stays). */
  private readonly producers = new Map<TaskId, TransactionalProducer>();
  /** Exactly-once: each task's outputs since its last commit (sent only inside its transaction). */
  private readonly heldOutputs = new Map<TaskId, ProducedRecord[]>();
  private heldBytes = 0;
  /** Exactly-once: inputs of fenced tasks, paused until the next assignment (the member keeps pauses of partitions it keeps). */
  private readonly fencedInputs: TopicPartition[] = [];
  /** The assignment being worked on (exactly-once reopens its tasks after an aborted transaction). */
  private assignment: GroupAssignment | undefined;

  constructor(options: TaskManagerOptions, localStateTasks: readonly TaskId[]) {
    this.options = options;
    this.exactlyOnce = options.processingGuarantee === 'exactly-once';
    if (this.exactlyOnce && options.transactionalProducers === undefined)
      throw new TypeError('TaskManager: exactly-once needs transactionalProducers');
    this.localStateTasks = new Set(localStateTasks);
    this.checkpoints = new LocalCheckpoints(options.topology);
    this.taskContext = {
      ...options,
      readinessLag: options.readinessLag ?? 0,
      deadLetters: async (letters) => {
        await options.sender.send(letters);
      },
    };
    this.collector = new RecordCollector({
      sender: options.sender,
      partitioner: this.partitioner,
      maxQueuedBytes: options.outputQueueBytes,
      onFailure: (error) => this.fail(error),
    });
    this.standbys = options.standbys
      ? new StandbyTasks({
          topology: options.topology,
          stateDirectory: options.stateDirectory,
          cluster: options.cluster,
          readers: options.readers,
          errorPolicy: options.errorPolicy,
          metrics: options.metrics,
          logger: options.logger,
          onClosing: (id, stores) => this.checkpoints.note(id, stores),
          servesReads: (id, store, checkpoints) => holdsAllItsKeys(id, store, checkpoints, this.taskContext),
        })
      : undefined;
    this.member = options.member({
      localTasks: () => [...this.localStateTasks],
      taskLags: () => this.taskLags(),
      taskOffsetSums: () => this.checkpoints.offsetSums(new Set([...this.taskLags().keys(), ...(this.standbys?.tasks ?? [])])),
      eachBatch: (records, context) => this.handleBatch(records, context),
      onAssignment: (assignment) => this.handleAssignment(assignment),
      onRebalancing: ({ epoch }) => this.handleRebalancing(epoch),
      onPositionAdvanced: (advance) => this.handlePositionAdvanced(advance),
      onError: (error: TributaryError) => this.fail(error),
    });
  }

  /** Tasks with state on local disk at start. */
  static async tasksWithLocalState(topology: Topology, stateDirectory: StateDirectory): Promise<TaskId[]> {
    const subtopologyOfStore = new Map(
      topology.stores.filter((s) => s.subtopologyId !== undefined).map((s) => [s.name, s.subtopologyId as number]),
    );
    const tasks = new Set<TaskId>();
    for (const { name, partition } of await stateDirectory.listStores()) {
      const sub = subtopologyOfStore.get(name);
      if (sub !== undefined && partition !== 'global') tasks.add(taskId(sub, partition));
    }
    return [...tasks];
  }

  /** Joins the group; resolves once the first assignment is set up. */
  async start(): Promise<void> {
    await this.learnOutputPartitions();
    await this.checkpoints.readFromDisk(this.options.stateDirectory, [...this.localStateTasks]);
    await this.member.start();
    this.timer = setInterval(() => this.onTimer(), Math.max(50, Math.min(this.options.commitIntervalMs, 1000)));
    this.timer.unref();
  }

  /**
   * Graceful: waits for the batch in progress, commits (outputs were already acknowledged; stores are written with
   * their checkpoints, then offsets), leaves the group. With `commit: false` (after a failure) nothing is committed.
   */
  async stop(commit: boolean): Promise<void> {
    const wasHalted = this.halted;
    this.halted = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    clearTimeout(this.probeTimer);
    await this.serial.run(async () => {
      if (commit && !wasHalted)
        await this.commitAll(this.epoch, true).catch((error: unknown) => this.options.logger.error('final commit failed', { error }));
    });
    await this.member.stop().catch((error: unknown) => this.options.logger.warn('leaving the group failed', { error }));
    await this.serial.run(async () => {
      await this.standbys?.pause(new Set(), new Set());
      await this.closeTasks(new Set());
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Views for queries and stats (in-memory, no I/O)
  // -------------------------------------------------------------------------------------------------------------

  /** Standby replicas kept here (stale reads), when enabled. */
  get replicas(): StandbyTasks | undefined {
    return this.standbys;
  }

  /** The read path: ownership, local stores and task views for queries and stats. */
  get view(): TaskRegistryView {
    return this.registry;
  }

  consumerLag(): ReadonlyMap<TopicPartitionId, number> {
    return this.lag;
  }

  stats(): TaskManagerCounters {
    return { ...this.counters, commitLatency: { ...this.counters.commitLatency }, unmovedTaskPauses: this.pauses };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Group callbacks
  // -------------------------------------------------------------------------------------------------------------

  private handleRebalancing(epoch: number): void {
    if (this.halted) return;
    this.registry.rebalanceStarted();
    this.options.onRebalancing();
    void this.standbys?.stopReading();
    // Best effort: while this member has not rejoined, the coordinator still takes commits of this generation.
    void this.serial
      .run(async () => {
        if (!this.halted && epoch === this.epoch) await this.commitAll(epoch, true);
      })
      .catch((error: unknown) => this.fail(error));
  }

  /** Partition counts of every output topic: from `partitions`, the others (user sinks) from the cluster. */
  private async learnOutputPartitions(): Promise<void> {
    const { topology, partitions, cluster, logger } = this.options;
    // Changelog records name their partition (the task's); their counts bound the producer's requests per partition.
    await this.partitioner.learn(
      topology.subtopologies.flatMap((s) => [...s.sinkTopics, ...s.changelogTopics]),
      partitions,
      cluster,
      logger,
    );
  }

  private handleAssignment(assignment: GroupAssignment): Promise<void> {
    return this.serial.run(async () => {
      if (this.halted) return;
      this.registry.rebalanceStarted();
      try {
        if (this.epoch >= 0) await this.commitAll(this.epoch, true);
      } catch (error) {
        this.fail(error);
        return;
      }
      const before = new Set([...this.registry.all()].map((active) => active.id));
      const mine = new Set(assignment.mine);
      // Tasks this member keeps stay open as they are (stores, restoration state, buffered records): the eager
      // protocol revoked their partitions, but nothing about them changed. Tasks still restoring are reopened (the
      // assignment's one restoration job restarts them from their checkpoints); stores of every kept task stay open.
      // Only when no generation passed without this member (same member id, the very next assignment): otherwise
      // another member may have owned the task meanwhile and moved its offsets and state on (under exactly-once our
      // re-initialised producer would then commit its records a second time).
      const continuous =
        this.assignment !== undefined && assignment.memberId === this.assignment.memberId && assignment.epoch === this.epoch + 1;
      const keepOpen = new Set(
        continuous
          ? [...this.registry.all()].filter((active) => mine.has(active.id) && !active.restoration.restoring).map((active) => active.id)
          : [],
      );
      await this.closeTasks(mine, keepOpen);
      this.startPauseMeasurement(keepOpen);
      // Standbys stop reading; those that become active hand their open stores over, those dropped close.
      const standbys = assignment.standbys ?? [];
      await this.standbys?.pause(new Set(standbys), mine);
      if (this.options.refreshPartitions !== undefined) {
        // Nothing is processed between here and the new tasks: outputs from now on use the counts of now.
        try {
          await this.options.refreshPartitions();
          await this.learnOutputPartitions();
          // A kept task whose stores' topics grew keeps only its keys: in place, or reopened (stores kept open) when
          // it must read earlier partitions.
          for (const active of [...this.registry.all()]) if (!regroupKeptTask(active, this.taskContext)) await this.closeTask(active, true);
        } catch (error) {
          this.fail(error);
          return;
        }
      }
      if (this.fencedInputs.length > 0) this.member.resume(this.fencedInputs.splice(0));
      this.epoch = assignment.epoch;
      this.assignment = assignment;
      this.registry.assignmentReceived(assignment);
      this.committed.clear();
      this.lag.clear();
      try {
        await this.openTasks(assignment);
      } catch (error) {
        // The member began a newer generation while this one was set up (a seek found its partition no longer
        // owned): that assignment's handler runs next and takes over from whatever this one opened.
        if (!(error instanceof StaleAssignmentError)) throw error;
        this.options.logger.info('a newer assignment arrived while this one was set up; it takes over', { epoch: assignment.epoch });
        return;
      }
      if (this.standbys !== undefined) {
        await this.standbys.follow(
          standbys.filter((id) => !mine.has(id)),
          (error) => this.options.logger.warn('standby replicas stopped following; they resume at the next assignment', { error }),
        );
        for (const id of this.standbys.tasks) this.localStateTasks.add(id);
      }
      this.scheduleProbe(assignment);
      this.counters.rebalances++;
      this.counters.firstAssignmentAt ??= Date.now();
      this.lastCommitAt = Date.now();
      this.registry.assigned();
      this.options.onAssigned({
        epoch: assignment.epoch,
        tasks: assignment.mine,
        added: assignment.mine.filter((id) => !before.has(id)),
        removed: [...before].filter((id) => !mine.has(id)),
        members: assignment.members.length,
      });
    });
  }

  /**
   * Sent with every JoinGroup: 0 for the tasks this member processes (restoration finished), each standby's or
   * warm-up's lag. Tasks still restoring and state only on disk are not reported (not caught up).
   */
  private taskLags(): Map<TaskId, number> {
    const lags = new Map<TaskId, number>(this.standbys?.lags() ?? []);
    for (const active of this.registry.all()) if (!active.restoration.restoring) lags.set(active.id, 0);
    return lags;
  }

  /** While warm-ups exist, the owners of warmed-up tasks (`probingMembers`) ask for a rebalance every interval. */
  private scheduleProbe(assignment: GroupAssignment): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    const interval = this.options.probingRebalanceIntervalMs;
    if (interval === undefined || !probingMembers(assignment.members).has(assignment.memberId)) return;
    const epoch = assignment.epoch;
    this.probeTimer = setTimeout(() => {
      if (this.halted || epoch !== this.epoch) return;
      this.options.logger.info('asking for a probing rebalance: warm-ups may have caught up', { epoch });
      this.member.requestRebalance();
    }, interval);
    this.probeTimer.unref();
  }

  private async handleBatch(records: readonly ConsumedRecord[], context: BatchContext): Promise<number> {
    return this.serial.run(async () => {
      if (this.halted || context.epoch !== this.epoch || context.isStale()) return 0;
      const tp = topicPartitionId(context.topic, context.partition);
      try {
        for (const active of this.registry.readersOf(tp)) {
          active.task.addRecords(records);
          this.options.changes?.consumed(tp, records);
          const tail = records[records.length - 1];
          if (tail !== undefined) active.task.noteFetchPosition(tp, tail.offset + 1, context.highWatermark);
        }
        const last = records[records.length - 1];
        if (last !== undefined) this.lag.set(tp, Math.max(0, context.highWatermark - last.offset - 1));
        await this.runCycle(context.epoch);
      } catch (error) {
        this.fail(error);
        return 0;
      }
      try {
        await context.heartbeat();
      } catch (error) {
        if (!(error instanceof StaleAssignmentError)) {
          // The records are processed: a throw would make kafkajs deliver them again. The next heartbeat retries.
          this.options.logger.warn('heartbeat failed after a batch', { error });
          return records.length;
        }
        // The commit window before rejoining: flush this epoch's work so the next owner starts after it.
        await this.commitAll(context.epoch, true).catch((commitError: unknown) => this.fail(commitError));
        throw error;
      }
      return records.length;
    });
  }

  /** The member moved past transaction markers or aborted records: the tasks' positions move with it. */
  private handlePositionAdvanced(advance: PositionAdvance): void {
    if (this.halted) return;
    void this.serial
      .run(async () => {
        if (this.halted || advance.epoch !== this.epoch) return;
        const tp = topicPartitionId(advance.topic, advance.partition);
        for (const active of this.registry.readersOf(tp)) {
          active.task.advancePosition(tp, advance.nextOffset);
          active.task.noteFetchPosition(tp, advance.nextOffset, advance.highWatermark);
        }
        this.lag.set(tp, Math.max(0, advance.highWatermark - advance.nextOffset));
        // The offset to commit (and a table store's checkpoint) moves even if no record follows.
        this.dirty = true;
        await this.runCycle(advance.epoch);
      })
      .catch((error: unknown) => this.fail(error));
  }

  private onTimer(): void {
    if (this.halted || this.registry.isRebalancing || !this.dirtyOrBuffered()) return;
    const epoch = this.epoch;
    void this.serial
      .run(async () => {
        if (!this.halted && epoch === this.epoch && !this.registry.isRebalancing) await this.runCycle(epoch);
      })
      .catch((error: unknown) => this.fail(error));
  }

  private dirtyOrBuffered(): boolean {
    if (this.dirty) return true;
    for (const t of this.registry.all()) if (!t.restoration.restoring && t.task.bufferedCount() > 0) return true;
    return false;
  }

  private fail(error: unknown): void {
    if (this.halted) return;
    this.halted = true;
    this.options.onFailure(error);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Processing and commits
  // -------------------------------------------------------------------------------------------------------------

  private async runCycle(epoch: number): Promise<void> {
    const now = Date.now();
    let processed = 0;
    // In passes of at most CYCLE_PASS_RECORDS per task, each pass's outputs handed to the collector before the next:
    // so a fetch's records, their parked lookups and their outputs are not all in memory at once, and the output
    // queue's bound (`makeRoom`) holds within a pass's outputs rather than a whole fetch's.
    for (;;) {
      const outputs: ProducedRecord[] = [];
      let pass = 0;
      for (const active of this.registry.all()) {
        if (active.restoration.restoring || !active.task.readyToProcess(now)) continue;
        const result = await active.task.process({ nowMs: now, maxRecords: CYCLE_PASS_RECORDS });
        pass += result.processed;
        if (result.processed > 0) this.noteProcessed(active.id, now);
        if (this.exactlyOnce) this.hold(active.id, result.outputs);
        else for (const record of result.outputs) outputs.push(record);
      }
      processed += pass;
      if (!this.exactlyOnce) {
        // Dead letters of records that failed after a repartition get the user's original record first (rare).
        this.collector.add(await completeDeadLetters(outputs, this.options.fetchRecords ?? noOriginals, this.options.logger));
        await this.collector.makeRoom();
      }
      if (pass < CYCLE_PASS_RECORDS || this.halted) break;
    }
    if (processed > 0) {
      this.dirty = true;
      this.counters.recordsProcessed += processed;
      this.counters.firstRecordProcessedAt ??= Date.now();
    }
    if (!this.dirty) return;
    // A table partition catching up is served once a commit holds it: do not wait for the interval then.
    if (
      Date.now() - this.lastCommitAt >= this.options.commitIntervalMs ||
      this.commitWouldCatchUp() ||
      this.heldBytes > (this.options.outputQueueBytes ?? MAX_QUEUED_OUTPUT_BYTES)
    ) {
      await this.commitAll(epoch, false);
      // Right after a commit: nothing pending in the stores.
      await this.dropMovedKeys();
    }
  }

  /**
   * Kept tasks of a grown topic drop the keys that moved away, once they processed every record written to their
   * stream inputs until MOVED_KEYS_GRACE_MS after the rebalance (records partitioned with the old counts).
   */
  private async dropMovedKeys(): Promise<void> {
    for (const active of [...this.registry.all()]) {
      const pending = active.movedKeys;
      if (pending === undefined || active.restoration.restoring) continue;
      if (pending.until === undefined) {
        if (Date.now() - pending.since < (this.options.movedKeysGraceMs ?? MOVED_KEYS_GRACE_MS)) continue;
        const until = new Map<TopicPartitionId, number>();
        for (const input of active.task.inputPartitions) {
          if (active.restoration.isTablePartition(input)) continue;
          const { topic, partition } = parseTopicPartitionId(input);
          until.set(input, (await this.options.cluster.fetchOffsetRanges(topic)).get(partition)?.end ?? 0);
        }
        pending.until = until;
      }
      if ([...pending.until].some(([tp, end]) => (active.task.position(tp) ?? 0) < end)) continue;
      active.movedKeys = undefined;
      await dropMovedKeys(active, this.taskContext);
    }
  }

  /** Exactly-once: keeps a task's outputs for its next transaction (bounded: past the limit the cycle commits). */
  private hold(id: TaskId, outputs: readonly ProducedRecord[]): void {
    if (outputs.length === 0) return;
    let held = this.heldOutputs.get(id);
    if (held === undefined) this.heldOutputs.set(id, (held = []));
    for (const record of outputs) {
      held.push(record);
      this.heldBytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
    }
  }

  /** A rebalance kept `kept` open: measure how long each of them goes without processing. */
  private startPauseMeasurement(kept: ReadonlySet<TaskId>): void {
    this.finishPauseMeasurement();
    for (const id of [...this.lastProcessedAt.keys()]) if (!kept.has(id)) this.lastProcessedAt.delete(id);
    for (const [id, at] of this.lastProcessedAt) this.pausedSince.set(id, at);
  }

  private noteProcessed(id: TaskId, now: number): void {
    this.lastProcessedAt.set(id, now);
    const since = this.pausedSince.get(id);
    if (since === undefined) return;
    this.pausedSince.delete(id);
    this.currentPause = Math.max(this.currentPause ?? 0, now - since);
    if (this.pausedSince.size === 0) this.finishPauseMeasurement();
  }

  /** Reports the latest rebalance's pause (kept tasks that never processed again do not count). */
  private finishPauseMeasurement(): void {
    this.pausedSince.clear();
    const pause = this.currentPause;
    this.currentPause = undefined;
    if (pause === undefined) return;
    this.pauses = { count: this.pauses.count + 1, lastMs: pause, maxMs: Math.max(this.pauses.maxMs ?? 0, pause) };
    this.options.logger.info('tasks kept through the rebalance processed again', { pauseMs: pause });
  }

  private commitWouldCatchUp(): boolean {
    for (const active of this.registry.all()) {
      if (!active.restoration.restoring && active.restoration.commitWouldCatchUp((tp) => active.task.position(tp))) return true;
    }
    return false;
  }

  /**
   * The commit: acknowledgements and store batches (commit-sequence.ts), then the offsets. A commit the coordinator refuses
   * because of a rebalance is dropped when `tolerateStale` (or always: the next owner re-processes from the last
   * accepted commit); other offset-commit failures are retried at the next interval. Store write errors throw.
   */
  private async commitAll(epoch: number, tolerateStale: boolean): Promise<void> {
    const started = Date.now();
    this.lastCommitAt = started;
    try {
      if (this.exactlyOnce) await this.commitInTransactions();
      else await this.commitAtLeastOnce(epoch, tolerateStale);
    } finally {
      const latency = this.counters.commitLatency;
      const took = Date.now() - started;
      latency.count++;
      latency.totalMs += took;
      latency.maxMs = Math.max(latency.maxMs, took);
    }
  }

  /**
   * Exactly-once: one transaction per task (commit-sequence.ts). A fenced task is closed (its new owner has it);
   * after any aborted transaction every task is reopened from the committed offsets, so the batch is processed again.
   */
  private async commitInTransactions(): Promise<void> {
    const outcomes = await commitTasksInTransactions(
      [...this.registry.all()].map((active) => this.transactional(active)),
      {
        groupId: this.options.groupId,
        takeOutputs: ({ active }) => {
          const held = this.heldOutputs.get(active.id) ?? [];
          this.heldOutputs.delete(active.id);
          return held;
        },
        extraOffsets: ({ active }) => active.restoration.floors(),
        lastCommitted: (tp) => this.committed.get(tp),
        assignPartitions: (records) => this.partitioner.assign(records),
        fetchRecords: this.options.fetchRecords ?? noOriginals,
        logger: this.options.logger,
      },
    );
    this.heldBytes = 0;
    this.dirty = false;
    const offsets = new Map<TopicPartitionId, number>();
    const failed: TransactionOutcome<{ active: ActiveTask }>[] = [];
    for (const outcome of outcomes) {
      if (outcome.result === 'unchanged') continue;
      if (outcome.result === 'committed') {
        this.counters.transactionsCommitted++;
        this.options.sender.noteSent(outcome.records);
        outcome.active.active.restoration.checkCaughtUp();
        for (const [tp, offset] of outcome.offsets) {
          offsets.set(tp, offset);
          this.committed.set(tp, offset);
        }
        continue;
      }
      this.counters.transactionsAborted++;
      failed.push(outcome);
    }
    if (offsets.size > 0) {
      this.counters.commits++;
      // The stores hold these records now: the change feed publishes them.
      this.options.changes?.committed(offsets);
    }
    if (failed.length === 0) return;
    for (const outcome of failed) {
      if (outcome.result !== 'fenced' && outcome.result !== 'aborted') continue;
      const { active } = outcome.active;
      if (outcome.result === 'fenced') {
        // A newer owner initialised the task's transactional id: stop here, write nothing more; the rebalance follows.
        this.options.logger.warn('task fenced by a newer owner: closing it without writing its uncommitted work', {
          task: active.id,
          error: outcome.error,
        });
        // A restoration still writing to its stores ends first (the rebalance that follows reopens what it left).
        const restoration = this.restoration;
        this.restoration = undefined;
        await restoration?.stop();
        const inputs = active.task.inputPartitions.map(parseTopicPartitionId);
        this.member.pause(inputs);
        for (const input of inputs) this.fencedInputs.push(input);
        await this.closeTask(active, false);
        await this.closeProducer(active.id);
      } else {
        this.options.logger.warn('transaction aborted: reprocessing from the committed offsets', { task: active.id, error: outcome.error });
        await this.closeProducer(active.id);
      }
    }
    if (failed.some((outcome) => outcome.result === 'aborted')) await this.reopenTasks();
  }

  /** Exactly-once: every task of the assignment closed (stores kept) and opened again from the committed offsets. */
  private async reopenTasks(): Promise<void> {
    const assignment = this.assignment;
    if (assignment === undefined) return;
    const open = [...this.registry.all()];
    for (const active of open) if (active.paused.length > 0) this.member.resume(active.paused);
    await this.closeTasks(new Set(open.map((active) => active.id)));
    this.heldOutputs.clear();
    this.heldBytes = 0;
    this.committed.clear();
    await this.openTasks({ ...assignment, mine: open.map((active) => active.id) });
  }

  private transactional(active: ActiveTask): {
    readonly active: ActiveTask;
    readonly task: ActiveTask['task'];
    readonly producer: TransactionalProducer;
  } {
    const producer = this.producers.get(active.id);
    if (producer === undefined) throw new Error(`task ${active.id} has no transactional producer`);
    return { active, task: active.task, producer };
  }

  private async closeProducer(id: TaskId): Promise<void> {
    const producer = this.producers.get(id);
    this.producers.delete(id);
    this.heldOutputs.delete(id);
    await producer
      ?.close()
      .catch((error: unknown) => this.options.logger.warn('closing a transactional producer failed', { task: id, error }));
  }

  /** At-least-once: acknowledgements, store batches, then the group commit. */
  private async commitAtLeastOnce(epoch: number, tolerateStale: boolean): Promise<void> {
    // Held-back updates, acknowledgements, store batches with their checkpoints (commit-sequence.ts); offsets below.
    const perTask = await commitTasks([...this.registry.all()], {
      collector: this.collector,
      fetchRecords: this.options.fetchRecords ?? noOriginals,
      logger: this.options.logger,
    });
    // The stores now hold what was processed: table partitions that reached their end offset are caught up.
    for (const { active } of perTask) active.restoration.checkCaughtUp();
    // Each topic-partition feeds exactly one task (the compiler puts all sources of a topic in one sub-topology).
    const offsets = new Map<TopicPartitionId, number>();
    for (const { active, offsets: taskOffsets } of perTask) {
      for (const [tp, offset] of taskOffsets) offsets.set(tp, offset);
      for (const [tp, floor] of active.restoration.floors()) if (!taskOffsets.has(tp)) offsets.set(tp, floor);
    }
    // The stores hold these records now: the change feed publishes them.
    this.options.changes?.committed(offsets);
    const changed = new Map([...offsets].filter(([tp, offset]) => this.committed.get(tp) !== offset));
    this.dirty = false;
    if (changed.size === 0 || epoch !== this.epoch) return;
    try {
      await this.member.commitOffsets(changed, epoch);
      for (const [tp, offset] of changed) this.committed.set(tp, offset);
      this.counters.commits++;
    } catch (error) {
      if (error instanceof StaleAssignmentError) {
        if (!tolerateStale) this.options.logger.debug('offset commit refused: the group is rebalancing', { partitions: changed.size });
        return;
      }
      this.dirty = true;
      this.options.logger.warn('offset commit failed; retrying at the next commit interval', { error });
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Task lifecycle and restoration
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Closes every task but those in `keepOpen`; closes the stores of tasks not in `keepStores` (their directories stay
   * for a later return).
   */
  private async closeTasks(keepStores: ReadonlySet<TaskId>, keepOpen: ReadonlySet<TaskId> = new Set()): Promise<void> {
    // Restoration writes to the stores: it ends (every write settled) before they close.
    const restoration = this.restoration;
    this.restoration = undefined;
    await restoration?.stop();
    const closing = [...this.registry.all()].filter((active) => !keepOpen.has(active.id));
    await Promise.all(closing.map((active) => this.closeTask(active, keepStores.has(active.id))));
    // Exactly-once: uncommitted outputs are dropped with their tasks (the next owner reprocesses them).
    this.heldOutputs.clear();
    this.heldBytes = 0;
    // Producers too: a kept task's producer may have been fenced meanwhile; the next opening initialises new ones.
    await Promise.all([...this.producers.keys()].map((id) => this.closeProducer(id)));
  }

  private closeTask(active: ActiveTask, keepStores: boolean): Promise<unknown> {
    this.registry.remove(active.id);
    this.checkpoints.note(active.id, active.stores);
    this.options.changes?.taskClosed(active);
    return closeActiveTask(active, keepStores, this.options.tracker);
  }

  private async openTasks(assignment: GroupAssignment): Promise<void> {
    const { topology, cluster, groupId, logger } = this.options;
    const kept = assignment.mine.filter((id) => this.registry.get(id) !== undefined);
    const opening = assignment.mine.filter((id) => this.registry.get(id) === undefined);
    for (const id of kept) this.resumeKept(id);
    // Committed offsets and log ranges of every input: table restoration ranges, where each input starts, and the end
    // offsets a task waits for (timestamp order across separately fetched partitions) and its tables catch up to.
    const inputTopics = [...new Set(opening.flatMap((id) => topology.subtopologies[parseTaskId(id).subtopology].sourceTopics))];
    // Exactly-once: fence the previous owners first, so the offsets read below are final (no transaction can add to them).
    if (this.exactlyOnce) await this.initProducers(assignment.mine);
    const committed =
      inputTopics.length > 0 ? await cluster.fetchCommittedOffsets(groupId, inputTopics) : new Map<TopicPartitionId, number>();
    const logs = new Map<TopicPartitionId, LogOffsets>();
    // Changelog topics of derived-table stores: restored from the store's checkpoint to their end (no committed offset).
    const changelogTopics = [...new Set(opening.flatMap((id) => topology.subtopologies[parseTaskId(id).subtopology].changelogTopics))];
    for (const topic of [...inputTopics, ...changelogTopics]) {
      for (const [partition, range] of await cluster.fetchOffsetRanges(topic)) logs.set(topicPartitionId(topic, partition), range);
    }
    for (const id of opening) this.registry.add(await this.openTask(id, committed, logs));
    logger.info('assignment set up', {
      epoch: assignment.epoch,
      tasks: assignment.mine.join(','),
      kept: kept.join(','),
      restoring: [...this.registry.all()]
        .filter((t) => t.restoration.restoring)
        .map((t) => t.id)
        .join(','),
      members: assignment.members.length,
    });
    this.startRestoration(assignment.epoch);
  }

  /**
   * A task kept open across the rebalance: the member forgot its fetch positions (eager revocation) and would start
   * at the committed offsets, so every input is sought to where the task expects its next record (after the records
   * it still holds buffered).
   */
  private resumeKept(id: TaskId): void {
    const active = this.registry.get(id);
    if (active === undefined) return;
    for (const input of active.task.inputPartitions) {
      const position = active.task.fetchPosition(input);
      if (position === undefined) continue;
      const { topic, partition } = parseTopicPartitionId(input);
      this.member.seek(topic, partition, position);
    }
  }

  /** Exactly-once: a transactional producer per task, initialised (fencing older ones). */
  private async initProducers(ids: readonly TaskId[]): Promise<void> {
    const factory = this.options.transactionalProducers as TransactionalProducerFactory;
    await Promise.all(
      ids.map(async (id) => {
        let producer = this.producers.get(id);
        if (producer === undefined) {
          producer = factory(transactionalIdOf(this.options.topology.applicationId, id));
          this.producers.set(id, producer);
        }
        await producer.init();
      }),
    );
  }

  /** Opens a task and positions its inputs: table partitions where the task takes over, all paused while it restores. */
  private async openTask(
    id: TaskId,
    committed: ReadonlyMap<TopicPartitionId, number>,
    logs: ReadonlyMap<TopicPartitionId, LogOffsets>,
  ): Promise<ActiveTask> {
    const active = await openActiveTask(id, this.taskContext, committed, logs);
    try {
      this.positionTask(active, committed, logs);
    } catch (error) {
      // Not registered yet: nothing else would close its stores (a later opening of the task would find them locked).
      await closeActiveTask(active, false, this.options.tracker);
      throw error;
    }
    return active;
  }

  /** Seeks a newly opened task's inputs: table partitions where restoration starts, the others where processing does. */
  private positionTask(
    active: ActiveTask,
    committed: ReadonlyMap<TopicPartitionId, number>,
    logs: ReadonlyMap<TopicPartitionId, LogOffsets>,
  ): void {
    const { task, restoration } = active;
    for (const start of restoration.starts) {
      this.member.seek(start.topic, start.partition, start.offset);
      task.noteFetchPosition(start.tp, start.offset, start.end);
    }
    for (const input of task.inputPartitions) {
      if (restoration.isTablePartition(input)) continue;
      const log = logs.get(input) ?? { start: 0, end: 0 };
      const offset = committed.get(input);
      if (offset !== undefined && (offset < log.start || offset > log.end)) {
        // Retention removed records never processed (or the topic was recreated): say so, and start at the log
        // start, as the consumer's reset to earliest would.
        this.options.logger.warn(
          offset < log.start
            ? `committed offset ${offset} of ${input} is below its log start offset ${log.start}: records between were removed before they were processed; resuming at ${log.start}`
            : `committed offset ${offset} of ${input} is past its end offset ${log.end} (topic recreated or truncated?); reading it from its log start ${log.start}`,
          { task: active.id, input, committed: offset, logStartOffset: log.start, endOffset: log.end },
        );
        const { topic, partition } = parseTopicPartitionId(input);
        this.member.seek(topic, partition, log.start);
      }
      const start = offset === undefined || offset < log.start || offset > log.end ? log.start : offset;
      if (this.exactlyOnce) {
        // The offsets read after fencing are final; the member must not start from any it read before.
        const { topic, partition } = parseTopicPartitionId(input);
        this.member.seek(topic, partition, start);
      }
      task.noteFetchPosition(input, start, log.end);
    }
    if (restoration.restoring) {
      for (const input of task.inputPartitions) active.paused.push(parseTopicPartitionId(input));
      this.member.pause(active.paused);
    }
    if (active.stores.size > 0) this.localStateTasks.add(active.id);
    this.options.changes?.taskOpened(active);
  }

  /**
   * Tasks whose topics grew first read their keys from earlier partitions (store-regrouping.ts), one partition after
   * the other, in the background; then the assignment's restoration job runs.
   */
  private startRestoration(epoch: number): void {
    const regrouping = [...this.registry.all()].filter((active) => active.regroup !== undefined);
    if (regrouping.length === 0) {
      this.startOwnRestoration(epoch);
      return;
    }
    const current: { reader?: ChangelogReader; stopped: boolean } = { stopped: false };
    let done: Promise<void> = Promise.resolve();
    const job = {
      stop: async () => {
        current.stopped = true;
        await current.reader?.stop();
        await done;
      },
    };
    this.restoration = job;
    const reader = (target: ChangelogTarget) =>
      new ChangelogReader({
        targets: [target],
        batchSize: this.options.restoreBatchRecords,
        readers: this.options.readers,
        groupIdPrefix: `${this.options.topology.applicationId}-regroup`,
      });
    // stop() waits for the reads only (it runs inside the serial queue; the hand-over below queues on it).
    done = (async () => {
      for (const active of regrouping) {
        const pending = active.regroup;
        if (pending === undefined) continue;
        const endOffset = async (tp: TopicPartitionId) => {
          const { topic, partition } = parseTopicPartitionId(tp);
          return (await this.options.cluster.fetchOffsetRanges(topic)).get(partition)?.end;
        };
        if (!(await runRegroup(pending, reader, current, endOffset))) {
          current.stopped = true;
          return;
        }
        active.regroup = undefined;
      }
    })();
    done
      .then(() =>
        this.serial.run(async () => {
          if (current.stopped || this.halted || epoch !== this.epoch || this.restoration !== job) return;
          this.restoration = undefined;
          for (const active of regrouping) {
            if (!this.registry.has(active)) continue;
            active.restoration.regrouped();
            if (!active.restoration.restoring) this.resumeRestored(active);
          }
          this.startOwnRestoration(epoch);
        }),
      )
      .catch((error: unknown) => {
        if (this.restoration === job && !this.halted) this.fail(error);
      });
    done = done.catch(() => undefined);
  }

  /** Restores every restoring task's table stores, in the background, with one ChangelogReader. */
  private startOwnRestoration(epoch: number): void {
    const tasks = [...this.registry.all()].filter((active) => active.restoration.restoring);
    const targets = tasks.flatMap((active) => active.restoration.targets());
    if (targets.length === 0) return;
    const taskOf = (target: ChangelogTarget): ActiveTask | undefined => tasks.find((active) => active.restoration.owns(target));
    const reader = new ChangelogReader({
      targets,
      batchSize: this.options.restoreBatchRecords,
      readers: this.options.readers,
      groupIdPrefix: `${this.options.topology.applicationId}-restore`,
      onProgress: (target, progress) => taskOf(target)?.restoration.progress(target, progress),
      onRestored: (target, result) => {
        void this.serial
          .run(async () => {
            if (this.halted || epoch !== this.epoch) return;
            const active = taskOf(target);
            if (active === undefined || !this.registry.has(active)) return;
            active.restoration.restored(target, result.restored);
            this.flushAfterRestore(target);
            if (!active.restoration.restoring) this.resumeRestored(active);
          })
          .catch((error: unknown) => this.fail(error));
      },
    });
    this.restoration = reader;
    reader.run().then(
      (results) => {
        if (this.restoration === reader && [...results.values()].every((result) => result.caughtUp)) this.restoration = undefined;
      },
      (error: unknown) => {
        if (this.restoration === reader) this.fail(error);
      },
    );
  }

  /**
   * A restored store's last write buffer (up to `memory.storeWriteBufferBytes`, per task store) would stay in memory
   * while the task only reads it: written out as a table file in the background, as a global store's after its
   * bootstrap. Not awaited (the task resumes at once); the store's `close()` waits for it.
   */
  private flushAfterRestore(target: ChangelogTarget): void {
    const { store } = target;
    if (store.flushWriteBuffer === undefined) return;
    const failed = (error: unknown): void =>
      this.options.logger.debug("writing out a restored store's write buffer failed (kept in memory)", {
        store: target.label,
        error: error instanceof Error ? error.message : String(error),
      });
    try {
      store.flushWriteBuffer().catch(failed);
    } catch (error) {
      failed(error); // closed meanwhile
    }
  }

  /** A task's last table partition is restored: its inputs flow, and it processes from where restoration ended. */
  private resumeRestored(active: ActiveTask): void {
    if (active.paused.length > 0) {
      this.member.resume(active.paused);
      active.paused.length = 0;
    }
    this.dirty = true;
    this.options.logger.info('task restored', { task: active.id });
  }
}

/** How long after a rebalance that changed partition counts other members may still flush records with the old ones. */
const MOVED_KEYS_GRACE_MS = 5000;

/**
 * Records a task processes per pass of a cycle (see `runCycle`). Outputs and parked lookups of a pass are live
 * together; a fetch of small records holds tens of thousands of them. Measured on a global join (README, Memory):
 * 4,000 took 15% off the peak RSS, 1,000 22% at a less certain CPU cost (a third of its pairs over +10%).
 */
const CYCLE_PASS_RECORDS = 4000;

const noOriginals: FetchRecords = async () => new Map();
