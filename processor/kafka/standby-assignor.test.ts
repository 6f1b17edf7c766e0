import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignTasks, listTasks, type TaskSpec } from './assignor.js';
import { assignStandbys, type StandbyMember } from './standby-assignor.js';
import type { TaskId } from '../../common/task-id.js';

const groupArb = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }),
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
    fc.integer({ min: 0, max: 3 }),
  )
  .chain(([partitions, memberIds, replicas]) => {
    const specs: TaskSpec[] = partitions.map((p, subtopology) => ({ subtopology, partitions: p, topics: [`t${subtopology}`] }));
    const tasks = listTasks(specs);
    return fc
      .tuple(
        fc.array(fc.subarray(tasks), { minLength: memberIds.length, maxLength: memberIds.length }),
        fc.array(fc.subarray(tasks), { minLength: memberIds.length, maxLength: memberIds.length }),
      )
      .map(([previous, local]) => ({
        specs,
        replicas,
        members: memberIds.map((memberId, i) => ({ memberId, previousStandbys: previous[i] ?? [], localTasks: local[i] ?? [] })),
      }));
  });

function run(specs: TaskSpec[], members: StandbyMember[], replicas: number) {
  const active = assignTasks(
    specs,
    members.map((m) => ({ memberId: m.memberId, previousTasks: [] })),
  );
  return { active, standbys: assignStandbys(specs, active, members, replicas) };
}

describe('assignStandbys', () => {
  it('stays within the fair share ceil(standbys / members) when previous standbys do not crowd it', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, replicas }) => {
        const fresh = members.map((m) => ({ memberId: m.memberId }));
        const { standbys } = run(specs, fresh, replicas);
        const total = listTasks(specs).length * Math.min(replicas, members.length - 1);
        for (const tasks of standbys.values()) expect(tasks.length).toBeLessThanOrEqual(Math.ceil(total / members.length) + 1);
      }),
    );
  });

  it('gives every task min(replicas, members − 1) standbys on distinct members other than its active owner', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, replicas }) => {
        const { active, standbys } = run(specs, members, replicas);
        const expected = Math.min(replicas, members.length - 1);
        for (const id of listTasks(specs)) {
          const holders = [...standbys].filter(([, tasks]) => tasks.includes(id)).map(([memberId]) => memberId);
          expect(holders).toHaveLength(expected);
          expect(new Set(holders).size).toBe(expected);
          expect(holders).not.toContain(active.ownerByTask.get(id));
        }
      }),
    );
  });

  it('keeps a standby assignment within fair shares as it is when recomputed', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members, replicas }) => {
        const { active, standbys } = run(specs, members, replicas);
        const total = listTasks(specs).length * Math.min(replicas, members.length - 1);
        const fairShare = Math.ceil(total / members.length);
        fc.pre([...standbys.values()].every((tasks) => tasks.length <= fairShare));
        const again = assignStandbys(
          specs,
          active,
          members.map((m) => ({ ...m, previousStandbys: standbys.get(m.memberId) ?? [] })),
          replicas,
        );
        expect([...again].sort()).toEqual([...standbys].sort());
      }),
    );
  });

  it('is the same whatever order the members come in', () => {
    fc.assert(
      fc.property(
        groupArb.chain((g) =>
          fc.shuffledSubarray(g.members, { minLength: g.members.length, maxLength: g.members.length }).map((s) => ({ ...g, shuffled: s })),
        ),
        ({ specs, members, replicas, shuffled }) => {
          const active = assignTasks(
            specs,
            members.map((m) => ({ memberId: m.memberId, previousTasks: [] })),
          );
          const plain = (m: ReadonlyMap<string, readonly TaskId[]>) => [...m].sort();
          expect(plain(assignStandbys(specs, active, shuffled, replicas))).toEqual(plain(assignStandbys(specs, active, members, replicas)));
        },
      ),
    );
  });

  it('puts a new standby where the task has local state', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['t'], partitions: 2 }];
    const members: StandbyMember[] = [{ memberId: 'a' }, { memberId: 'b' }, { memberId: 'c', localTasks: ['0_0'] }];
    const active = assignTasks(specs, [
      { memberId: 'a', previousTasks: ['0_0'] },
      { memberId: 'b', previousTasks: ['0_1'] },
      { memberId: 'c', previousTasks: [] },
    ]);
    expect(assignStandbys(specs, active, members, 1).get('c')).toContain('0_0');
  });
});
