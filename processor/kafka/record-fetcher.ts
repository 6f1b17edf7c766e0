/**
 * Reads a few records back by position (topic, partition, offset), e.g. the user's original record behind a dead
 * letter written after a repartition. One PartitionReader (fetching outside any consumer group) reads each partition
 * from the lowest wanted offset to the highest. Meant for rare, small sets of nearby offsets; a position that is no longer in its log (retention, compaction) is simply absent from the result.
 */
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { KafkaAdmin } from './admin.js';
import type { KafkaClient } from './client.js';
import { PartitionReader } from './partition-reader.js';

export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** `<topic>:<partition>:<offset>`, the key of `fetchRecords`' result. */
export function recordPositionKey(position: RecordPosition): string {
  return `${position.topic}:${position.partition}:${position.offset}`;
}

export async function fetchRecords(
  client: KafkaClient,
  admin: Pick<KafkaAdmin, 'fetchOffsetRanges'>,
  positions: readonly RecordPosition[],
): Promise<Map<string, ConsumedRecord>> {
  const found = new Map<string, ConsumedRecord>();
  const wanted = new Set(positions.map(recordPositionKey));
  const ranges = new Map<TopicPartitionId, { topic: string; partition: number; from: number; to: number }>();
  for (const p of positions) {
    const tp = topicPartitionId(p.topic, p.partition);
    const range = ranges.get(tp);
    if (range === undefined) ranges.set(tp, { topic: p.topic, partition: p.partition, from: p.offset, to: p.offset + 1 });
    else {
      range.from = Math.min(range.from, p.offset);
      range.to = Math.max(range.to, p.offset + 1);
    }
  }
  // Clamp to what the logs still hold, so a read never waits for offsets that are gone.
  for (const topic of new Set([...ranges.values()].map((r) => r.topic))) {
    const logs = await admin.fetchOffsetRanges(topic);
    for (const [tp, range] of ranges) {
      if (range.topic !== topic) continue;
      const log = logs.get(range.partition);
      if (log === undefined) {
        ranges.delete(tp);
        continue;
      }
      range.from = Math.max(range.from, log.start);
      range.to = Math.min(range.to, log.end);
      if (range.from >= range.to) ranges.delete(tp);
    }
  }
  if (ranges.size === 0) return found;
  const reader = new PartitionReader(client, {
    partitions: [...ranges.values()].map((r) => ({ topic: r.topic, partition: r.partition, offset: r.from })),
    endOffsets: new Map([...ranges].map(([tp, r]) => [tp, r.to])),
    mode: 'until-end',
    groupIdPrefix: 'tributary-record-fetch',
    onBatch: async (records) => {
      for (const record of records) {
        const key = recordPositionKey(record);
        if (wanted.has(key)) found.set(key, record);
      }
    },
  });
  await reader.run();
  return found;
}
