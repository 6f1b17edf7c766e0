/**
 * KafkaTransactionalProducer against the real broker, the behaviour the fake cluster's transactional producer copies
 * (processor/kafka/testing/fake-cluster.ts): records and offsets become visible together at commit, nothing of an
 * aborted transaction is read (read_committed), the commit marker follows each partition's last record, and a newer
 * producer with the same transactional id fences the older one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerFencedError } from '../../errors.js';
import { topicPartitionId } from '../../common/records.js';
import { KafkaTransactionalProducer } from '../../processor/kafka/transactional-producer.js';
import { createTestTopic, readTopic, testKafkaClient, toProducedRecord, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';

describe('KafkaTransactionalProducer', () => {
  const producers: KafkaTransactionalProducer[] = [];
  const producer = (id: string): KafkaTransactionalProducer => {
    const created = new KafkaTransactionalProducer(testKafkaClient(), id, { transactionTimeoutMs: 10_000 });
    producers.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(producers.splice(0).map((p) => p.close().catch(() => undefined)));
  });

  it('commits records and offsets together, hides aborted ones, puts the marker after the last record, and is fenced by a newer owner', async () => {
    const out = await createTestTopic('txn-out', 1);
    const input = await createTestTopic('txn-in', 1);
    const group = uniqueName('txn-group');
    const id = uniqueName('txn-app-0_0');
    const first = producer(id);
    await first.init();

    const aborted = await first.begin();
    await aborted.send([toProducedRecord(out, { key: 'k', value: 'aborted', partition: 0 })]);
    await aborted.abort();

    const txn = await first.begin();
    await txn.send([
      toProducedRecord(out, { key: 'k', value: 'one', partition: 0 }),
      toProducedRecord(out, { key: 'k', value: 'two', partition: 0 }),
    ]);
    await txn.sendOffsets(group, new Map([[topicPartitionId(input, 0), 7]]));
    const acknowledged = await txn.commit();
    // The aborted record and its marker took offsets 0-1; one and two are 2-3; the commit marker follows at 4.
    expect(acknowledged).toEqual(new Map([[topicPartitionId(out, 0), 4]]));
    await waitUntil(async () => (await withAdmin((admin) => admin.fetchEndOffsets(out))).get(0) === 5, {
      description: 'the commit marker in the log (last stable offset 5)',
    });
    expect((await readTopic(out)).map((r) => r.value?.toString())).toEqual(['one', 'two']);
    expect((await withAdmin((admin) => admin.fetchCommittedOffsets(group, [input]))).get(topicPartitionId(input, 0))).toBe(7);

    const open = await first.begin();
    await open.send([toProducedRecord(out, { key: 'k', value: 'zombie', partition: 0 })]);
    const second = producer(id);
    await second.init();
    await expect(open.commit()).rejects.toBeInstanceOf(ProducerFencedError);
    expect((await readTopic(out)).map((r) => r.value?.toString())).toEqual(['one', 'two']);
    const next = await second.begin();
    await next.send([toProducedRecord(out, { key: 'k', value: 'three', partition: 0 })]);
    await next.commit();
    expect((await readTopic(out)).map((r) => r.value?.toString())).toEqual(['one', 'two', 'three']);
  });
});
