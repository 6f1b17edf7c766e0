/**
 * Counters for the engine, shared by all tasks and the global-table updater of one instance. Plain numbers,
 * bumped synchronously on the hot path; the runtime/HTTP layer reads `snapshot()`.
 */
import type { ErrorAction } from '../../topology/nodes.js';
import type { ErrorStage } from '../../common/dead-letters.js';

export interface EngineMetricsSnapshot {
  /** Records taken from input topics, per topic (including table, global and repartition topics). */
  readonly processed: Readonly<Record<string, number>>;
  /** Per stage, per action: how many records hit an error. */
  readonly errors: Readonly<Record<ErrorStage, Readonly<Record<ErrorAction, number>>>>;
  readonly deadLettered: number;
  readonly skipped: number;
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

  recordError(stage: ErrorStage, action: ErrorAction): void {
    this.errorCounts[stage][action]++;
  }

  processed(topic: string): number {
    return this.processedByTopic.get(topic) ?? 0;
  }

  snapshot(): EngineMetricsSnapshot {
    const stages = Object.keys(this.errorCounts) as ErrorStage[];
    const sum = (action: ErrorAction): number => stages.reduce((total, stage) => total + this.errorCounts[stage][action], 0);
    return {
      processed: Object.fromEntries(this.processedByTopic),
      errors: {
        deserialization: { ...this.errorCounts.deserialization },
        processing: { ...this.errorCounts.processing },
        production: { ...this.errorCounts.production },
      },
      deadLettered: sum('dead-letter'),
      skipped: sum('log-and-skip'),
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
