/**
 * The partition-count history of every topic the application touches, shared by all its instances (including one
 * started after an expansion) through a compacted internal topic `<applicationId>-partition-counts` (one partition):
 * key = topic name, value = JSON `{ "counts": [c1, c2, ...] }`, the ascending distinct counts seen over time.
 *
 * Merging is a set union, so writes are idempotent and any instance may write: at every start (the baseline: the
 * counts of now, appended to what the topic holds, which also records expansions made while no instance ran) and
 * whenever the layout is read again (the watcher, every assignment) and a count is new. The history is written before
 * the tasks of an assignment open, so a task that regroups its keys (key-regrouping.ts) finds the earlier counts.
 * An application whose first start comes after an expansion has no record of the earlier counts (see README,
 * *Scaling by partitions*).
 */
import type { Logger } from '../../common/logger.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord } from '../../common/records.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { PartitionReaderFactory } from '../kafka/partition-reading.js';
import { historyWith } from './key-regrouping.js';

export type PartitionCountHistory = Map<string, number[]>;

/** The internal topic holding the history. */
export function partitionCountsTopic(applicationId: string): string {
  return `${applicationId}-partition-counts`;
}

/**
 * Adds `counts` to `history` (in place); returns the topics whose history changed. A count below the largest known
 * one is still recorded (a recreated topic): the history stays the set of counts seen.
 */
export function mergePartitionCounts(history: PartitionCountHistory, counts: ReadonlyMap<string, number>): string[] {
  const changed: string[] = [];
  for (const [topic, count] of counts) {
    const known = history.get(topic) ?? [];
    if (known.includes(count)) continue;
    history.set(
      topic,
      [...new Set([...known, count])].sort((a, b) => a - b),
    );
    changed.push(topic);
  }
  return changed.sort();
}

export function encodeCounts(counts: readonly number[], seen: ReadonlyMap<number, number> = new Map()): Buffer {
  return Buffer.from(JSON.stringify({ counts, seen: Object.fromEntries(seen) }), 'utf8');
}

/** When each count was first seen (epoch ms), from a record's value; empty when absent. */
export function decodeSeen(value: Buffer | null): Map<number, number> {
  const seen = new Map<number, number>();
  if (value === null) return seen;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { seen?: unknown };
    if (typeof parsed.seen !== 'object' || parsed.seen === null) return seen;
    for (const [count, at] of Object.entries(parsed.seen as Record<string, unknown>))
      if (Number.isInteger(Number(count)) && typeof at === 'number') seen.set(Number(count), at);
  } catch {
    // not a history: ignored
  }
  return seen;
}

/** The counts of one record's value; undefined for a value that is not a history (ignored, never fatal). */
export function decodeCounts(value: Buffer | null): number[] | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { counts?: unknown };
    const counts = parsed.counts;
    if (!Array.isArray(counts) || !counts.every((c) => Number.isInteger(c) && (c as number) > 0)) return undefined;
    return [...new Set(counts as number[])].sort((a, b) => a - b);
  } catch {
    return undefined;
  }
}

/** The history of `topic` as task restoration uses it: ascending, the current count last. */
export function historyOf(history: ReadonlyMap<string, readonly number[]>, topic: string, current: number): number[] {
  return historyWith(history.get(topic), current);
}

export interface PartitionHistoryTopicOptions {
  readonly applicationId: string;
  readonly admin: Pick<KafkaAdmin, 'ensureTopics' | 'fetchOffsetRanges'>;
  readonly readers: PartitionReaderFactory;
  readonly send: (records: readonly ProducedRecord[]) => Promise<unknown>;
  readonly replicationFactor?: number;
  readonly logger: Logger;
}

/** The history kept in memory, loaded from and written to the internal topic. */
export class PartitionHistoryTopic {
  readonly history: PartitionCountHistory = new Map();
  /** Per topic, when each count was first seen by any instance (epoch ms). */
  readonly seenAt = new Map<string, Map<number, number>>();
  private readonly topic: string;
  /** Topics whose history changed but whose write failed: written with the next record(). */
  private readonly unwritten = new Set<string>();

  constructor(private readonly options: PartitionHistoryTopicOptions) {
    this.topic = partitionCountsTopic(options.applicationId);
  }

  /** Creates the topic if missing and reads it to its end (the end offset taken now). */
  async load(): Promise<void> {
    await this.options.admin.ensureTopics([
      {
        topic: this.topic,
        partitions: 1,
        replicationFactor: this.options.replicationFactor,
        configs: { 'cleanup.policy': 'compact' },
      },
    ]);
    // An empty topic (a first start) needs no reader (each costs a connection and offset requests).
    const log = (await this.options.admin.fetchOffsetRanges(this.topic)).get(0);
    if (log === undefined || log.start >= log.end) return;
    const reader = this.options.readers({
      partitions: [{ topic: this.topic, partition: 0, offset: log.start }],
      endOffsets: new Map([[topicPartitionId(this.topic, 0), log.end]]),
      mode: 'until-end',
      groupIdPrefix: `${this.options.applicationId}-partition-counts`,
      onBatch: (records: ConsumedRecord[]) => {
        for (const record of records) {
          const counts = decodeCounts(record.value);
          if (counts === undefined || record.key === null) continue;
          const topic = record.key.toString('utf8');
          for (const [count, at] of decodeSeen(record.value)) this.noteSeen(topic, count, at);
          for (const count of counts) mergePartitionCounts(this.history, new Map([[topic, count]]));
        }
        return Promise.resolve();
      },
    });
    await reader.run();
  }

  /** When `count` of `topic` was first seen, if known. */
  firstSeen(topic: string, count: number): number | undefined {
    return this.seenAt.get(topic)?.get(count);
  }

  private noteSeen(topic: string, count: number, at: number): void {
    let seen = this.seenAt.get(topic);
    if (seen === undefined) this.seenAt.set(topic, (seen = new Map()));
    seen.set(count, Math.min(seen.get(count) ?? at, at));
  }

  /** Adds the counts of now; writes the history of every topic that changed (acknowledged before it resolves). */
  async record(counts: ReadonlyMap<string, number>): Promise<string[]> {
    const now = Date.now();
    for (const [topic, count] of counts) this.noteSeen(topic, count, now);
    const changed = [...new Set([...mergePartitionCounts(this.history, counts), ...this.unwritten])].sort();
    if (changed.length === 0) return changed;
    for (const topic of changed) this.unwritten.add(topic);
    await this.options.send(
      changed.map((topic) => ({
        topic: this.topic,
        partition: 0,
        timestamp: now,
        key: Buffer.from(topic, 'utf8'),
        value: encodeCounts(this.history.get(topic) as number[], this.seenAt.get(topic)),
        headers: {},
      })),
    );
    for (const topic of changed) this.unwritten.delete(topic);
    const grown = changed.filter((topic) => (this.history.get(topic)?.length ?? 0) > 1);
    if (grown.length > 0)
      this.options.logger.info(
        `partition-count history recorded: ${grown.map((topic) => `${topic} ${(this.history.get(topic) ?? []).join(' → ')}`).join(', ')}`,
      );
    return changed;
  }
}
