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

  it('refuses topics whose partition counts no longer match their sub-topology', () => {
    expect(() => checkCoPartitioning(tasks, (topic) => (topic === 'orders' ? 4 : 2))).not.toThrow();
    expect(() => checkCoPartitioning(tasks, (topic) => (topic === 'customers' ? 3 : topic === 'orders' ? 4 : 2))).toThrow(
      CoPartitioningError,
    );
  });
});
