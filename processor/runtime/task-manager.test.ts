/**
 * TaskManager on a fake group member over an in-memory cluster (no broker): assignment, restoration, processing,
 * the commit cycle, rebalances, refused commits, send failures and stop. Stores are real LevelDB in temp dirs.
 * The same paths against a real broker: test/runtime/.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KafkaProduceError, PartitionCountDecreasedError } from '../../errors.js';
import { partitionFor } from '../kafka/producer.js';
import { silentLogger } from '../../common/logger.js';
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { StreamsBuilder } from '../../topology/builder.js';
import type { Topology } from '../../topology/topology.js';
import { Serdes } from '../../topology/serdes.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { EngineMetrics } from '../engine/metrics.js';
import type { TaskSpec } from '../kafka/assignor.js';
import type { GroupMemberHandlers } from '../kafka/group-member.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { FakeGroupMember } from '../kafka/testing/fake-group-member.js';
import type { AssignmentEvent } from './events.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';
import { TaskManager } from './task-manager.js';

const APP = 'app';
const PARTITIONS = 2;
const str = Serdes.string();

/** customers (table) ⋈ orders (stream) → out: one sub-topology, tasks 0_0 and 0_1. */
function joinTopology(): Topology {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  b.stream('orders', { key: str, value: str })
    .leftJoin(customers, (order, name) => `${order}@${name ?? 'none'}`)
    .to('out', { value: str });
  return b.build({ applicationId: APP });
}

/** Keys that land in each partition of a 2-partition topic (murmur2), so records go where their task reads. */
const KEY = { p0: ['k3', 'k4', 'k5'], p1: ['k0', 'k1', 'k2'] } as const;

class Harness {
  readonly cluster = new FakeCluster();
  readonly topology = joinTopology();
  readonly failures: unknown[] = [];
  readonly assigned: AssignmentEvent[] = [];
  readonly tracker = new RestorationTracker(() => {});
  rebalancingSignals = 0;
  member!: FakeGroupMember;
  manager!: TaskManager;
  stateDirectory!: StateDirectory;

  constructor(readonly stateDir: string) {
    for (const topic of ['customers', 'orders', 'out']) this.cluster.createTopic(topic, PARTITIONS);
    this.cluster.createTopic(`${APP}-dlq`, 1);
  }

  /** Opens the state directory and builds a manager whose member is `memberClass` (a FakeGroupMember). */
  async create(
    options: {
      commitIntervalMs?: number;
      memberClass?: typeof FakeGroupMember;
      readinessLag?: number;
      partitions?: Map<string, number>;
      refreshPartitions?: () => Promise<void>;
      probingRebalanceIntervalMs?: number;
    } = {},
  ): Promise<TaskManager> {
    this.stateDirectory = await StateDirectory.open({ stateDir: this.stateDir, applicationId: APP });
    const metrics = new EngineMetrics();
    const sender = new OutputSender({
      producer: this.cluster,
      policy: resolveErrorPolicy(APP, {}),
      applicationId: APP,
      metrics,
      logger: silentLogger,
      retries: 0,
    });
    const specs: TaskSpec[] = [{ subtopology: 0, topics: this.topology.subtopologies[0].sourceTopics, partitions: PARTITIONS }];
    const MemberClass = options.memberClass ?? FakeGroupMember;
    this.manager = new TaskManager(
      {
        topology: this.topology,
        member: (handlers: GroupMemberHandlers) => {
          this.member = new MemberClass(this.cluster, handlers, { groupId: APP, tasks: specs });
          return this.member;
        },
        cluster: this.cluster,
        stateDirectory: this.stateDirectory,
        groupId: APP,
        partitions:
          options.partitions ??
          new Map([
            ['customers', PARTITIONS],
            ['orders', PARTITIONS],
            ['out', PARTITIONS],
          ]),
        refreshPartitions: options.refreshPartitions,
        globalStores: new Map(),
        errorPolicy: {},
        metrics,
        tracker: this.tracker,
        sender,
        logger: silentLogger,
        commitIntervalMs: options.commitIntervalMs ?? 60_000,
        maxTaskIdleMs: 0,
        readers: (readerOptions) => this.cluster.reader(readerOptions),
        readinessLag: options.readinessLag,
        probingRebalanceIntervalMs: options.probingRebalanceIntervalMs,
        onRebalancing: () => this.rebalancingSignals++,
        onAssigned: (event) => this.assigned.push(event),
        onFailure: (error) => this.failures.push(error),
      },
      await TaskManager.tasksWithLocalState(this.topology, this.stateDirectory),
    );
    return this.manager;
  }

  /** Starts the manager and hands it its first assignment. */
  async start(
    mine: readonly TaskId[],
    options: Parameters<Harness['create']>[0] = {},
    others: Parameters<FakeGroupMember['assign']>[1] = [],
  ): Promise<TaskManager> {
    const manager = await this.create(options);
    const started = manager.start();
    await this.member.started;
    await this.member.assign(mine, others);
    await started;
    return manager;
  }

  /** Waits until no task of the manager restores (the ChangelogReader runs in the background). */
  async restored(): Promise<void> {
    await vi.waitFor(() => expect(this.manager.view.taskViews().every((view) => !view.restoring)).toBe(true));
  }

  /** Polls the member until `store` of `task` is served, or fails. */
  async pollUntilServed(task: TaskId): Promise<void> {
    await vi.waitFor(async () => {
      await this.member.pollUntilIdle();
      expect(this.manager.view.localStore(task, 'customers')).toHaveProperty('store');
    });
  }

  async stop(commit = true): Promise<void> {
    await this.manager.stop(commit);
    await this.stateDirectory.close();
  }

  outValues(partition: number): string[] {
    return this.cluster.records('out', partition).map((r) => `${r.key?.toString()}=${r.value?.toString()}`);
  }

  committed(topic: string, partition: number): number | undefined {
    return this.cluster.committed(APP).get(topicPartitionId(topic, partition));
  }

  async storeGet(task: TaskId, key: string): Promise<unknown> {
    const local = this.manager.view.localStore(task, 'customers');
    if (!('store' in local)) throw new Error(local.reason);
    return local.store.get(Buffer.from(key));
  }
}

const dirs: string[] = [];
async function harness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-task-manager-'));
  dirs.push(dir);
  return new Harness(dir);
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('TaskManager on a fake group member', () => {
  it('reports its restored tasks as caught up at join, and asks for probing rebalances while another member warms one up', async () => {
    const h = await harness();
    h.cluster.append('customers', 1, [{ key: KEY.p1[0], value: 'Ada' }]);
    const warming = { memberId: 'member-2', url: 'http://member-2', tasks: [], standbys: ['0_1' as TaskId], warmups: ['0_1' as TaskId] };
    await h.start(['0_0', '0_1'], { probingRebalanceIntervalMs: 20 }, [warming]);
    await h.restored();
    expect([...h.member.joinHints().taskLags]).toEqual([
      ['0_0', 0],
      ['0_1', 0],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    // kafkajs rejoins only from its fetch loop: the request takes effect at the next batch, which is not handled.
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 10 }]);
    await h.member.poll();
    expect(h.member.rebalancesRequested).toBe(1);
    expect(h.rebalancingSignals).toBe(1);
    expect(h.outValues(0)).toEqual([]);
    // The warm-up took its task over: no warm-ups left, no more probing.
    await h.member.assign(['0_0'], [{ ...warming, tasks: ['0_1'], standbys: [], warmups: [] }]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await h.member.pollUntilIdle();
    expect(h.member.rebalancesRequested).toBe(1);
    expect(h.outValues(0)).toEqual(['k3=o1@none']);
    await h.stop();
  });

  it('uses keys that land in the partitions they are meant for', async () => {
    const cluster = new FakeCluster().createTopic('t', PARTITIONS);
    await cluster.send(
      [...KEY.p0, ...KEY.p1].map((key) => ({ topic: 't', key: Buffer.from(key), value: null, timestamp: 0, headers: {} })),
    );
    expect(cluster.records('t', 0).map((r) => r.key?.toString())).toEqual(KEY.p0);
    expect(cluster.records('t', 1).map((r) => r.key?.toString())).toEqual(KEY.p1);
  });

  it('opens the assigned tasks and restores their table partitions outside the group before processing', async () => {
    const h = await harness();
    h.cluster.append('customers', 0, [
      { key: KEY.p0[0], value: 'Ada' },
      { key: KEY.p0[1], value: 'Bob' },
    ]);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 10 }]);
    await h.start(['0_0']);

    // Never committed: the table restores from the earliest offset up to its end at assignment, with a reader of
    // its own; the task's inputs wait, and the table partition is sought to where the task takes over.
    expect(h.member.seeks).toEqual([{ topic: 'customers', partition: 0, offset: 2 }]);
    expect(h.member.isPaused('orders', 0)).toBe(true);
    expect(h.member.isPaused('customers', 0)).toBe(true);
    expect(h.assigned).toEqual([{ epoch: 1, tasks: ['0_0'], added: ['0_0'], removed: [], members: 1 }]);
    expect(h.cluster.reads.map((read) => [read.partitions, read.endOffsets])).toEqual([
      [[{ topic: 'customers', partition: 0, offset: 0 }], new Map([['customers:0', 2]])],
    ]);

    await h.restored();
    expect(h.member.isPaused('orders', 0)).toBe(false);
    expect(await h.storeGet('0_0', KEY.p0[1])).toBe('Bob');
    expect(h.tracker.progress()).toMatchObject([
      { store: 'customers', partition: 0, restoredOffset: 2, endOffset: 2, done: true, phase: 'caught-up' },
    ]);
    expect(h.tracker.totalsByStore()).toEqual({ customers: { restoredRecords: 2, restorations: 1, skipped: 0 } });
    await h.member.pollUntilIdle();
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o1@Ada`]);
    expect(h.failures).toEqual([]);
    await h.stop();
  });

  it("writes a restored store's write buffer out as a table file, and keeps serving it", async () => {
    const h = await harness();
    h.cluster.append(
      'customers',
      0,
      KEY.p0.map((key, i) => ({ key, value: `name-${i}` })),
    );
    await h.start(['0_0']);
    await h.restored();
    // LevelDB's log holds what its memtable holds: empty once the memtable is a table file.
    const location = h.stateDirectory.storePath('customers', 0);
    const files = async (suffix: string) => (await readdir(location)).filter((file) => file.endsWith(suffix));
    await vi.waitFor(async () => {
      expect(await files('.ldb')).not.toEqual([]);
      let logBytes = 0;
      for (const file of await files('.log')) logBytes += (await stat(join(location, file))).size;
      expect(logBytes).toBe(0);
    });
    expect(await h.storeGet('0_0', KEY.p0[2])).toBe('name-2');
    expect(h.failures).toEqual([]);
    await h.stop();
  });

  it('finishes restoring a table partition that ends in transaction markers, aborted records or compaction gaps', async () => {
    const h = await harness();
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada' }]);
    h.cluster.appendMarkers('customers', 0); // commit marker
    h.cluster.append('customers', 0, [{ key: KEY.p0[1], value: 'aborted' }]);
    h.cluster.compact('customers', 0, [2]); // as good as aborted: never delivered
    h.cluster.appendMarkers('customers', 0); // abort marker: the log ends at 4 with no record at 3
    await h.start(['0_0']);
    await h.restored();
    expect(await h.storeGet('0_0', KEY.p0[0])).toBe('Ada');
    expect(await h.storeGet('0_0', KEY.p0[1])).toBeUndefined();
    // The store's checkpoint is the reader's position past the markers, not one short of the end.
    expect((await h.stateDirectory.openStore('customers', 0)).checkpoints().get(topicPartitionId('customers', 0))).toBe(4);
    expect(h.tracker.isDone('customers', 0)).toBe(true);
    await h.stop();
    expect(h.committed('customers', 0)).toBe(4);
  });

  it('is caught up at once on an emptied or empty table partition, and reads stream inputs from their log start', async () => {
    const h = await harness();
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada' }]);
    h.cluster.deleteRecords('customers', 0, 1); // emptied: log start = log end = 1
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    h.cluster.deleteRecords('orders', 0, 1);
    h.cluster.commit(APP, new Map([[topicPartitionId('orders', 0), 0]])); // below the log start now
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o2', timestamp: 6 }]);
    await h.start(['0_0', '0_1']);
    expect(h.cluster.reads).toEqual([]); // nothing to restore anywhere
    expect(h.tracker.allDone()).toBe(true);
    expect(h.member.seeks).toEqual(
      expect.arrayContaining([
        { topic: 'customers', partition: 0, offset: 1 },
        { topic: 'orders', partition: 0, offset: 1 },
      ]),
    );
    await h.member.pollUntilIdle();
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o2@none`]);
    await h.stop();
  });

  it('rebuilds a store whose checkpoint is older than the log start offset, from the log start', async () => {
    const h = await harness();
    h.cluster.append('customers', 1, [
      { key: KEY.p1[0], value: 'Ada' },
      { key: KEY.p1[1], value: 'Bob' },
    ]);
    await h.start(['0_1']);
    await h.restored();
    await h.stop();
    // While down: Bob is deleted, then retention removes everything up to (and past) the store's checkpoint.
    h.cluster.append('customers', 1, [
      { key: KEY.p1[1], value: null },
      { key: KEY.p1[2], value: 'Cy' },
      { key: KEY.p1[0], value: 'Ann' },
    ]);
    h.cluster.deleteRecords('customers', 1, 4);
    h.cluster.commit(APP, new Map([[topicPartitionId('customers', 1), 5]])); // another instance processed them
    await h.start(['0_1']);
    await h.restored();
    // Patching the old store would keep Bob (his tombstone is gone) and Cy would be missing; rebuilt, it holds the log.
    expect(await h.storeGet('0_1', KEY.p1[0])).toBe('Ann');
    expect(await h.storeGet('0_1', KEY.p1[1])).toBeUndefined();
    expect(await h.storeGet('0_1', KEY.p1[2])).toBeUndefined();
    expect(h.cluster.reads.at(-1)?.partitions).toEqual([{ topic: 'customers', partition: 1, offset: 4 }]);
    await h.stop();
  });

  it('after a restart, restores up to the committed offset, then serves the store only once the task caught up', async () => {
    const h = await harness();
    h.cluster.append('customers', 1, [
      { key: KEY.p1[0], value: 'Ada', timestamp: 1 },
      { key: KEY.p1[1], value: 'Bob', timestamp: 2 },
    ]);
    await h.start(['0_1']);
    await h.restored();
    await h.stop();
    expect(h.committed('customers', 1)).toBe(2);

    // While this instance was away: one update the group already processed (committed), then a backlog ending in
    // a transaction marker, and an order older than the backlog's updates.
    h.cluster.append('customers', 1, [{ key: KEY.p1[0], value: 'Ann', timestamp: 3 }]);
    h.cluster.commit(APP, new Map([[topicPartitionId('customers', 1), 3]]));
    h.cluster.append('orders', 1, [{ key: KEY.p1[2], value: 'o1', timestamp: 4 }]);
    h.cluster.append('customers', 1, [
      { key: KEY.p1[2], value: 'Cy', timestamp: 5 },
      { key: KEY.p1[1], value: null, timestamp: 6 },
    ]);
    const end = h.cluster.appendMarkers('customers', 1);
    await h.start(['0_1'], { commitIntervalMs: 60_000 });
    expect(h.member.seeks).toEqual([{ topic: 'customers', partition: 1, offset: 3 }]);
    await h.restored();
    expect(h.tracker.totalsByStore().customers).toMatchObject({ restoredRecords: 3, restorations: 2 });
    // Restored to the committed offset: not served while the backlog is processed (a lookup would be stale).
    expect(h.manager.view.localStore('0_1', 'customers')).toEqual({
      reason: `task 0_1: store customers partition 1 is catching up (offset 3 of ${end})`,
    });
    expect(h.tracker.progress()[0]).toMatchObject({ done: false, phase: 'catching-up' });

    // The task processes in timestamp order (the order before Cy's update), and commits as soon as its store
    // reaches the end offset, past the trailing marker, without waiting for the commit interval.
    await h.pollUntilServed('0_1');
    expect(h.outValues(1)).toEqual([`${KEY.p1[2]}=o1@none`]);
    expect(await h.storeGet('0_1', KEY.p1[0])).toBe('Ann');
    expect(await h.storeGet('0_1', KEY.p1[1])).toBeUndefined();
    expect(await h.storeGet('0_1', KEY.p1[2])).toBe('Cy');
    expect(h.tracker.progress()[0]).toMatchObject({ restoredOffset: end, endOffset: end, done: true, phase: 'caught-up' });
    expect(h.committed('customers', 1)).toBe(end);
    await h.stop();
  });

  it('serves a catching-up partition within the readiness lag', async () => {
    const h = await harness();
    await h.start(['0_0']);
    await h.stop();
    h.cluster.commit(APP, new Map([[topicPartitionId('customers', 0), 0]]));
    h.cluster.append('customers', 0, [
      { key: KEY.p0[0], value: 'Ada' },
      { key: KEY.p0[1], value: 'Bob' },
    ]);
    await h.start(['0_0'], { readinessLag: 5 });
    expect(h.manager.view.localStore('0_0', 'customers')).toHaveProperty('store');
    expect(h.tracker.allDone()).toBe(true);
    await h.stop();
  });

  it('processes records in order and sends every output, keyed to its murmur2 partition', async () => {
    const h = await harness();
    await h.start(['0_0', '0_1']);
    h.cluster.append('customers', 1, [{ key: KEY.p1[0], value: 'Ada', timestamp: 1 }]);
    h.cluster.append(
      'orders',
      1,
      ['o1', 'o2', 'o3', 'o4'].map((value, i) => ({ key: KEY.p1[i % 2], value, timestamp: 10 + i })),
    );
    h.cluster.append('orders', 0, [{ key: KEY.p0[2], value: 'o5', timestamp: 20 }]);
    await h.member.pollUntilIdle();
    expect(h.outValues(1)).toEqual([`${KEY.p1[0]}=o1@Ada`, `${KEY.p1[1]}=o2@none`, `${KEY.p1[0]}=o3@Ada`, `${KEY.p1[1]}=o4@none`]);
    expect(h.outValues(0)).toEqual([`${KEY.p0[2]}=o5@none`]);
    expect(h.manager.stats()).toMatchObject({ recordsProcessed: 6, commits: 0, rebalances: 1 });
    expect(h.member.commits).toEqual([]); // the commit interval has not passed
    await h.stop();
  });

  it('processes a large fetch in passes: the first outputs are sent before the last records are processed', async () => {
    class WholeFetchMember extends FakeGroupMember {
      constructor(...[cluster, handlers, options]: ConstructorParameters<typeof FakeGroupMember>) {
        super(cluster, handlers, { ...options, maxBatchRecords: 20_000 });
      }
    }
    const h = await harness();
    await h.start(['0_0', '0_1'], { memberClass: WholeFetchMember });
    const send = vi.spyOn(h.cluster, 'send');
    const orders = Array.from({ length: 10_000 }, (_, i) => ({ key: KEY.p1[i % 3], value: `o${i}`, timestamp: 10 + i }));
    h.cluster.append('orders', 1, orders);
    await h.member.pollUntilIdle();
    expect(h.outValues(1)).toEqual(orders.map((o) => `${o.key}=${o.value}@none`));
    // One fetched batch of 10,000 records, but the first pass's outputs were sent while the rest waited.
    expect(send.mock.calls[0][0].length).toBeLessThan(orders.length);
    await h.stop();
  });

  it('re-reads partition counts at every assignment: a new partition is processed from its first offset, outputs use the new counts', async () => {
    const h = await harness();
    const partitions = new Map([
      ['customers', PARTITIONS],
      ['orders', PARTITIONS],
      ['out', PARTITIONS],
    ]);
    let refreshes = 0;
    const refreshPartitions = async () => {
      refreshes++;
      for (const topic of ['customers', 'orders', 'out']) partitions.set(topic, h.cluster.partitionCount(topic) ?? 0);
    };
    await h.start(['0_0'], { partitions, refreshPartitions });
    expect(refreshes).toBe(1);

    // customers and orders grow to 3 partitions, out to 5; records land in the new partition before any assignment.
    h.cluster.createTopic('customers', 3).createTopic('orders', 3).createTopic('out', 5);
    h.cluster.append('orders', 2, [
      { key: 'n1', value: 'early-1', timestamp: 5 },
      { key: 'n2', value: 'early-2', timestamp: 6 },
    ]);
    await h.member.assign(['0_0', '0_2']);
    expect(refreshes).toBe(2);
    await h.restored();
    await h.member.pollUntilIdle();
    const out = [0, 1, 2, 3, 4].flatMap((p) => h.cluster.records('out', p).map((r) => [r.key?.toString(), r.partition] as const));
    expect(out).toEqual(
      expect.arrayContaining([
        ['n1', partitionFor('out', Buffer.from('n1'), 5)],
        ['n2', partitionFor('out', Buffer.from('n2'), 5)],
      ]),
    );
    await h.stop();
  });

  it('fails when re-reading partition counts at an assignment fails (e.g. a count went down)', async () => {
    const h = await harness();
    let calls = 0;
    await h.start(['0_0'], {
      refreshPartitions: async () => {
        if (++calls > 1) throw new PartitionCountDecreasedError({ orders: { before: 2, now: 1 } });
      },
    });
    await h.member.assign(['0_0']);
    expect(h.failures).toEqual([expect.any(PartitionCountDecreasedError)]);
    await h.stop(false);
  });

  it('at the commit interval writes the store batches, then commits the offsets they hold', async () => {
    const snapshots: { offsets: Map<TopicPartitionId, number>; checkpoints: Map<TopicPartitionId, number>; outputs: number }[] = [];
    const h = await harness();
    class ObservedMember extends FakeGroupMember {
      override async commitOffsets(offsets: ReadonlyMap<TopicPartitionId, number>, epoch: number): Promise<void> {
        const store = await h.stateDirectory.openStore('customers', 0); // the open instance the task writes to
        snapshots.push({
          offsets: new Map(offsets),
          checkpoints: new Map(store.checkpoints()),
          outputs: h.cluster.records('out', 0).length,
        });
        return super.commitOffsets(offsets, epoch);
      }
    }
    await h.start(['0_0'], { commitIntervalMs: 0, memberClass: ObservedMember });
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada', timestamp: 1 }]);
    h.cluster.append('orders', 0, [
      { key: KEY.p0[0], value: 'o1', timestamp: 5 },
      { key: KEY.p0[1], value: 'o2', timestamp: 6 },
    ]);
    await h.member.pollUntilIdle();

    expect(h.committed('customers', 0)).toBe(1);
    expect(h.committed('orders', 0)).toBe(2);
    expect(snapshots.length).toBeGreaterThan(0);
    for (const { offsets, checkpoints, outputs } of snapshots) {
      // Every offset sent to the group is already in the store's checkpoint, and every output before it is acknowledged.
      const table = offsets.get(topicPartitionId('customers', 0));
      if (table !== undefined) expect(checkpoints.get(topicPartitionId('customers', 0))).toBe(table);
      const orders = offsets.get(topicPartitionId('orders', 0));
      if (orders !== undefined) expect(outputs).toBeGreaterThanOrEqual(orders);
    }
    expect(h.manager.stats().commits).toBe(h.member.commits.length);
    await h.stop();
  });

  it('commits in the window when a rebalance starts, then revokes every task at the next assignment', async () => {
    const h = await harness();
    await h.start(['0_0', '0_1']);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    h.cluster.append('orders', 1, [{ key: KEY.p1[0], value: 'o2', timestamp: 5 }]);
    await h.member.pollUntilIdle();
    expect(h.member.commits).toEqual([]);

    h.member.signalRebalance();
    await vi.waitFor(() => expect(h.member.commits).toHaveLength(1));
    expect(h.rebalancingSignals).toBe(1);
    expect(h.manager.view.isRebalancing).toBe(true);
    expect(h.manager.view.localStore('0_0', 'customers')).toEqual({ reason: 'a rebalance is in progress' });
    await h.member.assign(['0_1'], [{ memberId: 'member-2', url: 'http://member-2', tasks: ['0_0'] }]);

    // The rebalance commit ran before the revocation, for the epoch the work belonged to.
    expect(h.member.commits[0]).toEqual({
      epoch: 1,
      offsets: new Map([
        [topicPartitionId('orders', 0), 1],
        [topicPartitionId('orders', 1), 1],
      ]),
    });
    expect(h.assigned.at(-1)).toEqual({ epoch: 2, tasks: ['0_1'], added: [], removed: ['0_0'], members: 2 });
    expect(h.manager.view.isRebalancing).toBe(false);
    expect(h.manager.view.localStore('0_0', 'customers')).toEqual({ reason: 'task 0_0 is not assigned to this instance' });
    expect(h.manager.view.localPartitions('customers')).toEqual([1]);
    expect(h.manager.view.currentAssignment()?.all.get('0_0')?.memberId).toBe('member-2');
    expect(h.tracker.progress().map((p) => p.partition)).toEqual([1]);
    await h.stop();
  });

  it('keeps a task it keeps open across a rebalance: served at once, nothing restored or replayed', async () => {
    const h = await harness();
    await h.start(['0_0', '0_1'], { commitIntervalMs: 0 });
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada', timestamp: 1 }]);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    await h.restored();
    await h.pollUntilServed('0_0');
    const openedBefore = h.tracker.progress().filter((p) => p.partition === 0);

    h.member.signalRebalance();
    await h.member.assign(['0_0'], [{ memberId: 'member-2', url: 'http://member-2', tasks: ['0_1'] }]);
    // No catching-up phase: the kept task's store is served as soon as the assignment is set up.
    expect(await h.storeGet('0_0', KEY.p0[0])).toBe('Ada');
    expect(h.tracker.progress().filter((p) => p.partition === 0)).toEqual(openedBefore);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o2', timestamp: 6 }]);
    await h.member.pollUntilIdle();
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o1@Ada`, `${KEY.p0[0]}=o2@Ada`]);
    expect(h.assigned.at(-1)).toEqual({ epoch: 2, tasks: ['0_0'], added: [], removed: ['0_1'], members: 2 });
    // The kept task's pause (its last record before the rebalance → its first after) is measured once.
    expect(h.manager.stats().unmovedTaskPauses).toMatchObject({ count: 1 });
    expect(h.manager.stats().unmovedTaskPauses.lastMs).toBeGreaterThanOrEqual(0);
    await h.stop();
  });

  it('reopens its tasks when a generation may have passed without it (a new member id): another member may have moved them on', async () => {
    const h = await harness();
    await h.start(['0_0', '0_1'], { commitIntervalMs: 0 });
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada', timestamp: 1 }]);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    await h.restored();
    await h.pollUntilServed('0_0');

    h.member.signalRebalance();
    h.member.memberId = 'member-1-rejoined'; // its session expired: the coordinator knows it as a new member
    await h.member.assign(['0_0'], [{ memberId: 'member-2', url: 'http://member-2', tasks: ['0_1'] }]);
    await h.pollUntilServed('0_0');
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o2', timestamp: 6 }]);
    await h.member.pollUntilIdle();
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o1@Ada`, `${KEY.p0[0]}=o2@Ada`]);
    // Nothing was kept open (a kept task's pause would be measured, as in the test above): the task was reopened.
    expect(h.manager.stats().unmovedTaskPauses.count).toBe(0);
    await h.stop();
  });

  it('gives up setting up an assignment a newer one replaced: no failure, and no store of it left open', async () => {
    const h = await harness();
    h.cluster.append('customers', 1, [{ key: KEY.p1[0], value: 'Ada' }]);
    await h.start(['0_0']);
    await h.restored();
    // As kafkajs's next join: the newer generation begins (0_1's partitions no longer owned) before the handler of
    // the one that adds 0_1 has positioned it.
    const superseded = h.member.assign(['0_0', '0_1']);
    const newer = h.member.assign(['0_0']);
    await Promise.all([superseded, newer]);
    expect(h.failures).toEqual([]);
    expect(h.manager.view.taskViews().map((view) => view.id)).toEqual(['0_0']);
    // 0_1 opens again: its stores were closed when its setup was given up.
    await h.member.assign(['0_0', '0_1']);
    await h.restored();
    expect(h.failures).toEqual([]);
    expect(await h.storeGet('0_1', KEY.p1[0])).toBe('Ada');
    await h.stop();
  });

  it('commits the batch that saw the rebalance at its heartbeat, then lets the member rejoin', async () => {
    const h = await harness();
    await h.start(['0_0']);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    h.member.rebalanceOnHeartbeat = true;
    expect(await h.member.poll()).toBe(0); // the handler rethrew the heartbeat's StaleAssignmentError
    expect(h.member.commits).toEqual([{ epoch: 1, offsets: new Map([[topicPartitionId('orders', 0), 1]]) }]);
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o1@none`]);
    expect(h.failures).toEqual([]);
    await h.stop();
  });

  it('tolerates a commit the coordinator refuses as stale, and commits again in the next epoch', async () => {
    const h = await harness();
    await h.start(['0_0'], { commitIntervalMs: 0 });
    h.member.refuseCommits = true;
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    await h.member.pollUntilIdle();
    expect(h.failures).toEqual([]);
    expect(h.member.commits).toEqual([]);
    expect(h.manager.view.isRebalancing).toBe(true); // the refusal signalled the rebalance

    h.member.refuseCommits = false;
    await h.member.assign(['0_0']);
    h.cluster.append('orders', 0, [{ key: KEY.p0[1], value: 'o2', timestamp: 6 }]);
    await h.member.pollUntilIdle();
    // The task stayed with this member, open: it goes on after what it processed (no replay of o1), and the next
    // commit covers both records.
    expect(h.outValues(0)).toEqual([`${KEY.p0[0]}=o1@none`, `${KEY.p0[1]}=o2@none`]);
    expect(h.committed('orders', 0)).toBe(2);
    expect(h.failures).toEqual([]);
    await h.stop();
  });

  it('fails without committing anything when a send fails', async () => {
    const h = await harness();
    await h.start(['0_0'], { commitIntervalMs: 0 });
    h.cluster.sendFailure = new Error('broker said no');
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    await h.member.pollUntilIdle();
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toBeInstanceOf(KafkaProduceError);
    expect(h.member.commits).toEqual([]);
    // Halted: later batches are not taken, and stopping after a failure commits nothing.
    h.cluster.sendFailure = undefined;
    expect(await h.member.poll()).toBe(0);
    await h.stop(false);
    expect(h.member.commits).toEqual([]);
    expect(h.committed('orders', 0)).toBeUndefined();
    expect(h.member.status).toBe('stopped');
  });

  it('stop() commits the work done since the last commit, leaves the group and closes the stores', async () => {
    const h = await harness();
    await h.start(['0_0']);
    h.cluster.append('customers', 0, [{ key: KEY.p0[0], value: 'Ada', timestamp: 1 }]);
    h.cluster.append('orders', 0, [{ key: KEY.p0[0], value: 'o1', timestamp: 5 }]);
    await h.member.pollUntilIdle();
    expect(h.member.commits).toEqual([]);
    const store = await h.stateDirectory.openStore('customers', 0);
    await h.stop();
    expect(h.member.status).toBe('stopped');
    expect(h.committed('customers', 0)).toBe(1);
    expect(h.committed('orders', 0)).toBe(1);
    expect(store.isClosed).toBe(true);
    expect(h.manager.view.taskViews()).toEqual([]);
  });
});
