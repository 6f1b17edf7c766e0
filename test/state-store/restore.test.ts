/**
 * Restoration against the real broker: a compacted multi-partition topic with updates and tombstones, read with the
 * product PartitionReader, restored into LevelDB; then a second restore from the checkpoints reads only the tail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { PartitionReader } from '../../processor/kafka/partition-reader.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
import { restoreStore, type RestoreBatch, type RestoreResult } from '../../state-store/restore.js';
import type { StoreWrite } from '../../state-store/types.js';
import { FAST_COMPACTION_CONFIGS, createTestTopic, produce, testKafkaClient, withAdmin, type TestRecord } from '../helpers/kafka.js';

const PARTITIONS = 3;

/**
 * PartitionReader pushes batches (with backpressure); restoreStore pulls an AsyncIterable. This bridges the two:
 * each batch is handed over and acknowledged when restoreStore asks for the next one. A last empty batch carries
 * the reader's final positions, which may be past the last record (transaction markers).
 */
async function* readPartitions(
  client: KafkaClient,
  topic: string,
  starts: ReadonlyMap<TopicPartitionId, number>,
  endOffsets: ReadonlyMap<TopicPartitionId, number>,
): AsyncGenerator<RestoreBatch> {
  const queue: Array<{ records: ConsumedRecord[]; ack: () => void }> = [];
  // The batch handed to the consumer; acknowledged when it asks for the next one, or when it stops early.
  let current: { ack: () => void } | undefined;
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: { error: unknown } | undefined;
  const reader = new PartitionReader(client, {
    partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic,
      partition,
      offset: starts.get(topicPartitionId(topic, partition)),
    })),
    endOffsets,
    onBatch: (records) =>
      new Promise<void>((ack) => {
        queue.push({ records, ack });
        wake?.();
      }),
  });
  const running = reader.run().then(
    () => {
      finished = true;
    },
    (error: unknown) => {
      failure = { error };
    },
  );
  void running.finally(() => wake?.());
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        current = next;
        yield next.records;
        current = undefined;
        next.ack();
        continue;
      }
      if (failure !== undefined) throw failure.error;
      if (finished) {
        yield { records: [], nextOffsets: reader.positions() };
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    current?.ack();
    for (const pending of queue.splice(0)) pending.ack();
    await reader.stop();
    await running;
  }
}

const jsonDecode = (record: ConsumedRecord): StoreWrite<unknown> => ({
  type: 'put',
  key: record.key!,
  value: JSON.parse(record.value!.toString('utf8')) as unknown,
});

describe('restoreStore from a real compacted topic', () => {
  const client = testKafkaClient();
  let dir: string;
  let store: LevelKeyValueStore;
  let topic: string;
  /** What the topic means: latest value per key, tombstoned keys absent. */
  const expected = new Map<string, unknown>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-restore-it-'));
    store = await LevelKeyValueStore.open({ location: join(dir, 'db'), name: 'customers', partition: 'global' });
    topic = await createTestTopic('restore-customers', PARTITIONS, FAST_COMPACTION_CONFIGS);
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function produceAndTrack(records: readonly TestRecord[]): Promise<void> {
    await produce(topic, records);
    for (const record of records) {
      const key = String(record.key);
      if (record.value === null) expected.delete(key);
      else expected.set(key, JSON.parse(String(record.value)) as unknown);
    }
  }

  async function endOffsets(): Promise<Map<TopicPartitionId, number>> {
    const ends = await withAdmin((admin) => admin.fetchEndOffsets(topic));
    return new Map([...ends].map(([partition, end]) => [topicPartitionId(topic, partition), end]));
  }

  async function restore(ends: ReadonlyMap<TopicPartitionId, number>, decoded: ConsumedRecord[]): Promise<RestoreResult> {
    return restoreStore({
      store,
      batches: readPartitions(client, topic, store.checkpoints(), ends),
      endOffsets: ends,
      decode: (record) => {
        decoded.push(record);
        return jsonDecode(record);
      },
      onDecodeError: () => 'fail',
      batchSize: 50,
    });
  }

  async function storeContents(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for await (const entry of store.range()) out.set(entry.key.toString('utf8'), entry.value);
    return out;
  }

  it('restores the latest value per key, drops tombstoned keys and checkpoints the end offsets', async () => {
    const keys = 60;
    const records: TestRecord[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < keys; i++) {
        records.push({ key: `customer-${i}`, value: JSON.stringify({ id: i, round }), partition: i % PARTITIONS });
      }
    }
    for (let i = 0; i < keys; i += 4) records.push({ key: `customer-${i}`, value: null, partition: i % PARTITIONS });
    for (let i = 0; i < keys; i += 8) {
      records.push({ key: `customer-${i}`, value: JSON.stringify({ id: i, revived: true }), partition: i % PARTITIONS });
    }
    await produceAndTrack(records);
    const ends = await endOffsets();

    const decoded: ConsumedRecord[] = [];
    const result = await restore(ends, decoded);

    expect(result.caughtUp).toBe(true);
    expect(await storeContents()).toEqual(expected);
    expect(expected.has('customer-4')).toBe(false); // tombstoned, never revived
    expect(expected.get('customer-8')).toEqual({ id: 8, revived: true });
    expect(new Map(store.checkpoints())).toEqual(ends);
    expect(decoded.every((r) => r.value !== null)).toBe(true);
  });

  it('restores only the tail on a second run from the checkpoints', async () => {
    const before = new Map(store.checkpoints());
    const tail: TestRecord[] = [
      { key: 'customer-1', value: JSON.stringify({ id: 1, round: 'tail' }), partition: 1 },
      { key: 'customer-2', value: null, partition: 2 },
      { key: 'customer-999', value: JSON.stringify({ id: 999 }), partition: 0 },
      { key: 'customer-3', value: JSON.stringify({ id: 3, round: 'tail' }), partition: 0 },
    ];
    await produceAndTrack(tail);
    const ends = await endOffsets();

    const decoded: ConsumedRecord[] = [];
    const result = await restore(ends, decoded);

    expect(result.restored).toBe(tail.length);
    expect(decoded).toHaveLength(3); // the tombstone is applied without decoding
    for (const record of decoded) {
      expect(record.offset).toBeGreaterThanOrEqual(before.get(topicPartitionId(record.topic, record.partition)) ?? 0);
    }
    expect(await storeContents()).toEqual(expected);
    expect(await store.get(Buffer.from('customer-2'))).toBeUndefined();
    expect(new Map(store.checkpoints())).toEqual(ends);

    // Nothing new: caught up immediately, nothing read.
    const idle: ConsumedRecord[] = [];
    const again = await restore(ends, idle);
    expect(again).toMatchObject({ restored: 0, caughtUp: true });
    expect(idle).toHaveLength(0);
  });

  it('finishes when the log ends in transaction markers, and never applies aborted records', async () => {
    const producer = client.producer({ transactionalId: `restore-it-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({
        topic,
        messages: [
          { key: 'customer-tx', value: JSON.stringify({ tx: 'committed' }), partition: 0 },
          { key: 'customer-1', value: JSON.stringify({ id: 1, tx: true }), partition: 0 },
        ],
      });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'customer-aborted', value: JSON.stringify({ tx: 'aborted' }), partition: 0 }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    expected.set('customer-tx', { tx: 'committed' });
    expected.set('customer-1', { id: 1, tx: true });
    const before = store.checkpoints().get(topicPartitionId(topic, 0)) ?? 0;
    // 2 records + commit marker + 1 aborted record + abort marker: the last offsets are never delivered. The
    // coordinator writes the markers after answering EndTxn, so the last stable offset gets there a little later.
    let ends = await endOffsets();
    for (let attempt = 0; attempt < 50 && (ends.get(topicPartitionId(topic, 0)) ?? 0) < before + 5; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ends = await endOffsets();
    }
    expect(ends.get(topicPartitionId(topic, 0))).toBe(before + 5);

    const decoded: ConsumedRecord[] = [];
    const result = await restore(ends, decoded);

    expect(result.caughtUp).toBe(true);
    expect(decoded.map((r) => r.key?.toString())).toEqual(['customer-tx', 'customer-1']);
    expect(await store.get(Buffer.from('customer-aborted'))).toBeUndefined();
    expect(await storeContents()).toEqual(expected);
    expect(new Map(store.checkpoints())).toEqual(ends);
  });
});
