/**
 * TaskManager under exactly-once on a fake group member over an in-memory cluster: one transaction per task per
 * commit (outputs, changelog records, input offsets), stores written only after it committed, an aborted
 * transaction reprocessed, a crash before or after the transaction's commit (stores behind the committed offsets
 * replay the difference, never ahead, never wiped), and a fenced producer closing its task. Stores are real
 * LevelDB in temp dirs. The same against a real broker: test/eos/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { topicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
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
import { ensureChangelogTopics } from './changelog-topics.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';
import { TaskManager } from './task-manager.js';

const APP = 'eos';
const PARTITIONS = 2;
const str = Serdes.string();
const num = Serdes.json<number>();
const COUNTS = `${APP}-counts-changelog`;

/** customers (table) ⋈ orders → out, and a count of orders per customer (store 'counts') → count-updates. */
function topology(): Topology {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  const enriched = b.stream('orders', { key: str, value: str }).leftJoin(customers, (order, name) => `${order}@${name ?? 'none'}`);
  enriched.to('out', { value: str });
  enriched.groupByKey().count({ store: 'counts' }).toStream().to('count-updates', { value: num });
  return b.build({ applicationId: APP });
}

/** Keys that land in each partition of a 2-partition topic (murmur2). */
const KEY = { p0: ['k3', 'k4', 'k5'], p1: ['k0', 'k1', 'k2'] } as const;
const partitionOf = (key: string): number => ((KEY.p0 as readonly string[]).includes(key) ? 0 : 1);

class Harness {
  readonly cluster = new FakeCluster();
  readonly topology = topology();
  failures: unknown[] = [];
  tracker = new RestorationTracker(() => {});
  member!: FakeGroupMember;
  manager!: TaskManager;
  stateDirectory!: StateDirectory;
  sender!: OutputSender;
  private orderCount = 0;

  constructor(readonly stateDir: string) {
    for (const topic of ['customers', 'orders', 'out', 'count-updates']) this.cluster.createTopic(topic, PARTITIONS);
    this.cluster.createTopic(`${APP}-dlq`, 1);
  }

  async start(mine: readonly TaskId[], options: { commitIntervalMs?: number } = {}): Promise<TaskManager> {
    await ensureChangelogTopics(this.cluster, this.topology, () => PARTITIONS);
    this.failures = [];
    this.tracker = new RestorationTracker(() => {});
    this.stateDirectory = await StateDirectory.open({ stateDir: this.stateDir, applicationId: APP });
    const metrics = new EngineMetrics();
    this.sender = new OutputSender({
      producer: this.cluster,
      policy: resolveErrorPolicy(APP, {}),
      applicationId: APP,
      metrics,
      logger: silentLogger,
      retries: 0,
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
        partitions: new Map(['customers', 'orders', 'out', 'count-updates', COUNTS].map((topic) => [topic, PARTITIONS])),
        globalStores: new Map(),
        errorPolicy: {},
        metrics,
        tracker: this.tracker,
        sender: this.sender,
        logger: silentLogger,
        commitIntervalMs: options.commitIntervalMs ?? 0,
        maxTaskIdleMs: 0,
        readers: (readerOptions) => this.cluster.reader(readerOptions),
        processingGuarantee: 'exactly-once',
        transactionalProducers: (id) => this.cluster.transactionalProducer(id),
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
    await vi.waitFor(() => expect(this.manager.view.taskViews().every((view) => !view.restoring)).toBe(true));
    return this.manager;
  }

  async stop(commit = true): Promise<void> {
    await this.manager.stop(commit);
    await this.stateDirectory.close();
  }

  /** Appends an order `o<n>` of `key`; returns its id. */
  order(key: string): string {
    const id = `o${this.orderCount++}`;
    this.cluster.append('orders', partitionOf(key), [{ key, value: id, timestamp: 1_000 + this.orderCount }]);
    return id;
  }

  customer(key: string, name: string): void {
    this.cluster.append('customers', partitionOf(key), [{ key, value: name, timestamp: 1_000 + this.orderCount }]);
  }

  /** Order ids seen on `out` (every partition), in log order. */
  outOrders(): string[] {
    return [0, 1].flatMap((p) => this.cluster.records('out', p).map((r) => (r.value?.toString() ?? '').split('@')[0]));
  }

  async served(key: string, store: 'counts' | 'customers'): Promise<unknown> {
    const local = this.manager.view.localStore(`0_${partitionOf(key)}`, store);
    if (!('store' in local)) throw new Error(local.reason);
    return local.store.get(Buffer.from(key));
  }

  /**
   * Every store's checkpoints against what Kafka committed: a store may be behind, never ahead. (A table partition
   * the group never committed is restored to its end offset, as under at-least-once: no committed offset to compare.)
   */
  async assertNoStoreAhead(): Promise<void> {
    const dir = await StateDirectory.open({ stateDir: this.stateDir, applicationId: APP });
    try {
      const committed = this.cluster.committed(APP);
      for (const partition of [0, 1]) {
        const customers = await dir.openStore('customers', partition);
        const tp = topicPartitionId('customers', partition);
        const offset = committed.get(tp);
        if (offset !== undefined) expect(customers.checkpoints().get(tp) ?? 0).toBeLessThanOrEqual(offset);
        const counts = await dir.openStore('counts', partition);
        const changelog = topicPartitionId(COUNTS, partition);
        expect(counts.checkpoints().get(changelog) ?? 0).toBeLessThanOrEqual(this.cluster.endOffset(COUNTS, partition));
      }
    } finally {
      await dir.close();
    }
  }
}

const dirs: string[] = [];
async function harness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-task-manager-eos-'));
  dirs.push(dir);
  return new Harness(dir);
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('TaskManager under exactly-once', () => {
  it('commits outputs, changelog records and input offsets in one transaction per task, and nothing outside one', async () => {
    const h = await harness();
    h.customer(KEY.p0[0], 'Ada');
    const orders = [h.order(KEY.p0[0]), h.order(KEY.p0[1]), h.order(KEY.p1[0])];
    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    expect(await h.served(KEY.p0[0], 'counts')).toBe(1);
    await h.stop();
    expect(h.failures).toEqual([]);

    expect(h.cluster.sendCalls).toEqual([]);
    const committed = h.cluster.transactions.filter((t) => t.outcome === 'committed' && t.records > 0);
    expect(new Set(committed.map((t) => t.transactionalId))).toEqual(new Set([`${APP}-0_0`, `${APP}-0_1`]));
    expect(h.outOrders().sort()).toEqual([...orders].sort());
    expect(h.cluster.records('out', 0).map((r) => r.value?.toString())).toContain(`${orders[0]}@Ada`);
    // Offsets went with the transactions: the group's committed offsets are the input ends (the member committed nothing).
    const group = h.cluster.committed(APP);
    expect(group.get(topicPartitionId('orders', 0))).toBe(h.cluster.endOffset('orders', 0));
    expect(group.get(topicPartitionId('orders', 1))).toBe(h.cluster.endOffset('orders', 1));
    expect(group.get(topicPartitionId('customers', 0))).toBe(h.cluster.endOffset('customers', 0));
    // The counts changelog holds one record per update, followed by each transaction's commit marker.
    expect(h.cluster.records(COUNTS, 0).map((r) => r.key?.toString())).toEqual([KEY.p0[0], KEY.p0[1]]);
    expect(h.sender.sent).toBeGreaterThanOrEqual(orders.length * 2);
    expect(h.manager.stats()).toMatchObject({ transactionsAborted: 0 });
    expect(h.manager.stats().transactionsCommitted).toBeGreaterThanOrEqual(2);
    await h.assertNoStoreAhead();
    // Derived stores checkpoint past the commit markers: a restart has nothing to restore.
    await h.start(['0_0', '0_1']);
    expect(h.tracker.totalsByStore().counts).toMatchObject({ restoredRecords: 0, restorations: 0 });
    await h.stop();
  });

  it('aborts a failed transaction: nothing of it is visible, the stores stay, and the batch is reprocessed once', async () => {
    const h = await harness();
    const first = [h.order(KEY.p0[0]), h.order(KEY.p0[0])];
    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    let failOnce = true;
    h.cluster.transactionHook = (step, id) => {
      if (step === 'sendOffsets' && id === `${APP}-0_0` && failOnce) {
        failOnce = false;
        throw new Error('coordinator not available');
      }
    };
    const second = [h.order(KEY.p0[0]), h.order(KEY.p0[1])];
    await vi.waitFor(async () => {
      await h.member.pollUntilIdle();
      expect(await h.served(KEY.p0[0], 'counts')).toBe(3);
    });
    await h.stop();
    expect(h.failures).toEqual([]);
    expect(failOnce).toBe(false);
    expect(h.cluster.transactions.some((t) => t.outcome === 'aborted' && t.transactionalId === `${APP}-0_0` && t.records > 0)).toBe(true);
    expect(h.manager.stats().transactionsAborted).toBe(1);
    // Every order once on the output, counts not doubled by the reprocessing.
    expect(h.outOrders().sort()).toEqual([...first, ...second].sort());
    expect(h.cluster.records('count-updates', 0).map((r) => `${r.key?.toString()}=${r.value?.toString()}`)).toEqual([
      `${KEY.p0[0]}=1`,
      `${KEY.p0[0]}=2`,
      `${KEY.p0[0]}=3`,
      `${KEY.p0[1]}=1`,
    ]);
    await h.assertNoStoreAhead();
  });

  it('a crash before the transaction commits leaves nothing visible and the stores as they were; the restart processes the batch once', async () => {
    const h = await harness();
    const first = [h.order(KEY.p0[0])];
    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    await h.stop();
    // The next batch is processed but its commit never happens (the process dies holding it).
    h.customer(KEY.p0[0], 'Ada');
    const second = [h.order(KEY.p0[0]), h.order(KEY.p1[1])];
    await h.start(['0_0', '0_1'], { commitIntervalMs: 3_600_000 });
    await h.member.pollUntilIdle();
    expect(h.outOrders()).toEqual(first);
    await h.stop(false);
    await h.assertNoStoreAhead();

    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    expect(await h.served(KEY.p0[0], 'counts')).toBe(2);
    expect(await h.served(KEY.p0[0], 'customers')).toBe('Ada');
    await h.stop();
    expect(h.outOrders().sort()).toEqual([...first, ...second].sort());
  });

  it('a crash after the transaction committed, before the store write: the restart replays the difference into the stores (table from its source, counts from the changelog), no wipe', async () => {
    const h = await harness();
    h.customer(KEY.p0[0], 'Ada');
    const first = [h.order(KEY.p0[0]), h.order(KEY.p0[1])];
    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    await h.stop();

    // The transaction of the next batch commits, then every store write fails: the process "dies" there.
    await h.start(['0_0', '0_1'], { commitIntervalMs: 3_600_000 });
    h.customer(KEY.p0[0], 'Grace');
    const second = [h.order(KEY.p0[0]), h.order(KEY.p0[0])];
    await h.member.pollUntilIdle();
    expect(h.outOrders().sort()).toEqual([...first].sort());
    const write = vi.spyOn(LevelKeyValueStore.prototype, 'write').mockRejectedValue(new Error('disk gone'));
    await h.stop(true);
    expect(write).toHaveBeenCalled();
    write.mockRestore();
    expect(h.outOrders().sort()).toEqual([...first, ...second].sort());
    await h.assertNoStoreAhead();

    // Restart on the same state: the stores are behind the committed offsets by exactly that batch.
    await h.start(['0_0', '0_1']);
    const totals = h.tracker.totalsByStore();
    // customers: the one update past its checkpoint; counts: the two changelog records past its checkpoint.
    expect(totals.customers?.restoredRecords).toBe(1);
    expect(totals.counts?.restoredRecords).toBe(2);
    expect(await h.served(KEY.p0[0], 'customers')).toBe('Grace');
    expect(await h.served(KEY.p0[0], 'counts')).toBe(3);
    expect(await h.served(KEY.p0[1], 'counts')).toBe(1);
    const third = h.order(KEY.p0[0]);
    await h.member.pollUntilIdle();
    expect(await h.served(KEY.p0[0], 'counts')).toBe(4);
    await h.stop();
    expect(h.failures).toEqual([]);
    expect(h.outOrders().sort()).toEqual([...first, ...second, third].sort());
    expect(h.cluster.records('out', 0).map((r) => r.value?.toString())).toContain(`${third}@Grace`);
  });

  it('a producer fenced by a newer owner closes its task without writing anything more; the other tasks go on', async () => {
    const h = await harness();
    await h.start(['0_0', '0_1']);
    await h.member.pollUntilIdle();
    // Another instance took task 0_0 over: its producer with the same transactional id fences ours.
    await h.cluster.transactionalProducer(`${APP}-0_0`).init();
    const fenced = h.order(KEY.p0[0]);
    const kept = h.order(KEY.p1[0]);
    await h.member.pollUntilIdle();
    expect(h.failures).toEqual([]);
    expect(h.manager.view.taskViews().map((view) => view.id)).toEqual(['0_1']);
    expect(h.outOrders()).toEqual([kept]);
    expect(h.outOrders()).not.toContain(fenced);
    expect(h.manager.stats().transactionsAborted).toBe(1);
    expect(h.cluster.committed(APP).get(topicPartitionId('orders', 0)) ?? 0).toBe(0);
    // The rebalance gives the task back (the other owner left): reopened with a new producer, it processes the order once.
    await h.member.assign(['0_0', '0_1']);
    await vi.waitFor(async () => {
      await h.member.pollUntilIdle();
      expect(h.outOrders().sort()).toEqual([fenced, kept].sort());
    });
    await h.stop();
    await h.assertNoStoreAhead();
  });
});
