import type { ProcessingGuarantee } from './options.js';
/** What `TributaryApp.stats()` returns: plain data, safe to JSON.stringify. */
import type { AppState } from '../../http-query/query-source.js';
import type { EngineMetricsSnapshot } from '../engine/metrics.js';
import type { StoreRestoreTotals } from './restoration-tracker.js';
import type { TaskView } from './task-registry.js';
import type { RebalancePauses } from './task-manager.js';

export interface RuntimeTimings {
  /** Epoch ms of each milestone (undefined until reached). */
  readonly startedAt: number | undefined;
  readonly runningAt: number | undefined;
  readonly firstAssignmentAt: number | undefined;
  readonly firstRecordProcessedAt: number | undefined;
}

export interface RuntimeStats {
  readonly state: AppState;
  readonly instanceId: string | undefined;
  /** Query-server URL published to the group ('' without HTTP). */
  readonly url: string;
  readonly tasks: readonly TaskView[];
  readonly engine: EngineMetricsSnapshot;
  /** Per store: records restored since start (global and partitioned stores). */
  readonly restoration: Readonly<Record<string, StoreRestoreTotals>>;
  readonly recordsProcessed: number;
  readonly recordsSent: number;
  readonly commits: number;
  readonly processingGuarantee: ProcessingGuarantee;
  /** Exactly-once: task transactions committed, and aborted (failed or fenced). Zero under at-least-once. */
  readonly transactions: { readonly committed: number; readonly aborted: number };
  /** Commits (all tasks) since start: how many, their total and longest duration. */
  readonly commitLatency: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
  readonly rebalances: number;
  /** How long tasks kept through rebalances stopped processing (see TaskManager's RebalancePauses). */
  readonly unmovedTaskPauses: RebalancePauses;
  /** `topic:partition` → lag as of the last fetched batch. */
  readonly consumerLag: Readonly<Record<string, number>>;
  /** Dead letters written since start, per stage and source topic (production: the topic the output was meant for). */
  /** Dead letters written (acknowledged), per stage and source topic: the engine's counters, listed for the console. */
  readonly deadLetters: readonly DeadLetterCount[];
  /**
   * Records of global-only topics read a second time for their dead letters: gap reads (a takeover, a checkpoint
   * ahead of the group's offset) and topics read by several global tables (global-dead-letters.ts). 0 when every
   * letter came from the global reader's own verdicts.
   */
  readonly globalDeadLetterRereads: { readonly ranges: number; readonly records: number };
  readonly timings: RuntimeTimings;
}

export interface DeadLetterCount {
  readonly stage: string;
  readonly source: string;
  readonly count: number;
}
