import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionMetadata, RecordMetadata } from 'kafkajs';
import type { ProducedRecord } from '../../common/records.js';
import { defaultPartitioner } from './client.js';
import { chunkRecords, partitionFor, isMessageTooLarge, sendInChunks, type SendBatch } from './producer.js';

// Java's Utils.murmur2 test vectors (org.apache.kafka.common.utils.UtilsTest#testMurmur2); the Java default
// partitioner picks (murmur2(key) & 0x7fffffff) % partitions. Matching them is what keeps joins and key routing
// correct when Java and Tributary producers write the same topics.
const JAVA_MURMUR2: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

describe('partitionFor', () => {
  it.each(JAVA_MURMUR2)('matches the Java client for key %s', (key, hash) => {
    for (const count of [1, 3, 7, 12, 1000]) {
      expect(partitionFor('t', Buffer.from(key), count)).toBe((hash & 0x7fffffff) % count);
    }
  });

  it('is deterministic and in range for any key and partition count', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 500 }), (bytes, count) => {
        const key = Buffer.from(bytes);
        const partition = partitionFor('topic', key, count);
        expect(Number.isInteger(partition) && partition >= 0 && partition < count).toBe(true);
        expect(partitionFor('another-topic', Buffer.from(bytes), count)).toBe(partition);
      }),
    );
  });

  it("agrees with kafkajs's DefaultPartitioner (what RecordProducer falls back to for unpartitioned records)", () => {
    const kafkajsPartitioner = defaultPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (bytes, count) => {
        const partitionMetadata: PartitionMetadata[] = Array.from({ length: count }, (_, partitionId) => ({
          partitionId,
          leader: 0,
          partitionErrorCode: 0,
          replicas: [0],
          isr: [0],
        }));
        const key = Buffer.from(bytes);
        expect(partitionFor('t', key, count)).toBe(kafkajsPartitioner({ topic: 't', partitionMetadata, message: { key, value: null } }));
      }),
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionFor('t', Buffer.from('k'), 0)).toThrow(RangeError);
    expect(() => partitionFor('t', Buffer.from('k'), 1.5)).toThrow(RangeError);
  });
});

describe('chunkRecords', () => {
  const record = (topic: string, partition: number | undefined, valueBytes = 10): ProducedRecord => ({
    topic,
    partition,
    timestamp: 0,
    key: Buffer.from('k'),
    value: Buffer.alloc(valueBytes),
    headers: {},
  });

  it('keeps every record, in order, in consecutive chunks within both bounds', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            topic: fc.constantFrom('a', 'b'),
            partition: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
            size: fc.integer({ min: 0, max: 300 }),
          }),
          { maxLength: 200 },
        ),
        fc.integer({ min: 1, max: 20 }),
        (specs, maxPerPartition) => {
          const records = specs.map((s) => record(s.topic, s.partition, s.size));
          const chunks = [...chunkRecords(records, 1000, maxPerPartition)];
          expect(chunks.flat()).toEqual(records);
          for (const chunk of chunks) {
            expect(chunk.length).toBeGreaterThan(0);
            const bytes = chunk.reduce((sum, r) => sum + 32 + 1 + (r.value?.length ?? 0), 0);
            if (chunk.length > 1) expect(bytes).toBeLessThanOrEqual(1000);
            for (const topic of ['a', 'b']) {
              const unknown = chunk.filter((r) => r.topic === topic && r.partition === undefined).length;
              for (let p = 0; p < 4; p++) {
                expect(chunk.filter((r) => r.topic === topic && r.partition === p).length + unknown).toBeLessThanOrEqual(maxPerPartition);
              }
            }
          }
        },
      ),
    );
  });

  it('bounds records per topic-partition, not per request', () => {
    const records = [
      ...Array.from({ length: 5 }, () => record('t', 0)),
      ...Array.from({ length: 5 }, () => record('t', 1)),
      record('u', 0),
    ];
    expect([...chunkRecords(records, 1_000_000, 5)].map((c) => c.length)).toEqual([records.length]);
    // 4 of partition 0 | the 5th of partition 0 and 4 of partition 1 | the 5th of partition 1 and u-0.
    expect([...chunkRecords(records, 1_000_000, 4)].map((c) => c.length)).toEqual([4, 5, 2]);
  });

  it('sends a record larger than the byte bound alone', () => {
    const records = [record('t', 0, 10), record('t', 0, 5000), record('t', 0, 10)];
    expect([...chunkRecords(records, 1000, 100)].map((c) => c.length)).toEqual([1, 1, 1]);
  });
});

describe('isMessageTooLarge', () => {
  it('finds the broker error however kafkajs wraps it', () => {
    const broker = { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' };
    expect(isMessageTooLarge(broker)).toBe(true);
    expect(isMessageTooLarge({ name: 'KafkaJSNumberOfRetriesExceeded', cause: broker })).toBe(true);
    expect(isMessageTooLarge({ originalError: { errors: [{ type: 'NOT_LEADER' }, broker] } })).toBe(true);
    expect(isMessageTooLarge({ type: 'NOT_LEADER_FOR_PARTITION', cause: new Error('x') })).toBe(false);
    expect(isMessageTooLarge('MESSAGE_TOO_LARGE')).toBe(false);
  });
});

describe('sendInChunks', () => {
  it('sends the records of partitions the producer did not know yet again, in order, and acknowledges them', async () => {
    const rec = (topic: string, partition: number, key: string): ProducedRecord => ({
      topic,
      partition,
      timestamp: 0,
      key: Buffer.from(key),
      value: null,
      headers: {},
    });
    const records = [rec('a', 0, 'a0'), rec('a', 1, 'a1'), rec('b', 1, 'b1'), rec('a', 1, 'a1b'), rec('b', 0, 'b0')];
    const sent: string[][] = [];
    let calls = 0;
    const sendBatch: SendBatch = ({ topicMessages }) => {
      calls++;
      sent.push(topicMessages.flatMap((t) => t.messages.map((m) => String(m.key))));
      // First request: kafkajs knows partition 0 of both topics only (it drops the others' records).
      const known = (partition: number) => calls > 1 || partition === 0;
      const metadata: RecordMetadata[] = [];
      for (const { topic, messages } of topicMessages) {
        const partitions = [...new Set(messages.map((m) => m.partition as number))].filter(known);
        for (const partition of partitions) metadata.push({ topicName: topic, partition, errorCode: 0, baseOffset: '10' });
      }
      return Promise.resolve(metadata);
    };
    const acknowledged = await sendInChunks(sendBatch, records, { metadataMaxAgeMs: 1 });
    expect(sent).toEqual([
      ['a0', 'a1', 'a1b', 'b1', 'b0'],
      ['a1', 'a1b', 'b1'],
    ]);
    expect([...acknowledged].sort()).toEqual([
      ['a:0', 11],
      ['a:1', 12],
      ['b:0', 11],
      ['b:1', 11],
    ]);
  });
});
