/**
 * Where standby replicas of tasks go (`numStandbyReplicas`): pure logic, no kafkajs, on top of the active assignment
 * of assignor.ts. The leader runs it (group-protocol.ts) and the group map carries each member's standbys; the
 * runtime keeps them (processor/runtime/standby-tasks.ts).
 *
 * Guarantees of `assignStandbys` (property-tested in standby-assignor.test.ts):
 * - every task gets min(replicas, members − 1) standbys, on distinct members, never on its active owner;
 * - sticky: a member that held a standby of a task keeps it while it is not the task's active owner and holds no
 *   more than the fair share ceil(standbys / members), so a standby assignment within fair shares is kept as it is
 *   (a failover finds the standby where it was); above it only when nobody else can take one;
 * - then members with local state for the task (a warm copy on disk), then the member with the fewest standbys;
 * - deterministic: the same input in any member order gives the same result.
 */
import type { TaskId } from '../../common/task-id.js';
import { listTasks, type TaskAssignment, type TaskSpec } from './assignor.js';

export interface StandbyMember {
  readonly memberId: string;
  /** Stable across restarts; sorts members before `memberId` (as in assignor.ts). */
  readonly instanceId?: string;
  /** Tasks this member held standbys of in the last assignment. */
  readonly previousStandbys?: readonly TaskId[];
  /** Tasks it has state for on disk. */
  readonly localTasks?: readonly TaskId[];
}

/** Member id → the tasks it keeps a standby of, sorted like the tasks. */
export type StandbyAssignment = ReadonlyMap<string, readonly TaskId[]>;

export function assignStandbys(
  specs: readonly TaskSpec[],
  active: Pick<TaskAssignment, 'ownerByTask'>,
  members: readonly StandbyMember[],
  replicas: number,
): StandbyAssignment {
  const sorted = [...members].sort(
    (a, b) => compare(a.instanceId ?? a.memberId, b.instanceId ?? b.memberId) || compare(a.memberId, b.memberId),
  );
  const order = new Map(sorted.map((m, i) => [m.memberId, i]));
  const result = new Map<string, TaskId[]>(sorted.map((m) => [m.memberId, []]));
  const tasks = listTasks(specs);
  const perTask = Math.max(0, Math.min(Math.floor(replicas), sorted.length - 1));
  if (perTask === 0) return result;
  const fairShare = Math.ceil((tasks.length * perTask) / sorted.length);
  const count = (memberId: string) => result.get(memberId)?.length ?? 0;
  const held = new Map(sorted.map((m) => [m.memberId, new Set(m.previousStandbys ?? [])]));
  const local = new Map(sorted.map((m) => [m.memberId, new Set(m.localTasks ?? [])]));

  // Sticky first, for every task, so a previous holder is not crowded out by tasks dealt before it.
  const chosen = new Map<TaskId, string[]>(tasks.map((id) => [id, []]));
  for (const id of tasks) {
    const owner = active.ownerByTask.get(id);
    for (const m of sorted) {
      const picks = chosen.get(id) ?? [];
      if (picks.length >= perTask) break;
      if (m.memberId === owner || !held.get(m.memberId)?.has(id) || count(m.memberId) >= fairShare) continue;
      picks.push(m.memberId);
      result.get(m.memberId)?.push(id);
    }
  }
  // Then fill: local state first, then fewest standbys, then member order; above the fair share only when nobody else can.
  for (const id of tasks) {
    const owner = active.ownerByTask.get(id);
    const picks = chosen.get(id) ?? [];
    while (picks.length < perTask) {
      const candidates = sorted
        .map((m) => m.memberId)
        .filter((memberId) => memberId !== owner && !picks.includes(memberId))
        .sort(
          (a, b) =>
            Number(count(a) >= fairShare) - Number(count(b) >= fairShare) ||
            Number(!local.get(a)?.has(id)) - Number(!local.get(b)?.has(id)) ||
            count(a) - count(b) ||
            (order.get(a) ?? 0) - (order.get(b) ?? 0),
        );
      const memberId = candidates[0];
      if (memberId === undefined) break; // unreachable: perTask ≤ members − 1
      picks.push(memberId);
      result.get(memberId)?.push(id);
    }
  }
  const taskOrder = new Map(tasks.map((id, i) => [id, i]));
  for (const list of result.values()) list.sort((a, b) => (taskOrder.get(a) ?? 0) - (taskOrder.get(b) ?? 0));
  return result;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
