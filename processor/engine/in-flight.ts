/**
 * A record moving through a task's node graph, and the consumed record it came from. One source record may fan out
 * into many in-flight records (flatMap, several sinks) and be read by several source nodes of the task (a stream and
 * a table on one topic); they all share one `RecordFate`, which is what error handling and dead letters are about.
 */
import type { ConsumedRecord, RecordHeaders } from '../../common/records.js';
import type { ErrorStage, SourcePosition } from '../../common/dead-letters.js';
import { markSealedValue, openRepartitionValue, sealRepartitionValue } from '../../common/repartition-envelope.js';
import type { ResolvedErrorPolicy } from './error-policy.js';

const STAGE_BIT: Readonly<Record<ErrorStage, number>> = { deserialization: 1, processing: 2, production: 4 };
const SUPPRESSED_BIT = 8;

/**
 * What happened to one consumed record in a task: whether it has a dead letter (written here, or upstream of a
 * repartition), which stages already counted an error, and the repartition records it produced (marked if it is
 * dead-lettered after they were emitted, so downstream writes no second dead letter).
 */
export class RecordFate {
  /** The record as the task's source nodes see it: for a repartition record, the user's value without the trailer. */
  readonly record: ConsumedRecord;
  /**
   * The user record this one stands for: itself, or for a repartition record the one its trailer names (undefined
   * without one: a record written by an older version).
   */
  readonly source: SourcePosition | undefined;
  /** Set once a dead letter exists for the user record: at most one per source record, whatever fails next. */
  deadLettered: boolean;
  /** The stage of the dead letter written before a repartition, if any. */
  readonly upstreamStage: ErrorStage | undefined;
  /** Stage of the dead letter this record has (here or upstream). */
  private letterStage: ErrorStage | undefined;
  private counted = 0;
  /** Repartition values written while not dead-lettered (one in the common case: no array). */
  private emitted: Buffer | Buffer[] | undefined;

  /** `repartitioned`: the record was read from a repartition topic (its origin is in its value's trailer). */
  constructor(
    consumed: ConsumedRecord,
    readonly repartitioned: boolean,
  ) {
    if (repartitioned) {
      const opened = openRepartitionValue(consumed.value);
      const { topic, partition, offset, timestamp, key, headers } = consumed;
      this.record = { topic, partition, offset, timestamp, key, value: opened.value, headers };
      this.source = opened.origin;
      this.upstreamStage = opened.deadLettered;
    } else {
      this.record = consumed;
      this.source = consumed;
      this.upstreamStage = undefined;
    }
    this.letterStage = this.upstreamStage;
    this.deadLettered = this.upstreamStage !== undefined;
  }

  /** True the first time `stage` fails for this record (errors are counted once per record and stage). */
  firstFailure(stage: ErrorStage): boolean {
    const bit = STAGE_BIT[stage];
    if ((this.counted & bit) !== 0) return false;
    this.counted |= bit;
    return true;
  }

  /** True the first time a failure of this record goes without a dead letter because it has one upstream. */
  firstSuppressed(): boolean {
    if ((this.counted & SUPPRESSED_BIT) !== 0) return false;
    this.counted |= SUPPRESSED_BIT;
    return true;
  }

  markDeadLettered(stage: ErrorStage): void {
    this.deadLettered = true;
    this.letterStage = stage;
    const emitted = this.emitted;
    if (emitted === undefined) return;
    if (Array.isArray(emitted)) for (const sealed of emitted) markSealedValue(sealed, stage);
    else markSealedValue(emitted, stage);
    this.emitted = undefined;
  }

  /**
   * The value of a record this one writes to a repartition topic: `value` sealed with its origin and dead-letter
   * mark. The buffer stays writable until the task's `process()` returns, so a dead letter written later for this
   * record (another branch failing) still marks it.
   */
  repartitionValue(value: Buffer | null): Buffer {
    const sealed = sealRepartitionValue(value, this.source, this.deadLettered ? this.letterStage : undefined);
    if (this.deadLettered) return sealed;
    if (this.emitted === undefined) this.emitted = sealed;
    else if (Array.isArray(this.emitted)) this.emitted.push(sealed);
    else this.emitted = [this.emitted, sealed];
    return sealed;
  }
}

/** The consumed record behind a record in flight, with the policy of the source node that read it. */
export interface Origin {
  readonly record: ConsumedRecord;
  readonly policy: ResolvedErrorPolicy;
  readonly fate: RecordFate;
}

export interface InFlight {
  readonly key: unknown;
  readonly value: unknown;
  readonly timestamp: number;
  readonly headers: RecordHeaders;
  readonly origin: Origin;
}
