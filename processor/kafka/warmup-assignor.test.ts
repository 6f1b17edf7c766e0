import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignTasks, listTasks, type TaskSpec } from './assignor.js';
import { keepCaughtUpOwners, probingMembers, type WarmupMember } from './warmup-assignor.js';
import { parseTaskId, taskId, type TaskId } from '../../common/task-id.js';

const ACCEPTABLE = 100;

/** Sub-topologies (some stateful), members with previous tasks (disjoint) and random lags per task. */
const groupArb = fc
  .tuple(
    fc.array(fc.record({ partitions: fc.integer({ min: 1, max: 8 }), stateful: fc.boolean() }), { minLength: 1, maxLength: 3 }),
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
    fc.integer({ min: 0, max: 4 }),
  )
  .chain(([subs, memberIds, maxWarmupReplicas]) => {
    const specs: TaskSpec[] = subs.map((s, subtopology) => ({
      subtopology,
      partitions: s.partitions,
      stateful: s.stateful,
      topics: [`t${subtopology}`],
    }));
    const tasks = listTasks(specs);
    const lagArb = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 0, max: ACCEPTABLE }),
      fc.integer({ min: ACCEPTABLE + 1, max: 10_000 }),
    );
    return fc
      .tuple(
        // Previous owner of each task: a member index, or none (a new task, or its owner left).
        fc.array(fc.option(fc.integer({ min: 0, max: memberIds.length }), { nil: undefined }), {
          minLength: tasks.length,
          maxLength: tasks.length,
        }),
        fc.array(fc.array(lagArb, { minLength: tasks.length, maxLength: tasks.length }), {
          minLength: memberIds.length,
          maxLength: memberIds.length,
        }),
      )
      .map(([previous, lagRows]) => {
        const members: WarmupMember[] = memberIds.map((memberId, m) => {
          const previousTasks = tasks.filter((_, t) => previous[t] === m);
          const taskLags = new Map<TaskId, number>();
          tasks.forEach((id, t) => {
            const lag = lagRows[m]?.[t];
            if (lag !== undefined) taskLags.set(id, lag);
          });
          // A member processing a task is caught up for it.
          for (const id of previousTasks) taskLags.set(id, 0);
          return { memberId, previousTasks, taskLags };
        });
        return { specs, members, maxWarmupReplicas };
      });
  });

function run(specs: readonly TaskSpec[], members: readonly WarmupMember[], maxWarmupReplicas: number) {
  const balanced = assignTasks(specs, members);
  return { balanced, result: keepCaughtUpOwners(specs, balanced, members, { acceptableRecoveryLag: ACCEPTABLE, maxWarmupReplicas }) };
}

const lag = (member: WarmupMember, id: TaskId) => member.taskLags?.get(id) ?? Number.POSITIVE_INFINITY;
const isStateful = (specs: readonly TaskSpec[], id: TaskId) =>
  specs.find((s) => s.subtopology === parseTaskId(id).subtopology)?.stateful === true;

describe('keepCaughtUpOwners', () => {
  it('never gives a stateful task to a member that is not caught up while a caught-up member exists', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, maxWarmupReplicas }) => {
        const { result } = run(specs, members, maxWarmupReplicas);
        for (const id of listTasks(specs).filter((t) => isStateful(specs, t))) {
          const owner = members.find((m) => m.memberId === result.ownerByTask.get(id));
          if (owner === undefined) throw new Error(`task ${id} has no owner`);
          if (members.some((m) => lag(m, id) <= ACCEPTABLE)) expect(lag(owner, id)).toBeLessThanOrEqual(ACCEPTABLE);
        }
      }),
    );
  });

  it('keeps every task once, stateless tasks where the balanced assignment puts them, the previous owner when it is caught up', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, maxWarmupReplicas }) => {
        const { balanced, result } = run(specs, members, maxWarmupReplicas);
        const all = [...result.tasksByMember.values()].flat().sort();
        expect(all).toEqual(listTasks(specs).sort());
        for (const [id, owner] of result.ownerByTask) {
          expect(result.tasksByMember.get(owner)).toContain(id);
          if (!isStateful(specs, id)) expect(owner).toBe(balanced.ownerByTask.get(id));
          const target = members.find((m) => m.memberId === balanced.ownerByTask.get(id));
          if (target !== undefined && lag(target, id) <= ACCEPTABLE) expect(owner).toBe(target.memberId);
          const previous = members.find((m) => m.previousTasks.includes(id));
          if (owner !== balanced.ownerByTask.get(id) && previous !== undefined) expect(owner).toBe(previous.memberId);
        }
      }),
    );
  });

  it('bounds warm-ups by maxWarmupReplicas, one per task, never on the owner, only for tasks held back', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, maxWarmupReplicas }) => {
        const { balanced, result } = run(specs, members, maxWarmupReplicas);
        const warmups = [...result.warmupsByMember].flatMap(([memberId, ids]) => ids.map((id) => ({ memberId, id })));
        expect(warmups.length).toBeLessThanOrEqual(maxWarmupReplicas);
        expect(new Set(warmups.map((w) => w.id)).size).toBe(warmups.length);
        for (const { memberId, id } of warmups) {
          expect(result.ownerByTask.get(id)).not.toBe(memberId);
          expect(balanced.ownerByTask.get(id)).toBe(memberId);
        }
      }),
    );
  });

  it('changes nothing when every member is caught up for every task', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, maxWarmupReplicas }) => {
        const caughtUp = members.map((m) => ({ ...m, taskLags: new Map(listTasks(specs).map((id) => [id, 0])) }));
        const { balanced, result } = run(specs, caughtUp, maxWarmupReplicas);
        expect(result.ownerByTask).toEqual(balanced.ownerByTask);
        expect([...result.warmupsByMember.values()].flat()).toEqual([]);
      }),
    );
  });

  it('reaches the balanced assignment once warm-ups catch up, one probing rebalance after another', () => {
    fc.assert(
      fc.property(groupArb, fc.integer({ min: 1, max: 3 }), ({ specs, members, maxWarmupReplicas }, budget) => {
        const tasks = listTasks(specs);
        // Round 0: an old assignment (the previous tasks) with the lags given; then every round the warm-ups read up
        // to the end (lag 0) before the next probing rebalance, and owners stay caught up for what they process.
        let current = members;
        let rounds = 0;
        for (; rounds <= tasks.length + 1; rounds++) {
          const { balanced, result } = run(specs, current, Math.max(budget, maxWarmupReplicas));
          const done = [...result.warmupsByMember.values()].every((ids) => ids.length === 0);
          if (done && [...result.ownerByTask].every(([id, owner]) => balanced.ownerByTask.get(id) === owner)) break;
          current = current.map((m) => {
            const taskLags = new Map(m.taskLags);
            for (const id of result.tasksByMember.get(m.memberId) ?? []) taskLags.set(id, 0);
            for (const id of result.warmupsByMember.get(m.memberId) ?? []) taskLags.set(id, 0);
            return { ...m, previousTasks: result.tasksByMember.get(m.memberId) ?? [], taskLags };
          });
        }
        expect(rounds).toBeLessThanOrEqual(tasks.length + 1);
      }),
    );
  });

  it('holds a moving table task on its caught-up owner and warms it up on the joining member', () => {
    const specs: TaskSpec[] = [
      { subtopology: 0, partitions: 4, topics: ['customers'], stateful: true },
      { subtopology: 1, partitions: 4, topics: ['orders'] },
    ];
    const tasks = listTasks(specs);
    const a: WarmupMember = { memberId: 'a', previousTasks: tasks, taskLags: new Map(tasks.map((id) => [id, 0])) };
    const b: WarmupMember = { memberId: 'b', previousTasks: [] };
    const { balanced, result } = run(specs, [a, b], 2);
    expect(balanced.tasksByMember.get('b')).toEqual([taskId(0, 2), taskId(0, 3), taskId(1, 2), taskId(1, 3)]);
    // The stateless tasks move at once; the table tasks stay on a, b warms up both.
    expect(result.tasksByMember.get('b')).toEqual([taskId(1, 2), taskId(1, 3)]);
    expect(result.warmupsByMember.get('b')).toEqual([taskId(0, 2), taskId(0, 3)]);
    // b caught up on one of them (within the acceptable lag): that one moves, the other is still warming up.
    const b2: WarmupMember = {
      ...b,
      previousTasks: [taskId(1, 2), taskId(1, 3)],
      taskLags: new Map([
        [taskId(0, 2), 40],
        [taskId(0, 3), 5000],
      ]),
    };
    const a2: WarmupMember = { ...a, previousTasks: result.tasksByMember.get('a') ?? [] };
    const second = run(specs, [a2, b2], 2).result;
    expect(second.tasksByMember.get('b')).toEqual([taskId(0, 2), taskId(1, 2), taskId(1, 3)]);
    expect(second.warmupsByMember.get('b')).toEqual([taskId(0, 3)]);
  });

  it('counts a member without state as caught up when restoring the task from scratch is within the acceptable lag', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, partitions: 2, topics: ['customers'], stateful: true }];
    const tasks = listTasks(specs);
    const a: WarmupMember = { memberId: 'a', previousTasks: tasks, taskLags: new Map(tasks.map((id) => [id, 0])) };
    const b: WarmupMember = { memberId: 'b', previousTasks: [] };
    const balanced = assignTasks(specs, [a, b]);
    const small = keepCaughtUpOwners(specs, balanced, [a, b], {
      acceptableRecoveryLag: ACCEPTABLE,
      maxWarmupReplicas: 2,
      taskLogOffsets: new Map(tasks.map((id) => [id, { start: 50, end: 50 + ACCEPTABLE }])),
    });
    expect(small.tasksByMember.get('b')).toEqual([taskId(0, 1)]);
    const large = keepCaughtUpOwners(specs, balanced, [a, b], {
      acceptableRecoveryLag: ACCEPTABLE,
      maxWarmupReplicas: 2,
      taskLogOffsets: new Map(tasks.map((id) => [id, { start: 50, end: 51 + ACCEPTABLE }])),
    });
    expect(large.tasksByMember.get('b')).toEqual([]);
    expect(large.warmupsByMember.get('b')).toEqual([taskId(0, 1)]);
    // A checkpoint on b's disk (a restart, or the task was b's before) close enough to the end: caught up.
    const withCheckpoint = keepCaughtUpOwners(specs, balanced, [a, { ...b, taskOffsetSums: new Map([[taskId(0, 1), 51]]) }], {
      acceptableRecoveryLag: ACCEPTABLE,
      maxWarmupReplicas: 2,
      taskLogOffsets: new Map(tasks.map((id) => [id, { start: 50, end: 51 + ACCEPTABLE }])),
    });
    expect(withCheckpoint.tasksByMember.get('b')).toEqual([taskId(0, 1)]);
  });

  it('names the owners of warmed-up tasks as the members that probe', () => {
    const members = [
      { memberId: 'a', tasks: [taskId(0, 0), taskId(0, 1)] },
      { memberId: 'b', tasks: [taskId(0, 2)] },
      { memberId: 'c', tasks: [], warmups: [taskId(0, 1)] },
    ];
    expect([...probingMembers(members)]).toEqual(['a']);
    expect([...probingMembers(members.map((m) => ({ ...m, warmups: [] })))]).toEqual([]);
  });

  it('gives a task nobody is caught up for to the least-behind member', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, partitions: 2, topics: ['t'], stateful: true }];
    const members: WarmupMember[] = [
      { memberId: 'a', previousTasks: [], taskLags: new Map([[taskId(0, 1), 900]]) },
      { memberId: 'b', previousTasks: [], taskLags: new Map([[taskId(0, 1), 300]]) },
    ];
    const { balanced, result } = run(specs, members, 0);
    expect(balanced.ownerByTask.get(taskId(0, 1))).toBe('b');
    expect(result.ownerByTask.get(taskId(0, 1))).toBe('b');
    const swapped = run(
      specs,
      [{ ...members[0], taskLags: new Map([[taskId(0, 1), 200]]) } as WarmupMember, members[1] as WarmupMember],
      0,
    );
    expect(swapped.result.ownerByTask.get(taskId(0, 1))).toBe('a');
  });
});
