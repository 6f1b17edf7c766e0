import { describe, expect, it } from 'vitest';
import { CoPartitioningError } from '../../errors.js';
import type { TaskSpec } from './assignor.js';
import {
  agrees,
  buildLeaderAssignment,
  checkCoPartitioning,
  decodeGroupMap,
  decodeMemberUserData,
  encodeMemberMetadata,
} from './group-protocol.js';

const tasks: TaskSpec[] = [
  { subtopology: 0, topics: ['orders'], partitions: 4 },
  { subtopology: 1, topics: ['customers', 'app-repartition'], partitions: 2 },
];

const member = (memberId: string, url: string) => ({
  memberId,
  data: { v: 1, url, instanceId: `i-${memberId}`, previousTasks: [], localTasks: [] },
});

describe('group protocol', () => {
  it('round-trips member metadata and rejects what this version cannot read', () => {
    const encoded = encodeMemberMetadata(['orders'], { url: 'http://a', instanceId: null, previousTasks: ['0_1'], localTasks: ['1_0'] });
    expect(decodeMemberUserData(encoded)).toEqual({ v: 1, url: 'http://a', instanceId: null, previousTasks: ['0_1'], localTasks: ['1_0'] });
    expect(decodeMemberUserData(Buffer.from('not metadata'))).toBeUndefined();
    const bad = encodeMemberMetadata(['orders'], {
      url: 'http://a',
      instanceId: null,
      previousTasks: ['zero_one' as `${number}_${number}`],
      localTasks: [],
    });
    expect(decodeMemberUserData(bad)).toBeUndefined();
  });

  it('gives every member the same decodable map, which agrees with each member own tasks', () => {
    const { map, assignments } = buildLeaderAssignment(tasks, [member('m2', 'http://b'), member('m1', 'http://a')]);
    expect(map.members.map((m) => m.memberId)).toEqual(['m1', 'm2']);
    expect(map.members.flatMap((m) => m.tasks).sort()).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '1_1']);
    const decoded = decodeGroupMap(assignments.map((a) => a.memberAssignment));
    expect(decoded).toEqual(map);
    for (const m of map.members) expect(agrees(map, m.memberId, m.tasks)).toBe(true);
    expect(agrees(map, 'm1', [])).toBe(false);
    // Two leaders' maps (different assignment ids) never merge into one view.
    const other = buildLeaderAssignment(tasks, [member('m1', 'http://a'), member('m2', 'http://b')]);
    expect(decodeGroupMap([assignments[0].memberAssignment, other.assignments[1].memberAssignment])).toBeUndefined();
  });

  it('carries the standbys in the map: each task once per replica, never on its active owner', () => {
    const { map, assignments } = buildLeaderAssignment(tasks, [member('m1', 'http://a'), member('m2', 'http://b')], 1);
    expect(decodeGroupMap(assignments.map((a) => a.memberAssignment))).toEqual(map);
    const [m1, m2] = map.members;
    expect(m1?.standbys).toEqual(m2?.tasks);
    expect(m2?.standbys).toEqual(m1?.tasks);
    // Without standbys every member's list is empty.
    expect(buildLeaderAssignment(tasks, [member('m1', 'http://a')], 1).map.members[0]?.standbys).toEqual([]);
  });

  it('keeps a table task with its caught-up owner and lists the joining member warm-up among its standbys', () => {
    const stateful = tasks.map((spec) => ({ ...spec, stateful: spec.subtopology === 1 }));
    const all = ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1'] as const;
    const encoded = encodeMemberMetadata(['orders'], {
      url: 'http://a',
      instanceId: 'i-m1',
      previousTasks: [...all],
      localTasks: [],
      taskLags: all.map((id) => [id, 0] as const),
      rebalanceRequests: 2,
    });
    const m1 = decodeMemberUserData(encoded);
    expect(m1?.taskLags).toEqual(all.map((id) => [id, 0]));
    expect(m1?.rebalanceRequests).toBe(2);
    const joining = { memberId: 'm2', data: { v: 1, url: 'http://b', instanceId: 'i-m2', previousTasks: [], localTasks: [] } };
    const warmup = { acceptableRecoveryLag: 100, maxWarmupReplicas: 2 };
    const { map, assignments } = buildLeaderAssignment(stateful, [{ memberId: 'm1', data: m1! }, joining], 0, warmup);
    expect(decodeGroupMap(assignments.map((a) => a.memberAssignment))).toEqual(map);
    // The stateless orders tasks move at once; the table task 1_1 stays on m1 while m2 warms it up.
    expect(map.members.map((m) => [m.memberId, m.tasks, m.standbys, m.warmups])).toEqual([
      ['m1', ['0_0', '0_1', '1_0', '1_1'], [], []],
      ['m2', ['0_2', '0_3'], ['1_1'], ['1_1']],
    ]);
    // Without the warm-up rule it moves at once.
    const plain = buildLeaderAssignment(stateful, [{ memberId: 'm1', data: m1! }, joining]).map;
    expect(plain.members[1]?.tasks).toEqual(['0_2', '0_3', '1_1']);
  });

  it('refuses topics whose partition counts no longer match their sub-topology', () => {
    expect(() => checkCoPartitioning(tasks, (topic) => (topic === 'orders' ? 4 : 2))).not.toThrow();
    expect(() => checkCoPartitioning(tasks, (topic) => (topic === 'customers' ? 3 : topic === 'orders' ? 4 : 2))).toThrow(
      CoPartitioningError,
    );
  });
});
