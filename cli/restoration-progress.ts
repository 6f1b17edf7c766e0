/**
 * Turns the app's per-store-partition `restoration` events into one progress display: a phase starts with the
 * first unfinished partition and ends when every partition seen in it is done (global stores at bootstrap, then
 * the task stores after each assignment, restored and then caught up).
 */
import type { RestorationEvent } from '../processor/runtime/events.js';
import { formatCount, type ProgressDisplay } from './progress.js';

interface PartitionProgress {
  /** Offset the restoration started from (first event: restoredOffset - restoredRecords). */
  readonly startOffset: number;
  readonly event: RestorationEvent;
}

export class RestorationProgress {
  private readonly display: ProgressDisplay;
  private readonly partitions = new Map<string, PartitionProgress>();

  constructor(display: ProgressDisplay) {
    this.display = display;
  }

  onEvent(event: RestorationEvent): void {
    const id = `${event.store}:${event.partition}`;
    if (this.partitions.size === 0) {
      if (event.done && event.restoredRecords === 0) return; // already up to date: nothing to show
      this.display.begin('Restoring state');
    }
    const known = this.partitions.get(id);
    const startOffset = known?.startOffset ?? Math.max(0, event.restoredOffset - event.restoredRecords);
    this.partitions.set(id, { startOffset, event });

    let done = 0;
    let total = 0;
    let records = 0;
    const active = new Set<string>();
    for (const { startOffset: start, event: latest } of this.partitions.values()) {
      done += Math.max(0, latest.restoredOffset - start);
      total += Math.max(0, latest.endOffset - start);
      records += latest.restoredRecords;
      if (!latest.done) active.add(latest.store);
    }
    if (active.size === 0) {
      const stores = new Set([...this.partitions.values()].map((p) => p.event.store));
      // A global store's entry covers every partition of its topic.
      let topicPartitions = 0;
      for (const { event: latest } of this.partitions.values()) topicPartitions += latest.partitions;
      this.display.finish(`${formatCount(records)} records into ${topicPartitions} partition(s) of ${[...stores].join(', ')}`);
      this.partitions.clear();
      return;
    }
    const catchingUp = [...this.partitions.values()].some((p) => p.event.phase === 'catching-up');
    this.display.update({
      done,
      total,
      unit: 'offsets',
      detail: `${formatCount(records)} records, ${[...active].join(', ')}${catchingUp ? ' (catching up)' : ''}`,
    });
  }
}
