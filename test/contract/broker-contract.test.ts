/**
 * What Tributary relies on from the broker + kafkajs 2.2.4, checked against a real broker. Runs in the `integration`
 * project (Kafka 3.9.1) and in `contract-kafka4` (Kafka 4.x). Uses kafkajs directly on purpose: these pin down the
 * library/broker behaviour, not our adapter.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_COMPACTION_CONFIGS, kafkaBrokers, kafkaVersion, uniqueName, waitUntil } from '../helpers/kafka.js';

const kafka = new Kafka({ clientId: 'tributary-contract', brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
});

async function createTopic(partitions: number, configs: Record<string, string> = {}): Promise<string> {
  const topic = uniqueName('contract');
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      },
    ],
  });
  expect(created).toBe(true);
  return topic;
}

async function produce(topic: string, messages: { key: string; value: string | null; partition?: number }[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Reads `topic` from the beginning with a fresh group until `count` messages arrived (or the timeout). */
async function consumeAll(topic: string, count: number, readUncommitted = false): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('contract-read'), readUncommitted, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => void messages.push(...batch.messages) });
    await waitUntil(() => messages.length >= count, { timeoutMs: 20_000, description: `${count} messages from ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`Kafka broker contract (${kafkaVersion()})`, () => {
  it('creates topics with configs and reports partitions and configs back', async () => {
    const topic = await createTopic(3, { 'cleanup.policy': 'compact', 'segment.ms': '100' });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }],
    });
    expect(configs.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
    // Creating it again is not an error, just `false`.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(false);
  });

  it('produces, consumes with a group, commits, and reads committed and end offsets', async () => {
    const topic = await createTopic(2);
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    );
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.map((o) => [o.partition, o.high, o.low]).sort()).toEqual([
      [0, '5', '0'],
      [1, '5', '0'],
    ]);

    const groupId = uniqueName('contract-group');
    const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) seen.push(String(m.value));
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
        },
      });
      await waitUntil(() => seen.length >= 10, { timeoutMs: 20_000, description: 'ten records' });
    } finally {
      await consumer.disconnect();
    }
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ]);
    await admin.deleteGroups([groupId]);
  });

  it('compaction removes superseded values and tombstones', async () => {
    const topic = await createTopic(1, FAST_COMPACTION_CONFIGS);
    await produce(topic, [
      { key: 'a', value: 'a1' },
      { key: 'b', value: 'b1' },
      { key: 'a', value: 'a2' },
      { key: 'b', value: null },
      { key: 'c', value: 'c1' },
    ]);
    // The active segment is never cleaned and only rolls on an append after segment.ms: keep appending filler
    // records (same key, so they compact away too) until the cleaner has removed the superseded values and the
    // tombstone (which needs a second cleaning pass after delete.retention.ms).
    let survivors: KafkaMessage[] = [];
    let filler = 0;
    await waitUntil(
      async () => {
        await sleep(150);
        await produce(topic, [{ key: 'filler', value: String(filler++) }]);
        const end = Number((await admin.fetchTopicOffsets(topic))[0]?.high);
        const all = await consumeAllUntilOffset(topic, end);
        survivors = all.filter((m) => String(m.key) !== 'filler');
        return survivors.length === 2;
      },
      { timeoutMs: 60_000, intervalMs: 0, description: 'log compaction of a and b' },
    );
    expect(survivors.map((m) => [String(m.key), String(m.value)])).toEqual([
      ['a', 'a2'],
      ['c', 'c1'],
    ]);
    expect(survivors.map((m) => Number(m.offset))).toEqual([2, 4]);
  });

  it('end offsets are read-committed: an open transaction does not move them until it commits', async () => {
    const topic = await createTopic(1);
    await produce(topic, [{ key: 'plain', value: '0' }]);
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionalId: uniqueName('contract-lso'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        messages: [
          { key: 'k', value: 'pending-1' },
          { key: 'k', value: 'pending-2' },
        ],
      });
      // The log end is 3, but the last stable offset stays 1 while the transaction is open.
      expect((await admin.fetchTopicOffsets(topic))[0]?.high).toBe('1');
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
    // 1, 2 data, 3 commit marker. commit() resolves when the coordinator accepted it; the markers are written to the
    // partitions afterwards, so the last stable offset catches up a moment later.
    let high = '';
    await waitUntil(
      async () => {
        high = (await admin.fetchTopicOffsets(topic))[0]?.high ?? '';
        return high !== '1';
      },
      { timeoutMs: 10_000, intervalMs: 20, description: 'the commit marker' },
    );
    expect(high).toBe('4');
  });

  it('transactions: a read-committed consumer sees committed records only, and sendOffsets commits group offsets', async () => {
    const input = await createTopic(1);
    const output = await createTopic(1);
    await produce(input, [
      { key: 'in', value: '1' },
      { key: 'in', value: '2' },
    ]);
    const groupId = uniqueName('contract-tx-group');
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionalId: uniqueName('contract-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const committedTx = await producer.transaction();
      await committedTx.send({
        topic: output,
        messages: [
          { key: 'k', value: 'committed-1' },
          { key: 'k', value: 'committed-2' },
        ],
      });
      await committedTx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '2' }] }] });
      await committedTx.commit();

      const abortedTx = await producer.transaction();
      await abortedTx.send({ topic: output, messages: [{ key: 'k', value: 'aborted' }] });
      await abortedTx.abort();

      const lastTx = await producer.transaction();
      await lastTx.send({ topic: output, messages: [{ key: 'k', value: 'committed-3' }] });
      await lastTx.commit();
    } finally {
      await producer.disconnect();
    }
    const values = (await consumeAll(output, 3)).map((m) => String(m.value));
    expect(values).toEqual(['committed-1', 'committed-2', 'committed-3']);
    // Offsets: 0,1 data, 2 commit marker, 3 aborted, 4 abort marker, 5 data, 6 commit marker.
    expect((await admin.fetchTopicOffsets(output))[0]?.high).toBe('7');
    const committed = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(committed[0]?.partitions[0]?.offset).toBe('2');
  });
});

/** Reads a single-partition topic from the beginning until the next position reaches `end`. */
async function consumeAllUntilOffset(topic: string, end: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('contract-compacted'), maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  let position = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        messages.push(...batch.messages);
        position = Number(batch.lastOffset()) + 1;
      },
    });
    await waitUntil(() => position >= end, { timeoutMs: 20_000, description: `position ${end} in ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
