/** KafkaAdmin and RecordProducer against the real broker. */
import { describe, expect, it, vi } from 'vitest';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { systemClock } from '../../processor/kafka/leader-wait.js';
import { partitionFor, RecordProducer } from '../../processor/kafka/producer.js';
import { topicPartitionId } from '../../common/records.js';
import {
  createTestTopic,
  produce,
  readTopic,
  testKafkaClient,
  toProducedRecord,
  uniqueName,
  waitUntil,
  withAdmin,
} from '../helpers/kafka.js';

describe('KafkaAdmin', () => {
  it('ensureTopics creates missing topics with configs, is idempotent, and reports actual partition counts', async () => {
    const fresh = uniqueName('admin-fresh');
    const existing = await createTestTopic('admin-existing', 2);
    await withAdmin(async (admin) => {
      const counts = await admin.ensureTopics([
        { topic: fresh, partitions: 3, configs: { 'cleanup.policy': 'compact' } },
        { topic: existing, partitions: 5 },
      ]);
      expect(counts).toEqual(
        new Map([
          [fresh, 3],
          [existing, 2],
        ]),
      );
      expect(await admin.ensureTopics([{ topic: fresh, partitions: 3 }])).toEqual(new Map([[fresh, 3]]));
      expect(await admin.listTopics()).toEqual(expect.arrayContaining([fresh, existing]));
      expect((await admin.listTopics()).some((t) => t.startsWith('__'))).toBe(false);
      const described = await admin.describeTopicPartitions([fresh, 'no-such-topic-tributary']);
      expect(described.partitions).toEqual(new Map([[fresh, 3]]));
      expect(described.missing).toEqual(['no-such-topic-tributary']);
      await expect(admin.ensureTopics([{ topic: uniqueName('bad'), partitions: 0 }])).rejects.toMatchObject({
        code: 'TRIBUTARY_KAFKA_ADMIN_FAILED',
      });
    });
  });

  it("waits for the leaders of the topics it creates with its own metadata checks, without kafkajs's sleeps", async () => {
    const fresh = [uniqueName('admin-leaders'), uniqueName('admin-leaders')];
    const sleeps: number[] = [];
    const client = testKafkaClient();
    const admin = new KafkaAdmin(client, { clock: { now: systemClock.now, sleep: (ms) => (sleeps.push(ms), systemClock.sleep(ms)) } });
    await admin.connect();
    // kafkajs's leader wait sleeps 100 ms before its first metadata request, and its retrier backs off ~300 ms: neither
    // may run. (Request timeouts of 1 s and more are kafkajs's connection timers, not sleeps.)
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const counts = await admin.ensureTopics([
        { topic: fresh[0], partitions: 3 },
        { topic: fresh[1], partitions: 1, configs: { 'cleanup.policy': 'compact' } },
      ]);
      const delays = timers.mock.calls.map(([, ms]) => Number(ms ?? 0));
      timers.mockRestore();
      expect(counts).toEqual(
        new Map([
          [fresh[0], 3],
          [fresh[1], 1],
        ]),
      );
      expect(delays.filter((ms) => ms >= 100 && ms < 1000)).toEqual([]);
      const wait = admin.lastLeaderWait;
      expect(wait).toBeDefined();
      expect(wait?.checks).toBe(sleeps.length + 1);
      expect(wait?.sleptMs).toBe(sleeps.reduce((a, b) => a + b, 0));
      // Leaders are there when it returns: a produce to every partition goes through at once.
      const producer = new RecordProducer(client);
      await producer.connect();
      try {
        await producer.send([0, 1, 2].map((partition) => toProducedRecord(fresh[0], { key: 'k', value: 'v', partition })));
      } finally {
        await producer.disconnect();
      }
    } finally {
      timers.mockRestore();
      await admin.disconnect();
    }
  });

  it('fetches end offsets and committed offsets, deletes groups and topics', async () => {
    const topic = await createTestTopic('admin-offsets', 2);
    await produce(topic, [
      { key: 'a', value: '1', partition: 0 },
      { key: 'b', value: '2', partition: 0 },
      { key: 'c', value: '3', partition: 1 },
    ]);
    const client = testKafkaClient();
    const groupId = uniqueName('admin-group');
    // Commit offset 2 on partition 0 through a real group member (kafkajs admin.setOffsets spins up a consumer too,
    // but waits seconds for it).
    const consumer = client.consumer({ groupId, maxWaitTimeInMs: 100 });
    let committed = false;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== 0) return;
          await consumer.commitOffsets([{ topic, partition: 0, offset: '2' }]);
          committed = true;
        },
      });
      await waitUntil(() => committed, { timeoutMs: 20_000, description: 'offset commit' });
    } finally {
      await consumer.disconnect();
    }
    await withAdmin(async (admin) => {
      expect(await admin.fetchEndOffsets(topic)).toEqual(
        new Map([
          [0, 2],
          [1, 1],
        ]),
      );
      expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual(new Map([[topicPartitionId(topic, 0), 2]]));
      await admin.deleteGroups([groupId, uniqueName('never-existed')]);
      expect(await admin.fetchCommittedOffsets(groupId, [topic])).toEqual(new Map());
      await admin.deleteTopics([topic, 'no-such-topic-tributary']);
      expect((await admin.describeTopicPartitions([topic])).missing).toEqual([topic]);
    }, client);
  });
});

describe('RecordProducer', () => {
  it('keeps headers, timestamps, nulls and explicit partitions, and places keyed records where partitionFor says', async () => {
    const topic = await createTestTopic('producer-routing', 4);
    const other = await createTestTopic('producer-other', 1);
    const client = testKafkaClient();
    const producer = new RecordProducer(client, { maxRequestBytes: 2_000 }); // forces several requests
    await producer.connect();
    try {
      const keyed = Array.from({ length: 200 }, (_, i) =>
        toProducedRecord(topic, { key: `key-${i}`, value: `value-${i}`.repeat(3), timestamp: 1_600_000_000_000 + i }),
      );
      await producer.send([
        ...keyed,
        toProducedRecord(topic, { key: 'pinned', value: null, partition: 3, timestamp: 42, headers: { trace: 'abc' } }),
        toProducedRecord(other, { key: null, value: 'no-key' }),
      ]);
    } finally {
      await producer.disconnect();
    }
    const records = await readTopic(topic, client);
    expect(records).toHaveLength(201);
    for (const record of records.filter((r) => String(r.key).startsWith('key-'))) {
      expect(record.partition).toBe(partitionFor(topic, record.key, 4));
    }
    // Order per partition follows send order.
    const p0 = records.filter((r) => r.partition === 0 && String(r.key).startsWith('key-')).map((r) => r.timestamp);
    expect(p0).toEqual([...p0].sort((a, b) => a - b));
    const pinned = records.find((r) => String(r.key) === 'pinned');
    expect(pinned).toMatchObject({ partition: 3, value: null, timestamp: 42 });
    expect(pinned?.headers.trace).toEqual(Buffer.from('abc'));
    expect((await readTopic(other, client)).map((r) => [r.key, String(r.value)])).toEqual([[null, 'no-key']]);
  });

  it('resolves with the offset after the last acknowledged record of every partition the records named', async () => {
    const topic = await createTestTopic('producer-acks', 3);
    const client = testKafkaClient();
    await produce(topic, [{ key: 'before', value: 'x', partition: 1 }], client);
    const producer = new RecordProducer(client, { maxRequestBytes: 2_000, maxRecordsPerPartition: 7 }); // several requests
    await producer.connect();
    try {
      const pinned = Array.from({ length: 50 }, (_, i) => toProducedRecord(topic, { key: `k-${i}`, value: `v-${i}`, partition: i % 2 }));
      const first = await producer.send(pinned);
      expect(first).toEqual(
        new Map([
          [topicPartitionId(topic, 0), 25],
          [topicPartitionId(topic, 1), 26],
        ]),
      );
      // Records the client partitions are not reported: their partitions are not known here.
      const second = await producer.send([
        toProducedRecord(topic, { key: 'any', value: 'v' }),
        toProducedRecord(topic, { key: 'p2', value: 'v', partition: 2 }),
      ]);
      expect(second).toEqual(new Map());
      expect(await producer.send([toProducedRecord(topic, { key: 'p2', value: 'v', partition: 2 })])).toEqual(
        new Map([[topicPartitionId(topic, 2), (await withAdmin((admin) => admin.fetchEndOffsets(topic))).get(2)]]),
      );
    } finally {
      await producer.disconnect();
    }
  });

  it('writes records to partitions added after its metadata was read (kafkajs alone would drop them silently)', async () => {
    const topic = await createTestTopic('producer-grown', 2);
    const producer = new RecordProducer(testKafkaClient(), { metadataMaxAgeMs: 1000 });
    await producer.connect();
    try {
      await producer.send([toProducedRecord(topic, { key: 'a', value: 'before', partition: 1 })]);
      const counts = await withAdmin((admin) => admin.addPartitions(new Map([[topic, 4]])));
      expect(counts.get(topic)).toBe(4);
      const acks = await producer.send([
        toProducedRecord(topic, { key: 'b', value: 'old partition', partition: 0 }),
        toProducedRecord(topic, { key: 'c', value: 'new partition', partition: 3 }),
        toProducedRecord(topic, { key: 'd', value: 'new partition', partition: 3 }),
      ]);
      expect(acks).toEqual(
        new Map([
          [topicPartitionId(topic, 0), 1],
          [topicPartitionId(topic, 3), 2],
        ]),
      );
      const records = await readTopic(topic);
      expect(records.filter((r) => r.partition === 3).map((r) => r.key?.toString())).toEqual(['c', 'd']);
    } finally {
      await producer.disconnect();
    }
  });

  it('KafkaAdmin.addPartitions grows topics, leaves larger ones alone and never shrinks', async () => {
    const topic = await createTestTopic('admin-grow', 2);
    await withAdmin(async (admin) => {
      expect((await admin.addPartitions(new Map([[topic, 5]]))).get(topic)).toBe(5);
      expect((await admin.addPartitions(new Map([[topic, 3]]))).get(topic)).toBe(5);
      expect((await admin.describeTopicPartitions([topic])).partitions.get(topic)).toBe(5);
    });
  });

  it('fails with a typed error when the topic does not exist', async () => {
    const producer = new RecordProducer(testKafkaClient(), { retries: 1 });
    await producer.connect();
    try {
      await expect(producer.send([toProducedRecord(uniqueName('missing'), { key: 'k', value: 'v' })])).rejects.toMatchObject({
        code: 'TRIBUTARY_KAFKA_PRODUCE_FAILED',
      });
    } finally {
      await producer.disconnect();
    }
  });

  it('KafkaAdmin can be connected and disconnected repeatedly', async () => {
    const admin = new KafkaAdmin(testKafkaClient());
    await admin.connect();
    await admin.connect();
    await admin.disconnect();
    await admin.disconnect();
  });
});
