/**
 * Error policies (issue 7, engine part). Three stages:
 * - deserialization: bad bytes, wrong schema, a required key missing (table records need keys);
 * - processing: a user function (predicate, mapper, joiner, processor) threw;
 * - production: sending failed after the runtime's retries (the runtime applies it; the engine only types it).
 *
 * Actions: 'dead-letter' (default) sends the ORIGINAL key/value bytes to `<applicationId>-dlq` with headers
 * describing the failure; 'log-and-skip' counts and logs; 'fail' stops the task with the typed error and does not
 * advance its offsets past the bad record, so a restart resumes from it.
 */
import type { ErrorAction, SourceErrorPolicy } from '../../topology/nodes.js';
import type { ConsumedRecord, ProducedRecord } from '../records.js';

export type { ErrorAction, SourceErrorPolicy };

export type ErrorStage = 'deserialization' | 'processing' | 'production';

export interface ErrorPolicy {
  /** Default 'dead-letter'. */
  readonly deserialization?: ErrorAction;
  /** Default 'dead-letter'. */
  readonly processing?: ErrorAction;
  /** Applied by the runtime when a send fails after retries. Default 'fail'. */
  readonly production?: ErrorAction;
  /** Default `<applicationId>-dlq`. */
  readonly deadLetterTopic?: string;
}

export interface ResolvedErrorPolicy {
  readonly deserialization: ErrorAction;
  readonly processing: ErrorAction;
  readonly production: ErrorAction;
  readonly deadLetterTopic: string;
}

/** The application policy with defaults filled in, then overridden by the source's own policy if any. */
export function resolveErrorPolicy(
  applicationId: string,
  policy: ErrorPolicy | undefined,
  source?: SourceErrorPolicy,
): ResolvedErrorPolicy {
  return Object.freeze({
    deserialization: source?.deserialization ?? policy?.deserialization ?? 'dead-letter',
    processing: source?.processing ?? policy?.processing ?? 'dead-letter',
    production: policy?.production ?? 'fail',
    deadLetterTopic: policy?.deadLetterTopic ?? `${applicationId}-dlq`,
  });
}

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
});

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
 * The dead letter for `record`: the original key and value bytes untouched, the original headers kept, and the
 * failure described in `tributary.*` headers. Partition left to the default partitioner.
 */
export function deadLetterRecord(
  topic: string,
  applicationId: string,
  stage: ErrorStage,
  record: ConsumedRecord,
  error: unknown,
): ProducedRecord {
  const h = DeadLetterHeaders;
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
      [h.sourceTopic]: Buffer.from(record.topic),
      [h.sourcePartition]: Buffer.from(String(record.partition)),
      [h.sourceOffset]: Buffer.from(String(record.offset)),
      [h.sourceTimestamp]: Buffer.from(String(record.timestamp)),
      [h.applicationId]: Buffer.from(applicationId),
    },
  };
}
