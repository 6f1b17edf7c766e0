/**
 * TaskManager with aggregations on a fake group member over an in-memory cluster: changelog records produced with
 * the task's outputs and acknowledged before the store batch, derived stores checkpointed at their changelog
 * position, restored from the changelog (counts and windows) before the task processes, `on-commit` updates sent by
 * the commit, and stores rebuilt when their changelog was recreated. The same on a real broker: test/runtime/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { topicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { StreamsBuilder } from '../../topology/builder.js';
import type { Topology } from '../../topology/topology.js';
import { Serdes } from '../../topology/serdes.js';
import { TimeWindows } from '../../topology/windows.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { EngineMetrics } from '../engine/metrics.js';
import type { TaskSpec } from '../kafka/assignor.js';
import type { GroupMemberHandlers } from '../kafka/group-member.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { FakeGroupMember } from '../kafka/testing/fake-group-member.js';
import { ensureChangelogTopics } from './changelog-topics.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';
import { TaskManager } from './task-manager.js';
import { windowStorageKey } from '../../state-store/window-layout.js';

const APP = 'agg';
const PARTITIONS = 2;
const str = Serdes.string();
const num = Serdes.json<number>();
const MINUTE = 60_000;
const COUNTS = `${APP}-counts-changelog`;
const WINDOWS = `${APP}-per-minute-changelog`;

/**
 * orders (keyed by customer) → per customer: a count (store 'counts', emitted to 'count-updates') and a count per
 * minute (store 'per-minute'); one sub-topology, no repartition.
 */
function aggregationTopology(emit: 'every-update' | 'on-commit' = 'every-update'): Topology {
  const b = new StreamsBuilder();
  const grouped = b.stream('orders', { key: str, value: str }).groupByKey();
  grouped.count({ store: 'counts', emit }).toStream().to('count-updates', { value: num });
  grouped.windowedBy(TimeWindows.ofSize(MINUTE)).count({ store: 'per-minute' });
  return b.build({ applicationId: APP });
}

/** Keys that land in each partition of a 2-partition topic (murmur2). */
const KEY = { p0: ['k3', 'k4', 'k5'], p1: ['k0', 'k1', 'k2'] } as const;

class Harness {
  readonly cluster = new FakeCluster();
  readonly failures: unknown[] = [];
  readonly tracker = new RestorationTracker(() => {});
  member!: FakeGroupMember;
  manager!: TaskManager;
  stateDirectory!: StateDirectory;

  constructor(
    readonly stateDir: string,
    readonly topology: Topology,
  ) {
    for (const topic of ['orders', 'count-updates']) this.cluster.createTopic(topic, PARTITIONS);
    this.cluster.createTopic(`${APP}-dlq`, 1);
  }

  async start(mine: readonly TaskId[], options: { stateDir?: string; commitIntervalMs?: number } = {}): Promise<TaskManager> {
    // What the cluster layout does at start: changelog topics with the task count, compacted.
    await ensureChangelogTopics(this.cluster, this.topology, () => PARTITIONS);
    this.stateDirectory = await StateDirectory.open({ stateDir: options.stateDir ?? this.stateDir, applicationId: APP });
    const metrics = new EngineMetrics();
    const sender = new OutputSender({
      producer: this.cluster,
      policy: resolveErrorPolicy(APP, {}),
      applicationId: APP,
      metrics,
      logger: silentLogger,
      retries: 0,
      changelogTopics: new Set(this.topology.changelogTopics.map((c) => c.topic)),
    });
    const specs: TaskSpec[] = [{ subtopology: 0, topics: this.topology.subtopologies[0].sourceTopics, partitions: PARTITIONS }];
    this.manager = new TaskManager(
      {
        topology: this.topology,
        member: (handlers: GroupMemberHandlers) => {
          this.member = new FakeGroupMember(this.cluster, handlers, { groupId: APP, tasks: specs });
          return this.member;
        },
        cluster: this.cluster,
        stateDirectory: this.stateDirectory,
        groupId: APP,
        partitions: new Map([
          ['orders', PARTITIONS],
          ['count-updates', PARTITIONS],
          [COUNTS, PARTITIONS],
          [WINDOWS, PARTITIONS],
        ]),
        globalStores: new Map(),
        errorPolicy: {},
        metrics,
        tracker: this.tracker,
        sender,
        logger: silentLogger,
        // Default: a commit after every cycle, so what was processed is what the stores serve.
        commitIntervalMs: options.commitIntervalMs ?? 0,
        maxTaskIdleMs: 0,
        readers: (readerOptions) => this.cluster.reader(readerOptions),
        onRebalancing: () => {},
        onAssigned: () => {},
        onFailure: (error) => this.failures.push(error),
      },
      await TaskManager.tasksWithLocalState(this.topology, this.stateDirectory),
    );
    const started = this.manager.start();
    await this.member.started;
    await this.member.assign(mine);
    await started;
    return this.manager;
  }

  async restored(): Promise<void> {
    await vi.waitFor(() => expect(this.manager.view.taskViews().every((view) => !view.restoring)).toBe(true));
  }

  async stop(commit = true): Promise<void> {
    await this.manager.stop(commit);
    await this.stateDirectory.close();
  }

  order(key: string, timestamp: number): void {
    const partition = (KEY.p0 as readonly string[]).includes(key) ? 0 : 1;
    this.cluster.append('orders', partition, [{ key, value: 'o', timestamp }]);
  }

  /** The served value of `key` in `store` (throws when the store is not served). */
  async count(key: string, store = 'counts'): Promise<unknown> {
    const partition = (KEY.p0 as readonly string[]).includes(key) ? 0 : 1;
    const local = this.manager.view.localStore(`0_${partition}`, store);
    if (!('store' in local)) throw new Error(local.reason);
    const value = await local.store.get(Buffer.from(key));
    return value === undefined ? undefined : value;
  }

  /** The count of `key`'s window starting at `start`, read from the served window store. */
  async windowCount(key: string, start: number): Promise<unknown> {
    const partition = (KEY.p0 as readonly string[]).includes(key) ? 0 : 1;
    const local = this.manager.view.localStore(`0_${partition}`, 'per-minute');
    if (!('store' in local)) throw new Error(local.reason);
    const layout = this.topology.stores.find((s) => s.name === 'per-minute')?.window;
    if (layout === undefined) throw new Error('per-minute is a window store');
    return local.store.get(windowStorageKey(Buffer.from(key), start, layout.segmentIntervalMs));
  }

  changelog(topic: string, partition: number): { key: string; value: number | null }[] {
    return this.cluster.records(topic, partition).map((r) => ({
      key: r.key?.toString('latin1') ?? '',
      value: r.value === null ? null : (JSON.parse(r.value.toString()) as number),
    }));
  }
}

const dirs: string[] = [];
async function harness(topology = aggregationTopology()): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-task-manager-agg-'));
  dirs.push(dir);
  return new Harness(dir, topology);
}

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-task-manager-agg-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('TaskManager with aggregations', () => {
  it("produces every store write to the changelog on the task's partition and checkpoints the acknowledged position", async () => {
    const h = await harness();
    h.order(KEY.p0[0], 1_000);
    h.order(KEY.p0[0], 2_000);
    h.order(KEY.p0[1], 61_000);
    h.order(KEY.p1[0], 3_000);
    await h.start(['0_0', '0_1']);
    await h.restored();
    await h.member.pollUntilIdle();
    await h.stop();
    expect(h.failures).toEqual([]);

    // Partition 0: counts 1, 2 of k3 and 1 of k4, in processing order.
    expect(h.changelog(COUNTS, 0).map((r) => `${r.key}=${r.value}`)).toEqual([`${KEY.p0[0]}=1`, `${KEY.p0[0]}=2`, `${KEY.p0[1]}=1`]);
    expect(h.changelog(COUNTS, 1).map((r) => `${r.key}=${r.value}`)).toEqual([`${KEY.p1[0]}=1`]);
    expect(h.changelog(WINDOWS, 0)).toHaveLength(3);
    // The stores' checkpoints are the changelog positions, written with their batches; the offsets went to the group.
    const dir = await StateDirectory.open({ stateDir: h.stateDir, applicationId: APP });
    const counts0 = await dir.openStore('counts', 0);
    expect(counts0.checkpoints()).toEqual(new Map([[topicPartitionId(COUNTS, 0), 3]]));
    expect(await counts0.get(Buffer.from(KEY.p0[0]))).toBe(2);
    expect((await dir.openStore('per-minute', 0)).checkpoints()).toEqual(new Map([[topicPartitionId(WINDOWS, 0), 3]]));
    expect((await dir.openStore('counts', 1)).checkpoints()).toEqual(new Map([[topicPartitionId(COUNTS, 1), 1]]));
    await dir.close();
    expect(h.cluster.committed(APP).get(topicPartitionId('orders', 0))).toBe(3);
  });

  it('restores counts and windows from the changelog into an empty state directory before processing, then counts on', async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) h.order(KEY.p1[1], 1_000 * i);
    h.order(KEY.p1[2], MINUTE + 5);
    await h.start(['0_1']);
    await h.restored();
    await h.member.pollUntilIdle();
    await h.stop();

    // Another instance (a new state directory) takes the task over; two more orders wait for it.
    h.order(KEY.p1[1], MINUTE + 10);
    h.order(KEY.p1[1], MINUTE + 20);
    await h.start(['0_1'], { stateDir: await freshDir() });
    // Restoring: the task's inputs wait and the stores answer "restoring", never an empty count.
    expect(h.member.isPaused('orders', 1)).toBe(true);
    expect(h.manager.view.localStore('0_1', 'counts')).toEqual({ reason: 'task 0_1: store counts partition 1 is restoring' });
    expect(h.cluster.reads.at(-1)?.partitions).toEqual(
      expect.arrayContaining([
        { topic: COUNTS, partition: 1, offset: 0 },
        { topic: WINDOWS, partition: 1, offset: 0 },
      ]),
    );
    await h.restored();
    expect(await h.count(KEY.p1[1])).toBe(5);
    expect(await h.windowCount(KEY.p1[1], 0)).toBe(5);
    expect(h.tracker.progress()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ store: 'counts', partition: 1, restoredOffset: 6, endOffset: 6, phase: 'caught-up', restoredRecords: 6 }),
        expect.objectContaining({ store: 'per-minute', partition: 1, endOffset: 6, phase: 'caught-up' }),
      ]),
    );
    await h.member.pollUntilIdle();
    expect(await h.count(KEY.p1[1])).toBe(7);
    expect(await h.windowCount(KEY.p1[1], MINUTE)).toBe(2);
    expect(await h.windowCount(KEY.p1[2], MINUTE)).toBe(1);
    await h.stop();
    expect(h.failures).toEqual([]);
  });

  it('restores only the changelog tail past its checkpoint, and rebuilds a store whose changelog was recreated', async () => {
    const h = await harness();
    h.order(KEY.p0[2], 1);
    h.order(KEY.p0[2], 2);
    await h.start(['0_0']);
    await h.restored();
    await h.member.pollUntilIdle();
    await h.stop();
    // Another instance counted on meanwhile (its changelog records are all this one needs).
    h.cluster.append(COUNTS, 0, [{ key: KEY.p0[2], value: '3' }]);
    await h.start(['0_0']);
    expect(h.cluster.reads.at(-1)?.partitions).toEqual([{ topic: COUNTS, partition: 0, offset: 2 }]);
    await h.restored();
    expect(await h.count(KEY.p0[2])).toBe(3);
    await h.stop();

    // The changelog is recreated empty (deleted by hand while the group's offsets stayed): the store's checkpoint 3
    // lies past its end, so the store is cleared rather than patched, and the new records count from there.
    h.cluster.deleteTopic(COUNTS);
    h.order(KEY.p0[2], 3);
    await h.start(['0_0']);
    expect(h.tracker.progress()).toEqual(
      expect.arrayContaining([expect.objectContaining({ store: 'counts', partition: 0, endOffset: 0, phase: 'caught-up' })]),
    );
    expect(await h.count(KEY.p0[2])).toBeUndefined();
    await h.member.pollUntilIdle();
    expect(await h.count(KEY.p0[2])).toBe(1);
    await h.stop();
  });

  it("sends what 'on-commit' tables held back at the commit, acknowledged before the store batch", async () => {
    const h = await harness(aggregationTopology('on-commit'));
    for (let i = 0; i < 4; i++) h.order(KEY.p0[0], i);
    await h.start(['0_0'], { commitIntervalMs: 60_000 });
    await h.restored();
    await h.member.pollUntilIdle();
    // Nothing emitted yet: the four updates of k3 are held back until the commit.
    expect(h.changelog(COUNTS, 0)).toEqual([]);
    await h.stop();
    expect(h.changelog(COUNTS, 0)).toEqual([{ key: KEY.p0[0], value: 4 }]);
    expect(h.cluster.records('count-updates', 0).map((r) => r.value?.toString())).toEqual(['4']);
    const dir = await StateDirectory.open({ stateDir: h.stateDir, applicationId: APP });
    expect((await dir.openStore('counts', 0)).checkpoints()).toEqual(new Map([[topicPartitionId(COUNTS, 0), 1]]));
    await dir.close();
  });
});
