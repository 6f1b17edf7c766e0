/**
 * Paging through a dead-letter topic newest first, reading at most `limit` records per partition per page: for each
 * partition, `tailRange` gives the offsets to read (just below the previous page's cursor), and `assemblePage` merges
 * what was read into one page and the cursor of the next. Shared by the runtime's DLQ reader and the test fake.
 *
 * Within a partition records come newest (highest offset) first; across partitions the record with the later
 * timestamp goes first. Every record of the topic is on exactly one page, whatever the gaps in its offsets.
 */
import type { DeadLetterEntry, DeadLetterPage } from './query-source.js';

export interface PartitionBounds {
  readonly partition: number;
  /** Earliest offset still in the partition and its end (next offset to be written). */
  readonly earliest: number;
  readonly end: number;
}

/** What was read of one partition for a page: offsets `[from, upper)`, the records found there in offset order. */
export interface PartitionTail extends PartitionBounds {
  readonly from: number;
  readonly upper: number;
  readonly records: readonly DeadLetterEntry[];
}

/** The offsets of `bounds`'s partition to read for a page: at most `limit` just below `before` (default: the end). */
export function tailRange(bounds: PartitionBounds, before: number | undefined, limit: number): { from: number; upper: number } {
  const upper = Math.max(bounds.earliest, Math.min(before ?? bounds.end, bounds.end));
  return { from: Math.max(bounds.earliest, upper - limit), upper };
}

export function assemblePage(topic: string, tails: readonly PartitionTail[], limit: number): DeadLetterPage {
  // Newest first per partition.
  const queues = tails.map((tail) => [...tail.records].sort((a, b) => b.offset - a.offset));
  const heads = queues.map(() => 0);
  const entries: DeadLetterEntry[] = [];
  while (entries.length < limit) {
    let pick = -1;
    for (let i = 0; i < queues.length; i++) {
      const candidate = queues[i][heads[i]];
      if (candidate === undefined) continue;
      const best = pick < 0 ? undefined : queues[pick][heads[pick]];
      if (best === undefined || candidate.timestamp > best.timestamp) pick = i;
    }
    if (pick < 0) break;
    entries.push(queues[pick][heads[pick]]);
    heads[pick]++;
  }
  const next = new Map<number, number>();
  tails.forEach((tail, i) => {
    const taken = heads[i];
    let position: number;
    if (taken > 0) position = queues[i][taken - 1].offset;
    // Nothing read in the range (offset gaps): move below it. Records read but none taken: the next page starts here.
    else position = queues[i].length === 0 ? tail.from : tail.upper;
    next.set(tail.partition, position);
  });
  const anythingOlder = tails.some((tail) => (next.get(tail.partition) as number) > tail.earliest);
  return {
    topic,
    entries,
    partitions: tails.map(({ partition, earliest, end }) => ({ partition, earliest, end })),
    next: anythingOlder ? next : null,
  };
}
