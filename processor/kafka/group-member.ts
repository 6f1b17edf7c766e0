/**
 * The consumer-group member port: what the runtime needs from a member of the application's group, and nothing
 * else. `GroupConsumer` (kafkajs) implements it; the runtime depends only on this file, so a fake member (unit
 * tests) or another Kafka client plugs in at the same seam. No client library is imported here.
 *
 * The contract every implementation keeps (the runtime's correctness rests on it):
 * 1. Every assignment revokes everything before it (eager). `onRebalancing` fires at most once per epoch, as soon
 *    as a rebalance is detected; it is a hint, the authoritative signal is the next `onAssignment`: treat it as
 *    "revoke all, then assign `mine`".
 * 2. `eachBatch` never runs concurrently with a join or with `onAssignment`, and `onAssignment` calls never overlap.
 *    A batch delivered in epoch E is handled while this member still belongs to generation E (unless it took longer
 *    than the session timeout: then the coordinator has already evicted it).
 * 3. Records are gated per assignment: no record of `mine` is delivered before `onAssignment` resolved, so `seek()`
 *    calls made inside it decide the first record delivered. Without a seek, a partition starts at the group's
 *    committed offset (earliest when there is none), not where this member stopped reading.
 * 4. `BatchContext.isStale()` is true when the batch's records must not be applied: a seek is pending for the
 *    partition, it was paused after the batch was fetched, or a rebalance was detected since. Check it after awaits.
 * 5. Commits name the epoch they belong to. `commitOffsets` refuses with StaleAssignmentError a commit for another
 *    epoch, for partitions not owned in the current one, or one the coordinator rejects because the group moved on.
 *    A commit made while a rebalance is pending but before this member rejoined is accepted: that is the window to
 *    flush the current epoch's work (e.g. right after `context.heartbeat()` threw StaleAssignmentError).
 * 6. `seek()` accepts only partitions owned in the current epoch; seek every newly assigned partition in
 *    `onAssignment`.
 * 7. Pauses are per assignment: a partition paused and then revoked is not paused when it is assigned again.
 * 8. A partition's fetch position moves past offsets without a deliverable record (transaction markers, aborted
 *    records), which never reach `eachBatch`: `onPositionAdvanced` reports such a move for an owned, flowing
 *    partition of the current epoch, after every batch of it delivered before. Everything deliverable below
 *    `nextOffset` was delivered.
 */
import type { TributaryError } from '../../errors.js';
import type { ConsumedRecord, TopicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Who owns a task, as the HTTP layer needs it for routing. */
export interface TaskOwner {
  readonly memberId: string;
  readonly url: string;
  readonly instanceId: string | undefined;
}

export interface GroupMemberInfo extends TaskOwner {
  readonly tasks: readonly TaskId[];
  /** Tasks this member keeps standby replicas of (`numStandbyReplicas`), warm-ups included. */
  readonly standbys?: readonly TaskId[];
  /** Of those, the warm-ups: tasks it will take over once caught up (warmup-assignor.ts). */
  readonly warmups?: readonly TaskId[];
}

export interface GroupAssignment {
  /** Local counter: +1 on every assignment this member receives. Pass it to `commitOffsets`. */
  readonly epoch: number;
  /** Made by the leader for one generation: every member of that generation sees the same id and map. */
  readonly assignmentId: string;
  readonly memberId: string;
  readonly isLeader: boolean;
  /** This member's tasks, sorted by (subtopology, partition). */
  readonly mine: readonly TaskId[];
  /** Tasks this member keeps standby replicas of (none unless the leader runs with `numStandbyReplicas`). */
  readonly standbys?: readonly TaskId[];
  /** The topic-partitions `mine` reads (partition p of every source topic of the task's sub-topology). */
  readonly topicPartitions: readonly TopicPartition[];
  /** Every task of the application → its owner. */
  readonly all: ReadonlyMap<TaskId, TaskOwner>;
  readonly members: readonly GroupMemberInfo[];
}

export interface BatchContext {
  readonly topic: string;
  readonly partition: number;
  /** The epoch (see `GroupAssignment.epoch`) the batch was fetched in. */
  readonly epoch: number;
  /** The partition's high watermark when the batch was fetched (last stable offset under read_committed). */
  readonly highWatermark: number;
  /**
   * Sends a heartbeat if one is due; call it in long loops. Throws StaleAssignmentError when the group is
   * rebalancing: stop work on this batch (offsets of the current epoch may still be committed right away).
   */
  heartbeat(): Promise<void>;
  /** True when the batch's remaining records must not be applied (point 4 above). */
  isStale(): boolean;
}

/** The member moved past offsets of a partition without delivering records (point 8 above). */
export interface PositionAdvance {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  /** The partition's next fetch starts here. */
  readonly nextOffset: number;
  /** The partition's high watermark at that fetch. */
  readonly highWatermark: number;
}

/**
 * Handles one batch of one topic-partition. Return how many records (a prefix of `records`) were processed; the
 * rest is fetched again, from the first unprocessed offset (that is the backpressure: return fewer, and `pause()`
 * the partition until there is room). Returning nothing means all of them.
 * Throwing makes the member deliver the batch again (same offsets) and, if that keeps failing, rejoin the group,
 * which rebalances every member. Handle record errors (error policies) inside, and throw only when the member
 * cannot go on. The StaleAssignmentError of `context.heartbeat()` may be rethrown: it makes the member rejoin at once.
 */
export type BatchHandler = (records: readonly ConsumedRecord[], context: BatchContext) => Promise<number | void>;

/** What the member asks of the runtime: the callbacks it drives and the join-time hints it reads. */
export interface GroupMemberHandlers {
  readonly eachBatch: BatchHandler;
  /**
   * After every rebalance, with this member's tasks and the full map. Records of `mine` flow only after it
   * resolves; seek there. If it throws, the error goes to `onError` and this assignment stays paused.
   */
  readonly onAssignment: (assignment: GroupAssignment) => Promise<void> | void;
  /** The fetch position moved past offsets without records (point 8); runs synchronously, do not throw. */
  readonly onPositionAdvanced?: (advance: PositionAdvance) => void;
  /** A rebalance started: the current assignment is about to be revoked (answer queries with 503). */
  readonly onRebalancing?: (event: { readonly epoch: number }) => void;
  /** Errors outside any call: a crash (GroupConsumerCrashedError), a failing `onAssignment`, bad group metadata. */
  readonly onError?: (error: TributaryError) => void;
  /**
   * Tasks this instance has state for on local disk, asked at every join. The assignor prefers this member for
   * them when they have to move anyway (e.g. they come back after a restart), without moving more tasks.
   */
  readonly localTasks?: () => readonly TaskId[];
  /**
   * How many records behind its inputs this instance's state of each task it holds state of is (0 for a task it
   * processes and has restored; a standby's or warm-up's lag), asked at every join for the warm-up rule
   * (warmup-assignor.ts). Absent: none reported, every moving task moves at once.
   */
  readonly taskLags?: () => ReadonlyMap<TaskId, number>;
  /**
   * For tasks whose state is on local disk but neither processed nor kept as a standby here: the sum of the
   * checkpoint offsets of the partitions feeding its stores (the leader turns it into a lag). Asked at every join.
   */
  readonly taskOffsetSums?: () => ReadonlyMap<TaskId, number>;
}

export interface GroupMember {
  /** Joins the group; resolves once the first `onAssignment` has resolved. Rejects if the member fails for good first. */
  start(): Promise<void>;
  /**
   * Leaves the group (the others rebalance at once); waits for the batch in progress. Commit before calling it:
   * from here on `commitOffsets` throws.
   */
  stop(): Promise<void>;
  /** The next record read from `topic`/`partition` will be at `offset` (point 6 above). */
  seek(topic: string, partition: number, offset: number): void;
  /** Stops fetching these partitions (of the current assignment; others are ignored) until `resume()`. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Commits `offsets` (topic-partition → next offset to read) for the group, for the work of `epoch` (point 5). */
  commitOffsets(offsets: ReadonlyMap<TopicPartitionId, number>, epoch: number): Promise<void>;
  /** The assignment whose records are flowing; undefined before the first one and while a new one is being set up. */
  currentAssignment(): GroupAssignment | undefined;
  /**
   * Asks the group for a rebalance (the probing rebalance of warm-ups): the member rejoins at its next chance,
   * which on kafkajs is the next batch it fetches; `onRebalancing` and `onAssignment` follow as for any rebalance.
   */
  requestRebalance(): void;
}

/**
 * Where an instance keeps the group member id of its current incarnation (the runtime: a file in the state
 * directory). Kafka clients without static membership get a new member id at every start, and the member of a
 * crashed incarnation stays in the group until its session times out, stalling the next rebalance that long; the
 * next incarnation reads the id back and removes that member before it joins.
 */
export interface MemberIdStore {
  /** The member id the previous incarnation last joined with, if any. */
  load(): Promise<string | undefined>;
  /** Called after every join with the id this incarnation holds now (the same id repeatedly most of the time). */
  save(memberId: string): Promise<void>;
}

/** Builds a member that drives `handlers`; the runtime calls it once, then `start()`. */
export type GroupMemberFactory = (handlers: GroupMemberHandlers) => GroupMember;
