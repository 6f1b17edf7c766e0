/**
 * A group member for unit tests of the runtime: it implements the group-member port (group-member.ts) over a
 * `FakeCluster`, and the test plays the coordinator and the fetch loop: `assign()` delivers an assignment,
 * `poll()` delivers one batch per flowing partition, `signalRebalance()` and `rebalanceOnHeartbeat` start a
 * rebalance, `refuseCommits` makes the coordinator reject commits. It keeps the port's contract: every assignment
 * revokes everything, records flow only after `onAssignment` resolved, an unsought partition starts at the
 * group's committed offset (earliest without one), seeks and commits need owned partitions of the current epoch,
 * pauses are per assignment, `isStale()` reports seeks, pauses and rebalances since the fetch, and a fetch that
 * finds only markers or gaps moves the position past them with `onPositionAdvanced`.
 */
import { GroupConsumerCrashedError, GroupConsumerStateError, StaleAssignmentError, TributaryError } from '../../../errors.js';
import { parseTopicPartitionId, topicPartitionId, type TopicPartitionId } from '../../../common/records.js';
import type { TaskId } from '../../../common/task-id.js';
import { topicPartitionsOfTasks, type TaskSpec } from '../assignor.js';
import type {
  BatchContext,
  GroupAssignment,
  GroupMember,
  GroupMemberHandlers,
  GroupMemberInfo,
  TaskOwner,
  TopicPartition,
} from '../group-member.js';
import type { FakeCluster } from './fake-cluster.js';

export interface FakeGroupMemberOptions {
  readonly groupId: string;
  readonly tasks: readonly TaskSpec[];
  readonly memberId?: string;
  /** Records per delivered batch. Default 100. */
  readonly maxBatchRecords?: number;
}

export class FakeGroupMember implements GroupMember {
  /** Changes when the test plays a coordinator that expired this member's session (it rejoins as a new member). */
  memberId: string;
  /** Every seek, in order. */
  readonly seeks: { readonly topic: string; readonly partition: number; readonly offset: number }[] = [];
  /** Every accepted commit, in order. */
  readonly commits: { readonly offsets: ReadonlyMap<TopicPartitionId, number>; readonly epoch: number }[] = [];
  /** Epochs `onRebalancing` fired for. */
  readonly rebalancesSignalled: number[] = [];
  /** The next `context.heartbeat()` throws StaleAssignmentError (a rebalance detected mid-batch). */
  rebalanceOnHeartbeat = false;
  /** `requestRebalance()` calls that led to a rejoin (the next poll with a batch signals a rebalance instead). */
  rebalancesRequested = 0;
  private rebalanceRequested = false;
  /** The coordinator rejects commits as from an old generation (StaleAssignmentError) while set. */
  refuseCommits = false;
  status: 'created' | 'started' | 'stopped' = 'created';

  private epoch = 0;
  private signalledEpoch = -1;
  private gated = true;
  private assignment: GroupAssignment | undefined;
  private owned = new Set<TopicPartitionId>();
  private readonly paused = new Set<TopicPartitionId>();
  private readonly positions = new Map<TopicPartitionId, number>();
  /** Bumped by every seek and pause, so a batch fetched before one reports stale. */
  private readonly changes = new Map<TopicPartitionId, number>();
  private firstAssignment: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private markStarted: () => void = () => {};
  /** Resolves once `start()` was called: the runtime has joined and waits for its first assignment. */
  readonly started = new Promise<void>((resolve) => {
    this.markStarted = resolve;
  });

  constructor(
    private readonly cluster: FakeCluster,
    private readonly handlers: GroupMemberHandlers,
    private readonly options: FakeGroupMemberOptions,
  ) {
    this.memberId = options.memberId ?? 'member-1';
  }

  // The port --------------------------------------------------------------------------------------------------------

  start(): Promise<void> {
    this.status = 'started';
    const first = new Promise<void>((resolve, reject) => {
      this.firstAssignment = { resolve, reject };
    });
    this.markStarted();
    return first;
  }

  async stop(): Promise<void> {
    this.status = 'stopped';
    this.gated = true;
    this.firstAssignment?.reject(new Error('stopped before the first assignment'));
    this.firstAssignment = undefined;
  }

  seek(topic: string, partition: number, offset: number): void {
    this.requireStarted('seek()');
    const tp = this.requireOwned(topic, partition, 'seek()');
    this.positions.set(tp, offset);
    this.bump(tp);
    this.seeks.push({ topic, partition, offset });
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.requireStarted('pause()');
    for (const { topic, partition } of partitions) {
      const tp = topicPartitionId(topic, partition);
      if (!this.owned.has(tp)) continue;
      this.paused.add(tp);
      this.bump(tp);
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.requireStarted('resume()');
    for (const { topic, partition } of partitions) this.paused.delete(topicPartitionId(topic, partition));
  }

  async commitOffsets(offsets: ReadonlyMap<TopicPartitionId, number>, epoch: number): Promise<void> {
    this.requireStarted('commitOffsets()');
    if (epoch !== this.epoch) throw new StaleAssignmentError(`commit for epoch ${epoch}, current ${this.epoch}`, [...offsets.keys()]);
    const notOwned = [...offsets.keys()].filter((tp) => !this.owned.has(tp));
    if (notOwned.length > 0) throw new StaleAssignmentError('commit for partitions this member does not own', notOwned);
    if (this.refuseCommits) {
      this.signalRebalance();
      throw new StaleAssignmentError('the coordinator rejected the commit: the group is rebalancing', [...offsets.keys()]);
    }
    this.cluster.commit(this.options.groupId, offsets);
    this.commits.push({ offsets: new Map(offsets), epoch });
  }

  currentAssignment(): GroupAssignment | undefined {
    return this.gated ? undefined : this.assignment;
  }

  requestRebalance(): void {
    if (this.status === 'started') this.rebalanceRequested = true;
  }

  // The coordinator and the fetch loop, driven by the test ---------------------------------------------------------

  get currentEpoch(): number {
    return this.epoch;
  }

  isPaused(topic: string, partition: number): boolean {
    return this.paused.has(topicPartitionId(topic, partition));
  }

  /** What the member would send in its next JoinGroup: the runtime's local-state and lag hints. */
  joinHints(): { readonly localTasks: readonly TaskId[]; readonly taskLags: ReadonlyMap<TaskId, number> } {
    return { localTasks: this.handlers.localTasks?.() ?? [], taskLags: this.handlers.taskLags?.() ?? new Map() };
  }

  /** The position the next fetch of a partition starts at. */
  position(topic: string, partition: number): number | undefined {
    return this.positions.get(topicPartitionId(topic, partition));
  }

  /**
   * A new generation: revokes everything, assigns `mine` (other members' tasks in `others`), waits for
   * `onAssignment`, then lets records flow. Resolves `start()` the first time.
   */
  async assign(mine: readonly TaskId[], others: readonly Omit<GroupMemberInfo, 'instanceId'>[] = []): Promise<void> {
    const epoch = ++this.epoch;
    this.gated = true;
    this.rebalanceRequested = false;
    const topicPartitions = [...topicPartitionsOfTasks(mine, this.options.tasks)].flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    this.owned = new Set(topicPartitions.map(({ topic, partition }) => topicPartitionId(topic, partition)));
    this.paused.clear();
    this.positions.clear();
    const committed = this.cluster.committed(this.options.groupId);
    for (const tp of this.owned) this.positions.set(tp, committed.get(tp) ?? 0);
    const members: GroupMemberInfo[] = [
      { memberId: this.memberId, url: `http://${this.memberId}`, instanceId: undefined, tasks: [...mine] },
      ...others.map((other) => ({ ...other, instanceId: undefined })),
    ];
    const all = new Map<TaskId, TaskOwner>();
    for (const member of members) for (const id of member.tasks) all.set(id, member);
    this.assignment = {
      epoch,
      assignmentId: `assignment-${epoch}`,
      memberId: this.memberId,
      isLeader: true,
      mine: [...mine],
      topicPartitions,
      all,
      members,
    };
    try {
      await this.handlers.onAssignment(this.assignment);
    } catch (error) {
      this.handlers.onError?.(
        error instanceof TributaryError ? error : new GroupConsumerCrashedError(this.options.groupId, { cause: error }),
      );
      return;
    }
    if (epoch !== this.epoch || this.status !== 'started') return;
    this.gated = false;
    this.firstAssignment?.resolve();
    this.firstAssignment = undefined;
  }

  /** A rebalance is detected (kafkajs's REBALANCING event): `onRebalancing` once per epoch. */
  signalRebalance(): void {
    if (this.signalledEpoch === this.epoch) return;
    this.signalledEpoch = this.epoch;
    this.rebalancesSignalled.push(this.epoch);
    this.handlers.onRebalancing?.({ epoch: this.epoch });
  }

  /**
   * One fetch round: a batch from every owned, flowing partition with records past its position, handled one
   * after another. Returns how many records the handler took. A StaleAssignmentError from the handler (the
   * heartbeat's) ends the round, as kafkajs would rejoin; any other error is rethrown.
   */
  async poll(): Promise<number> {
    if (this.status !== 'started' || this.gated) return 0;
    let taken = 0;
    for (const tp of [...this.owned].sort()) {
      if (this.paused.has(tp)) continue;
      const { topic, partition } = parseTopicPartitionId(tp);
      const from = this.positions.get(tp) ?? 0;
      // Below the log start (retention): Kafka's reset to the earliest offset.
      const { records, next } = this.cluster.fetch(topic, partition, from, this.options.maxBatchRecords ?? 100);
      const highWatermark = this.cluster.endOffset(topic, partition);
      if (records.length === 0) {
        // Only markers, aborted records or gaps: never delivered, but the position moves past them.
        if (next > from) {
          this.positions.set(tp, next);
          this.handlers.onPositionAdvanced?.({ topic, partition, epoch: this.epoch, nextOffset: next, highWatermark });
          taken++;
        }
        continue;
      }
      if (this.rebalanceRequested) {
        // Like kafkajs: the batch is not handled, the member rejoins (the test plays the next assignment).
        this.rebalanceRequested = false;
        this.rebalancesRequested++;
        this.signalRebalance();
        return taken;
      }
      const epoch = this.epoch;
      const version = this.changeCount(tp);
      const context: BatchContext = {
        topic,
        partition,
        epoch,
        highWatermark,
        heartbeat: async () => {
          if (!this.rebalanceOnHeartbeat) return;
          this.rebalanceOnHeartbeat = false;
          this.signalRebalance();
          throw new StaleAssignmentError('the group is rebalancing', [tp]);
        },
        isStale: () =>
          epoch !== this.epoch || this.signalledEpoch === epoch || this.gated || this.paused.has(tp) || this.changeCount(tp) !== version,
      };
      let processed: number | void;
      try {
        processed = await this.handlers.eachBatch(records, context);
      } catch (error) {
        if (error instanceof StaleAssignmentError) return taken;
        throw error;
      }
      const count = processed === undefined ? records.length : Math.max(0, Math.min(records.length, Math.floor(processed)));
      taken += count;
      // A seek or a new assignment since the fetch decides the next position instead.
      // Like kafkajs: taking the last record of a fetch resolves the fetch's last offset, past trailing markers
      // (reported with onPositionAdvanced); otherwise the position is after the last record taken.
      if (epoch === this.epoch && this.changeCount(tp) === version && count > 0) {
        const after = records[count - 1].offset + 1;
        this.positions.set(tp, count === records.length ? next : after);
        if (count === records.length && next > after) {
          this.handlers.onPositionAdvanced?.({ topic, partition, epoch, nextOffset: next, highWatermark });
        }
      }
    }
    return taken;
  }

  /** Polls until a round takes nothing (or `maxRounds`); returns the records taken. */
  async pollUntilIdle(maxRounds = 100): Promise<number> {
    let total = 0;
    for (let round = 0; round < maxRounds; round++) {
      const taken = await this.poll();
      if (taken === 0) return total;
      total += taken;
    }
    return total;
  }

  private requireStarted(method: string): void {
    if (this.status !== 'started') throw new GroupConsumerStateError(`${method} needs a started member, but it is ${this.status}`);
  }

  private requireOwned(topic: string, partition: number, method: string): TopicPartitionId {
    const tp = topicPartitionId(topic, partition);
    if (!this.owned.has(tp)) throw new StaleAssignmentError(`${method} on a partition this member does not own`, [tp]);
    return tp;
  }

  private bump(tp: TopicPartitionId): void {
    this.changes.set(tp, this.changeCount(tp) + 1);
  }

  private changeCount(tp: TopicPartitionId): number {
    return this.changes.get(tp) ?? 0;
  }
}
