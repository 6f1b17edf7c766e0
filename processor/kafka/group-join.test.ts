import type { ConsumerGroupState, GroupDescription } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { TaskSpec } from './assignor.js';
import { GroupJoin } from './group-join.js';
import { buildLeaderAssignment, decodeGroupMap, encodeMemberMetadata } from './group-protocol.js';

const tasks: TaskSpec[] = [
  { subtopology: 0, topics: ['orders', 'customers'], partitions: 2 },
  { subtopology: 1, topics: ['app-repartition'], partitions: 2 },
];
const member = (memberId: string) => ({
  memberId,
  data: { v: 1, url: `http://${memberId}`, instanceId: `i-${memberId}`, previousTasks: [], localTasks: [] },
});
const join = () => new GroupJoin({ groupId: 'app', tasks, url: 'http://m1', logger: silentLogger });

/** describeGroup answers: each call returns the next state (the last one repeats). */
function describer(states: ConsumerGroupState[], assignments: readonly Buffer[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    describeGroup: async (): Promise<GroupDescription> => {
      const state = states[Math.min(calls++, states.length - 1)];
      const members = assignments.map((memberAssignment, i) => ({
        clientHost: 'h',
        clientId: 'c',
        memberId: `m${i + 1}`,
        memberAssignment,
        memberMetadata: Buffer.alloc(0),
      }));
      return { groupId: 'app', members, protocol: 'p', protocolType: 'consumer', state };
    },
  };
}

describe('GroupJoin', () => {
  it('derives the tasks behind the assigned partitions, and refuses an assignment that splits a task', () => {
    expect(join().received({ orders: [1], customers: [1], 'app-repartition': [0] })).toEqual({
      mine: ['0_1', '1_0'],
      topicPartitions: expect.arrayContaining([
        { topic: 'orders', partition: 1 },
        { topic: 'customers', partition: 1 },
        { topic: 'app-repartition', partition: 0 },
      ]),
    });
    expect(join().received({ orders: [1] })).toBeUndefined();
  });

  it('builds what the runtime sees of a join: its own tasks and the owner of every task', () => {
    const { map } = buildLeaderAssignment(tasks, [member('m1'), member('m2')]);
    const mine = map.members[0].tasks;
    const assignment = join().assignment(3, { memberId: 'm1', isLeader: true }, { mine, topicPartitions: [] }, map);
    expect(assignment).toMatchObject({ epoch: 3, assignmentId: map.assignmentId, memberId: 'm1', isLeader: true, mine });
    expect(assignment.all.size).toBe(4);
    for (const owner of map.members) for (const id of owner.tasks) expect(assignment.all.get(id)?.url).toBe(`http://${owner.memberId}`);
  });

  it('uses the leader map when it agrees, else reads the map back until the group is Stable', async () => {
    const { map, assignments } = buildLeaderAssignment(tasks, [member('m1'), member('m2')]);
    const mine = map.members[0].tasks;
    const g = join();

    const unused = describer(
      ['Stable'],
      assignments.map((a) => a.memberAssignment),
    );
    expect(await g.taskMap(unused, 'm1', mine, map, () => true)).toBe(map);
    expect(unused.calls).toBe(0);

    const settling = describer(
      ['PreparingRebalance', 'CompletingRebalance', 'Stable'],
      assignments.map((a) => a.memberAssignment),
    );
    expect(await g.taskMap(settling, 'm1', mine, undefined, () => true)).toEqual(map);
    expect(settling.calls).toBe(3);
  });

  it('gives up reading the map back once the join is no longer current', async () => {
    const { assignments } = buildLeaderAssignment(tasks, [member('m1'), member('m2')]);
    const never = describer(
      ['PreparingRebalance'],
      assignments.map((a) => a.memberAssignment),
    );
    let current = 2;
    expect(await join().taskMap(never, 'm1', ['0_0'], undefined, () => current-- > 0)).toBeUndefined();
    expect(never.calls).toBe(2);
  });
});

describe('GroupJoin leader, partitions added', () => {
  const metadataOf = (counts: Record<string, number>) => ({
    refreshes: 0,
    findTopicPartitionMetadata(topic: string) {
      return Array.from({ length: counts[topic] ?? 0 }, (_, partitionId) => ({ partitionId }));
    },
    async refreshMetadata() {
      this.refreshes++;
    },
  });
  const members = ['m1', 'm2'].map((memberId) => ({
    memberId,
    memberMetadata: encodeMemberMetadata(['orders', 'customers', 'app-repartition'], {
      url: `http://${memberId}`,
      instanceId: memberId,
      previousTasks: [],
      localTasks: [],
    }),
  }));
  const assign = (group: GroupJoin, cluster: ReturnType<typeof metadataOf>) =>
    group
      .assigner()({ cluster } as never)
      .assign({ members, topics: ['orders', 'customers', 'app-repartition'] });

  it('assigns the tasks of the specs refreshTasks returns (the counts of now), after re-reading the metadata', async () => {
    const grown = tasks.map((spec) => ({ ...spec, partitions: 4 }));
    const group = new GroupJoin({ groupId: 'app', tasks, url: 'http://m1', logger: silentLogger, refreshTasks: async () => grown });
    const cluster = metadataOf({ orders: 4, customers: 4, 'app-repartition': 4 });
    const assignments = await assign(group, cluster);
    expect(assignments).toHaveLength(2);
    expect(cluster.refreshes).toBe(1);
    expect(group.currentTasks).toEqual(grown);
    const map = decodeGroupMap(assignments.map((a) => a.memberAssignment));
    expect(map?.members.flatMap((m) => m.tasks).sort()).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3']);
  });

  it('keeps the last agreed specs while one co-partitioned topic grew first (refreshTasks validates, not the metadata)', async () => {
    const group = new GroupJoin({ groupId: 'app', tasks, url: 'http://m1', logger: silentLogger, refreshTasks: async () => tasks });
    const assignments = await assign(group, metadataOf({ orders: 4, customers: 2, 'app-repartition': 2 }));
    const map = decodeGroupMap(assignments.map((a) => a.memberAssignment));
    expect(map?.members.flatMap((m) => m.tasks)).toHaveLength(4);
  });

  it('without refreshTasks, fails when the cluster metadata disagrees with the specs', async () => {
    const error = await assign(join(), metadataOf({ orders: 4, customers: 2, 'app-repartition': 2 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });
});
