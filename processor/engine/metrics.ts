/**
 * Counters for the engine, shared by all tasks and the global-table updater of one instance. Plain numbers,
 * bumped synchronously on the hot path; the runtime/HTTP layer reads `snapshot()`.
 *
 * Dead letters are counted when Kafka acknowledged them (the runtime's sender; the test driver when it appends
 * them), once per letter, by stage and source topic: the counter equals the letters this instance wrote. Bad records
 * seen here whose dead letter is someone else's to write are counted apart (`notDeadLettered`), by reason.
 */
import type { ErrorAction } from '../../topology/nodes.js';
import type { ErrorStage } from '../../common/dead-letters.js';

/**
 * Why a bad record seen here got no dead letter from this instance although its policy is 'dead-letter':
 * - `owner`: another reader owns it (the task owning the partition, for a topic that also feeds a global table; the
 *   elected reader of a global-only topic);
 * - `upstream`: the record already has one, written before a repartition;
 * - `restored`: re-read while restoring a table below the group's committed offset (written when first processed).
 */
export type NotDeadLetteredReason = 'owner' | 'upstream' | 'restored';

export interface EngineMetricsSnapshot {
  /** Records taken from input topics, per topic (including table, global and repartition topics). */
  readonly processed: Readonly<Record<string, number>>;
  /** Per stage, per action: source records that hit an error (once per record and stage). */
  readonly errors: Readonly<Record<ErrorStage, Readonly<Record<ErrorAction, number>>>>;
  /** Dead letters acknowledged by Kafka. */
  readonly deadLettered: number;
  /** Dead letters acknowledged, per stage and source topic (production stage: the topic the output was for). */
  readonly deadLetteredBy: Readonly<Record<ErrorStage, Readonly<Record<string, number>>>>;
  /** Records dropped by a 'log-and-skip' policy (restoration and bootstrap included). */
  readonly skipped: number;
  readonly skippedBy: Readonly<Record<ErrorStage, number>>;
  /** Bad records under 'dead-letter' whose dead letter is not this instance's to write (see the reasons). */
  readonly notDeadLettered: Readonly<Record<NotDeadLetteredReason, number>>;
  readonly joinHits: number;
  readonly joinMisses: number;
  /** Stream records dropped by an inner join because their (mapped) join key was null. */
  readonly nullKeyDrops: number;
  /** Table updates applied (puts) and tombstones applied (deletes). */
  readonly tablePuts: number;
  readonly tableDeletes: number;
  /** Records an aggregation or a table groupBy skipped: a null key or value (Kafka Streams drops them too). */
  readonly aggregationSkips: number;
  /** Window updates dropped because the window had closed (stream time past its end + grace), once per closed window. */
  readonly lateRecordDrops: number;
}

const zeroActions = (): Record<ErrorAction, number> => ({ 'dead-letter': 0, fail: 0, 'log-and-skip': 0 });

export class EngineMetrics {
  private readonly processedByTopic = new Map<string, number>();
  private readonly errorCounts: Record<ErrorStage, Record<ErrorAction, number>> = {
    deserialization: zeroActions(),
    processing: zeroActions(),
    production: zeroActions(),
  };
  private readonly deadLetters: Record<ErrorStage, Map<string, number>> = {
    deserialization: new Map(),
    processing: new Map(),
    production: new Map(),
  };
  private readonly skips: Record<ErrorStage, number> = { deserialization: 0, processing: 0, production: 0 };
  private readonly notWritten: Record<NotDeadLetteredReason, number> = { owner: 0, upstream: 0, restored: 0 };
  joinHits = 0;
  joinMisses = 0;
  nullKeyDrops = 0;
  tablePuts = 0;
  tableDeletes = 0;
  aggregationSkips = 0;
  lateRecordDrops = 0;

  recordProcessed(topic: string, count = 1): void {
    this.processedByTopic.set(topic, (this.processedByTopic.get(topic) ?? 0) + count);
  }

  /** A source record hit an error at `stage` and `action` was taken (once per record and stage). */
  recordError(stage: ErrorStage, action: ErrorAction, count = 1): void {
    this.errorCounts[stage][action] += count;
  }

  /** A dead letter for a record of `source` was acknowledged. */
  recordDeadLetter(stage: ErrorStage, source: string, count = 1): void {
    const bySource = this.deadLetters[stage];
    bySource.set(source, (bySource.get(source) ?? 0) + count);
  }

  /** A record was dropped by a 'log-and-skip' policy. */
  recordSkipped(stage: ErrorStage, count = 1): void {
    this.skips[stage] += count;
  }

  recordNotDeadLettered(reason: NotDeadLetteredReason, count = 1): void {
    this.notWritten[reason] += count;
  }

  processed(topic: string): number {
    return this.processedByTopic.get(topic) ?? 0;
  }

  snapshot(): EngineMetricsSnapshot {
    const stages = Object.keys(this.errorCounts) as ErrorStage[];
    const deadLetteredBy = Object.fromEntries(stages.map((stage) => [stage, Object.fromEntries(this.deadLetters[stage])])) as Record<
      ErrorStage,
      Record<string, number>
    >;
    let deadLettered = 0;
    for (const stage of stages) for (const n of this.deadLetters[stage].values()) deadLettered += n;
    return {
      processed: Object.fromEntries(this.processedByTopic),
      errors: {
        deserialization: { ...this.errorCounts.deserialization },
        processing: { ...this.errorCounts.processing },
        production: { ...this.errorCounts.production },
      },
      deadLettered,
      deadLetteredBy,
      skipped: stages.reduce((total, stage) => total + this.skips[stage], 0),
      skippedBy: { ...this.skips },
      notDeadLettered: { ...this.notWritten },
      joinHits: this.joinHits,
      joinMisses: this.joinMisses,
      nullKeyDrops: this.nullKeyDrops,
      tablePuts: this.tablePuts,
      tableDeletes: this.tableDeletes,
      aggregationSkips: this.aggregationSkips,
      lateRecordDrops: this.lateRecordDrops,
    };
  }
}
