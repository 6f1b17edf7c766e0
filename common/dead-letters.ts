/**
 * The dead-letter record format, shared by everything that writes or reads dead letters (the engine's error
 * policies, the runtime's production failures, the replay tool): header names and the one function that assembles a
 * dead letter. The original key, value and headers are kept byte for byte; the failure is described in `tributary.*`
 * headers.
 *
 * A dead letter's identity is the user record it stands for (`tributary.source.topic`, `.partition`, `.offset`):
 * one dead letter is written per bad source record, and a copy written again after a crash (at-least-once) carries
 * the same identity, so the replay tool and counting tools recognise it (`deadLetterIdentity`).
 *
 * Records a task writes to a repartition topic carry where the user's record was read (repartition-envelope.ts), so
 * a failure after the repartition is dead-lettered under the user's record, never under the internal topic.
 */
import type { ConsumedRecord, ProducedRecord, RecordHeaders } from './records.js';

/** Where a record failed: decoding its bytes, in a user function, or sending an output Kafka did not acknowledge. */
export type ErrorStage = 'deserialization' | 'processing' | 'production';

/** Header names on dead-letter records (stable: tools filter on them). */
export const DeadLetterHeaders = Object.freeze({
  stage: 'tributary.stage',
  errorClass: 'tributary.error.class',
  errorMessage: 'tributary.error.message',
  sourceTopic: 'tributary.source.topic',
  sourcePartition: 'tributary.source.partition',
  sourceOffset: 'tributary.source.offset',
  sourceTimestamp: 'tributary.source.timestamp',
  applicationId: 'tributary.application.id',
  /** Production dead letters only: the topic the output was meant for (replay sends it there). */
  targetTopic: 'tributary.target.topic',
  /**
   * Set when the record failed after a repartition: `<topic>:<partition>@<offset>` of the internal record it failed
   * on. The `source` headers still name the user's record it came from.
   */
  failedAt: 'tributary.failed-at',
  /**
   * Absent when key, value and headers are the user's original record (always, except in the rare case below).
   * `re-serialized`: the record failed after a repartition and the user's record was no longer in its topic
   * (retention, compaction), so the bytes are those of the internal record; replay refuses such a letter.
   */
  bytes: 'tributary.bytes',
});

/** The header naming a production dead letter's intended topic (`DeadLetterHeaders.targetTopic`). */
export const TARGET_TOPIC_HEADER = DeadLetterHeaders.targetTopic;

/** `tributary.bytes` values. `pending` never reaches Kafka: the runtime swaps in the original record first. */
export const DeadLetterBytes = Object.freeze({ pending: 'pending-original', reserialized: 're-serialized' });

/** A position in a user topic: what a dead letter names as its source. */
export interface SourcePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

/**
 * True for the topics Tributary creates for an application's own use (`<applicationId>-<name>-repartition`,
 * `<applicationId>-<name>-changelog`): never the source of a dead letter, never a replay destination.
 */
export function isInternalTopic(applicationId: string, topic: string): boolean {
  return topic.startsWith(`${applicationId}-`) && (topic.endsWith('-repartition') || topic.endsWith('-changelog'));
}

/** Class name of what was thrown (`TypeError`, `DeserializationError`, ...). */
export function errorClassName(error: unknown): string {
  if (error instanceof Error) return error.constructor.name || error.name;
  return typeof error;
}

/** Longest error message a dead letter carries: a header, not a log (the DLQ topic's size headroom assumes it). */
export const MAX_DEAD_LETTER_MESSAGE_CHARS = 4096;

export function errorMessageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length <= MAX_DEAD_LETTER_MESSAGE_CHARS ? message : `${message.slice(0, MAX_DEAD_LETTER_MESSAGE_CHARS)}… (truncated)`;
}

/**
 * A record that failed after a repartition: the user record it came from (`source`), and the internal record it
 * failed on, whose bytes stand in until the runtime fetches the original (`withOriginalRecord`).
 */
export interface RepartitionedFailure {
  readonly source: SourcePosition;
}

/**
 * The dead letter for `record`, partition left to the default partitioner. A consumed record (deserialization and
 * processing failures) is described by its source topic, partition, offset and timestamp; a produced record
 * (production failures) by the topic it was meant for. With `repartitioned`, `record` is the internal record the
 * failure happened on: the letter names the user's record as its source and is marked pending until the runtime
 * puts the original bytes in (`withOriginalRecord` / `withoutOriginalRecord`).
 */
export function deadLetterRecord(
  topic: string,
  applicationId: string,
  stage: ErrorStage,
  record: ConsumedRecord | ProducedRecord,
  error: unknown,
  repartitioned?: RepartitionedFailure,
): ProducedRecord {
  const h = DeadLetterHeaders;
  let origin: Record<string, Buffer>;
  if (repartitioned !== undefined && 'offset' in record) {
    origin = {
      ...sourceHeaders(repartitioned.source),
      [h.failedAt]: Buffer.from(`${record.topic}:${record.partition}@${record.offset}`),
      [h.bytes]: Buffer.from(DeadLetterBytes.pending),
    };
  } else if ('offset' in record) {
    origin = sourceHeaders(record);
  } else {
    origin = { [h.targetTopic]: Buffer.from(record.topic) };
  }
  return {
    topic,
    timestamp: repartitioned?.source.timestamp ?? record.timestamp,
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [h.stage]: Buffer.from(stage),
      [h.errorClass]: Buffer.from(errorClassName(error)),
      [h.errorMessage]: Buffer.from(errorMessageOf(error)),
      ...origin,
      [h.applicationId]: Buffer.from(applicationId),
    },
  };
}

function sourceHeaders(source: SourcePosition): Record<string, Buffer> {
  const h = DeadLetterHeaders;
  return {
    [h.sourceTopic]: Buffer.from(source.topic),
    [h.sourcePartition]: Buffer.from(String(source.partition)),
    [h.sourceOffset]: Buffer.from(String(source.offset)),
    [h.sourceTimestamp]: Buffer.from(String(source.timestamp)),
  };
}

/** True for a dead letter still waiting for its original record (see `deadLetterRecord`'s `repartitioned`). */
export function isPendingOriginal(record: ProducedRecord): boolean {
  const bytes = record.headers[DeadLetterHeaders.bytes];
  return bytes !== undefined && bytes.toString('utf8') === DeadLetterBytes.pending;
}

/** Where the original of a pending dead letter is: its `source` headers. */
export function pendingOriginalPosition(letter: ProducedRecord): SourcePosition | undefined {
  const h = DeadLetterHeaders;
  const text = (name: string): string | undefined => letter.headers[name]?.toString('utf8');
  const topic = text(h.sourceTopic);
  const partition = Number(text(h.sourcePartition));
  const offset = Number(text(h.sourceOffset));
  const timestamp = Number(text(h.sourceTimestamp));
  if (topic === undefined || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) return undefined;
  return { topic, partition, offset, timestamp };
}

/** The pending dead letter with the user's original record in place: its key, value, timestamp and headers. */
export function withOriginalRecord(letter: ProducedRecord, original: ConsumedRecord): ProducedRecord {
  const tributary: Record<string, Buffer> = {};
  for (const name in letter.headers) {
    if (name.startsWith('tributary.') && name !== DeadLetterHeaders.bytes) tributary[name] = letter.headers[name] as Buffer;
  }
  return {
    topic: letter.topic,
    partition: letter.partition,
    timestamp: original.timestamp,
    key: original.key,
    value: original.value,
    headers: { ...original.headers, ...tributary },
  };
}

/** The pending dead letter when the user's record is gone: the internal record's bytes, marked as such. */
export function withoutOriginalRecord(letter: ProducedRecord): ProducedRecord {
  return { ...letter, headers: { ...letter.headers, [DeadLetterHeaders.bytes]: Buffer.from(DeadLetterBytes.reserialized) } };
}

/**
 * The identity of a source-stage dead letter: the user record it stands for (`<topic>:<partition>:<offset>`), the
 * same for every copy (a re-write after a crash, a second failing branch). Undefined for production dead letters
 * (an output, not a source record) and for records without the headers.
 */
export function deadLetterIdentity(headers: RecordHeaders): string | undefined {
  const h = DeadLetterHeaders;
  const stage = headers[h.stage]?.toString('utf8');
  if (stage !== 'deserialization' && stage !== 'processing') return undefined;
  const topic = headers[h.sourceTopic]?.toString('utf8');
  const partition = headers[h.sourcePartition]?.toString('utf8');
  const offset = headers[h.sourceOffset]?.toString('utf8');
  if (topic === undefined || partition === undefined || offset === undefined) return undefined;
  return `${topic}:${partition}:${offset}`;
}
