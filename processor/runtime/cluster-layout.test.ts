import { describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { describeOrphanedTopic, findOrphanedInternalTopics, internalTopicsOf } from './cluster-layout.js';

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
