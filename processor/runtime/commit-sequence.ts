/**
 * The at-least-once commit of a set of tasks, in the one order that keeps every position behind the state it
 * stands for (TaskManager.commitAll runs it, then commits the returned offsets):
 *
 *   0. `task.prepareCommit()`: `emit: 'on-commit'` derived tables emit what they held back (their outputs and
 *      changelog records), which joins the record collector like any other output;
 *   1. `collector.flush()`: every output sent so far is acknowledged (acks=all): sink and repartition records, dead
 *      letters, and the changelog records of derived-table stores;
 *   2. `task.commit({ changelogOffsets })` per task: each store's pending batch is written atomically with its
 *      checkpoints; a derived-table store's checkpoint is the position after its acknowledged changelog records
 *      (the producer's acknowledgements since the last commit, `collector.takeAcknowledged()`);
 *   3. (the caller) the returned input offsets go to the consumer group.
 *
 * A crash between steps re-processes from the last (3). Changelog records acknowledged in (1) may hold effects of
 * input that (3) never committed: restoration applies them and the replayed input counts again (at-least-once).
 * Exactly-once replaces (1)-(3) with one transaction: outputs, changelog records and input offsets together.
 */
import type { Logger } from '../../common/logger.js';
import type { ProducedRecord, TopicPartitionId } from '../../common/records.js';
import type { StreamTask } from '../engine/stream-task.js';
import { completeDeadLetters, type FetchRecords } from './original-records.js';
import type { RecordCollector } from './record-collector.js';

/** What the sequence needs of a task. */
export interface CommittableTask {
  readonly task: Pick<StreamTask, 'prepareCommit' | 'commit'>;
}

export interface CommitSequenceParts {
  readonly collector: Pick<RecordCollector, 'add' | 'flush' | 'takeAcknowledged'>;
  /** Reads originals of dead letters written after a repartition (original-records.ts). */
  readonly fetchRecords: FetchRecords;
  readonly logger: Logger;
}

export interface TaskCommit<T> {
  readonly active: T;
  /** Next offset per input partition, to commit to the group. */
  readonly offsets: ReadonlyMap<TopicPartitionId, number>;
}

/** Steps 0-2 for `tasks`; returns the offsets each task may now commit to the group (step 3). */
export async function commitTasks<T extends CommittableTask>(tasks: readonly T[], parts: CommitSequenceParts): Promise<TaskCommit<T>[]> {
  const { collector } = parts;
  const held: ProducedRecord[] = [];
  for (const active of tasks) for (const record of (await active.task.prepareCommit()).outputs) held.push(record);
  if (held.length > 0) collector.add(await completeDeadLetters(held, parts.fetchRecords, parts.logger));
  await collector.flush();
  const changelogOffsets = collector.takeAcknowledged();
  return Promise.all(tasks.map(async (active) => ({ active, offsets: await active.task.commit({ changelogOffsets }) })));
}
