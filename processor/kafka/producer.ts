/**
 * Writes `ProducedRecord`s: one kafkajs `sendBatch` per call (chunked by size), acks=all, idempotent, resolving only
 * once Kafka acknowledged every record.
 */
import type { Message, PartitionMetadata, Producer, TopicMessages } from 'kafkajs';
import { KafkaProduceError } from '../../errors.js';
import type { ProducedRecord } from '../records.js';
import { defaultPartitioner, type KafkaClient } from './client.js';

export interface RecordProducerOptions {
  /**
   * Upper bound of key+value+header bytes per produce request. Keep it below the broker's `message.max.bytes`
   * (1 MiB default) since one partition's share of a request becomes one record batch.
   */
  readonly maxRequestBytes?: number;
  /** kafkajs retries per request. Default 10 (kafkajs's idempotent default is unbounded, which hangs on a missing topic). */
  readonly retries?: number;
}

const DEFAULT_MAX_REQUEST_BYTES = 768 * 1024;
/** Rough per-record framing overhead in a record batch (varints, attributes, header names). */
const RECORD_OVERHEAD_BYTES = 32;

export class RecordProducer {
  private readonly producer: Producer;
  private readonly maxRequestBytes: number;
  private connected = false;

  constructor(client: KafkaClient, options: RecordProducerOptions = {}) {
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.producer = client.producer({
      idempotent: true,
      // Ordering per partition with retries: one in-flight request per broker connection.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: options.retries ?? 10 },
    });
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
  }

  /** Sends all records (order kept per topic-partition); resolves when Kafka acknowledged them with acks=all. */
  async send(records: readonly ProducedRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (const chunk of chunkBySize(records, this.maxRequestBytes)) {
      const topicMessages = groupByTopic(chunk);
      try {
        await this.producer.sendBatch({ topicMessages, acks: -1 });
      } catch (error) {
        throw new KafkaProduceError(topicMessages.map((t) => t.topic), { cause: error });
      }
    }
  }
}

function recordBytes(record: ProducedRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const name in record.headers) bytes += name.length + (record.headers[name]?.length ?? 0);
  return bytes;
}

function* chunkBySize(records: readonly ProducedRecord[], maxBytes: number): Generator<readonly ProducedRecord[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const size = recordBytes(records[i]);
    if (i > start && bytes + size > maxBytes) {
      yield records.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  yield start === 0 ? records : records.slice(start);
}

function groupByTopic(records: readonly ProducedRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    const message: Message = {
      key: record.key,
      value: record.value,
      timestamp: String(record.timestamp),
      headers: record.headers,
    };
    if (record.partition !== undefined) message.partition = record.partition;
    messages.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

const sharedPartitioner = defaultPartitioner();

/**
 * The partition kafkajs (and the Java client) would pick for `key` on a topic with `partitionCount` partitions:
 * murmur2(key) mod count. A null key has no fixed partition; this returns 0 then, so callers must not route null keys.
 */
export function partitionFor(topic: string, key: Buffer | null, partitionCount: number): number {
  if (!(Number.isInteger(partitionCount) && partitionCount > 0)) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  if (key === null) return 0;
  return sharedPartitioner({ topic, partitionMetadata: partitionMetadataFor(partitionCount), message: { key, value: null } });
}

/** The partitioner only reads the array's length for keyed records; cache one array per count (hot path). */
const partitionMetadataCache = new Map<number, PartitionMetadata[]>();

function partitionMetadataFor(partitionCount: number): PartitionMetadata[] {
  let metadata = partitionMetadataCache.get(partitionCount);
  if (metadata === undefined) {
    metadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    partitionMetadataCache.set(partitionCount, metadata);
  }
  return metadata;
}
