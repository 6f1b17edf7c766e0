/**
 * PartitionReader's fetch loop against a scripted kafkajs cluster (the broker side of it is covered by
 * test/kafka/partition-reader.test.ts): fetch-ahead, leader changes, log start moves, aborted transactions, stop.
 */
import { describe, expect, it } from 'vitest';
import { topicPartitionId, type ConsumedRecord } from '../../common/records.js';
import { createKafkaClient } from './client.js';
import type { ClusterBroker, FetchedPartition, FetchedRecord, FetchRequest, ReaderCluster } from './kafkajs-cluster.js';
import { PartitionReader } from './partition-reader.js';

const client = createKafkaClient({ clientId: 'reader-test', brokers: ['127.0.0.1:1'] });
const TOPIC = 't';

interface LogRecord {
  readonly offset: number;
  readonly value?: string;
  readonly producerId?: string;
  readonly transactional?: boolean;
  /** 'abort' / 'commit' marker. */
  readonly marker?: 'abort' | 'commit';
  /** Offsets [offset, batchEnd) form one record batch (default: the record alone). */
  readonly batchEnd?: number;
}

class KafkaError extends Error {
  constructor(
    override readonly name: string,
    readonly type?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(type ?? name);
    Object.assign(this, extra);
  }
}

/** One in-memory partition log per partition number, served by a scripted single broker. */
class ScriptedCluster implements ReaderCluster {
  logStart = new Map<number, number>();
  lastStable = new Map<number, number>();
  aborted: { producerId: string; firstOffset: string }[] = [];
  /** Failures the next fetches throw, in order. */
  failures: Error[] = [];
  fetches: FetchRequest[] = [];
  refreshes = 0;
  leaderless = 0;
  /** While set, fetches wait for it (a fetch in flight). */
  gate: Promise<void> | undefined;
  disconnected = false;

  constructor(readonly logs: Map<number, LogRecord[]>) {
    for (const [partition, log] of logs) {
      this.logStart.set(partition, 0);
      this.lastStable.set(partition, log.length === 0 ? 0 : Math.max(...log.map((r) => r.batchEnd ?? r.offset + 1)));
    }
  }

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
  async metadata() {
    return { topicMetadata: [{ topic: TOPIC, partitionMetadata: [...this.logs.keys()].map((partitionId) => ({ partitionId })) }] };
  }
  async addMultipleTargetTopics(): Promise<void> {}
  async refreshMetadata(): Promise<void> {
    this.refreshes++;
  }
  findLeaderForPartitions(_topic: string, partitions: number[]): Record<string, number[]> {
    if (this.leaderless > 0) {
      this.leaderless--;
      return {};
    }
    return { '1': partitions };
  }
  removeBroker(): void {}
  async fetchTopicsOffset(topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[]) {
    return topics.map(({ topic, fromBeginning, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition }) => ({
        partition,
        offset: String((fromBeginning ? this.logStart : this.lastStable).get(partition)),
      })),
    }));
  }
  async findBroker(): Promise<ClusterBroker> {
    return { fetch: (request) => this.fetch(request) };
  }

  private async fetch(request: FetchRequest) {
    this.fetches.push(request);
    await this.gate;
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    const partitions: FetchedPartition[] = [];
    for (const { partitions: wanted } of request.topics) {
      for (const { partition, fetchOffset } of wanted) {
        const from = Number(fetchOffset);
        if (from < (this.logStart.get(partition) as number)) {
          throw new KafkaError('KafkaJSOffsetOutOfRange', 'OFFSET_OUT_OF_RANGE', { topic: TOPIC, partition });
        }
        const end = this.lastStable.get(partition) as number;
        // Two records per response (and whole batches), like a small maxBytes.
        const messages: FetchedRecord[] = [];
        for (const r of this.logs.get(partition) ?? []) {
          const batchEnd = r.batchEnd ?? r.offset + 1;
          if (batchEnd <= from || r.offset >= end || messages.length >= 2) continue;
          messages.push(toFetched(r, batchEnd));
        }
        partitions.push({
          partition,
          errorCode: 0,
          highWatermark: String(end),
          lastStableOffset: String(end),
          abortedTransactions: this.aborted,
          messages,
        });
      }
    }
    if (partitions.every((p) => p.messages.length === 0)) await new Promise((resolve) => setTimeout(resolve, 5));
    return { responses: [{ topicName: TOPIC, partitions }] };
  }
}

function toFetched(r: LogRecord, batchEnd: number): FetchedRecord {
  const firstOffset = r.batchEnd === undefined ? r.offset : r.offset;
  return {
    offset: String(r.offset),
    timestamp: '1',
    key: r.marker === undefined ? Buffer.from(`k${r.offset}`) : Buffer.from([0, 0, 0, r.marker === 'abort' ? 0 : 1]),
    value: r.value === undefined ? null : Buffer.from(r.value),
    isControlRecord: r.marker !== undefined,
    batchContext: {
      firstOffset: String(firstOffset),
      lastOffsetDelta: batchEnd - 1 - firstOffset,
      producerId: r.producerId ?? '-1',
      inTransaction: r.transactional ?? false,
    },
  };
}

const plain = (count: number, from = 0): LogRecord[] =>
  Array.from({ length: count }, (_, i) => ({ offset: from + i, value: `v${from + i}` }));
const values = (batches: ConsumedRecord[][]) => batches.flat().map((r) => String(r.value));

describe('PartitionReader fetch loop', () => {
  it('sends the next fetch before the previous response is delivered, and reports positions only after onBatch', async () => {
    const cluster = new ScriptedCluster(new Map([[0, plain(6)]]));
    const batches: ConsumedRecord[][] = [];
    let fetchesDuringFirstBatch = -1;
    let positionDuringFirstBatch = -1;
    const reader: PartitionReader = new PartitionReader(
      client,
      {
        partitions: [{ topic: TOPIC, partition: 0 }],
        onBatch: async (records) => {
          if (batches.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            fetchesDuringFirstBatch = cluster.fetches.length;
            positionDuringFirstBatch = reader.positions().get(topicPartitionId(TOPIC, 0)) as number;
          }
          batches.push(records);
        },
      },
      () => cluster,
    );
    await reader.run();
    expect(values(batches)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    // The fetch for offsets 2.. went out while offsets 0-1 were being written.
    expect(fetchesDuringFirstBatch).toBe(2);
    expect(cluster.fetches[1]?.topics[0]?.partitions[0]?.fetchOffset).toBe('2');
    expect(positionDuringFirstBatch).toBe(0);
    expect(reader.positions()).toEqual(new Map([[topicPartitionId(TOPIC, 0), 6]]));
    expect(cluster.disconnected).toBe(true);
  });

  it('refreshes the metadata and fetches again after a leader change or an unknown leader', async () => {
    const cluster = new ScriptedCluster(new Map([[0, plain(4)]]));
    cluster.failures.push(new KafkaError('KafkaJSProtocolError', 'NOT_LEADER_FOR_PARTITION'), new KafkaError('KafkaJSConnectionError'));
    cluster.leaderless = 1;
    const batches: ConsumedRecord[][] = [];
    const reader = new PartitionReader(
      client,
      { partitions: [{ topic: TOPIC, partition: 0 }], onBatch: async (r) => void batches.push(r) },
      () => cluster,
    );
    await reader.run();
    expect(values(batches)).toEqual(['v0', 'v1', 'v2', 'v3']);
    expect(cluster.refreshes).toBeGreaterThanOrEqual(2);
  });

  it('fails with a typed error on an error it cannot recover from', async () => {
    const cluster = new ScriptedCluster(new Map([[0, plain(2)]]));
    cluster.failures.push(new KafkaError('KafkaJSProtocolError', 'TOPIC_AUTHORIZATION_FAILED'));
    const reader = new PartitionReader(client, { partitions: [{ topic: TOPIC, partition: 0 }], onBatch: async () => {} }, () => cluster);
    await expect(reader.run()).rejects.toMatchObject({ code: 'TRIBUTARY_PARTITION_READER_FAILED' });
  });

  it('continues at the log start when retention moved it past the position (OFFSET_OUT_OF_RANGE)', async () => {
    const cluster = new ScriptedCluster(new Map([[0, plain(10)]]));
    cluster.logStart.set(0, 7);
    const caughtUp: number[] = [];
    const batches: ConsumedRecord[][] = [];
    const reader = new PartitionReader(
      client,
      {
        partitions: [{ topic: TOPIC, partition: 0, offset: 2 }],
        onBatch: async (r) => void batches.push(r),
        onCaughtUp: (_tp, position) => caughtUp.push(position),
      },
      () => cluster,
    );
    await reader.run();
    expect(values(batches)).toEqual(['v7', 'v8', 'v9']);
    expect(caughtUp).toEqual([10]);
  });

  it('moves past markers, aborted records and batches compacted at their end without delivering them', async () => {
    const log: LogRecord[] = [
      { offset: 0, value: 'a0', producerId: '5', transactional: true },
      { offset: 1, value: 'c1', producerId: '6', transactional: true },
      { offset: 2, marker: 'abort', producerId: '5', transactional: true },
      { offset: 3, marker: 'commit', producerId: '6', transactional: true },
      // A batch of offsets 4-9 of which compaction kept only offset 4.
      { offset: 4, value: 'p4', batchEnd: 10 },
    ];
    const cluster = new ScriptedCluster(new Map([[0, log]]));
    cluster.aborted = [{ producerId: '5', firstOffset: '0' }];
    const batches: ConsumedRecord[][] = [];
    const reader = new PartitionReader(
      client,
      { partitions: [{ topic: TOPIC, partition: 0 }], onBatch: async (r) => void batches.push(r) },
      () => cluster,
    );
    await reader.run();
    expect(values(batches)).toEqual(['c1', 'p4']);
    expect(reader.positions()).toEqual(new Map([[topicPartitionId(TOPIC, 0), 10]]));
  });

  it('in forever mode keeps fetching at the end, and stop() ends run() without waiting for the fetch in flight', async () => {
    const cluster = new ScriptedCluster(
      new Map([
        [0, plain(2)],
        [1, []],
      ]),
    );
    const batches: ConsumedRecord[][] = [];
    const reader = new PartitionReader(
      client,
      {
        partitions: [
          { topic: TOPIC, partition: 0 },
          { topic: TOPIC, partition: 1 },
        ],
        mode: 'forever',
        onBatch: async (r) => void batches.push(r),
      },
      () => cluster,
    );
    const running = reader.run();
    await reader.caughtUp();
    let open!: () => void;
    cluster.gate = new Promise((resolve) => (open = resolve));
    const before = cluster.fetches.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(cluster.fetches.length).toBeLessThanOrEqual(before + 1);
    await reader.stop();
    await running;
    open();
    expect(values(batches)).toEqual(['v0', 'v1']);
  });

  it('stops after the in-flight onBatch and rejects run() when onBatch throws', async () => {
    const cluster = new ScriptedCluster(new Map([[0, plain(4)]]));
    const reader = new PartitionReader(
      client,
      {
        partitions: [{ topic: TOPIC, partition: 0 }],
        onBatch: async () => {
          throw new Error('disk full');
        },
      },
      () => cluster,
    );
    const error = (await reader.run().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'TRIBUTARY_PARTITION_READER_FAILED' });
    expect((error.cause as Error).message).toBe('disk full');
    expect(reader.positions()).toEqual(new Map([[topicPartitionId(TOPIC, 0), 0]]));
  });
});
