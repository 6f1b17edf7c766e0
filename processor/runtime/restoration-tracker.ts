/**
 * Restoration bookkeeping for one instance: progress per store partition (what /ready and the `restoration`
 * events show) and the number of records restored per store since start (what `app.stats()` and /metrics report:
 * a restart that used its local checkpoint restores few records, a fresh instance restores the whole table).
 *
 * A store partition goes through up to three phases, each reported:
 * - `restoring`: records are read into the store outside the group (changelog-reader.ts);
 * - `catching-up`: (co-partitioned tables restored to the group's committed offset) the task processes the table
 *   partition from there, in timestamp order with its stream inputs, until its store holds everything below the
 *   end offset taken at assignment;
 * - `caught-up`: the store holds every record below that end offset (within the readiness lag the application
 *   allows). Only then do lookups of the partition answer, and /ready counts it as done.
 */
import type { RestorationPhase, RestorationProgress } from '../../http-query/query-source.js';
import type { RestorationEvent } from './events.js';

interface Entry {
  readonly store: string;
  readonly partition: number | 'global';
  readonly startOffset: number;
  readonly startedAt: number;
  finishedAt: number | undefined;
  /** Topic partitions the entry covers (a global store: every partition of its topic). */
  readonly partitions: number;
  restoredRecords: number;
  restoredOffset: number;
  endOffset: number;
  phase: RestorationPhase;
}

export interface StoreRestoreTotals {
  /** Records applied by restorations of this store (all partitions) since start. */
  readonly restoredRecords: number;
  /** Restorations that had something to restore or catch up. */
  readonly restorations: number;
  /** Restorations that found the store already at its target (local checkpoint used, nothing to read). */
  readonly skipped: number;
}

export interface BeginOptions {
  /** Topic partitions the entry covers. Default 1. */
  readonly partitions?: number;
  /** Default: `restoring`, or `caught-up` when the position is at the end offset already. */
  readonly phase?: RestorationPhase;
}

const key = (store: string, partition: number | 'global'): string => `${store}/${partition}`;

export class RestorationTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly totals = new Map<string, { restoredRecords: number; restorations: number; skipped: number }>();

  constructor(private readonly emit: (event: RestorationEvent) => void) {}

  /** A store partition starts towards `endOffset` from `restoredOffset`. */
  begin(store: string, partition: number | 'global', restoredOffset: number, endOffset: number, options: BeginOptions = {}): void {
    const phase = options.phase ?? (restoredOffset >= endOffset ? 'caught-up' : 'restoring');
    const now = Date.now();
    const entry: Entry = {
      store,
      partition,
      partitions: options.partitions ?? 1,
      startOffset: restoredOffset,
      startedAt: now,
      finishedAt: phase === 'caught-up' ? now : undefined,
      restoredRecords: 0,
      restoredOffset,
      endOffset,
      phase,
    };
    this.entries.set(key(store, partition), entry);
    const totals = this.totalsOf(store);
    if (phase === 'caught-up') totals.skipped++;
    else totals.restorations++;
    this.emit(snapshot(entry));
  }

  /** `records` more were restored (0 while catching up); the position is now `restoredOffset`. */
  advance(store: string, partition: number | 'global', records: number, restoredOffset: number): void {
    const entry = this.entries.get(key(store, partition));
    if (entry === undefined || entry.phase === 'caught-up') return;
    if (records === 0 && restoredOffset <= entry.restoredOffset) return;
    entry.restoredRecords += records;
    entry.restoredOffset = Math.max(entry.restoredOffset, restoredOffset);
    this.totalsOf(store).restoredRecords += records;
    this.emit(snapshot(entry));
  }

  /** Restoration is over; the task now processes the partition up to the end offset. */
  catchingUp(store: string, partition: number | 'global'): void {
    const entry = this.entries.get(key(store, partition));
    if (entry === undefined || entry.phase !== 'restoring') return;
    entry.phase = 'catching-up';
    this.emit(snapshot(entry));
  }

  /** The store partition holds everything below its end offset: lookups may be answered. */
  finish(store: string, partition: number | 'global'): void {
    const entry = this.entries.get(key(store, partition));
    if (entry === undefined || entry.phase === 'caught-up') return;
    entry.phase = 'caught-up';
    entry.finishedAt = Date.now();
    entry.restoredOffset = Math.max(entry.restoredOffset, entry.endOffset);
    this.emit(snapshot(entry));
  }

  /** The partition is no longer served here (its task moved away). */
  remove(store: string, partition: number | 'global'): void {
    this.entries.delete(key(store, partition));
  }

  isDone(store: string, partition: number | 'global'): boolean {
    return this.entries.get(key(store, partition))?.phase === 'caught-up';
  }

  /** True when every store partition served here is caught up. */
  allDone(): boolean {
    for (const entry of this.entries.values()) if (entry.phase !== 'caught-up') return false;
    return true;
  }

  progress(): RestorationProgress[] {
    return [...this.entries.values()].map((e) => ({
      store: e.store,
      partition: e.partition,
      restoredOffset: e.restoredOffset,
      endOffset: e.endOffset,
      done: e.phase === 'caught-up',
      phase: e.phase,
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
    partitions: e.partitions,
    restoredRecords: e.restoredRecords,
    restoredOffset: e.restoredOffset,
    endOffset: e.endOffset,
    done: e.phase === 'caught-up',
    phase: e.phase,
  };
}
