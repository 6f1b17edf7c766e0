/**
 * kafkajs shapes ↔ ours. kafkajs message → `ConsumedRecord` (common/records.ts): offsets and timestamps as numbers,
 * headers as Buffers; it runs once per record on the hot path, so it allocates only the record (and a headers object
 * when there are any). Topic-partitions → kafkajs's `{ topic, partitions }` lists (pause/resume).
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ConsumedRecord, RecordHeaders } from '../../common/records.js';
import type { TopicPartition } from './group-member.js';
import { FetchedRecord } from './record-decoding.js';

const NO_HEADERS: RecordHeaders = Object.freeze({});

export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  // Records decoded by record-decoding.ts carry their offset and timestamp as numbers already.
  const numeric = message instanceof FetchedRecord;
  return {
    topic,
    partition,
    offset: numeric ? message.offsetNumber : Number(message.offset),
    timestamp: numeric ? message.timestampNumber : Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: message.headers === undefined ? NO_HEADERS : toRecordHeaders(message.headers),
  };
}

export function toConsumedRecords(topic: string, partition: number, messages: readonly KafkaMessage[]): ConsumedRecord[] {
  const records = new Array<ConsumedRecord>(messages.length);
  for (let i = 0; i < messages.length; i++) records[i] = toConsumedRecord(topic, partition, messages[i] as KafkaMessage);
  return records;
}

/**
 * kafkajs decodes a header key that occurs more than once into an array; like Java's `Headers.lastHeader`, the last
 * value wins. String values (only produced locally, never decoded from the wire) become UTF-8 bytes.
 */
export function toRecordHeaders(headers: IHeaders): RecordHeaders {
  let result: Record<string, Buffer> | undefined;
  for (const key in headers) {
    const raw = headers[key];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    result ??= {};
    result[key] = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return result ?? NO_HEADERS;
}

/** Topic-partitions as kafkajs's pause/resume take them: one entry per topic. */
export function groupByTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}
