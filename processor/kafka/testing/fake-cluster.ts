/**
 * An in-memory Kafka for unit tests of the runtime: topics with partitioned logs, one committed-offset table per
 * group, the cluster lookups port (cluster-lookups.ts) and a producer (`send`, as RecordProducer has it) that
 * appends to the logs. Read it with `FakeGroupMember` (fake-group-member.ts). Integration tests use a real broker.
 */
import { defaultPartition } from '../../../common/partitioner.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../../common/records.js';
import type { ClusterLookups, TopicPartitionCounts } from '../cluster-lookups.js';

export interface FakeRecordInput {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly timestamp?: number;
}

export class FakeCluster implements ClusterLookups {
  private readonly logs = new Map<TopicPartitionId, ConsumedRecord[]>();
  private readonly partitionCounts = new Map<string, number>();
  private readonly committedByGroup = new Map<string, Map<TopicPartitionId, number>>();
  /** Every `send` call, in order (what the producer was asked to write, acknowledged or not). */
  readonly sendCalls: (readonly ProducedRecord[])[] = [];
  /** When set, the next `send` calls reject with it (until cleared). */
  sendFailure: Error | undefined;
  /** When set, `send` waits for it before acknowledging (to hold a send in flight). */
  sendGate: Promise<void> | undefined;

  createTopic(topic: string, partitions: number): this {
    this.partitionCounts.set(topic, partitions);
    for (let p = 0; p < partitions; p++) if (!this.logs.has(topicPartitionId(topic, p))) this.logs.set(topicPartitionId(topic, p), []);
    return this;
  }

  partitionCount(topic: string): number | undefined {
    return this.partitionCounts.get(topic);
  }

  /** Appends records to one partition (timestamps default to the offset); returns their offsets. */
  append(topic: string, partition: number, records: readonly FakeRecordInput[]): number[] {
    const log = this.logOf(topic, partition);
    return records.map((input) => {
      const offset = log.length;
      log.push({
        topic,
        partition,
        offset,
        timestamp: input.timestamp ?? offset,
        key: toBuffer(input.key),
        value: toBuffer(input.value),
        headers: {},
      });
      return offset;
    });
  }

  /** The records of one partition, in offset order. */
  records(topic: string, partition: number): readonly ConsumedRecord[] {
    return this.logOf(topic, partition);
  }

  endOffset(topic: string, partition: number): number {
    return this.logOf(topic, partition).length;
  }

  committed(groupId: string): ReadonlyMap<TopicPartitionId, number> {
    return this.groupOffsets(groupId);
  }

  commit(groupId: string, offsets: ReadonlyMap<TopicPartitionId, number>): void {
    const group = this.groupOffsets(groupId);
    for (const [tp, offset] of offsets) group.set(tp, offset);
  }

  // ClusterLookups ------------------------------------------------------------------------------------------------

  async fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<Map<TopicPartitionId, number>> {
    const wanted = new Set(topics);
    return new Map([...this.groupOffsets(groupId)].filter(([tp]) => wanted.has(tp.slice(0, tp.lastIndexOf(':')))));
  }

  async fetchEndOffsets(topic: string): Promise<Map<number, number>> {
    const count = this.partitionCounts.get(topic) ?? 0;
    return new Map(Array.from({ length: count }, (_, p) => [p, this.endOffset(topic, p)] as const));
  }

  async describeTopicPartitions(topics: readonly string[]): Promise<TopicPartitionCounts> {
    const partitions = new Map<string, number>();
    const missing: string[] = [];
    for (const topic of new Set(topics)) {
      const count = this.partitionCounts.get(topic);
      if (count === undefined) missing.push(topic);
      else partitions.set(topic, count);
    }
    return { partitions, missing };
  }

  // Producer ------------------------------------------------------------------------------------------------------

  /** Appends `records` (acks=all: all or none); a keyless record without a partition goes to partition 0. */
  async send(records: readonly ProducedRecord[]): Promise<void> {
    this.sendCalls.push(records);
    if (this.sendGate !== undefined) await this.sendGate;
    if (this.sendFailure !== undefined) throw this.sendFailure;
    for (const record of records) {
      const count = this.partitionCounts.get(record.topic);
      if (count === undefined) throw new Error(`fake cluster: topic ${record.topic} does not exist`);
      const partition = record.partition ?? (record.key === null ? 0 : defaultPartition(record.key, count));
      const log = this.logOf(record.topic, partition);
      log.push({ ...record, partition, offset: log.length });
    }
  }

  private logOf(topic: string, partition: number): ConsumedRecord[] {
    const log = this.logs.get(topicPartitionId(topic, partition));
    if (log === undefined) throw new Error(`fake cluster: ${topic}:${partition} does not exist`);
    return log;
  }

  private groupOffsets(groupId: string): Map<TopicPartitionId, number> {
    let offsets = this.committedByGroup.get(groupId);
    if (offsets === undefined) {
      offsets = new Map();
      this.committedByGroup.set(groupId, offsets);
    }
    return offsets;
  }
}

function toBuffer(value: string | Buffer | null): Buffer | null {
  return value === null ? null : typeof value === 'string' ? Buffer.from(value) : value;
}
