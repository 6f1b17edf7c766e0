/**
 * The wire format of Tributary's consumer-group protocol, and the leader's assignment. Pure: no kafkajs client,
 * only kafkajs's `AssignerProtocol` codecs.
 *
 * - JoinGroup member metadata carries `MemberUserData` (msgpack): the member's query URL, its stable instance id,
 *   the tasks it held (stickiness), the tasks it has local state for and how far behind that state is (warm-ups).
 * - SyncGroup assignments carry `AssignmentUserData` (msgpack), the SAME bytes for every member: the full
 *   task → member map with an `assignmentId` the leader mints once per rebalance. kafkajs drops assignment userData
 *   for followers, so they decode it from `describeGroup()` (see group-consumer.ts).
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import kafkajs from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import { CoPartitioningError } from '../../errors.js';
import { isTaskId, parseTaskId, type TaskId } from '../../common/task-id.js';
import { assignTasks, topicPartitionsOfTasks, type AssignorMember, type TaskSpec } from './assignor.js';
import { assignStandbys } from './standby-assignor.js';
import { keepCaughtUpOwners, type WarmupOptions } from './warmup-assignor.js';
import type { GroupMemberInfo } from './group-member.js';

// kafkajs spreads its exports into module.exports, which Node's ESM named-export detection cannot see.
const { AssignerProtocol } = kafkajs;

/** The name every member must offer in JoinGroup; a member offering another protocol is refused by the broker. */
export const TRIBUTARY_ASSIGNOR_NAME = 'tributary-sticky-copartitioned';
export const PROTOCOL_VERSION = 1;

/** Member metadata `userData` (JoinGroup). */
export interface MemberUserData {
  readonly v: number;
  readonly url: string;
  readonly instanceId: string | null;
  readonly previousTasks: readonly TaskId[];
  readonly localTasks: readonly TaskId[];
  /** Standbys held in the last assignment (absent from members of earlier versions: none). */
  readonly previousStandbys?: readonly TaskId[];
  /**
   * How many records behind the end of its inputs this member's state of a task is, for the tasks it holds state of:
   * 0 for a task it processes (restored), the standby's or warm-up's lag otherwise (absent: none reported).
   */
  readonly taskLags?: readonly (readonly [TaskId, number])[];
  /** Tasks with state on disk it does not hold: the sum of their stores' checkpoint offsets (absent: none). */
  readonly taskOffsetSums?: readonly (readonly [TaskId, number])[];
  /**
   * Rebalances this member asked for. A follower rejoining a stable group with unchanged metadata gets its current
   * assignment back without a rebalance (the coordinator's rule); the count makes a requested rejoin a rebalance.
   */
  readonly rebalanceRequests?: number;
}

/** Assignment `userData` (SyncGroup): the same bytes for every member. */
interface AssignmentUserData {
  readonly v: number;
  readonly assignmentId: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly url: string;
    readonly instanceId: string | null;
    readonly tasks: readonly TaskId[];
    readonly standbys?: readonly TaskId[];
    readonly warmups?: readonly TaskId[];
  }[];
}

/** The full map as this member knows it for one assignment. */
export interface GroupMap {
  readonly assignmentId: string;
  readonly members: readonly GroupMemberInfo[];
}

/** JoinGroup metadata for this member. */
export function encodeMemberMetadata(topics: string[], member: Omit<MemberUserData, 'v'>): Buffer {
  return AssignerProtocol.MemberMetadata.encode({
    version: PROTOCOL_VERSION,
    topics,
    userData: pack({ v: PROTOCOL_VERSION, ...member } satisfies MemberUserData),
  });
}

/** A member's userData, or undefined when this version cannot read it. */
export function decodeMemberUserData(memberMetadata: Buffer): MemberUserData | undefined {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(memberMetadata) ?? { userData: Buffer.alloc(0) };
    const data: unknown = unpack(userData);
    return isMemberUserData(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Throws `CoPartitioningError` when a sub-topology's topics no longer share its partition count. */
export function checkCoPartitioning(tasks: readonly TaskSpec[], partitionCount: (topic: string) => number): void {
  for (const spec of tasks) {
    const counts = Object.fromEntries(spec.topics.map((topic) => [topic, partitionCount(topic)]));
    if (Object.values(counts).some((count) => count !== spec.partitions)) {
      throw new CoPartitioningError(spec.subtopology, counts, spec.partitions);
    }
  }
}

/**
 * The leader's side of SyncGroup: run the assignor, mint the assignment id, encode every member's assignment. With
 * `warmup`, stateful tasks whose balanced target is not caught up stay where the state is and the target warms up
 * (warmup-assignor.ts); a warm-up is also listed among the member's standbys, which is what keeps it.
 */
export function buildLeaderAssignment(
  tasks: readonly TaskSpec[],
  members: readonly { readonly memberId: string; readonly data: MemberUserData }[],
  standbyReplicas = 0,
  warmup?: WarmupOptions,
): { readonly map: GroupMap; readonly assignments: { memberId: string; memberAssignment: Buffer }[] } {
  const assignorMembers: AssignorMember[] = members.map((m) => ({
    memberId: m.memberId,
    instanceId: m.data.instanceId ?? undefined,
    previousTasks: m.data.previousTasks,
    localTasks: m.data.localTasks,
  }));
  const balanced = assignTasks(tasks, assignorMembers);
  const result =
    warmup === undefined
      ? { ...balanced, warmupsByMember: new Map<string, readonly TaskId[]>() }
      : keepCaughtUpOwners(
          tasks,
          balanced,
          members.map((m) => ({
            memberId: m.memberId,
            instanceId: m.data.instanceId ?? undefined,
            previousTasks: m.data.previousTasks,
            taskLags: new Map(m.data.taskLags ?? []),
            taskOffsetSums: new Map(m.data.taskOffsetSums ?? []),
          })),
          warmup,
        );
  const standbys = assignStandbys(
    tasks,
    result,
    members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.data.instanceId ?? undefined,
      previousStandbys: m.data.previousStandbys ?? [],
      localTasks: m.data.localTasks,
    })),
    standbyReplicas,
  );
  const map: GroupMap = {
    assignmentId: randomBytes(8).toString('hex'),
    members: members
      .map((m) => ({
        memberId: m.memberId,
        url: m.data.url,
        instanceId: m.data.instanceId ?? undefined,
        tasks: result.tasksByMember.get(m.memberId) ?? [],
        standbys: union(standbys.get(m.memberId) ?? [], result.warmupsByMember.get(m.memberId) ?? []),
        warmups: result.warmupsByMember.get(m.memberId) ?? [],
      }))
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)),
  };
  const userData = pack({
    v: PROTOCOL_VERSION,
    assignmentId: map.assignmentId,
    members: map.members.map((m) => ({
      memberId: m.memberId,
      url: m.url,
      instanceId: m.instanceId ?? null,
      tasks: m.tasks,
      standbys: m.standbys ?? [],
      warmups: m.warmups ?? [],
    })),
  } satisfies AssignmentUserData);
  const assignments = map.members.map((member) => ({
    memberId: member.memberId,
    memberAssignment: AssignerProtocol.MemberAssignment.encode({
      version: PROTOCOL_VERSION,
      assignment: Object.fromEntries(topicPartitionsOfTasks(member.tasks, tasks)),
      userData,
    }),
  }));
  return { map, assignments };
}

/** True when `map` gives `memberId` exactly the tasks it was assigned. */
export function agrees(map: GroupMap, memberId: string, mine: readonly TaskId[]): boolean {
  const member = map.members.find((m) => m.memberId === memberId);
  return member !== undefined && member.tasks.length === mine.length && member.tasks.every((id, i) => id === mine[i]);
}

/** Every member's assignment carries the same map; undefined unless all that carry one agree. */
export function decodeGroupMap(assignments: readonly Buffer[]): GroupMap | undefined {
  let map: GroupMap | undefined;
  for (const buffer of assignments) {
    if (buffer.length === 0) return undefined;
    let data: unknown;
    try {
      data = unpack(AssignerProtocol.MemberAssignment.decode(buffer)?.userData ?? Buffer.alloc(0));
    } catch {
      return undefined;
    }
    if (!isAssignmentUserData(data)) return undefined;
    if (map === undefined) {
      map = {
        assignmentId: data.assignmentId,
        members: data.members.map((m) => ({
          memberId: m.memberId,
          url: m.url,
          instanceId: m.instanceId ?? undefined,
          tasks: m.tasks,
          standbys: m.standbys ?? [],
          warmups: m.warmups ?? [],
        })),
      };
    } else if (map.assignmentId !== data.assignmentId) {
      return undefined;
    }
  }
  return map;
}

function isMemberUserData(data: unknown): data is MemberUserData {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<Record<keyof MemberUserData, unknown>>;
  return (
    d.v === PROTOCOL_VERSION &&
    typeof d.url === 'string' &&
    (d.instanceId === null || typeof d.instanceId === 'string') &&
    Array.isArray(d.previousTasks) &&
    d.previousTasks.every(isTaskId) &&
    Array.isArray(d.localTasks) &&
    d.localTasks.every(isTaskId) &&
    (d.previousStandbys === undefined || (Array.isArray(d.previousStandbys) && d.previousStandbys.every(isTaskId))) &&
    (d.taskLags === undefined || (Array.isArray(d.taskLags) && d.taskLags.every(isTaskLag))) &&
    (d.taskOffsetSums === undefined || (Array.isArray(d.taskOffsetSums) && d.taskOffsetSums.every(isTaskLag))) &&
    (d.rebalanceRequests === undefined || typeof d.rebalanceRequests === 'number')
  );
}

function isTaskLag(entry: unknown): entry is readonly [TaskId, number] {
  return Array.isArray(entry) && entry.length === 2 && isTaskId(entry[0]) && typeof entry[1] === 'number' && entry[1] >= 0;
}

function isAssignmentUserData(data: unknown): data is AssignmentUserData {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<Record<keyof AssignmentUserData, unknown>>;
  return (
    d.v === PROTOCOL_VERSION &&
    typeof d.assignmentId === 'string' &&
    Array.isArray(d.members) &&
    d.members.every((m: unknown) => {
      if (typeof m !== 'object' || m === null) return false;
      const member = m as Record<string, unknown>;
      return (
        typeof member.memberId === 'string' &&
        typeof member.url === 'string' &&
        (member.instanceId === null || typeof member.instanceId === 'string') &&
        Array.isArray(member.tasks) &&
        member.tasks.every(isTaskId) &&
        (member.standbys === undefined || (Array.isArray(member.standbys) && member.standbys.every(isTaskId))) &&
        (member.warmups === undefined || (Array.isArray(member.warmups) && member.warmups.every(isTaskId)))
      );
    })
  );
}

/** `a` and the ids of `b` it lacks, in task order. */
function union(a: readonly TaskId[], b: readonly TaskId[]): TaskId[] {
  const ids = [...new Set([...a, ...b])];
  return ids.sort((x, y) => {
    const [px, py] = [parseTaskId(x), parseTaskId(y)];
    return px.subtopology - py.subtopology || px.partition - py.partition;
  });
}
