/**
 * Reads the newest records of a topic (the last `perPartition` of each partition, up to the end offsets of now)
 * through the product's PartitionReader.
 */
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { PartitionReader } from '../../processor/kafka/partition-reader.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';

export async function readTopicTail(client: KafkaClient, topic: string, perPartition: number): Promise<ConsumedRecord[]> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = await admin.fetchEndOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const nonEmpty = [...ends].filter(([, end]) => end > 0);
  if (nonEmpty.length === 0) return [];
  const records: ConsumedRecord[] = [];
  const endOffsets = new Map<TopicPartitionId, number>(nonEmpty.map(([partition, end]) => [topicPartitionId(topic, partition), end]));
  const reader = new PartitionReader(client, {
    // The demo's topics never delete by retention, so end - n is at or above the log start.
    partitions: nonEmpty.map(([partition, end]) => ({ topic, partition, offset: Math.max(0, end - perPartition) })),
    endOffsets,
    groupIdPrefix: 'tributary-tail',
    onBatch: async (batch) => {
      records.push(...batch);
    },
  });
  await reader.run();
  return records;
}
