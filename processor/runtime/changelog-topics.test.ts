import { describe, expect, it } from 'vitest';
import { ChangelogTopicMismatchError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { TimeWindows } from '../../topology/windows.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { ensureChangelogTopics, WINDOW_CHANGELOG_EXTRA_RETENTION_MS } from './changelog-topics.js';

const str = Serdes.string();
const HOUR = 3_600_000;

/** Orders per customer (count) and revenue per customer per hour (windowed), both after one repartition. */
function topology() {
  const b = new StreamsBuilder();
  const grouped = b.stream('orders', { key: str, value: str }).groupBy((_k, v) => v, { key: str });
  grouped.count({ store: 'per-customer' });
  grouped.windowedBy(TimeWindows.ofSize(HOUR)).count({ store: 'per-hour', retentionMs: 2 * HOUR });
  return b.build({ applicationId: 'shop' });
}

describe('ensureChangelogTopics', () => {
  it('creates each changelog topic with the task count, compacted (windowed: compact,delete with retention + a day)', async () => {
    const t = topology();
    const cluster = new FakeCluster();
    const counts = await ensureChangelogTopics(cluster, t, () => 6);
    expect(counts).toEqual(
      new Map([
        ['shop-per-customer-changelog', 6],
        ['shop-per-hour-changelog', 6],
      ]),
    );
    expect(
      await cluster.topicConfigs(['shop-per-customer-changelog', 'shop-per-hour-changelog'], ['cleanup.policy', 'retention.ms']),
    ).toEqual(
      new Map([
        ['shop-per-customer-changelog', { 'cleanup.policy': 'compact' }],
        [
          'shop-per-hour-changelog',
          { 'cleanup.policy': 'compact,delete', 'retention.ms': String(2 * HOUR + WINDOW_CHANGELOG_EXTRA_RETENTION_MS) },
        ],
      ]),
    );
    // Idempotent: a second start finds them as they are.
    expect(await ensureChangelogTopics(cluster, t, () => 6)).toEqual(counts);
  });

  it('refuses an existing changelog topic with more partitions than tasks, naming topic, store and counts', async () => {
    const cluster = new FakeCluster().createTopic('shop-per-customer-changelog', 8, { 'cleanup.policy': 'compact' });
    const error = await ensureChangelogTopics(cluster, topology(), () => 6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangelogTopicMismatchError);
    expect(error).toMatchObject({
      code: 'TRIBUTARY_CHANGELOG_TOPIC_MISMATCH',
      topic: 'shop-per-customer-changelog',
      store: 'per-customer',
      expected: { partitions: 6 },
      actual: { partitions: 8 },
    });
    expect((error as Error).message).toMatch(/has 8 partition\(s\), but store "per-customer" has 6 task\(s\).*tributary reset/);
  });

  it('grows a changelog topic with fewer partitions than tasks (its input topics got partitions added)', async () => {
    const cluster = new FakeCluster().createTopic('shop-per-customer-changelog', 4, { 'cleanup.policy': 'compact' });
    const counts = await ensureChangelogTopics(cluster, topology(), () => 6);
    expect(counts.get('shop-per-customer-changelog')).toBe(6);
    expect(cluster.partitionCount('shop-per-customer-changelog')).toBe(6);
  });

  it('refuses an existing changelog topic that is not compacted', async () => {
    const cluster = new FakeCluster().createTopic('shop-per-hour-changelog', 6);
    const error = await ensureChangelogTopics(cluster, topology(), () => 6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangelogTopicMismatchError);
    expect((error as Error).message).toMatch(/shop-per-hour-changelog.*cleanup\.policy is "delete", not compacted/);
  });

  it('has nothing to do for a topology without derived tables', async () => {
    const b = new StreamsBuilder();
    b.stream('orders', { key: str, value: str }).to('out');
    const cluster = new FakeCluster();
    expect(await ensureChangelogTopics(cluster, b.build({ applicationId: 'x' }), () => 1)).toEqual(new Map());
    expect(await cluster.listTopics()).toEqual([]);
  });
});
