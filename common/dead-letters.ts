/**
 * The dead-letter record format, shared by everything that writes or reads dead letters (the engine's error
 * policies, the runtime's production failures, the replay tool): header names and the one function that assembles a
 * dead letter. The original key, value and headers are kept byte for byte; the failure is described in `tributary.*`
 * headers.
 */
import type { ConsumedRecord, ProducedRecord } from './records.js';

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
});

/** The header naming a production dead letter's intended topic (`DeadLetterHeaders.targetTopic`). */
export const TARGET_TOPIC_HEADER = DeadLetterHeaders.targetTopic;

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
 * The dead letter for `record`, partition left to the default partitioner. A consumed record (deserialization and
 * processing failures) is described by its source topic, partition, offset and timestamp; a produced record
 * (production failures) by the topic it was meant for.
 */
export function deadLetterRecord(
  topic: string,
  applicationId: string,
  stage: ErrorStage,
  record: ConsumedRecord | ProducedRecord,
  error: unknown,
): ProducedRecord {
  const h = DeadLetterHeaders;
  const origin: Record<string, Buffer> =
    'offset' in record
      ? {
          [h.sourceTopic]: Buffer.from(record.topic),
          [h.sourcePartition]: Buffer.from(String(record.partition)),
          [h.sourceOffset]: Buffer.from(String(record.offset)),
          [h.sourceTimestamp]: Buffer.from(String(record.timestamp)),
        }
      : { [h.targetTopic]: Buffer.from(record.topic) };
  return {
    topic,
    timestamp: record.timestamp,
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
