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
 *
 * Exactly-once (`commitTasksInTransactions`), per task, with the task's own transactional producer:
 *
 *   0. `task.prepareCommit()` as above; the task's outputs since its last commit (held in memory, never sent
 *      outside a transaction) plus these: sink and repartition records, dead letters, changelog records;
 *   1. begin → send them → `sendOffsets` (the task's next input offsets, restoring table partitions at their floor)
 *      → commit: outputs, changelog records and input offsets become visible together, or none of them;
 *   2. only then `task.commit({ changelogOffsets })`: the store batches with their checkpoints.
 *
 * A crash before (1)'s commit: nothing of the batch is visible; the stores are untouched; the next owner starts
 * from the previous commit. A crash between (1) and (2): offsets and changelog are ahead of the stores, never the
 * reverse; at the next assignment a table store replays its source from its checkpoint to the committed offset and a
 * derived store its changelog to the end (read_committed), both reaching exactly the committed state. No store can
 * be ahead of what Kafka committed, so none is ever wiped. A failed step aborts the transaction (the stores stay
 * as they were) and the caller reprocesses from the committed offsets; a fenced producer means a newer owner.
 */
import { ProducerFencedError, TransactionFailedError } from '../../errors.js';
import type { Logger } from '../../common/logger.js';
import type { ProducedRecord, TopicPartitionId } from '../../common/records.js';
import type { StreamTask } from '../engine/stream-task.js';
import type { TransactionalProducer } from '../kafka/transactional-producer.js';
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

/** What the exactly-once sequence needs of a task: its engine and its transactional producer. */
export interface TransactionalTask {
  readonly task: Pick<StreamTask, 'prepareCommit' | 'commit' | 'committableOffsets'>;
  readonly producer: TransactionalProducer;
}

export interface TransactionParts<T> {
  /** The group the input offsets are committed for (the application id). */
  readonly groupId: string;
  /** Takes the outputs `active` produced since its last commit (the caller holds them; empty when none). */
  readonly takeOutputs: (active: T) => ProducedRecord[];
  /** Input offsets to commit besides the task's own (restoring table partitions: their floors). */
  readonly extraOffsets: (active: T) => ReadonlyMap<TopicPartitionId, number>;
  /** The offsets last committed for `active` (a task with no output and no moved offset skips its transaction). */
  readonly lastCommitted: (tp: TopicPartitionId) => number | undefined;
  /** Gives keyed outputs their partition (OutputPartitioner.assign). */
  readonly assignPartitions: (records: ProducedRecord[]) => void;
  readonly fetchRecords: FetchRecords;
  readonly logger: Logger;
}

export type TransactionOutcome<T> =
  | {
      readonly active: T;
      readonly result: 'committed';
      readonly offsets: ReadonlyMap<TopicPartitionId, number>;
      /** The records the transaction wrote. */
      readonly records: readonly ProducedRecord[];
    }
  | { readonly active: T; readonly result: 'unchanged' }
  /** Nothing of the transaction is visible; the stores were not written. */
  | { readonly active: T; readonly result: 'fenced' | 'aborted'; readonly error: ProducerFencedError | TransactionFailedError };

/**
 * Steps 0-2 of the exactly-once commit for every task (tasks in parallel, each with its own producer). A store write
 * error throws (as under at-least-once); transaction failures come back per task.
 */
export function commitTasksInTransactions<T extends TransactionalTask>(
  tasks: readonly T[],
  parts: TransactionParts<T>,
): Promise<TransactionOutcome<T>[]> {
  return Promise.all(tasks.map((active) => commitInTransaction(active, parts)));
}

async function commitInTransaction<T extends TransactionalTask>(active: T, parts: TransactionParts<T>): Promise<TransactionOutcome<T>> {
  const { task, producer } = active;
  const outputs = parts.takeOutputs(active);
  for (const record of (await task.prepareCommit()).outputs) outputs.push(record);
  const records = outputs.length === 0 ? outputs : await completeDeadLetters(outputs, parts.fetchRecords, parts.logger);
  parts.assignPartitions(records);
  const offsets = new Map(task.committableOffsets());
  for (const [tp, floor] of parts.extraOffsets(active)) if (!offsets.has(tp)) offsets.set(tp, floor);
  if (records.length === 0 && [...offsets].every(([tp, offset]) => parts.lastCommitted(tp) === offset))
    return { active, result: 'unchanged' };
  let changelogOffsets;
  const transaction = await producer.begin().catch((error: unknown) => asTransactionError(producer, error));
  if (!('send' in transaction)) return { active, ...transaction };
  try {
    await transaction.send(records);
    await transaction.sendOffsets(parts.groupId, offsets);
    changelogOffsets = await transaction.commit();
  } catch (error) {
    const failure = asTransactionError(producer, error);
    if (failure.result === 'aborted') await transaction.abort().catch(() => undefined);
    return { active, ...failure };
  }
  // The commit marker follows each partition's last record (only this task's producer writes its changelog
  // partitions): a derived store checkpoints past it, so a restart finds nothing to restore. The marker is in the log
  // before the next owner reads the end offsets: its producer's init waits until this transaction is complete.
  const pastMarkers = new Map([...changelogOffsets].map(([tp, next]) => [tp, next + 1] as const));
  await task.commit({ changelogOffsets: pastMarkers });
  return { active, result: 'committed', offsets, records };
}

function asTransactionError(
  producer: TransactionalProducer,
  error: unknown,
): { readonly result: 'fenced' | 'aborted'; readonly error: ProducerFencedError | TransactionFailedError } {
  if (error instanceof ProducerFencedError) return { result: 'fenced', error };
  if (error instanceof TransactionFailedError) return { result: 'aborted', error };
  return { result: 'aborted', error: new TransactionFailedError(producer.transactionalId, 'the transaction', false, { cause: error }) };
}
