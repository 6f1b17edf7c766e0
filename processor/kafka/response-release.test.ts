/**
 * A fetch response's memory given back once read (response-framing.ts `releaseFrame`, partition-reader.ts): only
 * when every partition of the response delivered as a run was released, never while a run of it may still be read;
 * a response delivered as records stays; released memory serves a later frame while old views read as empty.
 */
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, RecordRun } from '../../common/records.js';
import { createKafkaClient } from './client.js';
import { decodeFetchV11 } from './fetch-decoding.js';
import type { ClusterBroker, ReadPartition, ReaderCluster } from './kafkajs-cluster.js';
import { PartitionReader } from './partition-reader.js';
import { releaseFrame, ResponseFramer } from './response-framing.js';
import { Encoder, Record, RecordBatch } from './testing/kafkajs-protocol.js';

const TOPIC = 't';
const client = createKafkaClient({ clientId: 'release-test', brokers: ['127.0.0.1:1'] });
/** Values big enough for the response to get memory of its own (not a slice of Node's buffer pool). */
const valueOf = (partition: number, offset: number) => `${partition}:${offset}:${'x'.repeat(40_000)}`;

/** A record batch of `count` records from offset 0 (keys `k<offset>`). */
async function batch(partition: number, count: number): Promise<Buffer> {
  const encoded = await RecordBatch({
    compression: 0,
    firstOffset: '0',
    firstTimestamp: 1,
    maxTimestamp: 1,
    lastOffsetDelta: count - 1,
    transactional: false,
    producerId: '-1',
    records: Array.from({ length: count }, (_, i) =>
      Record({ offsetDelta: i, timestampDelta: 0, key: Buffer.from(`k${i}`), value: Buffer.from(valueOf(partition, i)), headers: {} }),
    ),
  });
  return Buffer.from(encoded.buffer);
}

/** One Fetch v11 response (size prefix and correlation id included) holding `count` records of each partition, as a socket's framer emits it. */
async function responseFrame(partitions: readonly number[], count: number): Promise<Buffer> {
  const body = new Encoder().writeInt32(0).writeInt16(0).writeInt32(0).writeInt32(1).writeString(TOPIC).writeInt32(partitions.length);
  for (const partition of partitions) {
    body.writeInt32(partition).writeInt16(0).writeInt64(count).writeInt64(count).writeInt64(0).writeInt32(0).writeInt32(-1);
    body.writeBytes(await batch(partition, count));
  }
  const payload = Buffer.concat([Buffer.from([0, 0, 0, 7]), body.buffer]); // correlation id, then the body
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  const frames: Buffer[] = [];
  const framer = new ResponseFramer((frame) => frames.push(frame));
  framer.push(Buffer.concat([size, payload]), 0, 4 + payload.length);
  return frames[0] as Buffer;
}

/** A single broker serving `frame` (decoded as kafkajs hands a response to its decoder) to the first fetch, then nothing. */
function clusterServing(frame: Buffer, partitions: readonly number[], count: number): ReaderCluster {
  let served = false;
  const fetch = async () => {
    if (served) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { responses: [] };
    }
    served = true;
    const decoded = await decodeFetchV11(frame.subarray(8), () => Promise.reject(new Error('no compression here')));
    return { responses: decoded.responses as { topicName: string; partitions: ReadPartition[] }[] };
  };
  return {
    connect: async () => undefined,
    disconnect: async () => undefined,
    metadata: async () => ({ topicMetadata: [{ topic: TOPIC, partitionMetadata: partitions.map((partitionId) => ({ partitionId })) }] }),
    addMultipleTargetTopics: async () => undefined,
    refreshMetadata: async () => undefined,
    findLeaderForPartitions: (_topic, wanted) => ({ '1': wanted }),
    // kafkajs's own `fetch` is typed with its partitions; the reader takes either (ReadPartition).
    findBroker: async () => ({ fetch }) as unknown as ClusterBroker,
    removeBroker: () => undefined,
    fetchTopicsOffset: async (topics) =>
      topics.map(({ topic, fromBeginning, partitions: ps }) => ({
        topic,
        partitions: ps.map(({ partition }) => ({ partition, offset: fromBeginning ? '0' : String(count) })),
      })),
  };
}

const valuesOf = (run: RecordRun): string[] => {
  const values: string[] = [];
  const cursor = run.cursor();
  while (cursor.next()) values.push((cursor.valueBytes as Buffer).toString('utf8', cursor.valueStart, cursor.valueEnd));
  return values;
};

describe('releasing fetch responses', () => {
  it('frees a response only once every partition of it delivered as a run was released', async () => {
    const partitions = [0, 1, 2];
    const frame = await responseFrame(partitions, 2);
    const runs: RecordRun[] = [];
    const reader = new PartitionReader(
      client,
      {
        partitions: partitions.map((partition) => ({ topic: TOPIC, partition })),
        onBatch: async () => expect.unreachable('a run is delivered'),
        onRun: async (run) => void runs.push(run),
      },
      () => clusterServing(frame, partitions, 2),
    );
    await reader.run();
    expect(runs.map((r) => r.partition)).toEqual(partitions);
    const expected = (partition: number) => [valueOf(partition, 0), valueOf(partition, 1)];
    // Released out of order, and one twice: the response stays whole until the last one.
    (runs[2] as RecordRun).release?.();
    (runs[2] as RecordRun).release?.();
    (runs[0] as RecordRun).release?.();
    expect(frame.length).toBeGreaterThan(0);
    expect(valuesOf(runs[1] as RecordRun)).toEqual(expected(1));
    expect(valuesOf(runs[0] as RecordRun)).toEqual(expected(0));
    (runs[1] as RecordRun).release?.();
    // Freed: every view of it is empty, so a late read fails instead of reading other bytes.
    expect(frame.length).toBe(0);
    expect(() => valuesOf(runs[1] as RecordRun)).toThrow();
  });

  it('keeps a response whose partitions were delivered as records', async () => {
    const frame = await responseFrame([0], 2);
    const delivered: ConsumedRecord[] = [];
    const reader = new PartitionReader(
      client,
      { partitions: [{ topic: TOPIC, partition: 0 }], onBatch: async (records) => void delivered.push(...records) },
      () => clusterServing(frame, [0], 2),
    );
    await reader.run();
    expect(delivered.map((r) => String(r.value))).toEqual([valueOf(0, 0), valueOf(0, 1)]);
    expect(frame.length).toBeGreaterThan(0);
  });

  it('gives released memory to a later frame, through which the old views read nothing', async () => {
    const first = await responseFrame([0], 2);
    const view = first.subarray(100, 200);
    expect(releaseFrame(view)).toBe(true);
    expect(releaseFrame(view)).toBe(false); // once
    expect(first.length).toBe(0);
    expect(view.length).toBe(0);
    const second = await responseFrame([1], 2);
    expect(second.toString('utf8').includes(valueOf(1, 1))).toBe(true);
    expect(view[0]).toBeUndefined();
    expect(() => view.readInt32BE(0)).toThrow();
  });

  it('leaves small frames and buffers it did not allocate alone', () => {
    const small: Buffer[] = [];
    const framer = new ResponseFramer((frame) => small.push(frame));
    framer.push(Buffer.from([0, 0, 0, 3, 1, 2, 3]), 0, 7);
    expect(releaseFrame(small[0] as Buffer)).toBe(false);
    expect([...(small[0] as Buffer)]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    const other = Buffer.alloc(200_000, 1);
    expect(releaseFrame(other)).toBe(false);
    expect(other.length).toBe(200_000);
  });
});
