/**
 * The consumer-group member of a Tributary instance: joins the application's group with the sticky co-partitioning
 * assignor (assignor.ts), tells the runtime which tasks it owns and who owns every other task (with their HTTP
 * URLs, for query routing), and delivers records per topic-partition batch.
 *
 * The join handshake (the assigner every member offers, and reading the task map back after a join, which kafkajs
 * 2.2.4 needs because it drops assignment `userData` on followers) is in group-join.ts.
 *
 * How it keeps the contract of the group-member port (group-member.ts) on kafkajs, whose rebalances are eager and
 * have no revoke callback:
 * - `onRebalancing` comes from kafkajs's REBALANCING event, a failed `ctx.heartbeat()` or a rejected commit. kafkajs
 *   does not signal every rejoin this way (after UNKNOWN_MEMBER_ID or a metadata change it rejoins silently): hence
 *   the port's rule that the next `onAssignment` is the authoritative signal.
 * - kafkajs rejoins only after every batch of the current fetch has been handled, so `eachBatch` never overlaps a
 *   join (the fetch ahead of fetch-ahead.ts never rejoins: a failed one is dropped and kafkajs's own fetch recovers).
 * - Batches reach `eachBatch` as `ConsumedRecord`s built once from the response's bytes (fetch-response.ts,
 *   consumer-batch.ts); a batch's last offset is its last record batch's, so resolving its last record moves the
 *   position past the markers, aborted records and compacted tail that follow it. The next `onAssignment` waits for the previous one; one whose epoch was replaced before it started is
 *   skipped; `isCurrentEpoch(epoch)` lets a long one give up.
 * - The gate: on GROUP_JOIN (synchronous inside kafkajs, before it fetches again) every assigned partition is
 *   paused, and resumed only after `onAssignment` has resolved. `autoCommit` is off and kafkajs forgets its fetch
 *   positions on every rebalance, so an unsought partition starts at the committed offset.
 * - kafkajs keeps pending seeks across a rebalance and applies them if the partition comes back later: `seek()`
 *   refuses partitions not owned in the current epoch.
 * - The coordinator's REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID on a commit or heartbeat become
 *   StaleAssignmentError.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import kafkajs from 'kafkajs';
import type {
  Consumer,
  ConsumerCommitOffsetsEvent,
  ConsumerCrashEvent,
  ConsumerEndBatchProcessEvent,
  ConsumerGroupJoinEvent,
  EachBatchPayload,
} from 'kafkajs';
import {
  GroupConsumerCrashedError,
  GroupConsumerStateError,
  GroupMetadataError,
  OffsetCommitError,
  StaleAssignmentError,
  TributaryError,
} from '../../errors.js';
import { parseTopicPartitionId, topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { TaskSpec } from './assignor.js';
import type { TaskLogOffsets, WarmupOptions } from './warmup-assignor.js';
import type { GroupMap } from './group-protocol.js';
import type { Logger } from '../../common/logger.js';
import type { KafkaClient } from './client.js';
import { batchRecords, releaseBatchRecords } from './consumer-batch.js';
import { groupByTopic } from './kafka-records.js';
import { GroupJoin, type ReceivedTasks } from './group-join.js';
import type { BatchContext, GroupAssignment, GroupMember, GroupMemberHandlers, MemberIdStore, TopicPartition } from './group-member.js';
import { PreviousIncarnation } from './previous-incarnation.js';

export { TRIBUTARY_ASSIGNOR_NAME } from './group-protocol.js';

// kafkajs spreads its error classes into module.exports, which Node's ESM named-export detection cannot see.
const { KafkaJSProtocolError } = kafkajs;

export type GroupConsumerStatus = 'created' | 'joining' | 'rebalancing' | 'stable' | 'stopped' | 'crashed';

/** The kafkajs member's settings, plus the runtime's handlers (see group-member.ts). */
export interface GroupConsumerOptions extends GroupMemberHandlers {
  readonly client: KafkaClient;
  readonly groupId: string;
  /** The application's sub-topologies; every instance must pass the same ones (the leader assigns from its own). */
  readonly tasks: readonly TaskSpec[];
  /**
   * Called by the leader before every assignment for the specs with the partition counts of now (group-join.ts).
   * With it, a partition added to a subscribed topic makes kafkajs rejoin (it re-reads its metadata every
   * `metadataMaxAgeMs`), and the new partitions' tasks are assigned.
   */
  readonly refreshTasks?: () => Promise<readonly TaskSpec[]>;
  /** How often kafkajs re-reads topic metadata (and notices added partitions). Default 300000 (kafkajs). */
  readonly metadataMaxAgeMs?: number;
  /** This instance's HTTP query URL, published to every member. */
  readonly url: string;
  /** Stable across restarts (e.g. the state directory's id); used for deterministic tie-breaks. */
  readonly instanceId?: string;
  /**
   * Keeps this instance's member id between incarnations: at start the member a crashed previous incarnation left in
   * the group is removed before joining (previous-incarnation.ts), so the join does not wait out its session.
   */
  readonly memberIds?: MemberIdStore;
  /** Standby replicas per task when this member leads the group (every instance should pass the same). Default 0. */
  readonly numStandbyReplicas?: number;
  /** The warm-up rule when this member leads (warmup-assignor.ts; every instance should pass the same). Default off. */
  readonly warmup?: WarmupOptions;
  /** With `warmup`: the log offsets of the partitions feeding each stateful task's stores (group-join.ts). */
  readonly taskLogOffsets?: (tasks: readonly TaskSpec[]) => Promise<TaskLogOffsets>;
  /** Default 30000 (kafkajs). The broker bounds it with group.min/max.session.timeout.ms. */
  readonly sessionTimeoutMs?: number;
  /** Default 60000 (kafkajs): how long the coordinator waits for every member to rejoin. */
  readonly rebalanceTimeoutMs?: number;
  /** Default 3000 (kafkajs); keep at most a third of the session timeout. */
  readonly heartbeatIntervalMs?: number;
  /** Where a partition starts when the group has no committed offset for it. Default true (earliest). */
  readonly fromBeginning?: boolean;
  readonly fetch?: {
    /**
     * Default 500. Also how long kafkajs sleeps when every assigned partition is paused, so it bounds the delay
     * between `onAssignment` resolving and the first records.
     */
    readonly maxWaitTimeMs?: number;
    readonly minBytes?: number;
    readonly maxBytes?: number;
    /** Default 1 MiB; keep it at least the topics' max.message.bytes, or the consumer can get stuck on a larger record. */
    readonly maxBytesPerPartition?: number;
  };
  /** Batches of different partitions handled at once. Default 1. */
  readonly partitionsConsumedConcurrently?: number;
}

interface PendingCommit {
  readonly entries: readonly { readonly topic: string; readonly partition: number; readonly offset: string }[];
  done: boolean;
}

const REBALANCE_ERROR_TYPES: ReadonlySet<string> = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

export class GroupConsumer implements GroupMember {
  private readonly options: GroupConsumerOptions;
  private readonly topics: readonly string[];
  private readonly logger: Logger;
  /** The assigner and the task-map read-back (group-join.ts). */
  private readonly join: GroupJoin;
  private consumer: Consumer | undefined;
  /** Removes a crashed previous incarnation's member before joining; saves this one's member id. */
  private readonly incarnation: PreviousIncarnation;
  private currentStatus: GroupConsumerStatus = 'created';
  private epoch = 0;
  /** Epoch in which `onRebalancing` already fired (fire once per epoch). */
  private rebalanceSignalledEpoch = -1;
  /** `requestRebalance()` was called: the next batch makes kafkajs rejoin instead of being handled. */
  private rebalanceRequested = false;
  private owned: ReadonlySet<TopicPartitionId> = new Set();
  /** True from GROUP_JOIN until `onAssignment` of that epoch resolved: the assigned partitions stay paused. */
  private gated = true;
  private readonly userPaused = new Set<TopicPartitionId>();
  private assignment: GroupAssignment | undefined;
  private firstAssignment: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** `onAssignment` calls run one after another: the next waits for this one. */
  private assignmentQueue: Promise<void> = Promise.resolve();
  /** Commits in flight, marked when kafkajs reports them done (it silently skips commits while not running). */
  private readonly pendingCommits = new Set<PendingCommit>();

  constructor(options: GroupConsumerOptions) {
    this.options = options;
    this.topics = [...new Set(options.tasks.flatMap((spec) => spec.topics))].sort();
    this.logger = options.client.logger;
    this.join = new GroupJoin({ ...options, logger: this.logger });
    this.incarnation = new PreviousIncarnation(options.groupId, options.memberIds, this.logger);
  }

  status(): GroupConsumerStatus {
    return this.currentStatus;
  }

  /** False once a newer assignment replaced `epoch`: long work for that epoch (restoration) can give up. */
  isCurrentEpoch(epoch: number): boolean {
    return epoch === this.epoch && this.currentStatus !== 'stopped' && this.currentStatus !== 'crashed';
  }

  /** The assignment whose records are flowing; undefined before the first one and while a new one is being set up. */
  currentAssignment(): GroupAssignment | undefined {
    return this.gated ? undefined : this.assignment;
  }

  /**
   * Connects, joins the group and resolves once the first `onAssignment` has resolved. Rejects if the consumer
   * crashes for good or is stopped first.
   */
  async start(): Promise<void> {
    if (this.currentStatus !== 'created')
      throw new GroupConsumerStateError(`start() was called when ${this.currentStatus}; create a new GroupConsumer to start again`);
    this.currentStatus = 'joining';
    const { options } = this;
    const consumer = options.client.consumer({
      groupId: options.groupId,
      partitionAssigners: [this.incarnation.assigner(this.join.assigner())],
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.fetch?.maxWaitTimeMs ?? 500,
      minBytes: options.fetch?.minBytes,
      maxBytes: options.fetch?.maxBytes,
      maxBytesPerPartition: options.fetch?.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      metadataMaxAge: options.metadataMaxAgeMs,
    });
    this.consumer = consumer;
    const first = new Promise<void>((resolve, reject) => {
      this.firstAssignment = { resolve, reject };
    });
    // It may settle while run() is still pending; awaited below, this only keeps Node from calling it unhandled.
    first.catch(() => undefined);
    consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => this.onGroupJoin(event.payload));
    consumer.on(consumer.events.REBALANCING, () => this.signalRebalancing(this.epoch));
    consumer.on(consumer.events.CRASH, (event: ConsumerCrashEvent) => this.onCrash(event.payload.error, event.payload.restart));
    consumer.on(consumer.events.COMMIT_OFFSETS, (event: ConsumerCommitOffsetsEvent) => this.onCommitted(event.payload.topics));
    consumer.on(consumer.events.END_BATCH_PROCESS, (event: ConsumerEndBatchProcessEvent) => this.onBatchEnd(event.payload));
    try {
      await consumer.connect();
      await this.incarnation.leave();
      await consumer.subscribe({ topics: [...this.topics], fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      this.currentStatus = 'crashed';
      this.firstAssignment = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw new GroupConsumerCrashedError(options.groupId, { cause: error });
    }
    await first;
  }

  /**
   * Leaves the group (the others rebalance at once) and disconnects; waits for the batch in progress. Commit
   * before calling it: from here on `commitOffsets` throws (kafkajs would skip the commit silently).
   */
  async stop(): Promise<void> {
    if (this.currentStatus === 'stopped') return;
    this.currentStatus = 'stopped';
    this.gated = true;
    this.firstAssignment?.reject(new GroupConsumerStateError('stopped before the first assignment'));
    this.firstAssignment = undefined;
    await this.consumer?.disconnect();
    await this.incarnation.settled();
  }

  /**
   * The next record read from `topic`/`partition` will be at `offset`. Only for partitions owned in the current
   * epoch (StaleAssignmentError otherwise); honoured at the next fetch, and batches already fetched for the
   * partition report `isStale()`.
   */
  seek(topic: string, partition: number, offset: number): void {
    const consumer = this.runningConsumer('seek()');
    const id = topicPartitionId(topic, partition);
    if (!this.owned.has(id)) throw new StaleAssignmentError('seek() on a partition this member does not own', [id]);
    consumer.seek({ topic, partition, offset: String(offset) });
  }

  /**
   * Asks for a rebalance: at the next batch this member fetches (of any owned partition) it rejoins the group.
   * Nothing happens while no records arrive.
   */
  requestRebalance(): void {
    if (this.currentStatus === 'stopped' || this.currentStatus === 'crashed') return;
    this.rebalanceRequested = true;
  }

  /** Stops fetching these partitions (of the current assignment; others are ignored) until `resume()`. */
  pause(partitions: readonly TopicPartition[]): void {
    const consumer = this.runningConsumer('pause()');
    const owned = partitions.filter(({ topic, partition }) => this.owned.has(topicPartitionId(topic, partition)));
    for (const { topic, partition } of owned) this.userPaused.add(topicPartitionId(topic, partition));
    if (owned.length > 0) consumer.pause(groupByTopic(owned));
  }

  resume(partitions: readonly TopicPartition[]): void {
    const consumer = this.runningConsumer('resume()');
    const owned = partitions.filter(({ topic, partition }) => this.userPaused.delete(topicPartitionId(topic, partition)));
    if (owned.length > 0 && !this.gated) consumer.resume(groupByTopic(owned));
  }

  /**
   * Commits `offsets` (topic-partition → next offset to read) for the group. `epoch` is the assignment the work
   * belongs to; StaleAssignmentError when it is not the current one, when a partition is not owned, or when the
   * coordinator rejects the generation. Other failures: OffsetCommitError.
   */
  async commitOffsets(offsets: ReadonlyMap<TopicPartitionId, number>, epoch: number): Promise<void> {
    const consumer = this.runningConsumer('commitOffsets()');
    if (epoch !== this.epoch) {
      throw new StaleAssignmentError(`commit for epoch ${epoch}, but the current epoch is ${this.epoch}`, [...offsets.keys()]);
    }
    const notOwned = [...offsets.keys()].filter((id) => !this.owned.has(id));
    if (notOwned.length > 0) throw new StaleAssignmentError('commit for partitions this member does not own', notOwned);
    if (offsets.size === 0) return;
    const entries = [...offsets].map(([id, offset]) => ({ ...parseTopicPartitionId(id), offset: String(offset) }));
    const pending: PendingCommit = { entries, done: false };
    this.pendingCommits.add(pending);
    try {
      await consumer.commitOffsets(entries);
    } catch (error) {
      if (isRebalanceError(error)) {
        this.signalRebalancing(epoch);
        throw new StaleAssignmentError('the group coordinator rejected the commit: the group is rebalancing', [...offsets.keys()], {
          cause: error,
        });
      }
      throw new OffsetCommitError(this.options.groupId, { cause: error });
    } finally {
      this.pendingCommits.delete(pending);
    }
    if (!pending.done) {
      // kafkajs resolves without committing when its runner is not running (stopping, or restarting after a crash).
      throw new OffsetCommitError(this.options.groupId, { cause: new Error('kafkajs skipped the commit: the consumer is not running') });
    }
  }

  private onCommitted(topics: ConsumerCommitOffsetsEvent['payload']['topics']): void {
    const committed = new Set<string>();
    for (const { topic, partitions } of topics) {
      for (const { partition, offset } of partitions) committed.add(`${topic}:${partition}@${String(offset)}`);
    }
    for (const pending of this.pendingCommits) {
      if (pending.entries.every((e) => committed.has(`${e.topic}:${e.partition}@${e.offset}`))) pending.done = true;
    }
  }

  private runningConsumer(method: string): Consumer {
    if (
      this.consumer === undefined ||
      this.currentStatus === 'created' ||
      this.currentStatus === 'stopped' ||
      this.currentStatus === 'crashed'
    ) {
      throw new GroupConsumerStateError(`${method} needs a started consumer, but it is ${this.currentStatus}`);
    }
    return this.consumer;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Assignment
  // -------------------------------------------------------------------------------------------------------------

  /**
   * GROUP_JOIN: runs synchronously inside kafkajs, before it fetches for the new generation, which is what makes
   * the pause below a reliable gate.
   */
  private onGroupJoin(payload: ConsumerGroupJoinEvent['payload']): void {
    // A throw here would propagate into kafkajs's join/sync and fail it: report instead.
    try {
      this.beginAssignment(payload);
    } catch (error) {
      this.reportError(new GroupConsumerCrashedError(this.options.groupId, { cause: error }));
    }
  }

  private beginAssignment(payload: ConsumerGroupJoinEvent['payload']): void {
    const consumer = this.consumer;
    if (consumer === undefined || this.currentStatus === 'stopped') return;
    const epoch = ++this.epoch;
    this.incarnation.joined(payload.memberId);
    this.currentStatus = 'rebalancing';
    this.gated = true;
    // Any rebalance answers a pending request (another member's may have come first).
    this.rebalanceRequested = false;
    const received = this.join.received(payload.memberAssignment);
    if (received === undefined) {
      this.owned = new Set();
      this.reportError(
        new GroupMetadataError(
          this.options.groupId,
          `the assignment ${JSON.stringify(payload.memberAssignment)} splits a co-partitioned task; is another assignor in use?`,
        ),
      );
      return;
    }
    const { topicPartitions } = received;
    this.join.heldTasks = received.mine;
    this.owned = new Set(topicPartitions.map(({ topic, partition }) => topicPartitionId(topic, partition)));
    for (const id of this.userPaused) if (!this.owned.has(id)) this.userPaused.delete(id);
    if (topicPartitions.length > 0) consumer.pause(groupByTopic(topicPartitions));
    const leaderMap = this.join.leaderResult(payload.isLeader);
    this.completeAssignment(consumer, epoch, payload, received, leaderMap).catch((error: unknown) =>
      this.reportError(new GroupConsumerCrashedError(this.options.groupId, { cause: error })),
    );
  }

  private async completeAssignment(
    consumer: Consumer,
    epoch: number,
    payload: ConsumerGroupJoinEvent['payload'],
    received: ReceivedTasks,
    leaderMap: GroupMap | undefined,
  ): Promise<void> {
    const stillCurrent = (): boolean => epoch === this.epoch && this.currentStatus !== 'stopped';
    const map = await this.join.taskMap(consumer, payload.memberId, received.mine, leaderMap, stillCurrent);
    const previous = this.assignmentQueue;
    let finished = (): void => {};
    this.assignmentQueue = new Promise<void>((resolve) => {
      finished = resolve;
    });
    try {
      await previous;
      if (map === undefined || epoch !== this.epoch) return; // superseded by a newer assignment, or stopped
      const assignment = this.join.assignment(epoch, payload, received, map);
      this.join.heldStandbys = assignment.standbys ?? [];
      await this.deliverAssignment(assignment);
    } finally {
      finished();
    }
  }

  private async deliverAssignment(assignment: GroupAssignment): Promise<void> {
    const { epoch, topicPartitions } = assignment;
    this.assignment = assignment;
    try {
      await this.options.onAssignment(assignment);
    } catch (error) {
      this.reportError(error instanceof TributaryError ? error : new GroupConsumerCrashedError(this.options.groupId, { cause: error }));
      return;
    }
    const consumer = this.consumer;
    if (epoch !== this.epoch || consumer === undefined || this.currentStatus === 'stopped') return;
    this.gated = false;
    this.currentStatus = 'stable';
    const flowing = topicPartitions.filter(({ topic, partition }) => !this.userPaused.has(topicPartitionId(topic, partition)));
    if (flowing.length > 0) consumer.resume(groupByTopic(flowing));
    this.firstAssignment?.resolve();
    this.firstAssignment = undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Records
  // -------------------------------------------------------------------------------------------------------------

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const id = topicPartitionId(batch.topic, batch.partition);
    // Fetched before a pause, a gate or a revocation: leave the offsets unresolved so the records are fetched again.
    if (this.gated || this.userPaused.has(id) || !this.owned.has(id)) return;
    if (this.rebalanceRequested) {
      // kafkajs has no call to rejoin; its own rebalance error sends it down its rejoin path (REBALANCING, then a
      // JoinGroup whose metadata differs by the request count, so the coordinator rebalances even for a follower).
      this.rebalanceRequested = false;
      this.join.rebalanceRequests++;
      throw new KafkaJSProtocolError(
        Object.assign(new Error('this member asked for a rebalance (probing for caught-up warm-ups)'), {
          type: 'REBALANCE_IN_PROGRESS',
          code: 27,
          retriable: true,
        }),
      );
    }
    const epoch = this.epoch;
    const records = batchRecords(batch);
    const context: BatchContext = {
      topic: batch.topic,
      partition: batch.partition,
      epoch,
      highWatermark: Number(batch.highWatermark),
      heartbeat: async () => {
        try {
          await payload.heartbeat();
        } catch (error) {
          if (!isRebalanceError(error)) throw error;
          this.signalRebalancing(epoch);
          throw new StaleAssignmentError('the group is rebalancing', [id], { cause: error });
        }
      },
      isStale: () =>
        payload.isStale() || epoch !== this.epoch || this.rebalanceSignalledEpoch === epoch || this.gated || this.userPaused.has(id),
    };
    let processed: number | void;
    try {
      processed = await this.options.eachBatch(records, context);
    } catch (error) {
      // Hand kafkajs its own error back so it takes its rejoin path instead of retrying the batch.
      if (error instanceof StaleAssignmentError && isRebalanceError(error.cause)) throw error.cause;
      throw error;
    }
    const count = processed === undefined ? records.length : Math.max(0, Math.min(records.length, Math.floor(processed)));
    const last = records[count - 1];
    if (last === undefined) return;
    payload.resolveOffset(String(last.offset));
    releaseBatchRecords(batch);
    // Resolving a batch's last record makes kafkajs resolve the batch's last offset, past the transaction markers
    // and aborted records that follow it in the same fetch: the position moved past offsets never delivered.
    const batchEnd = Number(batch.lastOffset()) + 1;
    if (count === records.length && batchEnd > last.offset + 1 && epoch === this.epoch && !this.gated) {
      this.reportPositionAdvanced(batch.topic, batch.partition, batchEnd, Number(batch.highWatermark));
    }
  }

  /**
   * kafkajs resolves batches holding only transaction markers or aborted records itself (they never reach
   * eachBatch) and reports them with END_BATCH_PROCESS and `batchSize` 0: the partition's position moved past them.
   * Batches eachBatch saw (or skipped while gated or paused: not resolved, fetched again) are not reported here.
   */
  private onBatchEnd(payload: ConsumerEndBatchProcessEvent['payload']): void {
    if (payload.batchSize !== 0 || this.gated || this.currentStatus === 'stopped') return;
    const id = topicPartitionId(payload.topic, payload.partition);
    if (!this.owned.has(id) || this.userPaused.has(id)) return;
    this.reportPositionAdvanced(payload.topic, payload.partition, Number(payload.lastOffset) + 1, Number(payload.highWatermark));
  }

  private reportPositionAdvanced(topic: string, partition: number, nextOffset: number, highWatermark: number): void {
    if (!Number.isSafeInteger(nextOffset)) return;
    try {
      this.options.onPositionAdvanced?.({ topic, partition, epoch: this.epoch, nextOffset, highWatermark });
    } catch (error) {
      this.logger.error('onPositionAdvanced threw', { groupId: this.options.groupId, error: String(error) });
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Signals
  // -------------------------------------------------------------------------------------------------------------

  private signalRebalancing(epoch: number): void {
    if (epoch !== this.epoch || this.rebalanceSignalledEpoch === epoch) return;
    this.rebalanceSignalledEpoch = epoch;
    if (this.currentStatus === 'stable') this.currentStatus = 'rebalancing';
    // Called from inside kafkajs's event emitter: a throw would land in kafkajs's fetch loop.
    try {
      this.options.onRebalancing?.({ epoch });
    } catch (error) {
      this.logger.error('onRebalancing threw', { groupId: this.options.groupId, error: String(error) });
    }
  }

  private onCrash(error: Error, restart: boolean): void {
    this.signalRebalancing(this.epoch);
    if (restart || this.currentStatus === 'stopped') return; // kafkajs rejoins by itself; the next GROUP_JOIN follows
    this.currentStatus = 'crashed';
    this.gated = true;
    const failure = this.join.assignorFailure ?? new GroupConsumerCrashedError(this.options.groupId, { cause: error });
    this.reportError(failure);
  }

  private reportError(error: TributaryError): void {
    if (this.firstAssignment !== undefined) {
      this.firstAssignment.reject(error);
      this.firstAssignment = undefined;
    }
    this.logger.error(error.message, { groupId: this.options.groupId, code: error.code });
    try {
      this.options.onError?.(error);
    } catch (callbackError) {
      this.logger.error('onError threw', { groupId: this.options.groupId, error: String(callbackError) });
    }
  }
}

/** kafkajs wraps protocol errors (NonRetriable → Protocol): look for the broker's error type down the cause chain. */
function isRebalanceError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && REBALANCE_ERROR_TYPES.has(type)) return true;
  }
  return false;
}
