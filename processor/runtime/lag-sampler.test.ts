import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import { ConsumerLagSampler } from './lag-sampler.js';

/** An admin whose offsets the test sets between samples. */
class FakeAdmin {
  committed = new Map<TopicPartitionId, number>();
  ends = new Map<string, Map<number, number>>();
  failing = false;
  calls = 0;
  async fetchCommittedOffsets(): Promise<Map<TopicPartitionId, number>> {
    this.calls++;
    if (this.failing) throw new Error('broker unreachable');
    return new Map(this.committed);
  }
  async fetchEndOffsets(topic: string): Promise<Map<number, number>> {
    return new Map(this.ends.get(topic) ?? []);
  }
}

describe('ConsumerLagSampler', () => {
  it('records committed and end offsets per partition, aligned with the sample times, and keeps the last `capacity`', async () => {
    const admin = new FakeAdmin();
    const sampler = new ConsumerLagSampler({ admin, groupId: 'g', topics: ['orders'], logger: silentLogger, capacity: 3 });
    admin.ends.set('orders', new Map([[0, 10]]));
    await sampler.sampleOnce(1000); // never committed yet
    admin.committed.set(topicPartitionId('orders', 0), 4);
    admin.ends.set(
      'orders',
      new Map([
        [0, 12],
        [1, 7],
      ]),
    ); // a partition appears
    await sampler.sampleOnce(2000);
    admin.failing = true;
    await sampler.sampleOnce(3000); // skipped, not recorded as zeros
    admin.failing = false;
    admin.committed.set(topicPartitionId('orders', 1), 7);
    await sampler.sampleOnce(4000);
    await sampler.sampleOnce(5000);
    expect(sampler.history()).toEqual({
      groupId: 'g',
      intervalMs: 5000,
      times: [2000, 4000, 5000],
      partitions: [
        { topic: 'orders', partition: 0, committed: [4, 4, 4], end: [12, 12, 12] },
        { topic: 'orders', partition: 1, committed: [null, 7, 7], end: [7, 7, 7] },
      ],
    });
  });

  it('samples on start and every interval until stopped', async () => {
    const admin = new FakeAdmin();
    admin.ends.set('t', new Map([[0, 1]]));
    const sampler = new ConsumerLagSampler({ admin, groupId: 'g', topics: ['t'], logger: silentLogger, intervalMs: 20 });
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, 110));
    await sampler.stop();
    const calls = admin.calls;
    expect(calls).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(admin.calls).toBe(calls);
    expect(sampler.history().times.length).toBe(calls);
  });
});
