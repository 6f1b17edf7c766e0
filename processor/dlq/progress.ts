/**
 * Replay progress: which dead letters were already put back, so a re-run never replays them again.
 *
 * One entry per (DLQ partition, filter): "every dead letter of this partition below `nextOffset` that matches the
 * filter was handled". A filter field left out (null) matches everything. A dead letter counts as handled when ANY
 * entry matching its source topic and stage is past its offset, so runs with different filters compose: a run for
 * topic A, then one for stage 'processing', then an unfiltered one replays each dead letter at most once.
 *
 * Pure: the entries are persisted by progress-topic.ts.
 */
import type { ErrorStage } from '../../common/dead-letters.js';

export interface ReplayFilter {
  /** Only dead letters going back to this topic. */
  readonly sourceTopic?: string;
  /** Only dead letters of this stage. */
  readonly stage?: ErrorStage;
}

export interface ProgressEntry {
  readonly dlqTopic: string;
  readonly partition: number;
  /** null: any topic. */
  readonly sourceTopic: string | null;
  /** null: any stage. */
  readonly stage: ErrorStage | null;
  /** Next DLQ offset not yet handled under this filter. */
  readonly nextOffset: number;
}

/** What one run does with one dead letter. */
export type ReplayDecision = 'replay' | 'skipped-by-filter' | 'already-replayed';

/** `undefined` topic/stage: a malformed dead letter (only an unfiltered run covers it). */
export interface DeadLetterIdentity {
  readonly offset: number;
  readonly topic?: string;
  readonly stage?: ErrorStage;
}

function entryKey(partition: number, sourceTopic: string | null, stage: ErrorStage | null): string {
  return JSON.stringify([partition, sourceTopic, stage]);
}

export class ReplayProgress {
  readonly dlqTopic: string;
  private readonly entries = new Map<string, ProgressEntry>();

  constructor(dlqTopic: string, entries: Iterable<ProgressEntry> = []) {
    this.dlqTopic = dlqTopic;
    for (const entry of entries) this.load(entry);
  }

  /** Adds a stored entry (later entries for the same key win, as in the compacted topic); other DLQs are ignored. */
  load(entry: ProgressEntry): void {
    if (entry.dlqTopic !== this.dlqTopic) return;
    this.entries.set(entryKey(entry.partition, entry.sourceTopic, entry.stage), entry);
  }

  all(): ProgressEntry[] {
    return [...this.entries.values()];
  }

  /**
   * Forgets the entries of a partition whose position is past the partition's end offset. Offsets never go back
   * in one topic, so this means the DLQ topic was deleted and created again: its dead letters are all new.
   * Returns the partitions reset.
   */
  resetBeyond(endOffsets: ReadonlyMap<number, number>): number[] {
    const reset = new Set<number>();
    for (const [key, entry] of this.entries) {
      const end = endOffsets.get(entry.partition);
      if (end === undefined || entry.nextOffset > end) {
        this.entries.delete(key);
        reset.add(entry.partition);
      }
    }
    return [...reset].sort((a, b) => a - b);
  }

  /** First offset a run with `filter` must read: everything below it is handled for every dead letter it selects. */
  startOffset(partition: number, filter: ReplayFilter): number {
    let start = 0;
    for (const entry of this.entries.values()) {
      if (entry.partition !== partition) continue;
      const coversTopic = entry.sourceTopic === null || entry.sourceTopic === filter.sourceTopic;
      const coversStage = entry.stage === null || entry.stage === filter.stage;
      if (coversTopic && coversStage && entry.nextOffset > start) start = entry.nextOffset;
    }
    return start;
  }

  /** True when a previous run handled this dead letter (malformed ones: only an unfiltered run does). */
  handled(partition: number, letter: DeadLetterIdentity): boolean {
    for (const entry of this.entries.values()) {
      if (entry.partition !== partition || entry.nextOffset <= letter.offset) continue;
      const matchesTopic = entry.sourceTopic === null || entry.sourceTopic === letter.topic;
      const matchesStage = entry.stage === null || entry.stage === letter.stage;
      if (matchesTopic && matchesStage) return true;
    }
    return false;
  }

  /** What a run with `filter` does with a well-formed dead letter (malformed ones: see `handled`). */
  decide(partition: number, letter: Required<DeadLetterIdentity>, filter: ReplayFilter): ReplayDecision {
    if (this.handled(partition, letter)) return 'already-replayed';
    if (filter.sourceTopic !== undefined && filter.sourceTopic !== letter.topic) return 'skipped-by-filter';
    if (filter.stage !== undefined && filter.stage !== letter.stage) return 'skipped-by-filter';
    return 'replay';
  }

  /**
   * Records that a run with `filter` handled the partition up to `nextOffset` (never moves back). Returns the new
   * entry, or undefined when nothing changed.
   */
  advance(partition: number, filter: ReplayFilter, nextOffset: number): ProgressEntry | undefined {
    const sourceTopic = filter.sourceTopic ?? null;
    const stage = filter.stage ?? null;
    const key = entryKey(partition, sourceTopic, stage);
    const current = this.entries.get(key);
    if (current !== undefined && current.nextOffset >= nextOffset) return undefined;
    const entry: ProgressEntry = { dlqTopic: this.dlqTopic, partition, sourceTopic, stage, nextOffset };
    this.entries.set(key, entry);
    return entry;
  }
}
