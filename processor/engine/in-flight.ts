/**
 * A record moving through a task's node graph, and the consumed record it came from. One source record may fan out
 * into many in-flight records (flatMap, several sinks) and be read by several source nodes of the task (a stream and
 * a table on one topic); they all share one `RecordFate`, which is what error handling and dead letters are about.
 */
import type { ConsumedRecord, RecordHeaders } from '../../common/records.js';
import { decodeOrigin, encodeOrigin, RepartitionHeaders, type ErrorStage, type SourcePosition } from '../../common/dead-letters.js';
import type { ResolvedErrorPolicy } from './error-policy.js';

const STAGE_BIT: Readonly<Record<ErrorStage, number>> = { deserialization: 1, processing: 2, production: 4 };
const SUPPRESSED_BIT = 8;

/**
 * What happened to one consumed record in a task: whether it has a dead letter (written here, or upstream of a
 * repartition), which stages already counted an error, and the repartition records it produced (stamped if it is
 * dead-lettered after they were emitted, so downstream writes no second dead letter).
 */
export class RecordFate {
  /** Set once a dead letter exists for the user record: at most one per source record, whatever fails next. */
  deadLettered: boolean;
  /** The stage of the dead letter written before a repartition, if any. */
  readonly upstreamStage: string | undefined;
  /** Stage of the dead letter this record has (here or upstream). */
  private letterStage: string | undefined;
  private counted = 0;
  private emitted: Record<string, Buffer>[] | undefined;
  private sourcePosition: SourcePosition | undefined | null = null;
  private originBytes: Buffer | undefined;

  /** `repartitioned`: the record was read from a repartition topic (its origin is in its headers). */
  constructor(
    readonly record: ConsumedRecord,
    readonly repartitioned: boolean,
  ) {
    const mark = repartitioned ? record.headers[RepartitionHeaders.deadLettered] : undefined;
    this.upstreamStage = mark?.toString('utf8');
    this.letterStage = this.upstreamStage;
    this.deadLettered = mark !== undefined;
  }

  /**
   * The user record this one stands for: itself, or for a repartition record the one its origin header names
   * (undefined when the header is missing: a record written by an older version).
   */
  get source(): SourcePosition | undefined {
    if (this.sourcePosition === null) {
      this.sourcePosition = this.repartitioned ? decodeOrigin(this.record.headers[RepartitionHeaders.origin]) : this.record;
    }
    return this.sourcePosition;
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
    if (this.emitted === undefined) return;
    const mark = Buffer.from(stage);
    for (const headers of this.emitted) headers[RepartitionHeaders.deadLettered] = mark;
    this.emitted = undefined;
  }

  /**
   * The headers of a record this one writes to a repartition topic: `headers` plus its origin, and the dead-letter
   * mark when it has one. The object stays writable until the task's `process()` returns, so a dead letter written
   * later for this record (another branch failing) still marks it.
   */
  repartitionHeaders(headers: RecordHeaders): Record<string, Buffer> {
    const result: Record<string, Buffer> = { ...headers };
    const source = this.source;
    if (source !== undefined) {
      this.originBytes ??= this.repartitioned ? this.record.headers[RepartitionHeaders.origin] : encodeOrigin(source);
      if (this.originBytes !== undefined) result[RepartitionHeaders.origin] = this.originBytes;
    }
    if (this.deadLettered) result[RepartitionHeaders.deadLettered] = Buffer.from(this.letterStage ?? 'processing');
    else (this.emitted ??= []).push(result);
    return result;
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

/** The headers of a repartition record without Tributary's origin headers (what the user's functions see). */
export function withoutRepartitionHeaders(headers: RecordHeaders): RecordHeaders {
  if (headers[RepartitionHeaders.origin] === undefined && headers[RepartitionHeaders.deadLettered] === undefined) return headers;
  const result: Record<string, Buffer> = {};
  for (const name in headers) {
    if (name !== RepartitionHeaders.origin && name !== RepartitionHeaders.deadLettered) result[name] = headers[name] as Buffer;
  }
  return result;
}
