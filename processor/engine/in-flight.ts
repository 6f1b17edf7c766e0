/**
 * A record moving through a task's node graph, and the consumed record it came from. One source record may fan out
 * into many in-flight records (flatMap, several sinks); they all share one `Origin`, which is what error handling,
 * dead letters and offsets are about.
 */
import type { ConsumedRecord, RecordHeaders } from '../../common/records.js';
import type { ResolvedErrorPolicy } from './error-policy.js';

/** The consumed record behind a record in flight, with the policy of the source that read it. */
export interface Origin {
  readonly record: ConsumedRecord;
  readonly policy: ResolvedErrorPolicy;
  /** Set once a dead letter was written for this source record: one dead letter per source record. */
  deadLettered: boolean;
}

export interface InFlight {
  readonly key: unknown;
  readonly value: unknown;
  readonly timestamp: number;
  readonly headers: RecordHeaders;
  readonly origin: Origin;
}
