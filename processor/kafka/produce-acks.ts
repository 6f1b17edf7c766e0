/**
 * Where acknowledged records landed: per topic-partition, the offset after the last record Kafka acknowledged there.
 * A derived-table store's checkpoint is exactly that position of its changelog partition (the engine's
 * `commit({ changelogOffsets })`), so restoration resumes right after the changelog records the store already holds.
 *
 * A produce response names the base offset of the one record batch a request wrote per partition; the batch's
 * records got consecutive offsets from there. Only records sent with an explicit partition are counted: for the
 * others the client picked the partition, and a request to a partition that also held such records is not
 * reported (callers that need a position, like changelog records, always name the partition).
 */
import { topicPartitionId, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';

/** Next offset after the last acknowledged record, per topic-partition written with explicit partitions. */
export type AcknowledgedOffsets = ReadonlyMap<TopicPartitionId, number>;

/** One partition's part of a produce response. */
export interface PartitionAck {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of the batch written there. */
  readonly baseOffset: number;
}

/**
 * The positions after one request: `records` is what the request sent (per partition in order), `acks` the
 * response's base offset per partition.
 */
export function acknowledgedOffsets(records: readonly ProducedRecord[], acks: readonly PartitionAck[]): Map<TopicPartitionId, number> {
  // Per topic, records per partition (no string per record: this runs for every record produced).
  const counts = new Map<string, number[] | 'unpartitioned'>();
  for (const record of records) {
    let perPartition = counts.get(record.topic);
    if (perPartition === 'unpartitioned') continue;
    if (record.partition === undefined) {
      counts.set(record.topic, 'unpartitioned');
      continue;
    }
    if (perPartition === undefined) {
      perPartition = [];
      counts.set(record.topic, perPartition);
    }
    perPartition[record.partition] = (perPartition[record.partition] ?? 0) + 1;
  }
  const positions = new Map<TopicPartitionId, number>();
  for (const ack of acks) {
    const perPartition = counts.get(ack.topic);
    if (perPartition === undefined || perPartition === 'unpartitioned') continue;
    const count = perPartition[ack.partition];
    if (count === undefined || !Number.isSafeInteger(ack.baseOffset) || ack.baseOffset < 0) continue;
    positions.set(topicPartitionId(ack.topic, ack.partition), ack.baseOffset + count);
  }
  return positions;
}

/** Adds `next` into `into`, keeping the larger position per partition (requests to one partition never overlap). */
export function mergeAcknowledged(into: Map<TopicPartitionId, number>, next: AcknowledgedOffsets): void {
  for (const [tp, offset] of next) {
    const known = into.get(tp);
    if (known === undefined || offset > known) into.set(tp, offset);
  }
}
