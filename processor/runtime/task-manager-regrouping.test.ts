/**
 * TaskManager after a grown topic, on a fake group member over an in-memory cluster: an aggregation's counts (restored
 * from its changelog) and a co-partitioned table follow their keys to the new tasks (read once from the earlier
 * partitions, the partition-count history telling which), deleted rows stay deleted, and a task whose keys left
 * holds only its own (running tasks: after the old ones processed what was partitioned with the old counts). The same on a real broker: test/runtime/partition-expansion.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { defaultPartition } from '../../common/partitioner.js';
import type { TaskId } from '../../common/task-id.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { EngineMetrics } from '../engine/metrics.js';
import type { GroupMemberHandlers } from '../kafka/group-member.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { FakeGroupMember } from '../kafka/testing/fake-group-member.js';
import { ensureChangelogTopics } from './changelog-topics.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';
import { TaskManager } from './task-manager.js';

const APP = 'regroup';
const COUNTS = `${APP}-counts-changelog`;
const str = Serdes.string();
const num = Serdes.json<number>();

/** orders (keyed by customer) counted per customer (store 'counts'); customers a co-partitioned table (store 'customers'). */
function topology() {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  const orders = b.stream('orders', { key: str, value: str });
  orders.groupByKey().count({ store: 'counts' }).toStream().to('count-updates', { value: num });
  orders.join(customers, (o, c) => `${o}@${c}`).to('enriched');
  return b.build({ applicationId: APP });
}

const keys = Array.from({ length: 40 }, (_, i) => `c${i}`);
const partitionOf = (key: string, count: number) => defaultPartition(Buffer.from(key), count);

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface Growth {
  /** Grows the cluster's topics and the counts and history the manager sees, then assigns every task of `to`. */
  grow(to: number): Promise<void>;
  /** Delivers what the cluster holds until nothing is left. */
  poll(): Promise<void>;
}

async function run(
  cluster: FakeCluster,
  count: number,
  history: Map<string, number[]>,
  body: (m: TaskManager, growth: Growth) => Promise<void>,
) {
  const top = topology();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-regroup-'));
  dirs.push(dir);
  await ensureChangelogTopics(cluster, top, () => count);
  const stateDirectory = await StateDirectory.open({ stateDir: dir, applicationId: APP });
  const metrics = new EngineMetrics();
  const failures: unknown[] = [];
  let member!: FakeGroupMember;
  const specs = [{ subtopology: 0, topics: top.subtopologies[0].sourceTopics, partitions: count }];
  const topics = ['orders', 'customers', 'count-updates', 'enriched', COUNTS];
  const partitions = new Map(topics.map((topic) => [topic, count]));
  const manager = new TaskManager(
    {
      topology: top,
      member: (handlers: GroupMemberHandlers) => (member = new FakeGroupMember(cluster, handlers, { groupId: APP, tasks: specs })),
      cluster,
      stateDirectory,
      groupId: APP,
      partitions,
      partitionHistory: history,
      refreshPartitions: async () => {},
      movedKeysGraceMs: 0,
      globalStores: new Map(),
      errorPolicy: {},
      metrics,
      tracker: new RestorationTracker(() => {}),
      sender: new OutputSender({
        producer: cluster,
        policy: resolveErrorPolicy(APP, {}),
        applicationId: APP,
        metrics,
        logger: silentLogger,
        retries: 0,
        changelogTopics: new Set([COUNTS]),
      }),
      logger: silentLogger,
      commitIntervalMs: 0,
      maxTaskIdleMs: 0,
      readers: (options) => cluster.reader(options),
      onRebalancing: () => {},
      onAssigned: () => {},
      onFailure: (error) => failures.push(error),
    },
    [],
  );
  const started = manager.start();
  await member.started;
  await member.assign(Array.from({ length: count }, (_, p) => `0_${p}` as TaskId));
  await started;
  await vi.waitFor(() => expect(manager.view.taskViews().every((view) => !view.restoring)).toBe(true));
  await member.pollUntilIdle();
  await body(manager, {
    grow: async (to) => {
      await cluster.addPartitions(new Map(topics.map((topic) => [topic, to])));
      for (const topic of topics) {
        history.set(topic, [...new Set([...(history.get(topic) ?? [partitions.get(topic) as number]), to])]);
        partitions.set(topic, to);
      }
      specs[0] = { ...specs[0], partitions: to };
      await member.assign(Array.from({ length: to }, (_, p) => `0_${p}` as TaskId));
      await vi.waitFor(() => expect(manager.view.taskViews().every((view) => !view.restoring)).toBe(true));
      await member.pollUntilIdle();
    },
    poll: async () => {
      await member.pollUntilIdle();
    },
  });
  await manager.stop(true);
  await stateDirectory.close();
  expect(failures).toEqual([]);
}

/** Every key of `store` per task, and the value of each. */
async function contents(manager: TaskManager, store: string, count: number): Promise<Map<string, { task: number; value: unknown }[]>> {
  const found = new Map<string, { task: number; value: unknown }[]>();
  for (let p = 0; p < count; p++) {
    const local = manager.view.localStore(`0_${p}`, store);
    if (!('store' in local)) throw new Error(local.reason);
    for await (const entry of local.store.range()) {
      const key = entry.key.toString();
      found.set(key, [...(found.get(key) ?? []), { task: p, value: entry.value }]);
    }
  }
  return found;
}

describe('TaskManager after partitions were added', () => {
  it('a fresh instance builds every co-partitioned and aggregation store with exactly the keys of each task and their latest values', async () => {
    const cluster = new FakeCluster();
    for (const topic of ['orders', 'customers', 'count-updates', 'enriched']) cluster.createTopic(topic, 2);
    cluster.createTopic(`${APP}-dlq`, 1);
    for (const key of keys) cluster.append('customers', partitionOf(key, 2), [{ key, value: 'v1', timestamp: 1 }]);
    const deleted = keys.slice(0, 5);
    for (const key of deleted) cluster.append('customers', partitionOf(key, 2), [{ key, value: null, timestamp: 2 }]);
    for (const key of keys) cluster.append('orders', partitionOf(key, 2), [{ key, value: 'o', timestamp: 3 }]);
    // First generation: 2 partitions; each key counted once.
    await run(cluster, 2, new Map(), async () => {});

    await cluster.addPartitions(
      new Map([
        ['orders', 4],
        ['customers', 4],
        ['count-updates', 4],
        ['enriched', 4],
        [COUNTS, 4],
      ]),
    );
    // After the growth: one more order per key in its new partition; a few customers updated there.
    for (const key of keys) cluster.append('orders', partitionOf(key, 4), [{ key, value: 'o', timestamp: 4 }]);
    const updated = keys.slice(10, 15);
    for (const key of updated) cluster.append('customers', partitionOf(key, 4), [{ key, value: 'v2', timestamp: 5 }]);
    const history = new Map([
      ['orders', [2, 4]],
      ['customers', [2, 4]],
      [COUNTS, [2, 4]],
    ]);
    await run(cluster, 4, history, async (manager) => {
      const counts = await contents(manager, 'counts', 4);
      const customers = await contents(manager, 'customers', 4);
      const moved = keys.filter((key) => partitionOf(key, 4) !== partitionOf(key, 2));
      expect(moved.length).toBeGreaterThan(5);
      for (const key of keys) {
        // Counts continue: 1 before the growth (read from the old changelog partition), 1 after.
        expect(counts.get(key), key).toEqual([{ task: partitionOf(key, 4), value: 2 }]);
        const want = deleted.includes(key) ? undefined : updated.includes(key) ? 'v2' : 'v1';
        expect(customers.get(key), key).toEqual(want === undefined ? undefined : [{ task: partitionOf(key, 4), value: want }]);
      }
    });
  });

  it('running tasks: new tasks read their keys from the old partitions, old ones drop the keys that moved away, counts continue', async () => {
    const cluster = new FakeCluster();
    for (const topic of ['orders', 'customers', 'count-updates', 'enriched']) cluster.createTopic(topic, 2);
    cluster.createTopic(`${APP}-dlq`, 1);
    for (const key of keys) cluster.append('customers', partitionOf(key, 2), [{ key, value: 'v1', timestamp: 1 }]);
    for (const key of keys) cluster.append('orders', partitionOf(key, 2), [{ key, value: 'o', timestamp: 3 }]);
    const deleted = keys.slice(20, 25);
    await run(cluster, 2, new Map(), async (manager, growth) => {
      await growth.grow(4);
      for (const key of keys) cluster.append('orders', partitionOf(key, 4), [{ key, value: 'o', timestamp: 4 }]);
      for (const key of deleted) cluster.append('customers', partitionOf(key, 4), [{ key, value: null, timestamp: 5 }]);
      // Enough records that the old tasks commit past what was there at the rebalance, then drop.
      await vi.waitFor(async () => {
        await growth.poll();
        const counts = await contents(manager, 'counts', 4);
        for (const key of keys) expect(counts.get(key), key).toEqual([{ task: partitionOf(key, 4), value: 2 }]);
      });
      const customers = await contents(manager, 'customers', 4);
      for (const key of keys)
        expect(customers.get(key), key).toEqual(deleted.includes(key) ? undefined : [{ task: partitionOf(key, 4), value: 'v1' }]);
    });
  });
});
