/**
 * Writes `ProducedRecord`s: kafkajs `sendBatch` calls one after another (chunked), acks=all, idempotent, resolving
 * only once Kafka acknowledged every record.
 *
 * Why the chunks are bounded per topic-partition (measured, kafkajs 2.2.4):
 * - kafkajs's `groupMessagesPerPartition` copies a partition's whole message array for every message it adds
 *   (`[...current, message]`): quadratic in the messages of one partition per call. A stream task's outputs mostly go
 *   to ONE partition (same key, same partition count as its input), so 4-5k records per partition per request were
 *   common, and this copying made ~2/3 of all bytes the process allocated. `maxRecordsPerPartition` bounded it;
 *   produce-grouping.ts now replaces the function with a linear one (the bound stays: 1,000 instead of 200 showed no
 *   difference above the noise of the shared bench machine, and it keeps requests small if the replacement is not
 *   installed).
 * - An idempotent kafkajs producer holds a per-broker lock around each produce request (sequence numbers), so
 *   requests to one broker never overlap whatever `maxInFlightRequests` says; more in flight is not possible here.
 *   Overlap comes from the caller instead (the task manager processes while a send is in flight).
 *
 * kafkajs silently DROPS messages for a partition its metadata does not know yet (partitions added to a topic since
 * its last metadata refresh) and still resolves `sendBatch`. Every named partition must therefore come back in the
 * acknowledgements: records of partitions that did not are sent again once the producer's metadata (re-read every
 * `metadataMaxAgeMs`) knows them, or the send fails.
 */
import type { Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import { KafkaProduceError } from '../../errors.js';
import type { ProducedRecord, TopicPartitionId } from '../../common/records.js';
import { murmur2, toPositive } from '../../common/partitioner.js';
import type { KafkaClient } from './client.js';
import { acknowledgedOffsets, mergeAcknowledged, type AcknowledgedOffsets } from './produce-acks.js';

export interface RecordProducerOptions {
  /**
   * Upper bound of key+value+header bytes per produce request. Keep it below the broker's `message.max.bytes`
   * (1 MiB default) since one partition's share of a request becomes one record batch.
   */
  readonly maxRequestBytes?: number;
  /**
   * Upper bound of records per topic-partition in one request (see the top of the file; records without a partition
   * count per topic). Default 200 (100-1000 measured: 200 and below cut the copying by 90%; fewer means more requests).
   */
  readonly maxRecordsPerPartition?: number;
  /** kafkajs retries per request. Default 10 (kafkajs's idempotent default is unbounded, which hangs on a missing topic). */
  readonly retries?: number;
  /** How often kafkajs re-reads topic metadata (and learns added partitions). Default 5000. */
  readonly metadataMaxAgeMs?: number;
  /** How long records for a partition the producer does not know yet are retried before the send fails. Default 30000. */
  readonly unknownPartitionTimeoutMs?: number;
}

export const DEFAULT_MAX_REQUEST_BYTES = 768 * 1024;
export const DEFAULT_MAX_RECORDS_PER_PARTITION = 200;
/** kafkajs re-reads topic metadata this often (and so learns partitions added while running). */
export const DEFAULT_METADATA_MAX_AGE_MS = 5000;
const DEFAULT_UNKNOWN_PARTITION_TIMEOUT_MS = 30_000;
/** Rough per-record framing overhead in a record batch (varints, attributes, header names). */
const RECORD_OVERHEAD_BYTES = 32;

export class RecordProducer {
  private readonly producer: Producer;
  private readonly maxRequestBytes: number;
  private readonly maxRecordsPerPartition: number;
  private readonly metadataMaxAgeMs: number;
  private readonly unknownPartitionTimeoutMs: number;
  private connected = false;

  constructor(client: KafkaClient, options: RecordProducerOptions = {}) {
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.maxRecordsPerPartition = options.maxRecordsPerPartition ?? DEFAULT_MAX_RECORDS_PER_PARTITION;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS;
    this.unknownPartitionTimeoutMs = options.unknownPartitionTimeoutMs ?? DEFAULT_UNKNOWN_PARTITION_TIMEOUT_MS;
    if (!(Number.isInteger(this.maxRecordsPerPartition) && this.maxRecordsPerPartition > 0)) {
      throw new RangeError(`maxRecordsPerPartition must be a positive integer, got ${this.maxRecordsPerPartition}`);
    }
    this.producer = client.producer({
      idempotent: true,
      // Ordering per partition with retries: one in-flight request per broker connection.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: options.retries ?? 10 },
      metadataMaxAge: this.metadataMaxAgeMs,
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

  /**
   * Sends all records (order kept per topic-partition); resolves when Kafka acknowledged them with acks=all, with
   * the offset after the last acknowledged record per partition the records named (produce-acks.ts).
   */
  send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    return sendInChunks((batch) => this.producer.sendBatch(batch), records, {
      maxRequestBytes: this.maxRequestBytes,
      maxRecordsPerPartition: this.maxRecordsPerPartition,
      metadataMaxAgeMs: this.metadataMaxAgeMs,
      unknownPartitionTimeoutMs: this.unknownPartitionTimeoutMs,
    });
  }
}

/** One kafkajs `sendBatch` (a plain producer's, or a transaction's). */
export type SendBatch = (batch: { topicMessages: TopicMessages[]; acks: -1 }) => Promise<RecordMetadata[]>;

export interface ChunkLimits {
  readonly maxRequestBytes?: number;
  readonly maxRecordsPerPartition?: number;
  /** The producer's metadata refresh interval: how long to wait before sending records for unknown partitions again. */
  readonly metadataMaxAgeMs?: number;
  /** How long records for a partition the producer does not know yet are retried before the send fails. */
  readonly unknownPartitionTimeoutMs?: number;
}

/**
 * Sends `records` through `sendBatch` in bounded chunks, one after another (see the top of the file); resolves with
 * the offset after the last acknowledged record per partition the records named.
 */
export async function sendInChunks(
  sendBatch: SendBatch,
  records: readonly ProducedRecord[],
  limits: ChunkLimits = {},
): Promise<AcknowledgedOffsets> {
  const acknowledged = new Map<TopicPartitionId, number>();
  if (records.length === 0) return acknowledged;
  const maxRequestBytes = limits.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const maxRecordsPerPartition = limits.maxRecordsPerPartition ?? DEFAULT_MAX_RECORDS_PER_PARTITION;
  for (const chunk of chunkRecords(records, maxRequestBytes, maxRecordsPerPartition)) {
    await sendChunk(sendBatch, chunk, acknowledged, limits);
  }
  return acknowledged;
}

/**
 * One request. A topic's `max.message.bytes` limits one partition's record BATCH, and a topic may set it far below
 * our request size: on MESSAGE_TOO_LARGE the chunk is halved and both halves sent in order, down to single records
 * (a single record that is too large fails). Partitions of a rejected request that the broker did accept are sent
 * again: duplicates, never losses (at-least-once; in a transaction the whole transaction aborts instead).
 */
async function sendChunk(
  sendBatch: SendBatch,
  chunk: readonly ProducedRecord[],
  acknowledged: Map<TopicPartitionId, number>,
  limits: ChunkLimits,
): Promise<void> {
  const topicMessages = groupByTopic(chunk);
  try {
    const acks = (await sendBatch({ topicMessages, acks: -1 })).map(partitionAck);
    mergeAcknowledged(acknowledged, acknowledgedOffsets(chunk, acks));
    const dropped = unacknowledged(chunk, acks);
    if (dropped.length > 0) await sendToNewPartitions(sendBatch, dropped, acknowledged, limits);
  } catch (error) {
    if (chunk.length > 1 && isMessageTooLarge(error)) {
      const half = Math.ceil(chunk.length / 2);
      await sendChunk(sendBatch, chunk.slice(0, half), acknowledged, limits);
      await sendChunk(sendBatch, chunk.slice(half), acknowledged, limits);
      return;
    }
    throw new KafkaProduceError(
      topicMessages.map((t) => t.topic),
      { cause: error },
    );
  }
}

/**
 * Records kafkajs dropped because its metadata does not know their partitions yet: sent again (in order; nothing
 * of these partitions was written) once the metadata, re-read every `metadataMaxAgeMs`, has them.
 */
async function sendToNewPartitions(
  sendBatch: SendBatch,
  records: ProducedRecord[],
  acknowledged: Map<TopicPartitionId, number>,
  limits: ChunkLimits,
): Promise<void> {
  const timeoutMs = limits.unknownPartitionTimeoutMs ?? DEFAULT_UNKNOWN_PARTITION_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let pending = records;
  while (pending.length > 0) {
    if (Date.now() >= deadline) {
      const partitions = [...new Set(pending.map((r) => `${r.topic}:${r.partition}`))].join(', ');
      throw new Error(`partitions ${partitions} are still unknown to the producer after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, limits.metadataMaxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS)));
    const acks = (await sendBatch({ topicMessages: groupByTopic(pending), acks: -1 })).map(partitionAck);
    mergeAcknowledged(acknowledged, acknowledgedOffsets(pending, acks));
    pending = unacknowledged(pending, acks);
  }
}

/** Records naming a partition that has no acknowledgement (kafkajs dropped them: partition unknown to its metadata). */
function unacknowledged(chunk: readonly ProducedRecord[], acks: readonly { topic: string; partition: number }[]): ProducedRecord[] {
  // Partitions per topic, not a `topic:partition` string per record: this runs for every record produced.
  const acked = new Map<string, Set<number>>();
  for (const { topic, partition } of acks) {
    let partitions = acked.get(topic);
    if (partitions === undefined) {
      partitions = new Set();
      acked.set(topic, partitions);
    }
    partitions.add(partition);
  }
  return chunk.filter((record) => record.partition !== undefined && acked.get(record.topic)?.has(record.partition) !== true);
}

/** kafkajs's per-partition produce result (base offsets are decimal strings of int64s). */
function partitionAck(metadata: RecordMetadata): { topic: string; partition: number; baseOffset: number } {
  return { topic: metadata.topicName, partition: metadata.partition, baseOffset: Number(metadata.baseOffset ?? -1) };
}

/** kafkajs wraps broker errors (retrier, aggregate errors): look for MESSAGE_TOO_LARGE anywhere in the chain. */
export function isMessageTooLarge(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (e.type === 'MESSAGE_TOO_LARGE') return true;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return nested.some((inner) => isMessageTooLarge(inner, depth + 1));
}

function recordBytes(record: ProducedRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const name in record.headers) bytes += name.length + (record.headers[name]?.length ?? 0);
  return bytes;
}

/**
 * Consecutive slices of `records` (so per-partition order is the input order) of at most `maxBytes` each and at most
 * `maxPerPartition` records of one topic-partition each. A single record larger than `maxBytes` goes alone.
 */
export function* chunkRecords(
  records: readonly ProducedRecord[],
  maxBytes: number,
  maxPerPartition: number,
): Generator<readonly ProducedRecord[]> {
  if (records.length === 0) return;
  let start = 0;
  let bytes = 0;
  const counts = new Map<string, TopicCounts>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const size = recordBytes(record);
    let topic = counts.get(record.topic);
    // A record without a partition may land on any partition of its topic: count it against all of them.
    const count =
      topic === undefined
        ? 0
        : record.partition === undefined
          ? topic.unknown + topic.max
          : topic.unknown + (topic.byPartition[record.partition] ?? 0);
    if (i > start && (bytes + size > maxBytes || count >= maxPerPartition)) {
      yield records.slice(start, i);
      start = i;
      bytes = 0;
      counts.clear();
      topic = undefined;
    }
    if (topic === undefined) {
      topic = { unknown: 0, max: 0, byPartition: [] };
      counts.set(record.topic, topic);
    }
    bytes += size;
    if (record.partition === undefined) topic.unknown++;
    else {
      const n = (topic.byPartition[record.partition] ?? 0) + 1;
      topic.byPartition[record.partition] = n;
      if (n > topic.max) topic.max = n;
    }
  }
  yield start === 0 ? records : records.slice(start);
}

interface TopicCounts {
  /** Records without a partition. */
  unknown: number;
  /** Highest count of one partition. */
  max: number;
  readonly byPartition: number[];
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

/**
 * The partition kafkajs (and the Java client) would pick for `key` on a topic with `partitionCount` partitions:
 * murmur2(key) mod count. A null key has no fixed partition; this returns 0 then, so callers must not route null keys.
 * Uses processor/partitioner.ts (Math.imul) rather than kafkajs's murmur2, which is several times slower on the hot
 * path; the test vectors in producer.test.ts and the integration test pin both to the Java client.
 */
export function partitionFor(_topic: string, key: Buffer | null, partitionCount: number): number {
  if (!(Number.isInteger(partitionCount) && partitionCount > 0)) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  if (key === null) return 0;
  return toPositive(murmur2(key)) % partitionCount;
}
