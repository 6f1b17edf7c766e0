/**
 * Restoration bookkeeping for one instance: progress per store partition (what /ready and the `restoration`
 * events show) and the number of records restored per store since start (what `app.stats()` and /metrics report:
 * a restart that used its local checkpoint restores few records, a fresh instance restores the whole table).
 */
import type { RestorationProgress } from '../../http-query/query-source.js';
import type { RestorationEvent } from './events.js';

interface Entry {
  readonly store: string;
  readonly partition: number | 'global';
  readonly startOffset: number;
  readonly startedAt: number;
  finishedAt: number | undefined;
  restoredRecords: number;
  restoredOffset: number;
  endOffset: number;
  done: boolean;
}

export interface StoreRestoreTotals {
  /** Records applied by restorations of this store (all partitions) since start. */
  readonly restoredRecords: number;
  /** Restorations that had something to restore. */
  readonly restorations: number;
  /** Restorations that found the store already at its target (local checkpoint used, nothing to read). */
  readonly skipped: number;
}

const key = (store: string, partition: number | 'global'): string => `${store}/${partition}`;

export class RestorationTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly totals = new Map<string, { restoredRecords: number; restorations: number; skipped: number }>();

  constructor(private readonly emit: (event: RestorationEvent) => void) {}

  /** A store partition starts restoring from `restoredOffset` towards `endOffset` (done at once if already there). */
  begin(store: string, partition: number | 'global', restoredOffset: number, endOffset: number): void {
    const done = restoredOffset >= endOffset;
    const now = Date.now();
    const entry: Entry = {
      store,
      partition,
      startOffset: restoredOffset,
      startedAt: now,
      finishedAt: done ? now : undefined,
      restoredRecords: 0,
      restoredOffset,
      endOffset,
      done,
    };
    this.entries.set(key(store, partition), entry);
    const totals = this.totalsOf(store);
    if (done) totals.skipped++;
    else totals.restorations++;
    this.emit(snapshot(entry));
  }

  /** `records` more were applied; the position is now `restoredOffset`. */
  advance(store: string, partition: number | 'global', records: number, restoredOffset: number): void {
    const entry = this.entries.get(key(store, partition));
    if (entry === undefined || entry.done) return;
    entry.restoredRecords += records;
    entry.restoredOffset = Math.max(entry.restoredOffset, restoredOffset);
    this.totalsOf(store).restoredRecords += records;
    this.emit(snapshot(entry));
  }

  finish(store: string, partition: number | 'global'): void {
    const entry = this.entries.get(key(store, partition));
    if (entry === undefined || entry.done) return;
    entry.done = true;
    entry.finishedAt = Date.now();
    entry.restoredOffset = Math.max(entry.restoredOffset, entry.endOffset);
    this.emit(snapshot(entry));
  }

  /** The partition is no longer served here (its task moved away). */
  remove(store: string, partition: number | 'global'): void {
    this.entries.delete(key(store, partition));
  }

  isDone(store: string, partition: number | 'global'): boolean {
    return this.entries.get(key(store, partition))?.done ?? false;
  }

  progress(): RestorationProgress[] {
    return [...this.entries.values()].map((e) => ({
      store: e.store,
      partition: e.partition,
      restoredOffset: e.restoredOffset,
      endOffset: e.endOffset,
      done: e.done,
      startOffset: e.startOffset,
      restoredRecords: e.restoredRecords,
      startedAt: e.startedAt,
      ...(e.finishedAt === undefined ? {} : { finishedAt: e.finishedAt }),
    }));
  }

  totalsByStore(): Record<string, StoreRestoreTotals> {
    return Object.fromEntries([...this.totals].map(([store, t]) => [store, { ...t }]));
  }

  private totalsOf(store: string): { restoredRecords: number; restorations: number; skipped: number } {
    let totals = this.totals.get(store);
    if (totals === undefined) {
      totals = { restoredRecords: 0, restorations: 0, skipped: 0 };
      this.totals.set(store, totals);
    }
    return totals;
  }
}

function snapshot(e: Entry): RestorationEvent {
  return {
    store: e.store,
    partition: e.partition,
    restoredRecords: e.restoredRecords,
    restoredOffset: e.restoredOffset,
    endOffset: e.endOffset,
    done: e.done,
  };
}
