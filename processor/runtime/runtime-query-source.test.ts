import { describe, expect, it } from 'vitest';
import type { AppStatus } from '../../http-query/query-source.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { TimeWindows } from '../../topology/windows.js';
import type { TaskId } from '../../common/task-id.js';
import type { TaskOwner } from '../kafka/group-member.js';
import { defaultPartition } from '../../common/partitioner.js';
import { RuntimeQuerySource, type GlobalStoresView, type TaskOwnershipView } from './runtime-query-source.js';

const PARTITIONS = 4;
const builder = new StreamsBuilder();
const globalTable = builder.globalTable('g', { key: Serdes.string(), value: Serdes.json(), store: 'global-store' });
const table = builder.table('t', { key: Serdes.string(), value: Serdes.json(), store: 'table-store' });
builder
  .stream('orders', { key: Serdes.string(), value: Serdes.json<{ c: string }>() })
  .join(table, (o, c) => ({ o, c }))
  .join(
    globalTable,
    (_k, v) => v.o.c,
    (v, g) => ({ v, g }),
  )
  .to('out');
const topology = builder.build({ applicationId: 'qs' });
const tableSub = topology.stores.find((s) => s.name === 'table-store')?.subtopologyId as number;

const me: TaskOwner = { memberId: 'me', url: 'http://me', instanceId: 'i-me' };
const other: TaskOwner = { memberId: 'other', url: 'http://other', instanceId: 'i-other' };

/** Partitions 0,1 here (partition 1 still restoring), 2 on the other member, 3 unowned. */
class FakeTasks implements TaskOwnershipView {
  isRebalancing = false;
  readonly store = new MemoryKeyValueStore('table-store', 0);
  currentAssignment() {
    const all = new Map<TaskId, TaskOwner>([
      [`${tableSub}_0`, me],
      [`${tableSub}_1`, me],
      [`${tableSub}_2`, other],
    ]);
    return {
      epoch: 7,
      assignmentId: 'assignment-7',
      memberId: 'me',
      all,
      members: [
        { ...me, tasks: [`${tableSub}_0`, `${tableSub}_1`] as TaskId[] },
        { ...other, tasks: [`${tableSub}_2`] as TaskId[] },
      ],
    };
  }
  localStore(task: TaskId): { store: ReadOnlyKeyValueStore<unknown> } | { reason: string } {
    return task === `${tableSub}_0` ? { store: this.store.readOnly() } : { reason: `task ${task} is restoring` };
  }
  localPartitions(): number[] {
    return [0, 1];
  }
  async approximateCount(): Promise<number> {
    return 3;
  }
}

function source(tasks: FakeTasks | undefined, globals: GlobalStoresView | undefined): RuntimeQuerySource {
  const status: AppStatus = { state: 'running', restoration: [] };
  return new RuntimeQuerySource({
    topology,
    url: () => 'http://me',
    instanceId: () => 'i-me',
    partitions: () =>
      new Map([
        ['t', PARTITIONS],
        ['orders', PARTITIONS],
        ['g', 2],
      ]),
    globals: () => globals,
    tasks: () => tasks,
    status: () => status,
    metrics: () => [],
  });
}

/** A key whose murmur2 partition (of PARTITIONS) is `partition`. */
function keyOnPartition(partition: number): Uint8Array {
  for (let i = 0; ; i++) {
    const key = Buffer.from(`k${i}`);
    if (defaultPartition(key, PARTITIONS) === partition) return key;
  }
}

describe('RuntimeQuerySource', () => {
  it('routes a key by murmur2 partition to the local store, the owner URL, or unavailable with the reason', () => {
    const tasks = new FakeTasks();
    const qs = source(tasks, undefined);
    expect(qs.locate('table-store', keyOnPartition(0))).toEqual({ kind: 'local', store: expect.objectContaining({ name: 'table-store' }) });
    expect(qs.locate('table-store', keyOnPartition(1))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining('restoring'),
    });
    expect(qs.locate('table-store', keyOnPartition(2))).toEqual({ kind: 'remote', url: 'http://other' });
    expect(qs.locate('table-store', keyOnPartition(3))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining('no instance owns'),
    });
    tasks.isRebalancing = true;
    expect(qs.locate('table-store', keyOnPartition(0))).toMatchObject({
      kind: 'unavailable',
      reason: 'a rebalance is in progress',
      retryAfterSeconds: 1,
    });
  });

  it('covers every partition exactly once in scan targets', () => {
    const targets = source(new FakeTasks(), undefined).scanTargets('table-store');
    const partitions = targets.flatMap((t): (number | 'global')[] => (t.kind === 'local' ? [t.partition] : [...t.partitions]));
    expect([...partitions].sort()).toEqual([0, 1, 2, 3]);
    expect(targets.find((t) => t.kind === 'remote')).toEqual({ kind: 'remote', url: 'http://other', partitions: [2] });
  });

  it('serves a global store locally only once it is bootstrapped', () => {
    const store = new MemoryKeyValueStore('global-store', 'global');
    const globals = { bootstrapped: false, store: () => store };
    const qs = source(undefined, globals);
    expect(qs.locate('global-store', Buffer.from('x'))).toMatchObject({ kind: 'unavailable' });
    globals.bootstrapped = true;
    expect(qs.locate('global-store', Buffer.from('x'))).toMatchObject({ kind: 'local' });
    expect(qs.scanTargets('global-store')).toEqual([{ kind: 'local', partition: 'global', store: expect.anything() }]);
  });

  it('lists stores with serdes and live partition counts, and the instances with their store partitions', async () => {
    const qs = source(new FakeTasks(), undefined);
    expect(new Map(qs.stores().map((s) => [s.name, [s.kind, s.partitionCount]]))).toEqual(
      new Map([
        ['table-store', ['partitioned', PARTITIONS]],
        ['global-store', ['global', 1]],
      ]),
    );
    expect(await qs.store('table-store')?.approximateCount()).toBe(3);
    expect(qs.store('table-store')?.codec.keyToJson(Buffer.from('abc'))).toBe('abc');
    const metadata = qs.metadata();
    expect(metadata.assignmentId).toBe('assignment-7');
    expect(metadata.instances).toEqual([
      { id: 'i-me', url: 'http://me', self: true, tasks: [`${tableSub}_0`, `${tableSub}_1`], storePartitions: { 'table-store': [0, 1] } },
      { id: 'i-other', url: 'http://other', self: false, tasks: [`${tableSub}_2`], storePartitions: { 'table-store': [2] } },
    ]);
  });

  it('reports only itself, with no assignment id, before joining the group', () => {
    expect(source(undefined, undefined).metadata()).toEqual({
      assignmentId: null,
      instances: [{ id: 'i-me', url: 'http://me', self: true, tasks: [], storePartitions: {} }],
    });
    expect(source(undefined, undefined).locate('table-store', Buffer.from('x'))).toMatchObject({ kind: 'unavailable' });
  });

  it('describes its topology as a graph, and has an empty lag history and no dead-letter reader until started', async () => {
    const qs = source(undefined, undefined);
    const graph = qs.topologyGraph();
    expect(graph).toBe(qs.topologyGraph()); // computed once
    expect(graph.applicationId).toBe('qs');
    expect(graph.nodes.filter((n) => n.kind === 'store').map((n) => n.name)).toEqual(['global-store', 'table-store']);
    expect(qs.consumerLag()).toEqual({ groupId: 'qs', intervalMs: 5000, times: [], partitions: [] });
    await expect(qs.deadLetters({ limit: 5 })).rejects.toThrow(/starting/);
  });

  it('hands lag history and dead-letter pages over from the runtime parts', async () => {
    const history = {
      groupId: 'qs',
      intervalMs: 1000,
      times: [1],
      partitions: [{ topic: 'orders', partition: 0, committed: [3], end: [5] }],
    };
    const page = { topic: 'qs-dlq', entries: [], partitions: [{ partition: 0, earliest: 0, end: 0 }], next: null };
    const requests: unknown[] = [];
    const qs = new RuntimeQuerySource({
      topology,
      url: () => '',
      instanceId: () => 'i',
      partitions: () => undefined,
      globals: () => undefined,
      tasks: () => undefined,
      status: () => ({ state: 'running', restoration: [] }),
      metrics: () => [],
      lagHistory: () => history,
      deadLetterReader: () => ({
        page: async (request) => {
          requests.push(request);
          return page;
        },
      }),
    });
    expect(qs.consumerLag()).toBe(history);
    expect(await qs.deadLetters({ limit: 7, before: new Map([[0, 9]]) })).toBe(page);
    expect(requests).toEqual([{ limit: 7, before: new Map([[0, 9]]) }]);
  });

  it('describes aggregated tables as partitioned stores and window stores as windowed, with their layout', () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('orders', { key: Serdes.string(), value: Serdes.string() }).groupBy((_k, v) => v, { key: Serdes.string() });
    grouped.count({ store: 'per-customer' });
    grouped.windowedBy(TimeWindows.ofSize(60_000).grace(1_000)).count({ store: 'per-minute' });
    const aggregations = b.build({ applicationId: 'agg' });
    const qs = new RuntimeQuerySource({
      topology: aggregations,
      url: () => 'http://me',
      instanceId: () => 'i-me',
      partitions: () => new Map([...aggregations.partitionCounts(() => 3), ['orders', 3]]),
      globals: () => undefined,
      tasks: () => undefined,
      status: () => ({ state: 'running', restoration: [] }),
      metrics: () => [],
    });
    expect(qs.store('per-customer')).toMatchObject({ kind: 'partitioned', partitionCount: 3, valueSerde: expect.any(String) });
    expect(qs.store('per-customer')?.window).toBeUndefined();
    expect(qs.store('per-minute')).toMatchObject({
      kind: 'windowed',
      partitionCount: 3,
      window: { windowSizeMs: 60_000, retentionMs: 61_000, segmentIntervalMs: expect.any(Number) },
    });
  });
});
