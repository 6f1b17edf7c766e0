import { describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import { taskId, type TaskId } from '../../common/task-id.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { StreamTask } from '../engine/stream-task.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import type { GroupAssignment } from '../kafka/group-member.js';
import { RestorationPlan } from './restoration-plan.js';
import { RestorationTracker } from './restoration-tracker.js';
import type { ActiveTask } from './active-task.js';
import { TaskRegistry } from './task-registry.js';

const builder = new StreamsBuilder();
const customers = builder.table('customers', { key: Serdes.string(), value: Serdes.string(), store: 'customers' });
builder
  .stream('orders', { key: Serdes.string(), value: Serdes.string() })
  .leftJoin(customers, (order, name) => `${order}@${name ?? 'none'}`)
  .to('out');
const topology = builder.build({ applicationId: 'registry' });
const sub = topology.subtopologies[0];

/**
 * An open task whose table partition has `backlog` records left to restore (never committed) or, with `committed`,
 * to catch up past its committed offset (its store already at the committed offset).
 */
async function activeTask(partition: number, backlog = 0, committed?: number): Promise<ActiveTask> {
  const store = new MemoryKeyValueStore<unknown>('customers', partition);
  const tp = topicPartitionId('customers', partition);
  await store.write(
    [{ type: 'put', key: Buffer.from(`k${partition}`), value: `v${partition}` }],
    committed === undefined ? undefined : new Map([[tp, committed]]),
  );
  const stores = new Map([['customers', store]]);
  const restoration = new RestorationPlan({
    partition,
    tableSources: sub.tableSources,
    stores,
    committed: committed === undefined ? new Map() : new Map([[tp, committed]]),
    logs: new Map([[tp, { start: 0, end: (committed ?? 0) + backlog }]]),
    tracker: new RestorationTracker(() => {}),
    decoder: (spec) => createTableRecordDecoder(spec, { applicationId: 'registry' }),
  });
  const task = new StreamTask({ topology, subtopologyId: sub.id, partition, stores });
  return {
    id: taskId(sub.id, partition),
    subtopology: sub,
    partition,
    task,
    stores,
    restoration,
    paused: [],
    regroup: undefined,
    layout: '',
  };
}

const assignment = (mine: TaskId[]): GroupAssignment => ({
  epoch: 1,
  assignmentId: 'a-1',
  memberId: 'me',
  isLeader: true,
  mine,
  topicPartitions: [],
  all: new Map(mine.map((id) => [id, { memberId: 'me', url: 'http://me', instanceId: undefined }])),
  members: [{ memberId: 'me', url: 'http://me', instanceId: undefined, tasks: mine }],
});

describe('TaskRegistry', () => {
  it('answers local queries only between an assignment and the next rebalance, for caught-up tasks', async () => {
    const registry = new TaskRegistry();
    const ready = await activeTask(0);
    const restoring = await activeTask(1, 5);
    const catchingUp = await activeTask(2, 3, 10);
    expect(registry.isRebalancing).toBe(true);
    registry.assignmentReceived(assignment([ready.id, restoring.id, catchingUp.id]));
    registry.add(ready);
    registry.add(restoring);
    registry.add(catchingUp);
    expect(registry.localStore(ready.id, 'customers')).toEqual({ reason: 'a rebalance is in progress' });
    registry.assigned();

    const local = registry.localStore(ready.id, 'customers');
    expect('store' in local && (await local.store.get(Buffer.from('k0')))).toBe('v0');
    expect(registry.localStore(restoring.id, 'customers')).toEqual({
      reason: `task ${restoring.id}: store customers partition 1 is restoring`,
    });
    // Restored to its committed offset, the task has not processed up to the end offset at assignment: not served.
    expect(registry.localStore(catchingUp.id, 'customers')).toEqual({
      reason: `task ${catchingUp.id}: store customers partition 2 is catching up (offset 10 of 13)`,
    });
    expect(registry.localStore(ready.id, 'other')).toEqual({ reason: `task ${ready.id} has no store other` });
    expect(registry.localStore(taskId(sub.id, 7), 'customers')).toEqual({
      reason: `task ${taskId(sub.id, 7)} is not assigned to this instance`,
    });
    expect(registry.localPartitions('customers')).toEqual([0, 1, 2]);
    expect(await registry.approximateCount('customers')).toBe(3);
    expect(registry.taskViews().map((v) => [v.id, v.restoring])).toEqual([
      [ready.id, false],
      [restoring.id, true],
      [catchingUp.id, false],
    ]);
    expect(registry.currentAssignment()?.assignmentId).toBe('a-1');

    registry.rebalanceStarted();
    expect(registry.localStore(ready.id, 'customers')).toEqual({ reason: 'a rebalance is in progress' });
  });

  it('routes an input partition to the tasks reading it, and forgets a removed task', async () => {
    const registry = new TaskRegistry();
    const first = await activeTask(0);
    const second = await activeTask(1);
    registry.add(first);
    registry.add(second);
    expect(registry.readersOf(topicPartitionId('orders', 1))).toEqual([second]);
    expect(registry.remove(second.id)).toBe(second);
    expect(registry.remove(second.id)).toBeUndefined();
    expect(registry.readersOf(topicPartitionId('orders', 1))).toEqual([]);
    expect([...registry.all()]).toEqual([first]);
    expect(registry.localPartitions('customers')).toEqual([0]);
  });
});
