/**
 * GroupConsumer's side of the join handshake on kafkajs: the assigner every member offers, and reading the task map
 * back after a join (group-protocol.ts has the wire format).
 * - JoinGroup: each member's metadata carries its HTTP URL, instance id, the tasks it holds (the stickiness hint)
 *   and the tasks it has local state for. Only the leader runs `assign`: it refreshes the task specs (`refreshTasks`:
 *   partition counts of now, internal topics grown; without it it checks co-partitioning against the cluster
 *   metadata) and encodes the full task → member map into every member's assignment `userData`.
 * - kafkajs drops the assignment `userData` on followers, so after GROUP_JOIN every member (the leader uses its own
 *   result when it agrees) reads the map back with `describeGroup()`, retrying until the group is Stable and the map
 *   agrees with the partitions the member received.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { Assigner, Consumer, GroupMember as KafkaGroupMember, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import kafkajs from 'kafkajs';
import { GroupMetadataError, TributaryError } from '../../errors.js';
import type { Logger } from '../../common/logger.js';
import type { TaskId } from '../../common/task-id.js';
import { tasksOfTopicPartitions, topicPartitionsOfTasks, type TaskSpec } from './assignor.js';
import type { TaskLogOffsets, WarmupOptions } from './warmup-assignor.js';
import type { GroupAssignment, TaskOwner, TopicPartition } from './group-member.js';
import {
  agrees,
  buildLeaderAssignment,
  checkCoPartitioning,
  decodeGroupMap,
  decodeMemberUserData,
  encodeMemberMetadata,
  PROTOCOL_VERSION,
  TRIBUTARY_ASSIGNOR_NAME,
  type GroupMap,
  type MemberUserData,
} from './group-protocol.js';

// kafkajs spreads its error classes into module.exports, which Node's ESM named-export detection cannot see
// (a named import works under vitest's transform but fails under plain node/tsx).
const { KafkaJSNonRetriableError } = kafkajs;

export interface GroupJoinOptions {
  readonly groupId: string;
  readonly tasks: readonly TaskSpec[];
  /**
   * Called by the leader before every assignment: the task specs from the partition counts of now (input topics may
   * have grown; internal topics are grown to match before it resolves). Without it the leader assigns `tasks`.
   */
  readonly refreshTasks?: () => Promise<readonly TaskSpec[]>;
  readonly url: string;
  readonly instanceId?: string;
  readonly localTasks?: () => readonly TaskId[];
  /** This member's lag per task it holds state of, sent in every JoinGroup (see group-member.ts). */
  readonly taskLags?: () => ReadonlyMap<TaskId, number>;
  /** Checkpoint offset sums of task state on disk this member does not hold (see group-member.ts). */
  readonly taskOffsetSums?: () => ReadonlyMap<TaskId, number>;
  /** Standby replicas per task when this member leads (see standby-assignor.ts). Default 0. */
  readonly numStandbyReplicas?: number;
  /** The warm-up rule when this member leads (warmup-assignor.ts); absent: tasks move at once. */
  readonly warmup?: WarmupOptions;
  /**
   * With `warmup`, asked by the leader before every assignment: per stateful task, the sums of the log start and end
   * offsets of the partitions feeding its stores (lags from checkpoint sums; restoring from scratch). A rejection is
   * logged; members then count as behind unless they reported a lag.
   */
  readonly taskLogOffsets?: (tasks: readonly TaskSpec[]) => Promise<TaskLogOffsets>;
  readonly logger: Logger;
}

/** This member's share of one join: its tasks and the topic-partitions they read. */
export interface ReceivedTasks {
  readonly mine: readonly TaskId[];
  readonly topicPartitions: readonly TopicPartition[];
}

export class GroupJoin {
  /** Tasks held: the stickiness hint sent in the next JoinGroup (kept while rebalancing, as Java's client does). */
  heldTasks: readonly TaskId[] = [];
  /** Standbys held: their stickiness hint. */
  heldStandbys: readonly TaskId[] = [];
  /** Rebalances this member asked for: sent in JoinGroup so its metadata differs and the coordinator rebalances. */
  rebalanceRequests = 0;
  /** The leader's own last result (saves it a describeGroup round trip). */
  private leaderMap: GroupMap | undefined;
  private failure: TributaryError | undefined;
  /** The sub-topologies with their current partition counts (the leader refreshes them at every assignment). */
  private tasks: readonly TaskSpec[];

  constructor(private readonly options: GroupJoinOptions) {
    this.tasks = options.tasks;
  }

  /** The task specs as of the last refresh (the partition counts every join is assigned with). */
  get currentTasks(): readonly TaskSpec[] {
    return this.tasks;
  }

  /** A member learned newer counts (e.g. a follower at its assignment): later joins it leads use them. */
  set currentTasks(tasks: readonly TaskSpec[]) {
    this.tasks = tasks;
  }

  /** A non-retriable error the assignor raised inside kafkajs; report it instead of kafkajs's wrapper. */
  get assignorFailure(): TributaryError | undefined {
    return this.failure;
  }

  /** The kafkajs `partitionAssigners` entry. */
  assigner(): PartitionAssigner {
    return ({ cluster }) => {
      const assigner: Assigner = {
        name: TRIBUTARY_ASSIGNOR_NAME,
        version: PROTOCOL_VERSION,
        protocol: ({ topics }) => ({
          name: TRIBUTARY_ASSIGNOR_NAME,
          metadata: encodeMemberMetadata(topics, {
            url: this.options.url,
            instanceId: this.options.instanceId ?? null,
            previousTasks: this.heldTasks,
            localTasks: this.localTasks(),
            previousStandbys: this.heldStandbys,
            taskLags: this.hint('taskLags', () => this.options.taskLags?.()),
            taskOffsetSums: this.hint('taskOffsetSums', () => this.options.taskOffsetSums?.()),
            rebalanceRequests: this.rebalanceRequests,
          }),
        }),
        assign: async ({ members }) => {
          try {
            if (this.options.refreshTasks !== undefined) {
              // The refresh validates the counts (and grows internal topics); kafkajs read its metadata before that,
              // and one co-partitioned input may have grown before the other: tasks keep the last agreed counts.
              this.tasks = await this.options.refreshTasks();
              await cluster.refreshMetadata();
            } else {
              checkCoPartitioning(this.tasks, (topic) => cluster.findTopicPartitionMetadata(topic).length);
            }
            return this.assignAsLeader(members, await this.taskLogOffsets());
          } catch (error) {
            if (error instanceof TributaryError) {
              // kafkajs would retry (and restart on) any other error forever; these do not heal by retrying.
              this.failure = error;
              throw new KafkaJSNonRetriableError(error);
            }
            throw error;
          }
        },
      };
      return assigner;
    };
  }

  /**
   * The tasks behind the partitions this member was assigned (GROUP_JOIN's `memberAssignment`); undefined when they
   * split a co-partitioned task (another assignor is in use).
   */
  received(memberAssignment: Readonly<Record<string, readonly number[]>>): ReceivedTasks | undefined {
    const mine = tasksOfTopicPartitions(memberAssignment, this.tasks);
    if (mine === undefined) return undefined;
    const topicPartitions = [...topicPartitionsOfTasks(mine, this.tasks)].flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    return { mine, topicPartitions };
  }

  /** What the runtime sees of a join (group-member.ts): this member's tasks and the owner of every task. */
  assignment(
    epoch: number,
    member: { readonly memberId: string; readonly isLeader: boolean },
    received: ReceivedTasks,
    map: GroupMap,
  ): GroupAssignment {
    const all = new Map<TaskId, TaskOwner>();
    for (const owner of map.members) {
      for (const id of owner.tasks) all.set(id, { memberId: owner.memberId, url: owner.url, instanceId: owner.instanceId });
    }
    return {
      epoch,
      assignmentId: map.assignmentId,
      memberId: member.memberId,
      isLeader: member.isLeader,
      mine: received.mine,
      standbys: map.members.find((m) => m.memberId === member.memberId)?.standbys ?? [],
      topicPartitions: received.topicPartitions,
      all,
      members: map.members,
    };
  }

  /** The leader's own map for the join that just completed; take it at GROUP_JOIN, before a later join replaces it. */
  leaderResult(isLeader: boolean): GroupMap | undefined {
    return isLeader ? this.leaderMap : undefined;
  }

  /**
   * The task map of the assignment `mine` that `memberId` received: `leaderMap` when it agrees, else read back with
   * describeGroup. That returns member metadata and assignments only while the group is Stable and carries no
   * generation id, so it is retried until the map agrees; undefined once `stillCurrent()` turns false.
   */
  async taskMap(
    consumer: Pick<Consumer, 'describeGroup'>,
    memberId: string,
    mine: readonly TaskId[],
    leaderMap: GroupMap | undefined,
    stillCurrent: () => boolean,
  ): Promise<GroupMap | undefined> {
    if (leaderMap !== undefined && agrees(leaderMap, memberId, mine)) return leaderMap;
    for (let attempt = 0; stillCurrent(); attempt++) {
      try {
        const description = await consumer.describeGroup();
        if (description.state === 'Stable') {
          const map = decodeGroupMap(description.members.map((m) => m.memberAssignment));
          if (map !== undefined && agrees(map, memberId, mine)) return map;
        }
      } catch (error) {
        this.options.logger.warn('describeGroup failed while reading the task map; retrying', {
          groupId: this.options.groupId,
          error: String(error),
        });
      }
      await sleep(Math.min(1000, 25 * 2 ** attempt));
    }
    return undefined;
  }

  /** Called inside kafkajs's JoinGroup: a throw must not escape into it. */
  private localTasks(): readonly TaskId[] {
    try {
      return this.options.localTasks?.() ?? [];
    } catch (error) {
      this.options.logger.error('localTasks() threw; joining without local-state hints', {
        groupId: this.options.groupId,
        error: String(error),
      });
      return [];
    }
  }

  /** Called inside kafkajs's JoinGroup, like localTasks. */
  private hint(name: string, read: () => ReadonlyMap<TaskId, number> | undefined): [TaskId, number][] {
    try {
      return [...(read() ?? [])].filter(([, value]) => Number.isFinite(value) && value >= 0);
    } catch (error) {
      this.options.logger.error(`${name}() threw; joining without it`, { groupId: this.options.groupId, error: String(error) });
      return [];
    }
  }

  private async taskLogOffsets(): Promise<TaskLogOffsets> {
    if (this.options.warmup === undefined || this.options.taskLogOffsets === undefined) return new Map();
    try {
      return await this.options.taskLogOffsets(this.tasks);
    } catch (error) {
      this.options.logger.warn('could not read the log offsets of stateful tasks; members count as behind unless they report a lag', {
        groupId: this.options.groupId,
        error: String(error),
      });
      return new Map();
    }
  }

  private assignAsLeader(members: readonly KafkaGroupMember[], taskLogOffsets: TaskLogOffsets): GroupMemberAssignment[] {
    const decoded = members.map((member) => ({ memberId: member.memberId, data: this.decodeMemberMetadata(member) }));
    const warmup = this.options.warmup === undefined ? undefined : { ...this.options.warmup, taskLogOffsets };
    const { map, assignments } = buildLeaderAssignment(this.tasks, decoded, this.options.numStandbyReplicas ?? 0, warmup);
    this.leaderMap = map;
    return assignments;
  }

  private decodeMemberMetadata(member: KafkaGroupMember): MemberUserData {
    const data = decodeMemberUserData(member.memberMetadata);
    if (data !== undefined) return data;
    throw new GroupMetadataError(this.options.groupId, `member ${member.memberId} sent metadata this version cannot read`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
