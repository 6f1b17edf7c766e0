/**
 * Warm-up before moving (Kafka Streams' KIP-441): pure logic, no kafkajs, on top of the balanced assignment of
 * assignor.ts. The leader runs it (group-protocol.ts) with the lag every member reported in its JoinGroup metadata.
 *
 * A stateful task whose balanced target is not caught up (its lag is above `acceptableRecoveryLag`: the lag it reported
 * for a task it processes or keeps a standby of, else the end offsets minus the checkpoints it has on disk, else the
 * whole log, as restoring from scratch) stays on a caught-up member — its previous owner when that one is caught up,
 * else the caught-up member with the least lag — and the target gets a warm-up replica of it instead: a standby (standby-tasks.ts) that
 * reads the task's stores up to date while the owner keeps processing and answering. A later (probing) rebalance
 * finds the warm-up caught up and the task moves, restoring only what the warm-up had not read. When no member is
 * caught up the task goes to the least-behind member (the target on a tie). Stateless tasks move at once.
 *
 * Guarantees of `keepCaughtUpOwners` (property-tested in warmup-assignor.test.ts):
 * - a stateful task never goes to a member that is not caught up while a caught-up member exists;
 * - when every member is caught up for every task it is given, the result is the balanced assignment unchanged;
 * - at most `maxWarmupReplicas` warm-ups in the whole group, never on the task's owner, one per task at most.
 */
import type { TaskId } from '../../common/task-id.js';
import { listTasks, type TaskAssignment, type TaskSpec } from './assignor.js';

export interface WarmupMember {
  readonly memberId: string;
  /** Stable across restarts; sorts members before `memberId` (as in assignor.ts). */
  readonly instanceId?: string;
  /** Tasks it held in the last assignment. */
  readonly previousTasks: readonly TaskId[];
  /**
   * Records this member's state of a task is behind (0 for a task it processes and has restored). A task it does
   * not list has no usable state here: infinitely behind.
   */
  readonly taskLags?: ReadonlyMap<TaskId, number>;
  /** For tasks with state on its disk that it does not hold: its checkpoint offset sum (lag: end sum − this). */
  readonly taskOffsetSums?: ReadonlyMap<TaskId, number>;
}

export interface WarmupOptions {
  /** A member at most this many records behind on a task is caught up for it. */
  readonly acceptableRecoveryLag: number;
  /** Warm-up replicas in the whole group at once. */
  readonly maxWarmupReplicas: number;
  /**
   * Per stateful task: the sums of the log start and end offsets of the partitions feeding its stores. A member's
   * lag from a checkpoint sum is `end − sum`; from scratch (no state) `end − start`, the most anyone is behind.
   * Tasks without an entry: members that report no lag are infinitely behind.
   */
  readonly taskLogOffsets?: TaskLogOffsets;
}

/** Per task: the sums over the partitions feeding its stores of their log start and end offsets. */
export type TaskLogOffsets = ReadonlyMap<TaskId, { readonly start: number; readonly end: number }>;

export interface WarmupAssignment extends TaskAssignment {
  /** Member id → tasks it warms up (a standby it will take the task over from); sorted like the tasks. */
  readonly warmupsByMember: ReadonlyMap<string, readonly TaskId[]>;
}

/**
 * The balanced assignment with every stateful task whose target is not caught up kept on a caught-up member, and
 * the warm-ups that let the target catch up. Only sub-topologies marked `stateful` in `specs` are held back.
 */
export function keepCaughtUpOwners(
  specs: readonly TaskSpec[],
  balanced: TaskAssignment,
  members: readonly WarmupMember[],
  options: WarmupOptions,
): WarmupAssignment {
  const sorted = [...members].sort(
    (a, b) => compare(a.instanceId ?? a.memberId, b.instanceId ?? b.memberId) || compare(a.memberId, b.memberId),
  );
  const order = new Map(sorted.map((m, i) => [m.memberId, i]));
  const ownerByTask = new Map(balanced.ownerByTask);
  const counts = new Map<string, number>(sorted.map((m) => [m.memberId, balanced.tasksByMember.get(m.memberId)?.length ?? 0]));
  const byId = new Map(sorted.map((m) => [m.memberId, m]));
  const lagOf = (memberId: string, id: TaskId): number => {
    const member = byId.get(memberId);
    const log = options.taskLogOffsets?.get(id);
    const reported = member?.taskLags?.get(id) ?? Number.POSITIVE_INFINITY;
    if (log === undefined) return reported;
    const sum = member?.taskOffsetSums?.get(id);
    const fromCheckpoint = sum === undefined ? Number.POSITIVE_INFINITY : Math.max(0, log.end - sum);
    return Math.min(reported, fromCheckpoint, Math.max(0, log.end - log.start));
  };
  // The first member (in sorted order) that held the task before, as assignor.ts resolves duplicate claims.
  const previousOwner = new Map<TaskId, string>();
  for (const m of sorted) for (const id of m.previousTasks) if (!previousOwner.has(id)) previousOwner.set(id, m.memberId);
  const caughtUp = (memberId: string, id: TaskId) => lagOf(memberId, id) <= options.acceptableRecoveryLag;

  const stateful = new Set(specs.filter((spec) => spec.stateful === true).map((spec) => spec.subtopology));
  const moves: { id: TaskId; target: string }[] = [];
  for (const spec of [...specs].sort((a, b) => a.subtopology - b.subtopology)) {
    if (!stateful.has(spec.subtopology)) continue;
    for (const id of listTasks([spec])) {
      const target = ownerByTask.get(id);
      if (target === undefined || caughtUp(target, id)) continue;
      const ranked = sorted
        .map((m) => m.memberId)
        .sort(
          (a, b) =>
            lagOf(a, id) - lagOf(b, id) ||
            Number(previousOwner.get(id) !== a) - Number(previousOwner.get(id) !== b) ||
            (counts.get(a) ?? 0) - (counts.get(b) ?? 0) ||
            (order.get(a) ?? 0) - (order.get(b) ?? 0),
        );
      // Caught up: the previous owner first (no hand-over at all), else the least behind.
      const previous = previousOwner.get(id);
      const keeper = previous !== undefined && order.has(previous) && caughtUp(previous, id) ? previous : ranked[0];
      if (keeper === undefined || keeper === target) continue;
      // Nobody caught up: the least-behind member only when it is strictly ahead of the target (Infinity ties).
      if (!caughtUp(keeper, id) && !(lagOf(keeper, id) < lagOf(target, id))) continue;
      ownerByTask.set(id, keeper);
      counts.set(keeper, (counts.get(keeper) ?? 0) + 1);
      counts.set(target, (counts.get(target) ?? 0) - 1);
      moves.push({ id, target });
    }
  }

  const warmupsByMember = new Map<string, TaskId[]>(sorted.map((m) => [m.memberId, []]));
  for (const { id, target } of moves.slice(0, Math.max(0, Math.floor(options.maxWarmupReplicas)))) {
    warmupsByMember.get(target)?.push(id);
  }
  const taskOrder = new Map(listTasks(specs).map((id, i) => [id, i]));
  const tasksByMember = new Map<string, TaskId[]>([...balanced.tasksByMember.keys()].map((memberId) => [memberId, []]));
  for (const m of sorted) if (!tasksByMember.has(m.memberId)) tasksByMember.set(m.memberId, []);
  for (const [id, memberId] of ownerByTask) tasksByMember.get(memberId)?.push(id);
  for (const list of [...tasksByMember.values(), ...warmupsByMember.values()])
    list.sort((a, b) => (taskOrder.get(a) ?? 0) - (taskOrder.get(b) ?? 0));
  return { tasksByMember, ownerByTask, warmupsByMember };
}

/**
 * The members that ask for the probing rebalances while warm-ups exist: the owners of tasks being warmed up elsewhere
 * (their timers start at the same assignment, so their requests land in one rebalance; several, so one without
 * records to fetch does not hold the probe back). Empty: no warm-ups.
 */
export function probingMembers(
  members: readonly { readonly memberId: string; readonly tasks: readonly TaskId[]; readonly warmups?: readonly TaskId[] }[],
): Set<string> {
  const warming = new Set(members.flatMap((m) => m.warmups ?? []));
  return new Set(members.filter((m) => m.tasks.some((id) => warming.has(id))).map((m) => m.memberId));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
