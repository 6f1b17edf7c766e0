/**
 * Persists replay progress in a small compacted topic, `<applicationId>-dlq-replay-progress` (1 partition): one
 * record per (DLQ topic, DLQ partition, filter), the latest wins. A topic rather than consumer-group offsets because
 * the Kafka adapter commits offsets only as a group member (and a group offset cannot express per-filter positions).
 */
import { DeadLetterReplayError } from '../../errors.js';
import type { ErrorStage } from '../../common/dead-letters.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { PartitionReader } from '../kafka/partition-reader.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { ERROR_STAGES } from './dead-letter.js';
import type { ProgressEntry } from './progress.js';

export function progressTopicName(applicationId: string): string {
  return `${applicationId}-dlq-replay-progress`;
}

/** Compacted: only the latest position per key matters. */
export const PROGRESS_TOPIC_CONFIGS: Readonly<Record<string, string>> = { 'cleanup.policy': 'compact' };

const FORMAT_VERSION = 1;

export function progressRecord(topic: string, entry: ProgressEntry): ProducedRecord {
  const key = JSON.stringify([entry.dlqTopic, entry.partition, entry.sourceTopic, entry.stage]);
  const value = JSON.stringify({
    version: FORMAT_VERSION,
    dlqTopic: entry.dlqTopic,
    partition: entry.partition,
    sourceTopic: entry.sourceTopic,
    stage: entry.stage,
    nextOffset: entry.nextOffset,
  });
  return { topic, partition: 0, timestamp: Date.now(), key: Buffer.from(key), value: Buffer.from(value), headers: {} };
}

/** Throws `DeadLetterReplayError` for a record this version did not write (never guesses a position). */
export function parseProgressRecord(record: ConsumedRecord): ProgressEntry | undefined {
  if (record.value === null) return undefined; // a tombstone: the entry was deleted
  const where = `${record.topic}:${record.partition}@${record.offset}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    throw new DeadLetterReplayError(`progress record ${where} is not JSON`, { cause: error });
  }
  const value = parsed as Partial<Record<keyof ProgressEntry | 'version', unknown>> | null;
  const valid =
    value !== null &&
    typeof value === 'object' &&
    value.version === FORMAT_VERSION &&
    typeof value.dlqTopic === 'string' &&
    Number.isSafeInteger(value.partition) &&
    (value.partition as number) >= 0 &&
    (value.sourceTopic === null || typeof value.sourceTopic === 'string') &&
    (value.stage === null || (ERROR_STAGES as readonly unknown[]).includes(value.stage)) &&
    Number.isSafeInteger(value.nextOffset) &&
    (value.nextOffset as number) >= 0;
  if (!valid) throw new DeadLetterReplayError(`progress record ${where} has an unknown format (written by another version?)`);
  return {
    dlqTopic: value.dlqTopic as string,
    partition: value.partition as number,
    sourceTopic: value.sourceTopic as string | null,
    stage: value.stage as ErrorStage | null,
    nextOffset: value.nextOffset as number,
  };
}

/** Every stored entry, in write order (apply them in order: later ones win). Empty when the topic does not exist. */
export async function readProgressEntries(client: KafkaClient, admin: KafkaAdmin, topic: string): Promise<ProgressEntry[]> {
  const { partitions } = await admin.describeTopicPartitions([topic]);
  const count = partitions.get(topic);
  if (count === undefined) return [];
  const entries: ProgressEntry[] = [];
  const reader = new PartitionReader(client, {
    partitions: Array.from({ length: count }, (_, partition) => ({ topic, partition })),
    groupIdPrefix: `${topic}-reader`,
    onBatch: async (records) => {
      for (const record of records) {
        const entry = parseProgressRecord(record);
        if (entry !== undefined) entries.push(entry);
      }
    },
  });
  try {
    await reader.run();
  } catch (error) {
    // onBatch's own typed error comes back wrapped by the reader.
    if (error instanceof Error && error.cause instanceof DeadLetterReplayError) throw error.cause;
    throw new DeadLetterReplayError(`could not read the progress topic ${topic}`, { cause: error });
  }
  return entries;
}
