/** PartitionReader against the real broker: explicit partitions, start offsets, exact end, empty and compacted logs. */
import { afterAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { PartitionReader } from '../../processor/kafka/partition-reader.js';
import { topicPartitionId, type ConsumedRecord } from '../../common/records.js';
import { FAST_COMPACTION_CONFIGS, createTestTopic, produce, testKafkaClient, waitUntil, withAdmin } from '../helpers/kafka.js';

const client = testKafkaClient();
const readers: PartitionReader[] = [];

afterAll(async () => {
  await Promise.all(readers.map((r) => r.stop()));
});

function reader(options: ConstructorParameters<typeof PartitionReader>[1]): PartitionReader {
  const r = new PartitionReader(client, options);
  readers.push(r);
  return r;
}

const summary = (records: ConsumedRecord[]) => records.map((r) => `${r.partition}@${r.offset}=${String(r.value)}`);

describe('PartitionReader', () => {
  it('reads chosen partitions from given start offsets up to the end, delivering keys, values, headers, timestamps', async () => {
    const topic = await createTestTopic('reader-multi', 3);
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        partition: i % 3,
        timestamp: 1_700_000_000_000 + i,
        headers: { h: `x${i}` },
      })),
    );
    const batches: ConsumedRecord[][] = [];
    const r = reader({
      partitions: [
        { topic, partition: 0, offset: 0 },
        { topic, partition: 1, offset: 5 },
        { topic, partition: 2 },
      ],
      onBatch: async (batch) => void batches.push(batch),
    });
    await r.run();
    const records = batches.flat();
    // Batches are per partition and in offset order.
    for (const batch of batches) {
      expect(new Set(batch.map((rec) => rec.partition)).size).toBe(1);
      expect(batch.map((rec) => rec.offset)).toEqual([...batch.map((rec) => rec.offset)].sort((a, b) => a - b));
    }
    expect(records).toHaveLength(10 + 5 + 10);
    expect(records.filter((rec) => rec.partition === 1).map((rec) => rec.offset)).toEqual([5, 6, 7, 8, 9]);
    const first = records.find((rec) => rec.partition === 2 && rec.offset === 0);
    expect(first).toMatchObject({ topic, key: Buffer.from('k2'), value: Buffer.from('v2'), timestamp: 1_700_000_000_002 });
    expect(first?.headers.h).toEqual(Buffer.from('x2'));
    expect(r.positions()).toEqual(
      new Map([
        [topicPartitionId(topic, 0), 10],
        [topicPartitionId(topic, 1), 10],
        [topicPartitionId(topic, 2), 10],
      ]),
    );
  });

  it('stops exactly at the given end offsets even when more records exist', async () => {
    const topic = await createTestTopic('reader-end', 2);
    await produce(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    );
    const ends = await withAdmin((admin) => admin.fetchEndOffsets(topic));
    await produce(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ key: `late${i}`, value: `late${i}`, partition: i % 2 })),
    );
    const records: ConsumedRecord[] = [];
    const r = reader({
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
      endOffsets: new Map([...ends].map(([p, end]) => [topicPartitionId(topic, p), end])),
      onBatch: async (batch) => void records.push(...batch),
    });
    await r.run();
    expect(records).toHaveLength(20);
    expect(records.every((rec) => rec.offset < 10)).toBe(true);
    expect([...r.positions().values()].every((position) => position >= 10)).toBe(true);
  });

  it('finishes at once for empty partitions and for start offsets already at the end', async () => {
    const topic = await createTestTopic('reader-empty', 3);
    await produce(topic, [
      { key: 'a', value: '1', partition: 0 },
      { key: 'b', value: '2', partition: 0 },
    ]);
    const records: ConsumedRecord[] = [];
    await reader({
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
        { topic, partition: 2 },
      ],
      onBatch: async (batch) => void records.push(...batch),
    }).run();
    expect(summary(records)).toEqual(['0@0=1', '0@1=2']);

    const none: ConsumedRecord[] = [];
    const caughtUp = reader({
      partitions: [
        { topic, partition: 0, offset: 2 },
        { topic, partition: 1 },
      ],
      onBatch: async (batch) => void none.push(...batch),
    });
    await caughtUp.run();
    expect(none).toEqual([]);
    expect(caughtUp.positions().get(topicPartitionId(topic, 0))).toBe(2);
  });

  it('reads a compacted topic with offset gaps to its end', async () => {
    const topic = await createTestTopic('reader-compacted', 1, FAST_COMPACTION_CONFIGS);
    await produce(topic, [
      { key: 'a', value: 'a1' },
      { key: 'a', value: 'a2' },
      { key: 'b', value: 'b1' },
      { key: 'a', value: 'a3' },
    ]);
    // Roll the segment (append after segment.ms) until the cleaner removed the superseded values of `a`.
    let records: ConsumedRecord[] = [];
    let filler = 0;
    await waitUntil(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await produce(topic, [{ key: 'filler', value: String(filler++) }]);
        records = [];
        await reader({ partitions: [{ topic, partition: 0 }], onBatch: async (batch) => void records.push(...batch) }).run();
        return records.filter((rec) => String(rec.key) === 'a').length === 1;
      },
      { timeoutMs: 60_000, intervalMs: 0, description: 'compaction of key a' },
    );
    const data = records.filter((rec) => String(rec.key) !== 'filler');
    expect(data.map((rec) => [String(rec.key), String(rec.value), rec.offset])).toEqual([
      ['b', 'b1', 2],
      ['a', 'a3', 3],
    ]);
  });

  it('treats a trailing transaction marker as caught up (end offset past the last data record)', async () => {
    const topic = await createTestTopic('reader-tx', 1);
    const producer = client.producer({ transactionalId: `reader-tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        messages: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
      });
      await tx.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'c', value: 'aborted' }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    // Offsets: 0,1 data, 2 commit marker, 3 aborted record, 4 abort marker: the end is 5, no data record at 4.
    // abort() resolves before the marker is written; wait for the last stable offset to pass it.
    await waitUntil(async () => (await withAdmin((admin) => admin.fetchEndOffsets(topic))).get(0) === 5, {
      timeoutMs: 10_000,
      intervalMs: 20,
      description: 'end offset 5',
    });
    const records: ConsumedRecord[] = [];
    const caughtUp: [string, number][] = [];
    const r = reader({
      partitions: [{ topic, partition: 0 }],
      onBatch: async (batch) => void records.push(...batch),
      onCaughtUp: (tp, position) => void caughtUp.push([tp, position]),
    });
    await r.run();
    expect(summary(records)).toEqual(['0@0=1', '0@1=2']);
    expect(r.positions().get(topicPartitionId(topic, 0))).toBe(5);
    expect(caughtUp).toEqual([[topicPartitionId(topic, 0), 5]]);
  });

  it('in forever mode reports caught up, keeps delivering new records, and stops on stop()', async () => {
    const topic = await createTestTopic('reader-forever', 2);
    await produce(topic, [{ key: 'a', value: '1', partition: 0 }]);
    const records: ConsumedRecord[] = [];
    const r = reader({
      mode: 'forever',
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
      onBatch: async (batch) => void records.push(...batch),
    });
    const running = r.run();
    await r.caughtUp();
    expect(summary(records)).toEqual(['0@0=1']);
    await produce(topic, [
      { key: 'b', value: '2', partition: 1 },
      { key: 'c', value: '3', partition: 0 },
    ]);
    await waitUntil(() => records.length === 3, { timeoutMs: 20_000, description: 'two new records' });
    await r.stop();
    await running;
    expect(summary(records).sort()).toEqual(['0@0=1', '0@1=3', '1@0=2']);
  });

  it('rejects with a typed error for a missing topic and when onBatch throws', async () => {
    const missing = reader({ partitions: [{ topic: 'no-such-topic-tributary', partition: 0 }], onBatch: async () => {} });
    await expect(missing.run()).rejects.toMatchObject({ code: 'TRIBUTARY_PARTITION_READER_FAILED' });

    const topic = await createTestTopic('reader-fail', 1);
    await produce(topic, [{ key: 'a', value: '1' }]);
    const failing = reader({
      partitions: [{ topic, partition: 0 }],
      onBatch: async () => {
        throw new Error('store is full');
      },
    });
    const error: unknown = await failing.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('TRIBUTARY_PARTITION_READER_FAILED');
    expect(((error as Error).cause as Error).message).toBe('store is full');
  });
});
