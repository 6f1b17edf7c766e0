import { describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { CoPartitioningError, PartitionCountDecreasedError } from '../../errors.js';
import { silentLogger } from '../../common/logger.js';
import {
  describeOrphanedTopic,
  findOrphanedInternalTopics,
  internalTopicsOf,
  partitionCountChanges,
  prepareClusterLayout,
  type PartitionCountChange,
} from './cluster-layout.js';
import { PartitionWatcher } from './partition-watcher.js';

const str = Serdes.string();

/** orders re-keyed and joined with customers (store 'customers'): the repartition topic is shop-customers-repartition. */
function topology() {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  b.stream('orders', { key: str, value: str })
    .selectKey((_k, v) => v)
    .join(customers, (o, c) => `${o}@${c}`)
    .to('out', { value: str });
  return b.build({ applicationId: 'shop' });
}

describe('orphaned internal topics', () => {
  it('recognises the application internal topic names only', () => {
    expect(
      internalTopicsOf('shop', [
        'shop-customers-repartition',
        'shop-KSTREAM-KEY-SELECT-0000000003-repartition',
        'shop-sums-changelog',
        'shop-dlq',
        'shop-repartition',
        'shopx-a-repartition',
        'other-a-repartition',
      ]),
    ).toEqual(['shop-customers-repartition', 'shop-KSTREAM-KEY-SELECT-0000000003-repartition', 'shop-sums-changelog']);
    expect(internalTopicsOf('a.b', ['a.b-x-repartition', 'aXb-x-repartition'])).toEqual(['a.b-x-repartition']);
  });

  it('lists internal topics the group read before and the topology no longer reads, with the records it never read', async () => {
    const t = topology();
    expect(t.internalTopics()).toEqual(['shop-customers-repartition']);
    const old = 'shop-KSTREAM-KEY-SELECT-0000000003-repartition';
    const drained = 'shop-older-repartition';
    const cluster = new FakeCluster()
      .createTopic('shop-customers-repartition', 2)
      .createTopic(old, 2)
      .createTopic(drained, 1)
      .createTopic('shop-dlq', 1);
    cluster.append(old, 0, [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
      { key: 'c', value: '3' },
    ]);
    cluster.append(old, 1, [{ key: 'd', value: '4' }]);
    cluster.deleteRecords(old, 1, 1);
    cluster.append(old, 1, [{ key: 'e', value: '5' }]);
    cluster.append(drained, 0, [{ key: 'a', value: '1' }]);
    // The group read partition 0 of the old topic up to offset 1, never partition 1; the older one completely.
    cluster.commit('shop', new Map([[topicPartitionId(old, 0), 1]]));
    cluster.commit('shop', new Map([[topicPartitionId(drained, 0), 1]]));

    // Another application's topic that happens to match the name pattern (app 'shop-eu'): never read by 'shop'.
    cluster.createTopic('shop-eu-orders-repartition', 1).append('shop-eu-orders-repartition', 0, [{ key: 'x', value: '1' }]);

    const orphans = await findOrphanedInternalTopics(cluster, t);
    expect(orphans).toEqual([
      { topic: old, unreadRecords: 2 + 1 },
      { topic: drained, unreadRecords: 0 },
    ]);
    expect(describeOrphanedTopic(orphans[0])).toMatch(
      /holds 3 record\(s\) its group never read.*run the previous one until its consumer lag/,
    );
    expect(describeOrphanedTopic(orphans[1])).toMatch(/it can be deleted/);
    expect(await findOrphanedInternalTopics(new FakeCluster().createTopic('shop-customers-repartition', 2), t)).toEqual([]);
  });
});

describe('cluster layout when input topics grow', () => {
  const internal = { deadLetterTopic: 'shop-dlq', deadLetterPartitions: 1 };

  it('grows the repartition topic to the new count of the topics it is co-partitioned with, and the tasks follow', async () => {
    const cluster = new FakeCluster().createTopic('customers', 6).createTopic('orders', 6).createTopic('out', 3);
    const first = await prepareClusterLayout(cluster, topology(), internal);
    expect(first.partitions.get('shop-customers-repartition')).toBe(6);

    cluster.createTopic('customers', 12).createTopic('orders', 12);
    const next = await prepareClusterLayout(cluster, topology(), internal, first.partitions);
    expect(cluster.partitionCount('shop-customers-repartition')).toBe(12);
    expect(next.partitions.get('shop-customers-repartition')).toBe(12);
    expect(next.tasks.map((spec) => spec.partitions)).toEqual(first.tasks.map(() => 12));
    expect(partitionCountChanges(first.partitions, next.partitions)).toEqual([
      { topic: 'customers', before: 6, now: 12 },
      { topic: 'orders', before: 6, now: 12 },
      { topic: 'shop-customers-repartition', before: 6, now: 12 },
    ]);
    // A fresh instance started after the expansion (no previous layout) finds the same layout.
    expect((await prepareClusterLayout(cluster, topology(), internal)).partitions).toEqual(next.partitions);
  });

  it('describes every topic once per layout, and reads max.message.bytes only to create the dead-letter topic', async () => {
    const cluster = new FakeCluster()
      .createTopic('customers', 4)
      .createTopic('orders', 4)
      .createTopic('out', 2, { 'max.message.bytes': '3000000' });
    const calls: string[] = [];
    const counted: typeof cluster = Object.create(cluster);
    for (const name of ['describeTopicPartitions', 'ensureTopics', 'topicMaxMessageBytes', 'addPartitions'] as const) {
      const original = cluster[name].bind(cluster) as (...args: unknown[]) => Promise<unknown>;
      Object.assign(counted, { [name]: (...args: unknown[]) => (calls.push(name), original(...args)) });
    }
    // First start: the dead-letter topic is created with room for the largest record of the topics read or written.
    await prepareClusterLayout(counted, topology(), internal);
    expect(calls.filter((c) => c === 'describeTopicPartitions')).toHaveLength(1);
    expect(calls.filter((c) => c === 'topicMaxMessageBytes')).toHaveLength(1);
    expect((await cluster.topicMaxMessageBytes(['shop-dlq'])).get('shop-dlq')).toBe(3_000_000 + 64 * 1024);
    // Every later start: the topics exist; nothing but the one description.
    calls.length = 0;
    await prepareClusterLayout(counted, topology(), internal);
    expect(calls).toEqual(['describeTopicPartitions', 'ensureTopics']);
  });

  it('a fresh instance after the expansion grows a repartition topic still at the old count instead of refusing', async () => {
    const cluster = new FakeCluster()
      .createTopic('customers', 12)
      .createTopic('orders', 12)
      .createTopic('out', 3)
      .createTopic('shop-customers-repartition', 6);
    const layout = await prepareClusterLayout(cluster, topology(), internal);
    expect(layout.partitions.get('shop-customers-repartition')).toBe(12);
  });

  it('a count that went down is a PartitionCountDecreasedError naming topics and counts', async () => {
    const cluster = new FakeCluster().createTopic('customers', 6).createTopic('orders', 6).createTopic('out', 3);
    const first = await prepareClusterLayout(cluster, topology(), internal);
    cluster.deleteTopic('customers');
    cluster.createTopic('customers', 4);
    const error = await prepareClusterLayout(cluster, topology(), internal, first.partitions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartitionCountDecreasedError);
    expect(error).toMatchObject({ code: 'TRIBUTARY_PARTITION_COUNT_DECREASED', changes: { customers: { before: 6, now: 4 } } });
    expect((error as Error).message).toMatch(/customers: 6 → 4/);
  });

  it('input topics of one sub-topology grown to different counts are a CoPartitioningError naming both', async () => {
    // orders (keyed by customer id) joined directly with customers: one sub-topology, co-partitioned.
    const b = new StreamsBuilder();
    const customers = b.table('customers', { key: str, value: str, store: 'customers' });
    b.stream('orders', { key: str, value: str })
      .join(customers, (o, c) => `${o}@${c}`)
      .to('out', { value: str });
    const direct = b.build({ applicationId: 'shop' });
    const cluster = new FakeCluster().createTopic('customers', 6).createTopic('orders', 6).createTopic('out', 3);
    const first = await prepareClusterLayout(cluster, direct, internal);
    cluster.createTopic('customers', 12);
    const error = await prepareClusterLayout(cluster, direct, internal, first.partitions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoPartitioningError);
    expect((error as Error).message).toMatch(/customers=12/);
    expect((error as Error).message).toMatch(/orders=6/);
  });
});

describe('partition watcher', () => {
  it('calls onChange with what grew, once per change, and not while nothing changed', async () => {
    const cluster = new FakeCluster().createTopic('customers', 6).createTopic('orders', 6);
    const known = new Map([
      ['customers', 6],
      ['orders', 6],
    ]);
    const seen: PartitionCountChange[][] = [];
    const watcher = new PartitionWatcher({
      topics: ['customers', 'orders'],
      intervalMs: 60_000,
      lookups: cluster,
      known: () => known,
      onChange: async (changes) => {
        seen.push([...changes]);
        for (const change of changes) known.set(change.topic, change.now);
      },
      logger: silentLogger,
    });
    await watcher.check();
    expect(seen).toEqual([]);
    cluster.createTopic('orders', 9);
    await watcher.check();
    await watcher.check();
    expect(seen).toEqual([[{ topic: 'orders', before: 6, now: 9 }]]);
    await watcher.stop();
  });
});
