/**
 * A task's input side (Kafka Streams' PartitionGroup with its RecordQueues): one queue per input topic-partition,
 * and the choice of the next record to process. The next record is the head with the smallest timestamp (ties:
 * table sources first, then topic name), so a table update older than an order is applied before the order is
 * joined. While some input has nothing buffered the task may wait instead (the idle rule, see `next`).
 */
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';
import { TaskStateError } from '../../errors.js';

/** Buffered records of one input topic-partition. */
export class InputQueue {
  readonly tp: TopicPartitionId;
  readonly topic: string;
  /** Table store this partition feeds, if it is a table source (checkpoints, the flush-before-table-write rule). */
  readonly tableStore: string | undefined;
  /** Tie-break for equal timestamps: table sources first, then topic name order. */
  readonly rank: number;
  records: ConsumedRecord[] = [];
  head = 0;
  /** Next offset the consumer will deliver for this partition, when the runtime told us (`noteFetchPosition`). */
  fetchedTo: number | undefined;
  /** Log end offset as last reported for this partition; undefined = unknown (never blocks). */
  knownEnd: number | undefined;
  /**
   * The consumer moved past offsets without records up to here (transaction markers, aborted records): once the
   * records buffered before it are processed, the partition's position is this offset (see `advancePosition`).
   */
  skippedTo: number | undefined;

  constructor(tp: TopicPartitionId, topic: string, tableStore: string | undefined, rank: number) {
    this.tp = tp;
    this.topic = topic;
    this.tableStore = tableStore;
    this.rank = rank;
  }

  get isEmpty(): boolean {
    return this.head >= this.records.length;
  }

  get size(): number {
    return this.records.length - this.head;
  }

  /** The head record; only call when not empty. */
  peek(): ConsumedRecord {
    return this.records[this.head];
  }

  /** Removes and returns the head record; only call when not empty. */
  take(): ConsumedRecord {
    const record = this.records[this.head++];
    if (this.head === this.records.length) {
      // Emptied: let go of every record it held. A record of the group consumer holds its whole fetch response (its
      // key and value are in it), so records kept here after processing would keep that response's buffer alive
      // until the partition's next batch arrives, one response per input partition.
      this.records = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.records.length) {
      // Drop the consumed prefix now and then, so a long-lived queue does not keep every record it ever held.
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    return record;
  }

  /** Whether the consumer is known to have records of this partition it has not delivered yet. */
  get hasUnfetched(): boolean {
    return this.knownEnd !== undefined && this.fetchedTo !== undefined && this.fetchedTo < this.knownEnd;
  }
}

export interface InputQueuesOptions {
  readonly taskId: TaskId;
  readonly partition: number;
  /** Every topic the task reads. */
  readonly topics: readonly string[];
  /** Topics that are table sources, with the store each feeds. */
  readonly tableSources: readonly { readonly topic: string; readonly store: string }[];
  /** See StreamTaskOptions.maxTaskIdleMs. */
  readonly maxTaskIdleMs: number;
  /** See StreamTaskOptions.maxFetchWaitMs. */
  readonly maxFetchWaitMs: number;
}

export class InputQueues {
  /** Every input topic-partition, in tie-break order. */
  readonly partitions: readonly TopicPartitionId[];
  private readonly taskId: TaskId;
  private readonly byPartition = new Map<TopicPartitionId, InputQueue>();
  private readonly queues: readonly InputQueue[];
  private readonly maxTaskIdleMs: number;
  private readonly maxFetchWaitMs: number;
  /** Since when the task has been waiting for an empty input (the idle rule's clock), if it is. */
  private idleSince: number | undefined;

  constructor(options: InputQueuesOptions) {
    this.taskId = options.taskId;
    this.maxTaskIdleMs = options.maxTaskIdleMs;
    this.maxFetchWaitMs = options.maxFetchWaitMs;
    const tableStores = new Map(options.tableSources.map((t) => [t.topic, t.store]));
    const ordered = [...options.topics].sort(
      (a, b) => Number(tableStores.has(b)) - Number(tableStores.has(a)) || (a < b ? -1 : a > b ? 1 : 0),
    );
    this.queues = ordered.map(
      (topic, rank) => new InputQueue(topicPartitionId(topic, options.partition), topic, tableStores.get(topic), rank),
    );
    for (const queue of this.queues) this.byPartition.set(queue.tp, queue);
    this.partitions = Object.freeze(this.queues.map((q) => q.tp));
  }

  /** Buffers consumed records (any order across partitions; offsets ascending within a partition). */
  add(records: readonly ConsumedRecord[]): void {
    // Records come in runs of one partition (a fetched batch): look its queue up once per run, not per record.
    let queue: InputQueue | undefined;
    let runTopic: string | undefined;
    let runPartition = -1;
    for (const record of records) {
      if (queue === undefined || record.partition !== runPartition || record.topic !== runTopic) {
        queue = this.byPartition.get(topicPartitionId(record.topic, record.partition));
        if (!queue) throw this.notAnInput(`received ${record.topic}:${record.partition}`);
        runTopic = record.topic;
        runPartition = record.partition;
      }
      queue.records.push(record);
      if (queue.fetchedTo !== undefined && record.offset >= queue.fetchedTo) queue.fetchedTo = record.offset + 1;
    }
  }

  /** See StreamTask.noteFetchPosition. */
  noteFetchPosition(tp: TopicPartitionId, nextOffset: number, endOffset: number): void {
    const queue = this.byPartition.get(tp);
    if (!queue) throw this.notAnInput(`noteFetchPosition for ${tp}`);
    queue.fetchedTo = Math.max(queue.fetchedTo ?? nextOffset, nextOffset);
    queue.knownEnd = Math.max(queue.knownEnd ?? endOffset, endOffset);
  }

  /** See StreamTask.fetchPosition. */
  fetchPosition(tp: TopicPartitionId): number | undefined {
    return this.byPartition.get(tp)?.fetchedTo;
  }

  /** See StreamTask.advancePosition. */
  advancePosition(tp: TopicPartitionId, nextOffset: number): void {
    const queue = this.byPartition.get(tp);
    if (!queue) throw this.notAnInput(`advancePosition for ${tp}`);
    queue.skippedTo = Math.max(queue.skippedTo ?? nextOffset, nextOffset);
    queue.fetchedTo = Math.max(queue.fetchedTo ?? nextOffset, nextOffset);
  }

  /**
   * Moves `positions` (next offset per input partition, for what was processed) past skipped offsets of the
   * partitions with nothing buffered; returns true when one moved.
   */
  applySkips(positions: Map<TopicPartitionId, number>): boolean {
    let moved = false;
    for (const q of this.queues) {
      if (q.skippedTo === undefined || !q.isEmpty) continue;
      const position = positions.get(q.tp);
      if (position === undefined || q.skippedTo > position) {
        positions.set(q.tp, q.skippedTo);
        moved = true;
      }
    }
    return moved;
  }

  bufferedCount(): number {
    let total = 0;
    for (const q of this.queues) total += q.size;
    return total;
  }

  /**
   * The queue whose head is processed next, or undefined when nothing is buffered or the task must wait. The idle
   * rule: while some input is empty, wait up to `maxTaskIdleMs` (measured with `nowMs`), or up to
   * `maxFetchWaitMs` when an empty input is known to hold unfetched records, before taking the others' records.
   */
  next(nowMs: number): InputQueue | undefined {
    let best: InputQueue | undefined;
    let anyEmpty = false;
    let anyUnfetched = false;
    for (const q of this.queues) {
      if (q.isEmpty) {
        anyEmpty = true;
        if (q.hasUnfetched) anyUnfetched = true;
        continue;
      }
      if (!best) {
        best = q;
        continue;
      }
      const ts = q.peek().timestamp;
      const bestTs = best.peek().timestamp;
      if (ts < bestTs || (ts === bestTs && q.rank < best.rank)) best = q;
    }
    if (!best) return undefined;
    const waitMs = anyUnfetched ? Math.max(this.maxTaskIdleMs, this.maxFetchWaitMs) : this.maxTaskIdleMs;
    if (!anyEmpty || waitMs <= 0) {
      this.idleSince = undefined;
      return best;
    }
    this.idleSince ??= nowMs;
    return nowMs - this.idleSince >= waitMs ? best : undefined;
  }

  /** Drops every buffered record. */
  clear(): void {
    for (const q of this.queues) {
      q.records = [];
      q.head = 0;
    }
  }

  private notAnInput(what: string): TaskStateError {
    return new TaskStateError(this.taskId, `${what}, which is not one of its inputs (${this.partitions.join(', ')}).`);
  }
}
