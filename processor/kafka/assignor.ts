/**
 * The sticky co-partitioning task assignor: pure logic, no kafkajs.
 *
 * A task is one partition of one sub-topology: `(subtopology, partition)`. All source topics of a sub-topology share
 * one partition count (co-partitioning), so the owner of task `(s, p)` reads partition `p` of EVERY topic of `s`;
 * a member's topic-partitions are derived from its tasks, never assigned on their own.
 *
 * Guarantees of `assignTasks` (property-tested in assignor.test.ts):
 * - every task goes to exactly one member;
 * - task counts per member differ by at most 1, overall AND within each sub-topology (so every instance holds a
 *   share of every partitioned store, instead of one holding all of sub-topology 0 and another all of 1);
 * - sticky: a task stays with the member that held it before whenever balance allows (a balanced assignment with
 *   the same members moves nothing; a joining member takes tasks only from members above their new quotas; the tasks
 *   of a member that left go to the survivors). Per sub-topology, the extra slots go to members that already hold
 *   more; only when the totals end up 2 apart does a task move between sub-topologies' shares.
 * - deterministic: the same tasks and members give the same result whatever order the members are listed in.
 *   When two members claim the same previous task (a zombie that rejoined with a new member id), the member that
 *   sorts first keeps it.
 * - local state: a task that has to move anyway (its owner left, or is above quota) goes, when possible, to a member
 *   that listed it in `localTasks` (it has the task's state on disk, e.g. after a restart), so less is restored.
 *   This never changes how many tasks move.
 */
import { parseTaskId, taskId, type TaskId } from '../../common/task-id.js';
import { chooseExtraSlots } from './extra-slots.js';

/** One sub-topology as the assignor sees it: its source topics, which all have `partitions` partitions. */
export interface TaskSpec {
  readonly subtopology: number;
  readonly topics: readonly string[];
  readonly partitions: number;
  /** Its tasks keep state a standby or warm-up replica can follow (table or changelogged stores). Default false. */
  readonly stateful?: boolean;
}

export interface AssignorMember {
  /** The group member id the coordinator gave this member (unique in a generation). */
  readonly memberId: string;
  /** Stable across restarts of one instance; sorts members before `memberId` so tie-breaks survive restarts. */
  readonly instanceId?: string;
  /** Tasks this member held in the last assignment: the stickiness hint. Unknown task ids are ignored. */
  readonly previousTasks: readonly TaskId[];
  /** Tasks this member has state for without holding them: a weaker hint, only for tasks that move anyway. */
  readonly localTasks?: readonly TaskId[];
}

export interface TaskAssignment {
  /** Every member (including those that got nothing), tasks sorted by (subtopology, partition). */
  readonly tasksByMember: ReadonlyMap<string, readonly TaskId[]>;
  readonly ownerByTask: ReadonlyMap<TaskId, string>;
}

/** Every task of the given sub-topologies, sorted by (subtopology, partition). */
export function listTasks(specs: readonly TaskSpec[]): TaskId[] {
  const tasks: TaskId[] = [];
  for (const spec of [...specs].sort((a, b) => a.subtopology - b.subtopology)) {
    for (let partition = 0; partition < spec.partitions; partition++) tasks.push(taskId(spec.subtopology, partition));
  }
  return tasks;
}

/** The topic-partitions a set of tasks reads: partition p of every source topic of the task's sub-topology. */
export function topicPartitionsOfTasks(tasks: Iterable<TaskId>, specs: readonly TaskSpec[]): Map<string, number[]> {
  const topicsBySubtopology = new Map(specs.map((spec) => [spec.subtopology, spec.topics]));
  const partitionsByTopic = new Map<string, number[]>();
  for (const id of tasks) {
    const { subtopology, partition } = parseTaskId(id);
    for (const topic of topicsBySubtopology.get(subtopology) ?? []) {
      const partitions = partitionsByTopic.get(topic);
      if (partitions) partitions.push(partition);
      else partitionsByTopic.set(topic, [partition]);
    }
  }
  for (const partitions of partitionsByTopic.values()) partitions.sort((a, b) => a - b);
  return partitionsByTopic;
}

/**
 * The tasks a member owns given its topic-partitions; the inverse of `topicPartitionsOfTasks`.
 * Returns `undefined` when the partitions are not a whole number of tasks (some topic of a task is missing), which
 * means the assignment was not made by this assignor.
 */
export function tasksOfTopicPartitions(
  partitionsByTopic: Readonly<Record<string, readonly number[]>>,
  specs: readonly TaskSpec[],
): TaskId[] | undefined {
  const tasks: TaskId[] = [];
  for (const spec of [...specs].sort((a, b) => a.subtopology - b.subtopology)) {
    const [first, ...rest] = spec.topics;
    if (first === undefined) continue;
    const partitions = [...(partitionsByTopic[first] ?? [])].sort((a, b) => a - b);
    for (const topic of rest) {
      const other = [...(partitionsByTopic[topic] ?? [])].sort((a, b) => a - b);
      if (other.length !== partitions.length || other.some((p, i) => p !== partitions[i])) return undefined;
    }
    for (const partition of partitions) tasks.push(taskId(spec.subtopology, partition));
  }
  return tasks;
}

export function assignTasks(specs: readonly TaskSpec[], members: readonly AssignorMember[]): TaskAssignment {
  const tasks = listTasks(specs);
  const taskOrder = new Map(tasks.map((id, index) => [id, index]));
  const sortedMembers = [...members].sort(compareMembers);
  const memberOrder = new Map(sortedMembers.map((m, index) => [m.memberId, index]));
  const tasksByMember = new Map<string, TaskId[]>(sortedMembers.map((m) => [m.memberId, []]));
  const ownerByTask = new Map<TaskId, string>();
  if (sortedMembers.length === 0) return { tasksByMember, ownerByTask };
  const memberIds = sortedMembers.map((m) => m.memberId);

  // 1. Claims: each existing task goes to the first member (in sorted order) that held it before.
  const claimedBy = new Map<TaskId, string>();
  for (const member of sortedMembers) {
    for (const id of member.previousTasks) if (taskOrder.has(id) && !claimedBy.has(id)) claimedBy.set(id, member.memberId);
  }
  const localOwners = new Map<TaskId, string[]>();
  for (const member of sortedMembers) {
    for (const id of new Set(member.localTasks ?? [])) {
      if (!taskOrder.has(id)) continue;
      const owners = localOwners.get(id);
      if (owners) owners.push(member.memberId);
      else localOwners.set(id, [member.memberId]);
    }
  }
  const hasStateElsewhere = (id: TaskId, memberId: string) => (localOwners.get(id) ?? []).some((m) => m !== memberId);
  const total = (memberId: string) => tasksByMember.get(memberId)?.length ?? 0;
  const give = (id: TaskId, memberId: string) => {
    tasksByMember.get(memberId)?.push(id);
    ownerByTask.set(id, memberId);
  };
  const byTotalThenOrder = (a: string, b: string) => total(a) - total(b) || (memberOrder.get(a) ?? 0) - (memberOrder.get(b) ?? 0);

  // 2. Quotas per sub-topology, so every instance holds a share of every partitioned store: floor(n_s/m) each, and
  //    the extra slots where members held more before, keeping totals within 1 (extra-slots.ts).
  const sortedSpecs = [...specs].sort((a, b) => a.subtopology - b.subtopology);
  const claimsBySub = sortedSpecs.map((spec) => {
    const claimsOf = new Map<string, TaskId[]>(memberIds.map((id) => [id, []]));
    for (const id of listTasks([spec])) {
      const owner = claimedBy.get(id);
      if (owner !== undefined) claimsOf.get(owner)?.push(id);
    }
    return claimsOf;
  });
  const previousCounts = new Map<string, number>(memberIds.map((id) => [id, 0]));
  for (const owner of claimedBy.values()) previousCounts.set(owner, (previousCounts.get(owner) ?? 0) + 1);
  const bases = sortedSpecs.map((spec) => Math.floor(spec.partitions / memberIds.length));
  const extraSlots = chooseExtraSlots({
    members: memberIds.length,
    extras: sortedSpecs.map((spec) => spec.partitions % memberIds.length),
    wants: claimsBySub.map((claimsOf, s) => memberIds.map((id) => (claimsOf.get(id)?.length ?? 0) > (bases[s] ?? 0))),
    localPreference: sortedSpecs.map((spec, s) => {
      const base = bases[s] ?? 0;
      const subTasks = listTasks([spec]);
      return memberIds.map((memberId) => {
        const claims = claimsBySub[s]?.get(memberId) ?? [];
        if (claims.length > base) return claims.some((id) => hasStateElsewhere(id, memberId)) ? -1 : 0;
        const localUnclaimed = subTasks.filter((id) => claimedBy.get(id) !== memberId && (localOwners.get(id) ?? []).includes(memberId));
        return localUnclaimed.length > base - claims.length ? 1 : 0;
      });
    }),
    previousCounts: memberIds.map((id) => previousCounts.get(id) ?? 0),
  });

  sortedSpecs.forEach((spec, s) => {
    const subTasks = listTasks([spec]);
    const claimsOf = claimsBySub[s] ?? new Map<string, TaskId[]>();
    const quota = new Map<string, number>(memberIds.map((id, m) => [id, (bases[s] ?? 0) + (extraSlots[s]?.[m] === true ? 1 : 0)]));
    // Each member keeps as many of its claims as its quota allows; above quota it gives up first the tasks another
    // member with room in this sub-topology has local state for (they go there), then those anyone else has state for.
    const owned = new Map<string, number>(memberIds.map((id) => [id, 0]));
    const roomFor = (memberId: string) => (quota.get(memberId) ?? 0) > (claimsOf.get(memberId)?.length ?? 0);
    const shedRank = (id: TaskId, memberId: string) => {
      const others = (localOwners.get(id) ?? []).filter((m) => m !== memberId);
      return others.some(roomFor) ? 2 : others.length > 0 ? 1 : 0;
    };
    for (const memberId of memberIds) {
      const claims = claimsOf.get(memberId) ?? [];
      const byPreference = [0, 1, 2].flatMap((rank) => claims.filter((id) => shedRank(id, memberId) === rank));
      for (const id of byPreference.slice(0, quota.get(memberId))) give(id, memberId);
      owned.set(memberId, Math.min(claims.length, quota.get(memberId) ?? 0));
    }
    // The rest (new tasks, tasks of departed members, overflow) go first to a member with local state for them and
    // room left, then to the member with room and the fewest tasks overall.
    const hasRoom = (memberId: string) => (owned.get(memberId) ?? 0) < (quota.get(memberId) ?? 0);
    const place = (id: TaskId, memberId: string) => {
      give(id, memberId);
      owned.set(memberId, (owned.get(memberId) ?? 0) + 1);
    };
    for (const id of subTasks) {
      if (ownerByTask.has(id)) continue;
      const memberId = (localOwners.get(id) ?? []).find(hasRoom);
      if (memberId !== undefined) place(id, memberId);
    }
    for (const id of subTasks) {
      if (ownerByTask.has(id)) continue;
      const memberId = memberIds.filter(hasRoom).sort(byTotalThenOrder)[0];
      if (memberId === undefined) break; // unreachable: the quotas add up to the sub-topology's task count
      place(id, memberId);
    }
  });

  // 3. Among tasks that moved (none of them kept by its previous owner), swap two of one sub-topology when that puts
  //    more of them where local state is: counts and kept tasks stay as they are.
  const received = tasks.filter((id) => claimedBy.get(id) !== ownerByTask.get(id));
  const hasState = (id: TaskId, memberId: string | undefined) => memberId !== undefined && (localOwners.get(id) ?? []).includes(memberId);
  for (const first of received) {
    const firstOwner = ownerByTask.get(first);
    if (firstOwner === undefined || hasState(first, firstOwner)) continue;
    const sub = parseTaskId(first).subtopology;
    const second = received.find((id) => {
      const owner = ownerByTask.get(id);
      // The other owner loses nothing: it has no state for the task it gives up.
      return parseTaskId(id).subtopology === sub && owner !== firstOwner && hasState(id, firstOwner) && !hasState(id, owner);
    });
    const secondOwner = second === undefined ? undefined : ownerByTask.get(second);
    if (second === undefined || secondOwner === undefined) continue;
    const firstList = tasksByMember.get(firstOwner) ?? [];
    const secondList = tasksByMember.get(secondOwner) ?? [];
    firstList[firstList.indexOf(first)] = second;
    secondList[secondList.indexOf(second)] = first;
    ownerByTask.set(first, secondOwner);
    ownerByTask.set(second, firstOwner);
  }

  for (const list of tasksByMember.values()) list.sort((a, b) => (taskOrder.get(a) ?? 0) - (taskOrder.get(b) ?? 0));
  return { tasksByMember, ownerByTask };
}

function compareMembers(a: AssignorMember, b: AssignorMember): number {
  return compareStrings(a.instanceId ?? a.memberId, b.instanceId ?? b.memberId) || compareStrings(a.memberId, b.memberId);
}

/** Code-unit order, independent of locale (localeCompare would make the result depend on the machine). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
