/**
 * The record shapes that cross layer boundaries: what a source hands to a task, and what a task hands to a sink.
 * Keys and values stay as bytes here; serdes live in topology/ and run inside the task.
 */

/** Record headers as bytes (Kafka header values are byte arrays). */
export type RecordHeaders = Readonly<Record<string, Buffer>>;

/** A record as read from a topic partition. Offsets are plain numbers (safe to 2^53, far past any real log). */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Record timestamp in epoch milliseconds (CreateTime or LogAppendTime, as the broker reports it). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  /** `null` is a tombstone on a table source. */
  readonly value: Buffer | null;
  readonly headers: RecordHeaders;
}

/**
 * One partition's fetched records read in place, for a reader that needs no record objects (a bootstrap storing the
 * bytes as they came): `next()` moves to the following record (false after the last), and the fields describe the
 * current one until the next call. A key or value is the range [start, end) of its buffer (null: a null key or
 * value); `record()` builds the current record when one is needed after all (a bad record, a versioned write).
 */
export interface RecordCursor {
  next(): boolean;
  readonly offset: number;
  readonly timestamp: number;
  readonly keyBytes: Buffer | null;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueBytes: Buffer | null;
  readonly valueStart: number;
  readonly valueEnd: number;
  record(): ConsumedRecord;
}

/**
 * A batch of one topic-partition's records (offset order) that are built only if asked: as `ConsumedRecord`s
 * (`records()`, built on each call) or read in place (`cursor()`, a new cursor at the start on each call).
 */
export interface RecordRun {
  readonly topic: string;
  readonly partition: number;
  records(): ConsumedRecord[];
  cursor(): RecordCursor;
  /**
   * Optional: the reader is through with the run's bytes, and neither it nor anything it handed them to reads them
   * (or a record built from them) any more; the source may then free them (every view of them reads as empty).
   * Called at most once, and only by a reader that copied what it kept.
   */
  release?(): void;
}

/** A record a task wants written. `partition` undefined means: the default (murmur2) partitioner decides by key. */
export interface ProducedRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaders;
}

/** `topic:partition`, the map key used for checkpoints and offsets everywhere. */
export type TopicPartitionId = `${string}:${number}`;

export function topicPartitionId(topic: string, partition: number): TopicPartitionId {
  return `${topic}:${partition}`;
}

/** The inverse of `topicPartitionId`: the partition follows the last ':' (topic names cannot contain ':'). */
export function parseTopicPartitionId(id: TopicPartitionId): { readonly topic: string; readonly partition: number } {
  const separator = id.lastIndexOf(':');
  return { topic: id.slice(0, separator), partition: Number(id.slice(separator + 1)) };
}
