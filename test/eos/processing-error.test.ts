/**
 * Exactly-once on the real broker: a record that throws in the middle of a batch. Under the 'fail' policy the app
 * fails and nothing of that batch (outputs, changelog records, offsets) is visible to read_committed readers; after
 * a restart with the 'dead-letter' policy the batch is processed once: every good record once, the bad one dead-lettered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';
import { InProcessApps } from '../dlq/in-process-app.js';

const str = Serdes.string();

/** orders → upper-cased → out (throws on 'boom'), and a count per key (a changelog written in the transaction). */
function topology(applicationId: string, orders: string, out: string): Topology {
  const b = new StreamsBuilder();
  const upper = b.stream(orders, { key: str, value: str }).mapValues((value) => {
    if (value === 'boom') throw new RangeError('boom is not an order');
    return value.toUpperCase();
  });
  upper.to(out, { value: str });
  upper.groupByKey().count({ store: 'counts' });
  return b.build({ applicationId });
}

describe('exactly-once: a processing error mid-batch', () => {
  const apps = new InProcessApps();
  afterEach(async () => apps.cleanup());

  it('fail: nothing of the batch is visible; dead-letter after a restart: the batch once, the bad record dead-lettered', async () => {
    const appId = uniqueName('eos-error-app');
    const orders = uniqueName('eos-error-orders');
    const out = uniqueName('eos-error-out');
    await createTopics([
      { topic: orders, partitions: 1 },
      { topic: out, partitions: 1 },
    ]);
    const records = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 5}`, value: `o${from + i}` }));
    await produce(orders, records(0, 10));
    const stateDir = await apps.newStateDir();
    const failing = await apps.start(topology(appId, orders, out), {
      processingGuarantee: 'exactly-once',
      errorPolicy: { processing: 'fail' },
      stateDir,
    });
    await waitUntil(async () => (await readTopic(out)).length === 10, { description: 'the first 10 orders on out' });

    // One produce call: one record batch, one fetch; the bad record sits in the middle.
    await produce(orders, [...records(10, 40), { key: 'k0', value: 'boom' }, ...records(50, 30)]);
    await waitUntil(() => failing.state === 'failed', { description: 'the app failed (processing policy fail)' });
    const visible = await readTopic(out);
    expect(visible.map((r) => r.value?.toString())).toEqual(records(0, 10).map((r) => r.value.toUpperCase()));
    const committed = await withAdmin((admin) => admin.fetchCommittedOffsets(appId, [orders]));
    expect(committed.get(`${orders}:0`)).toBe(10);
    await failing.stop();

    const resumed = await apps.start(topology(appId, orders, out), {
      processingGuarantee: 'exactly-once',
      errorPolicy: { processing: 'dead-letter' },
      stateDir,
    });
    await waitUntil(async () => (await readTopic(out)).length >= 80, { description: 'every good order on out' });
    await waitUntil(async () => (await readTopic(`${appId}-dlq`)).length >= 1, { description: 'the dead letter' });
    const values = (await readTopic(out)).map((r) => r.value?.toString());
    expect(values).toEqual([...records(0, 10), ...records(10, 40), ...records(50, 30)].map((r) => r.value.toUpperCase()));
    expect(await readTopic(`${appId}-dlq`)).toHaveLength(1);
    expect(resumed.state).toBe('running');
    // The counts include every good order once (the failed life's batch never reached the store or the changelog).
    const source = resumed.querySource();
    await waitUntil(
      async () => {
        const target = source.scanTargets('counts')[0];
        if (target?.kind !== 'local') return false;
        let total = 0;
        for await (const entry of target.store.range()) total += entry.value as number;
        return total === 80;
      },
      { description: 'counts summing to the 80 good orders' },
    );
  });
});
