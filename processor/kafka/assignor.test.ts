import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignTasks,
  listTasks,
  tasksOfTopicPartitions,
  topicPartitionsOfTasks,
  type AssignorMember,
  type TaskAssignment,
  type TaskSpec,
} from './assignor.js';
import { taskId, type TaskId } from '../../common/task-id.js';

const specsArb: fc.Arbitrary<TaskSpec[]> = fc
  .array(fc.record({ partitions: fc.integer({ min: 1, max: 12 }), topicCount: fc.integer({ min: 1, max: 3 }) }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((subs) =>
    subs.map(({ partitions, topicCount }, subtopology) => ({
      subtopology,
      partitions,
      topics: Array.from({ length: topicCount }, (_, i) => `t${subtopology}-${i}`),
    })),
  );

/** Members with random previous tasks: overlapping claims (zombies) and unknown task ids included on purpose. */
function membersArb(tasks: readonly TaskId[], options: { minLength: number; maxLength: number }): fc.Arbitrary<AssignorMember[]> {
  const claimArb = fc.oneof(fc.constantFrom(...tasks), fc.constant(taskId(99, 0)));
  return fc.uniqueArray(
    fc.record({
      memberId: fc.string({ minLength: 1, maxLength: 6 }),
      instanceId: fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { nil: undefined }),
      previousTasks: fc.array(claimArb, { maxLength: tasks.length + 2 }),
      localTasks: fc.option(fc.array(claimArb, { maxLength: tasks.length }), { nil: undefined }),
    }),
    { ...options, selector: (m) => m.memberId },
  );
}

const groupArb = specsArb.chain((specs) =>
  membersArb(listTasks(specs), { minLength: 1, maxLength: 8 }).map((members) => ({ specs, members })),
);

/**
 * A balanced assignment not made by the assignor: each sub-topology's tasks shuffled, then all of them dealt
 * round-robin with one cursor running across sub-topologies, which balances every sub-topology and the totals.
 */
const balancedGroupArb = balancedGroup(specsArb, 8);

function balancedGroup(specsOf: fc.Arbitrary<TaskSpec[]>, maxMembers: number) {
  return specsOf.chain((specs) =>
    fc
      .tuple(
        fc.tuple(
          ...specs.map((spec) => fc.shuffledSubarray(listTasks([spec]), { minLength: spec.partitions, maxLength: spec.partitions })),
        ),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: maxMembers }),
      )
      .map(([shuffledPerSub, memberIds]) => {
        const dealt = shuffledPerSub.flat();
        const members: AssignorMember[] = memberIds.map((memberId, i) => ({
          memberId,
          previousTasks: dealt.filter((_, t) => t % memberIds.length === i),
        }));
        return { specs, members };
      }),
  );
}

/** Few sub-topologies, partitions and members: small enough for `fewestMoves` to enumerate. */
const smallSpecsArb: fc.Arbitrary<TaskSpec[]> = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 })
  .map((partitions) => partitions.map((p, subtopology) => ({ subtopology, partitions: p, topics: [`t${subtopology}`] })));

/** Per member, its task count in each sub-topology. */
function countsPerSubtopology(specs: readonly TaskSpec[], assignment: TaskAssignment): number[][] {
  return specs.map((spec) =>
    [...assignment.tasksByMember.values()].map((tasks) => tasks.filter((id) => id.startsWith(`${spec.subtopology}_`)).length),
  );
}

function counts(assignment: TaskAssignment): number[] {
  return [...assignment.tasksByMember.values()].map((tasks) => tasks.length);
}

/** Tasks whose owner differs between the previous claims (deduplicated as the assignor does) and the result. */
function movedTasks(previous: readonly AssignorMember[], next: TaskAssignment): number {
  const previousOwner = new Map<TaskId, string>();
  for (const member of previous) for (const id of member.previousTasks) previousOwner.set(id, member.memberId);
  let moved = 0;
  for (const [id, owner] of previousOwner) if (next.ownerByTask.get(id) !== owner) moved++;
  return moved;
}

/** Previous tasks as the assignor reads them: unknown ids ignored, a task claimed twice kept by the first in order. */
function dedupedClaims(members: readonly AssignorMember[]): AssignorMember[] {
  const sorted = [...members].sort((a, b) => {
    const ka = a.instanceId ?? a.memberId;
    const kb = b.instanceId ?? b.memberId;
    return ka < kb ? -1 : ka > kb ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
  });
  const seen = new Set<TaskId>();
  return sorted.map((m) => ({
    ...m,
    previousTasks: m.previousTasks.filter((id) => {
      if (seen.has(id) || !/^\d+_\d+$/.test(id) || id.startsWith('99_')) return false;
      seen.add(id);
      return true;
    }),
  }));
}

/**
 * Brute force: over every choice of which members get each sub-topology's extra task (totals within 1), the fewest
 * previously held tasks that must change owner.
 */
function fewestMoves(specs: readonly TaskSpec[], members: readonly AssignorMember[]): number {
  const claims = dedupedClaims(members);
  const m = claims.length;
  const held = specs.map((spec) => claims.map((c) => c.previousTasks.filter((id) => id.startsWith(`${spec.subtopology}_`)).length));
  const claimed = held.flat().reduce((a, b) => a + b, 0);
  const n = specs.reduce((a, spec) => a + spec.partitions, 0);
  const subsets = (size: number, k: number): number[][] =>
    k === 0 ? [[]] : size < k ? [] : [...subsets(size - 1, k - 1).map((s) => [...s, size - 1]), ...subsets(size - 1, k)];
  let best = -1;
  const search = (s: number, totals: number[], kept: number): void => {
    if (s === specs.length) {
      if (Math.max(...totals) - Math.min(...totals) <= 1 && totals.reduce((a, b) => a + b, 0) === n) best = Math.max(best, kept);
      return;
    }
    const spec = specs[s] as TaskSpec;
    const base = Math.floor(spec.partitions / m);
    for (const extra of subsets(m, spec.partitions % m)) {
      const quota = Array.from({ length: m }, (_, i) => base + (extra.includes(i) ? 1 : 0));
      const keptHere = quota.reduce((a, q, i) => a + Math.min(q, held[s]?.[i] ?? 0), 0);
      search(
        s + 1,
        totals.map((t, i) => t + (quota[i] ?? 0)),
        kept + keptHere,
      );
    }
  };
  search(0, new Array<number>(m).fill(0), 0);
  return claimed - best;
}

function asPlain(assignment: TaskAssignment): [string, readonly TaskId[]][] {
  return [...assignment.tasksByMember.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('assignTasks', () => {
  it('assigns every task to exactly one member, and only to members of the group', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members }) => {
        const tasks = listTasks(specs);
        const result = assignTasks(specs, members);
        const dealt = [...result.tasksByMember.values()].flat();
        expect(dealt.length).toBe(tasks.length);
        expect(new Set(dealt)).toEqual(new Set(tasks));
        expect(new Set(result.tasksByMember.keys())).toEqual(new Set(members.map((m) => m.memberId)));
        for (const [memberId, owned] of result.tasksByMember) {
          for (const id of owned) expect(result.ownerByTask.get(id)).toBe(memberId);
        }
        expect(result.ownerByTask.size).toBe(tasks.length);
      }),
    );
  });

  it('keeps task counts within 1 of each other', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members }) => {
        const c = counts(assignTasks(specs, members));
        expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('gives the same result whatever order the members come in (zombie claims included)', () => {
    fc.assert(
      fc.property(
        groupArb.chain(({ specs, members }) =>
          fc
            .shuffledSubarray(members, { minLength: members.length, maxLength: members.length })
            .map((shuffled) => ({ specs, members, shuffled })),
        ),
        ({ specs, members, shuffled }) => {
          expect(asPlain(assignTasks(specs, shuffled))).toEqual(asPlain(assignTasks(specs, members)));
        },
      ),
    );
  });

  it('moves nothing when the membership has not changed', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members }) => {
        const first = assignTasks(specs, members);
        const again = members.map((m) => ({ ...m, previousTasks: first.tasksByMember.get(m.memberId) ?? [] }));
        const second = assignTasks(specs, again);
        expect(asPlain(second)).toEqual(asPlain(first));
        expect(movedTasks(again, second)).toBe(0);
      }),
    );
  });

  it('keeps each sub-topology’s task counts within 1 of each other', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members }) => {
        for (const c of countsPerSubtopology(specs, assignTasks(specs, members))) {
          expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('moves nothing from a balanced assignment it did not make (same members)', () => {
    fc.assert(
      fc.property(balancedGroupArb, ({ specs, members }) => {
        expect(movedTasks(members, assignTasks(specs, members))).toBe(0);
      }),
    );
  });

  it('when a member joins a balanced group, gives it a fair share and moves nothing it does not have to', () => {
    fc.assert(
      fc.property(balancedGroupArb, ({ specs, members }) => {
        const n = listTasks(specs).length;
        const joined = [...members, { memberId: 'newcomer-\u{10ffff}', previousTasks: [] }];
        const result = assignTasks(specs, joined);
        const newcomerTasks = result.tasksByMember.get('newcomer-\u{10ffff}') ?? [];
        expect(newcomerTasks.length).toBeGreaterThanOrEqual(Math.floor(n / joined.length));
        expect(newcomerTasks.length).toBeLessThanOrEqual(Math.ceil(n / joined.length));
      }),
    );
    fc.assert(
      fc.property(balancedGroup(smallSpecsArb, 3), ({ specs, members }) => {
        const joined = [...members, { memberId: 'newcomer-\u{10ffff}', previousTasks: [] }];
        expect(movedTasks(members, assignTasks(specs, joined))).toBe(fewestMoves(specs, joined));
      }),
    );
  });

  it('moves the fewest tasks any assignment balanced per sub-topology and in total could (exhaustive on small groups)', () => {
    const small = smallSpecsArb.chain((specs) =>
      membersArb(listTasks(specs), { minLength: 1, maxLength: 4 }).map((members) => ({ specs, members })),
    );
    fc.assert(
      fc.property(small, ({ specs, members }) => {
        expect(movedTasks(dedupedClaims(members), assignTasks(specs, members))).toBe(fewestMoves(specs, members));
      }),
      { numRuns: 300 },
    );
  });

  it('when a member leaves a balanced group, moves its tasks and only what balance per sub-topology forces', () => {
    fc.assert(
      fc.property(
        balancedGroup(smallSpecsArb, 5).chain((group) =>
          fc.nat({ max: group.members.length - 1 }).map((leaving) => ({ ...group, leaving })),
        ),
        ({ specs, members, leaving }) => {
          fc.pre(members.length >= 2);
          const departed = members[leaving]?.previousTasks ?? [];
          const survivors = members.filter((_, i) => i !== leaving);
          const result = assignTasks(specs, survivors);
          const extra = fewestMoves(specs, survivors);
          expect(movedTasks(members, result)).toBe(departed.length + extra);
        },
      ),
    );
  });

  it('when one member of two leaves, the survivor keeps everything it had', () => {
    const specs: TaskSpec[] = [
      { subtopology: 0, topics: ['a'], partitions: 3 },
      { subtopology: 1, topics: ['b'], partitions: 5 },
    ];
    const result = assignTasks(specs, [{ memberId: 'x', previousTasks: ['0_0', '1_1', '1_3'] }]);
    expect(result.tasksByMember.get('x')).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2', '1_3', '1_4']);
  });

  it('spreads every sub-topology over two instances (not one instance per sub-topology)', () => {
    const specs: TaskSpec[] = [
      { subtopology: 0, topics: ['a'], partitions: 4 },
      { subtopology: 1, topics: ['b'], partitions: 4 },
    ];
    // Before: 'x' held all of sub-topology 0 and 'y' all of 1 (balanced in total, not per sub-topology).
    const result = assignTasks(specs, [
      { memberId: 'x', previousTasks: ['0_0', '0_1', '0_2', '0_3'] },
      { memberId: 'y', previousTasks: ['1_0', '1_1', '1_2', '1_3'] },
    ]);
    expect(result.tasksByMember.get('x')).toEqual(['0_0', '0_1', '1_2', '1_3']);
    expect(result.tasksByMember.get('y')).toEqual(['0_2', '0_3', '1_0', '1_1']);
  });

  // One sub-topology of any size, or two with 6 partitions on 2 to 4 instances (the integration tests' setup). With
  // several unevenly divided sub-topologies, the quota choice only approximates where local state lies.
  const rollingSpecsArb: fc.Arbitrary<TaskSpec[]> = fc.oneof(
    fc.integer({ min: 1, max: 12 }).map((partitions) => [{ subtopology: 0, topics: ['t'], partitions }]),
    fc.constant([0, 1].map((s) => ({ subtopology: s, topics: [`t${s}`], partitions: 6 }))),
  );

  it('a rolling restart: a member that left and comes back with its local state gets those tasks back', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(rollingSpecsArb, fc.integer({ min: 2, max: 4 }))
          .chain(([specs, count]) => fc.nat({ max: count - 1 }).map((restarting) => ({ specs, count, restarting }))),
        ({ specs, count, restarting }) => {
          const members = Array.from({ length: count }, (_, i) => ({ memberId: `m${i}` }));
          const fresh = members.map((m) => ({ memberId: m.memberId, previousTasks: [] as TaskId[] }));
          const first = assignTasks(specs, fresh);
          const held = (result: TaskAssignment, memberId: string) => result.tasksByMember.get(memberId) ?? [];
          const leaver = fresh[restarting] as AssignorMember;
          const survivors = fresh.filter((m) => m !== leaver).map((m) => ({ ...m, previousTasks: held(first, m.memberId) }));
          const without = assignTasks(specs, survivors);
          const back = assignTasks(specs, [
            ...survivors.map((m) => ({ ...m, previousTasks: held(without, m.memberId) })),
            { memberId: `${leaver.memberId}-again`, previousTasks: [], localTasks: held(first, leaver.memberId) },
          ]);
          // Stickiness comes first (a survivor keeps its extra task rather than move two), so the count may differ;
          // within it, the returning member gets the tasks it has state for.
          const original = held(first, leaver.memberId);
          const returned = held(back, `${leaver.memberId}-again`);
          expect(returned.filter((id) => original.includes(id))).toHaveLength(Math.min(original.length, returned.length));
        },
      ),
    );
  });

  it('lets exactly one of two members claiming the same task keep it', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['a', 'b'], partitions: 4 }];
    const members: AssignorMember[] = [
      { memberId: 'zombie', previousTasks: ['0_0', '0_1'] },
      { memberId: 'current', previousTasks: ['0_0', '0_1'] },
    ];
    const result = assignTasks(specs, members);
    // 'current' sorts first, so it keeps both; the zombie gets the two unowned tasks.
    expect(result.tasksByMember.get('current')).toEqual(['0_0', '0_1']);
    expect(result.tasksByMember.get('zombie')).toEqual(['0_2', '0_3']);
  });

  it('gives the tasks an overloaded member sheds to the member with local state for them (a restart)', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['a'], partitions: 6 }];
    const result = assignTasks(specs, [
      // 'a' took over everything while 'b' restarted; 'b' still has the state of 0_1, 0_3 and 0_5 on disk.
      { memberId: 'a', previousTasks: ['0_0', '0_1', '0_2', '0_3', '0_4', '0_5'] },
      { memberId: 'b', previousTasks: [], localTasks: ['0_1', '0_3', '0_5'] },
    ]);
    expect(result.tasksByMember.get('b')).toEqual(['0_1', '0_3', '0_5']);
    expect(result.tasksByMember.get('a')).toEqual(['0_0', '0_2', '0_4']);
  });

  it('gives the tasks of a departed member to a survivor with local state for them', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['a'], partitions: 4 }];
    const result = assignTasks(specs, [
      { memberId: 'a', previousTasks: ['0_0'] },
      { memberId: 'b', previousTasks: ['0_1'], localTasks: ['0_3'] },
    ]);
    expect(result.tasksByMember.get('b')).toEqual(['0_1', '0_3']);
  });

  it('orders by instanceId before memberId, so tie-breaks survive member id changes', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['a'], partitions: 3 }];
    const run = (idOfB: string) =>
      assignTasks(specs, [
        { memberId: 'z-1', instanceId: 'a', previousTasks: [] },
        { memberId: idOfB, instanceId: 'b', previousTasks: [] },
      ]);
    expect(run('a-2').tasksByMember.get('z-1')).toEqual(run('y-9').tasksByMember.get('z-1'));
    expect(run('a-2').tasksByMember.get('z-1')).toEqual(['0_0', '0_2']);
  });

  it('returns an empty assignment for an empty group', () => {
    const result = assignTasks([{ subtopology: 0, topics: ['a'], partitions: 2 }], []);
    expect(result.tasksByMember.size).toBe(0);
    expect(result.ownerByTask.size).toBe(0);
  });
});

describe('task <-> topic-partition mapping', () => {
  it('gives partition p of every topic of a sub-topology to the owner of task p, and inverts', () => {
    fc.assert(
      fc.property(groupArb, ({ specs, members }) => {
        const result = assignTasks(specs, members);
        for (const owned of result.tasksByMember.values()) {
          const partitionsByTopic = topicPartitionsOfTasks(owned, specs);
          for (const spec of specs) {
            const expected = owned.filter((id) => id.startsWith(`${spec.subtopology}_`)).map((id) => Number(id.split('_')[1]));
            for (const topic of spec.topics) expect(partitionsByTopic.get(topic) ?? []).toEqual(expected);
          }
          expect(tasksOfTopicPartitions(Object.fromEntries(partitionsByTopic), specs)).toEqual(owned);
        }
      }),
    );
  });

  it('rejects topic-partitions that split a task', () => {
    const specs: TaskSpec[] = [{ subtopology: 0, topics: ['a', 'b'], partitions: 2 }];
    expect(tasksOfTopicPartitions({ a: [0, 1], b: [1] }, specs)).toBeUndefined();
    expect(tasksOfTopicPartitions({ a: [1, 0], b: [0, 1] }, specs)).toEqual(['0_0', '0_1']);
  });
});
