/**
 * How one task's table stores catch up before the task processes. Per table partition of the task:
 * - start: the store's checkpoint (earliest when it has none): the group member is sought there;
 * - target: the group's committed offset; a partition never committed (a new application) restores up to its end
 *   offset at assignment, so the table is bootstrapped before anything is joined against it;
 * - decoder: the table's deserializer and error policy. Records below a committed offset were processed before
 *   (a bad one was dead-lettered then); a partition never committed restores records nobody processed, so its
 *   bad records are dead-lettered now.
 * Records below the target go straight to the store (`restoreStore`: one atomic write with the checkpoint per
 * batch); records from the target on are the task's to process. A partition finishes when a batch reaches the
 * target, when the store's position reaches it, or when the log ends before it (compaction, transaction markers).
 *
 * The plan knows nothing of the group member or the task: the caller seeks to `starts`, pauses the task's other
 * inputs while `restoring`, feeds each table partition's batches to `apply()` and resumes when it finishes.
 */
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { restoreStore } from '../../state-store/restore.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import type { TableRecordDecoder } from '../engine/table-decoder.js';
import type { RestorationTracker } from './restoration-tracker.js';

export interface RestorationPlanInputs {
  /** The task's partition number. */
  readonly partition: number;
  readonly tableSources: readonly TableSourceSpec[];
  /** The task's open stores, by name. */
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  /** The group's committed offsets (partitions never committed are absent). */
  readonly committed: ReadonlyMap<TopicPartitionId, number>;
  /** End offsets at assignment. */
  readonly ends: ReadonlyMap<TopicPartitionId, number>;
  /** The decoder of a table source; `deadLetterBadRecords` when its records were never processed. */
  readonly decoder: (spec: TableSourceSpec, deadLetterBadRecords: boolean) => TableRecordDecoder;
  readonly tracker: Pick<RestorationTracker, 'begin' | 'advance' | 'finish'>;
}

/** Where one table partition starts reading, and its end offset at assignment. */
export interface TablePartitionStart {
  readonly tp: TopicPartitionId;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly end: number;
}

interface RestoringPartition {
  readonly spec: TableSourceSpec;
  readonly store: KeyValueStore<unknown>;
  readonly decoder: TableRecordDecoder;
  /** Restore records below this offset; records from it on are processed by the task. */
  readonly target: number;
}

export class RestorationPlan {
  /** Every table partition of the task (restoring or not): seek each to its offset. */
  readonly starts: readonly TablePartitionStart[];
  private readonly partition: number;
  private readonly tracker: RestorationPlanInputs['tracker'];
  private readonly pending = new Map<TopicPartitionId, RestoringPartition>();
  private readonly tableFloors = new Map<TopicPartitionId, number>();

  constructor(inputs: RestorationPlanInputs) {
    const { partition, stores, committed, ends, tracker } = inputs;
    this.partition = partition;
    this.tracker = tracker;
    const starts: TablePartitionStart[] = [];
    for (const spec of inputs.tableSources) {
      const tp = topicPartitionId(spec.topic, partition);
      // The compiler puts every table source's store among its sub-topology's stores.
      const store = stores.get(spec.store) as KeyValueStore<unknown>;
      const checkpoint = store.checkpoints().get(tp);
      const start = checkpoint ?? 0;
      const target = committed.get(tp) ?? ends.get(tp) ?? 0;
      tracker.begin(spec.store, partition, start, target);
      if (start < target) {
        this.pending.set(tp, { spec, store, target, decoder: inputs.decoder(spec, !committed.has(tp)) });
      } else if (checkpoint !== undefined) {
        this.tableFloors.set(tp, checkpoint);
      }
      starts.push({ tp, topic: spec.topic, partition, offset: start, end: ends.get(tp) ?? start });
    }
    this.starts = starts;
  }

  /** True while a table partition is below its target: the task must not process yet. */
  get restoring(): boolean {
    return this.pending.size > 0;
  }

  isRestoring(tp: TopicPartitionId): boolean {
    return this.pending.has(tp);
  }

  isTablePartition(tp: TopicPartitionId): boolean {
    return this.starts.some((start) => start.tp === tp);
  }

  /**
   * Committable position of each table partition whose restoration finished (or was not needed): where its
   * store stands. The task's own offsets take precedence once it has processed the partition.
   */
  floors(): ReadonlyMap<TopicPartitionId, number> {
    return this.tableFloors;
  }

  /**
   * Applies the records of `batch` (of restoring partition `tp`) below the target to the store, one atomic write
   * with the checkpoint, and returns the rest for the task. `finished` when this partition is done.
   */
  async apply(
    tp: TopicPartitionId,
    batch: readonly ConsumedRecord[],
    highWatermark: number,
  ): Promise<{ readonly rest: readonly ConsumedRecord[]; readonly finished: boolean }> {
    const restoring = this.pending.get(tp);
    if (restoring === undefined) return { rest: batch, finished: false };
    let cut = batch.findIndex((record) => record.offset >= restoring.target);
    if (cut < 0) cut = batch.length;
    const toRestore = batch.slice(0, cut);
    if (toRestore.length > 0) {
      const result = await restoreStore({
        store: restoring.store,
        batches: oneBatch(toRestore),
        endOffsets: new Map([[tp, restoring.target]]),
        decode: (record) => restoring.decoder.decode(record),
        onDecodeError: (record, error) => restoring.decoder.onDecodeError(record, error),
      });
      this.tracker.advance(restoring.spec.store, this.partition, result.restored, result.checkpoints.get(tp) ?? 0);
    }
    const rest = batch.slice(cut);
    const position = restoring.store.checkpoints().get(tp) ?? 0;
    const reachedTarget = cut < batch.length || position >= restoring.target;
    if (!reachedTarget && highWatermark > position) return { rest, finished: false };
    this.pending.delete(tp);
    this.tableFloors.set(tp, cut < batch.length ? Math.max(position, restoring.target) : position);
    this.tracker.finish(restoring.spec.store, this.partition);
    return { rest, finished: true };
  }
}

async function* oneBatch(records: readonly ConsumedRecord[]): AsyncGenerator<readonly ConsumedRecord[]> {
  yield records;
}
