/**
 * Helpers for integration tests against the real broker the global setup started (see test/setup/).
 * Built on the product adapter (processor/kafka/) so tests exercise the same code paths.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { KafkaAdmin, type TopicSpec } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { PartitionReader } from '../../processor/kafka/partition-reader.js';
import { RecordProducer } from '../../processor/kafka/producer.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';

/** Bootstrap address of this project's broker (`inject`, falling back to env for scripts outside vitest projects). */
export function kafkaBrokers(): string {
  let provided: string | undefined;
  try {
    provided = inject('kafkaBrokers');
  } catch {
    provided = undefined;
  }
  const brokers = provided ?? process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('No Kafka broker: run through a vitest project with the Kafka global setup, or set KAFKA_BROKERS');
  return brokers;
}

/** Kafka version of this project's broker ('external' when the address came from env). */
export function kafkaVersion(): string {
  try {
    return inject('kafkaVersion') ?? 'external';
  } catch {
    return 'external';
  }
}

/** A topic/group name no other test (or earlier run against the same broker) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function testKafkaClient(clientId = uniqueName('test-client')): KafkaClient {
  return createKafkaClient({ brokers: kafkaBrokers().split(','), clientId });
}

/** Runs `body` with a connected admin, disconnecting afterwards. */
export async function withAdmin<T>(body: (admin: KafkaAdmin) => Promise<T>, client = testKafkaClient()): Promise<T> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

export function createTopics(specs: readonly TopicSpec[]): Promise<Map<string, number>> {
  return withAdmin((admin) => admin.ensureTopics(specs));
}

/** Creates one fresh topic with a unique name; returns the name. */
export async function createTestTopic(prefix: string, partitions = 1, configs?: Readonly<Record<string, string>>): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics([{ topic, partitions, configs }]);
  return topic;
}

/** Topic configs that make compaction observable within seconds (see /work/shared/notes/kafka.md). */
export const FAST_COMPACTION_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'segment.ms': '100',
  'min.cleanable.dirty.ratio': '0.01',
  'delete.retention.ms': '100',
  'min.compaction.lag.ms': '0',
};

export interface TestRecord {
  readonly key: string | Buffer | null;
  /** `null` writes a tombstone. */
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly timestamp?: number;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

const toBuffer = (v: string | Buffer | null): Buffer | null => (v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));

export function toProducedRecord(topic: string, record: TestRecord): ProducedRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return {
    topic,
    partition: record.partition,
    timestamp: record.timestamp ?? Date.now(),
    key: toBuffer(record.key),
    value: toBuffer(record.value),
    headers,
  };
}

/** Produces records (acks=all) and waits for the acknowledgement. */
export async function produce(topic: string, records: readonly TestRecord[], client = testKafkaClient()): Promise<void> {
  const producer = new RecordProducer(client);
  await producer.connect();
  try {
    await producer.send(records.map((r) => toProducedRecord(topic, r)));
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads every partition of `topic` from the beginning up to its current end offsets (a snapshot: records produced
 * later are not waited for). Records come back in offset order per partition.
 */
export async function readTopic(topic: string, client = testKafkaClient()): Promise<ConsumedRecord[]> {
  const ends = await withAdmin((admin) => admin.fetchEndOffsets(topic), client);
  const records: ConsumedRecord[] = [];
  const reader = new PartitionReader(client, {
    partitions: [...ends.keys()].map((partition) => ({ topic, partition })),
    endOffsets: new Map([...ends].map(([partition, end]) => [`${topic}:${partition}` as const, end])),
    onBatch: async (batch) => {
      records.push(...batch);
    },
  });
  await reader.run();
  return records;
}

/** Waits until `count` records are readable from `topic`, then returns the first `count` (polls end offsets). */
export async function consumeN(topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  let records: ConsumedRecord[] = [];
  await waitUntil(
    async () => {
      records = await readTopic(topic);
      return records.length >= count;
    },
    { timeoutMs, description: `${count} records in ${topic}` },
  );
  return records.slice(0, count);
}

/** Polls `condition` until it returns true; fails with `description` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  {
    timeoutMs = 30_000,
    intervalMs = 200,
    description = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; description?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
