/**
 * Error policies. Three stages:
 * - deserialization: bad bytes, wrong schema, a required key missing (table records need keys);
 * - processing: a user function (predicate, mapper, joiner, processor) threw;
 * - production: sending failed after the runtime's retries (the runtime applies it; the engine only types it).
 *
 * Actions: 'dead-letter' (default) sends the ORIGINAL key/value bytes to `<applicationId>-dlq` with headers
 * describing the failure; 'log-and-skip' counts and logs; 'fail' stops the task with the typed error and does not
 * advance its offsets past the bad record, so a restart resumes from it.
 */
import type { ErrorAction, SourceErrorPolicy } from '../../topology/nodes.js';
import type { ErrorStage } from '../../common/dead-letters.js';

export type { ErrorAction, SourceErrorPolicy };

export type { ErrorStage };

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
