/**
 * A bad record in a table source, then restoration of that table from its topic into fresh state directories under
 * each policy: 'dead-letter' and 'log-and-skip' skip it (the dead letter was written when it was first processed;
 * none is written again), 'fail' stops the app with a typed error naming the record. The store never holds garbage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import type { ErrorAction } from '../../processor/engine/error-policy.js';
import { StreamsBuilder } from '../../topology/builder.js';
import type { Topology } from '../../topology/topology.js';
import { Serdes } from '../../topology/serdes.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';
import { InProcessApps, readLocalStore } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

const goodCustomers = [
  { key: 'c0', value: '{"name":"Ada"}' },
  { key: 'c1', value: '{"name":"Grace"}' },
  { key: 'c2', value: '{"name":"Edsger"}' },
];
const badCustomers = [
  { key: 'c1', value: '{"name": Grace Hopper}' }, // not JSON: c1 must stay "Grace"
  { key: null, value: '{"name":"nobody"}', partition: 0 }, // a table record needs a key
  { key: 'c2', value: null }, // a real tombstone: c2 goes away
];

function customersTopology(appId: string, topic: string, deserialization: ErrorAction): Topology {
  const b = new StreamsBuilder();
  b.table(topic, { key: Serdes.string(), value: Serdes.json<{ name: string }>(), store: 'customers', errorPolicy: { deserialization } });
  return b.build({ applicationId: appId });
}

describe('a bad record in a table source', () => {
  it('keeps the last good value, and restoration skips or fails on it by policy, never storing it', async () => {
    const appId = uniqueName('table-poison');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 2 }]);
    // Produced while the app runs, so the records are processed live (see the second test for a first start).
    const live = await apps.start(customersTopology(appId, topic, 'dead-letter'), { applicationId: appId });
    await produce(topic, goodCustomers);
    await waitUntil(() => live.stats().engine.tablePuts === 3, { description: 'three customers stored' });
    await produce(topic, badCustomers);
    let deadLetters = await readTopic(`${appId}-dlq`);
    await waitUntil(async () => (deadLetters = await readTopic(`${appId}-dlq`)).length >= 2 && live.stats().engine.tableDeletes === 1, {
      description: 'two dead letters and the tombstone applied',
    });
    const expected = { c0: { name: 'Ada' }, c1: { name: 'Grace' } };
    // Stores are written at commit time (every 200 ms here): wait for the committed view.
    await waitUntil(async () => JSON.stringify(Object.fromEntries(await readLocalStore(live, 'customers'))) === JSON.stringify(expected), {
      description: 'the committed store without c2',
    });
    expect(deadLetters.map((d) => [d.key?.toString() ?? null, d.value?.toString()])).toEqual(
      expect.arrayContaining([
        ['c1', '{"name": Grace Hopper}'],
        [null, '{"name":"nobody"}'],
      ]),
    );
    expect(deadLetters).toHaveLength(2);
    expect(live.stats().engine).toMatchObject({ deadLettered: 2, tablePuts: 3, tableDeletes: 1 });
    await live.stop();
    const dlqEnd = await withAdmin((admin) => admin.fetchEndOffsets(`${appId}-dlq`));

    for (const policy of ['dead-letter', 'log-and-skip'] as const) {
      const restored = await apps.start(customersTopology(appId, topic, policy), { applicationId: appId });
      expect(Object.fromEntries(await readLocalStore(restored, 'customers'))).toEqual(expected);
      expect(restored.stats().engine.deadLettered).toBe(0);
      console.log(`restoration under '${policy}':`, JSON.stringify(restored.stats().restoration.customers));
      await restored.stop();
    }
    expect(await withAdmin((admin) => admin.fetchEndOffsets(`${appId}-dlq`))).toEqual(dlqEnd);

    const strict = await apps.create(customersTopology(appId, topic, 'fail'), { applicationId: appId });
    const failure = await strict
      .start()
      .then(() => waitUntil(() => strict.state === 'failed', { description: "the 'fail' restoration failing" }))
      .then(
        () => strict.failureCause,
        (error: unknown) => error,
      );
    console.log("restoration under 'fail':", failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure));
    expect(failure).toBeInstanceOf(TributaryError);
    expect((failure as TributaryError).code).toMatch(/^TRIBUTARY_(RESTORE_DECODE_FAILED|DESERIALIZATION)$/);
    expect((failure as TributaryError & { topic?: string }).topic).toBe(topic);
  });

  /**
   * On an application's FIRST start a table partition has no committed offset and is restored up to its end offset.
   * Nobody processed those records before, so a bad one is dead-lettered during restoration (acknowledged before the
   * checkpoint moves past it), exactly once. (Below a committed offset restoration skips bad records: whoever
   * processed them first dead-lettered them.)
   */
  it('dead-letters bad table records that were already in the topic before the first start', async () => {
    const appId = uniqueName('table-first-start');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 2 }]);
    await produce(topic, [...goodCustomers, ...badCustomers]);
    const app = await apps.start(customersTopology(appId, topic, 'dead-letter'), { applicationId: appId });
    await waitUntil(async () => (await readLocalStore(app, 'customers')).size === 2, {
      timeoutMs: 10_000,
      description: 'the good customers in the store',
    });
    expect(Object.fromEntries(await readLocalStore(app, 'customers'))).toEqual({ c0: { name: 'Ada' }, c1: { name: 'Grace' } });
    console.log(
      'first start over a topic with bad table records:',
      JSON.stringify(app.stats().engine.errors),
      JSON.stringify(app.stats().restoration),
    );
    await waitUntil(async () => (await readTopic(`${appId}-dlq`)).length === 2, {
      timeoutMs: 5000,
      description: 'the two bad records dead-lettered',
    });
  });
});
