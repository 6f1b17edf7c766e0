/**
 * The one rule for where a store partition's restoration starts and ends, shared by global tables (bootstrap) and
 * co-partitioned tables (task assignment), and whether the local store must be rebuilt first.
 *
 * Inputs: the store's checkpoint for the partition (next offset it holds the effect of, if any), the partition's log
 * range `[start, end)` (log start offset, and end offset = last stable offset) and, for a co-partitioned table, the
 * group's committed offset. Output:
 * - `rebuild`: the checkpoint lies outside the log: below the log start (retention or DeleteRecords removed records
 *   the store never saw, possibly tombstones of keys it still holds) or past the end (the topic was recreated or
 *   truncated). The store cannot be patched from the log: clear it and restore from the log start.
 * - `from`: where reading starts (the checkpoint, else the log start).
 * - `to`: where restoration stops (exclusive): the committed offset (records below it were processed before; those
 *   from it on are the task's to process again, in timestamp order with its stream inputs), clamped into the log;
 *   the end offset when nothing valid is committed (a new application, a global table).
 * - `committed`: how the committed offset was used.
 * Restoration is complete when the reading position reaches `to` (`position >= to`), never "saw offset to-1":
 * compaction gaps, transaction markers and aborted records mean that offset may never arrive.
 */

export interface LogRange {
  /** Log start offset (earliest readable). */
  readonly start: number;
  /** End offset: next offset to be written, read-committed (the last stable offset). */
  readonly end: number;
}

export type RebuildReason = 'checkpoint-before-log-start' | 'checkpoint-past-log-end';

export type CommittedUse =
  /** Nothing committed: restore to the end offset. */
  | 'none'
  /** Committed inside the log: restore up to it. */
  | 'in-range'
  /** Committed below the log start: records between were removed unprocessed; restore up to the log start. */
  | 'before-log-start'
  /** Committed past the end (topic recreated or truncated): treated as never committed. */
  | 'past-log-end';

export interface RestoreRange {
  readonly from: number;
  readonly to: number;
  readonly rebuild: RebuildReason | undefined;
  readonly committed: CommittedUse;
}

export function restoreRange(checkpoint: number | undefined, log: LogRange, committed?: number): RestoreRange {
  const rebuild: RebuildReason | undefined =
    checkpoint === undefined
      ? undefined
      : checkpoint < log.start
        ? 'checkpoint-before-log-start'
        : checkpoint > log.end
          ? 'checkpoint-past-log-end'
          : undefined;
  const from = checkpoint === undefined || rebuild !== undefined ? log.start : checkpoint;
  let to: number;
  let use: CommittedUse;
  if (committed === undefined) {
    to = log.end;
    use = 'none';
  } else if (committed > log.end) {
    to = log.end;
    use = 'past-log-end';
  } else if (committed < log.start) {
    to = log.start;
    use = 'before-log-start';
  } else {
    to = committed;
    use = 'in-range';
  }
  return { from, to, rebuild, committed: use };
}

/** True when restoring `range` reads records: its start is below its target. */
export function needsRestoring(range: RestoreRange): boolean {
  return range.from < range.to;
}

/** Where the task processes a table partition from after restoring it: the later of the two. */
export function processingStart(range: RestoreRange): number {
  return Math.max(range.from, range.to);
}

/** A log line's words for a rebuild. */
export function describeRebuild(reason: RebuildReason): string {
  return reason === 'checkpoint-before-log-start'
    ? 'its checkpoint is older than the log start offset (retention or DeleteRecords removed records the store needs)'
    : 'its checkpoint is past the end of the log (the topic was recreated or truncated)';
}
