/**
 * The bookkeeping of the elected dead-letter writer of global-only topics (global-dead-letters.ts), pure: what the
 * instance's own global reader (bootstrap, then updater) judged, which partitions this instance owns in the
 * dead-letter group and from which committed offset, and therefore which letters to write, which offsets to read
 * again ("gap reads") and which progress to commit.
 *
 * Reader side, per partition, in the reader's order: `readFrom(tp, offset)` when a reader starts judging every record
 * from `offset` on (within the run it continues it; elsewhere it starts a new one), `bad(tp, record, error)` for each record it rejected, then
 * `reached(tp, next)` once every record below `next` was judged. The ledger keeps one contiguous run of coverage per
 * partition: `[runFrom, runTo)` with its bad records, at most `maxKeptPerPartition` records and `maxKeptBytes` in
 * all; a partition over the cap forgets what it kept (its run then starts after the dropped record, the rest is read
 * again). A partition known to be someone else's keeps nothing.
 *
 * Owner side: `assigned(epoch, partitions)` (eager: everything else is revoked), then `committed(epoch, tp, C)` with
 * the group's committed offset (0 when none: nothing lies below the log start). For an owned partition whose offset
 * is known, `takeWork()` hands out, one item at a time per partition:
 * - `letters`: the kept bad records at or after the cursor, when the run covers the cursor; the cursor moves to
 *   `runTo` (an item without records moves it at once);
 * - `gap`: `[cursor, runFrom)` when the run starts after the cursor (a takeover after the bootstrap, a checkpoint
 *   ahead of C, a partition over the cap): the caller reads and judges that range itself.
 * `done(item)` marks an item's letters acknowledged; `commits()` returns the acknowledged positions not yet
 * committed. A later epoch starts at the higher of C and what this instance acknowledged before (a rebalance keeping
 * the partition here comes before the commit of its last letters). So each bad record at or after C is handed out
 * once per owner (again only when its letter was in flight when the epoch changed), and no commit passes a bad record
 * whose letter is not acknowledged.
 */
import type { ConsumedRecord, TopicPartitionId } from '../../common/records.js';

export interface BadRecord {
  readonly record: ConsumedRecord;
  readonly error: unknown;
}

export type LedgerWork =
  | {
      readonly kind: 'letters';
      readonly tp: TopicPartitionId;
      readonly epoch: number;
      readonly records: readonly BadRecord[];
      readonly to: number;
    }
  | { readonly kind: 'gap'; readonly tp: TopicPartitionId; readonly epoch: number; readonly from: number; readonly to: number };

export interface LedgerLimits {
  /** Bad records kept per partition while they cannot be lettered yet. Default 1,000. */
  readonly maxKeptPerPartition?: number;
  /** Bytes (keys, values, headers) of kept bad records across partitions. Default 8 MiB. */
  readonly maxKeptBytes?: number;
}

interface Run {
  from: number;
  to: number;
  kept: BadRecord[];
  keptBytes: number;
}

interface Owned {
  /** The group's committed offset, once read. */
  committed: number | undefined;
  /** Below it every bad record was handed out (or lies below the committed offset). */
  cursor: number;
  /** Below it every handed-out letter was acknowledged. */
  acked: number;
  /** What the last commit (or the read committed offset) stored. */
  commitStored: number;
  busy: boolean;
}

export const DEFAULT_MAX_KEPT_PER_PARTITION = 1000;
export const DEFAULT_MAX_KEPT_BYTES = 8 * 1024 * 1024;

function recordBytes(record: ConsumedRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) bytes += name.length + value.length;
  return bytes;
}

/** A copy owning its bytes: a kept record must not pin the whole fetch response its buffers are slices of. */
function detached(record: ConsumedRecord): ConsumedRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(record.headers)) headers[name] = Buffer.from(value);
  return {
    ...record,
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    headers,
  };
}

export class DeadLetterLedger {
  private readonly runs = new Map<TopicPartitionId, Run>();
  /**
   * Per partition, the highest acknowledged position of any epoch: below it every bad record has a letter (below
   * that epoch's C by the group's commit, above it by this instance), so a later epoch need not letter it again.
   */
  private readonly acknowledged = new Map<TopicPartitionId, number>();
  private owned = new Map<TopicPartitionId, Owned>();
  private epoch = 0;
  /** False until the first assignment: until then every partition may become this instance's. */
  private assignedOnce = false;
  private keptBytes = 0;
  private readonly maxKeptPerPartition: number;
  private readonly maxKeptBytes: number;
  private overflowCount = 0;

  constructor(limits: LedgerLimits = {}) {
    this.maxKeptPerPartition = limits.maxKeptPerPartition ?? DEFAULT_MAX_KEPT_PER_PARTITION;
    this.maxKeptBytes = limits.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES;
  }

  /** Times a partition forgot its kept bad records (the cap): each costs a gap read later, if owned. */
  get overflows(): number {
    return this.overflowCount;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** Bytes of bad records kept now. */
  get keptByteCount(): number {
    return this.keptBytes;
  }

  // ---- reader side ----

  readFrom(tp: TopicPartitionId, offset: number): void {
    const run = this.runs.get(tp);
    if (run !== undefined && run.from <= offset && offset <= run.to) {
      // A continuation (the updater after the bootstrap) or a re-read within the run: what lies below `offset` stays.
      const kept = run.kept.filter(({ record }) => record.offset < offset);
      const bytes = kept.reduce((sum, { record }) => sum + recordBytes(record), 0);
      this.keptBytes -= run.keptBytes - bytes;
      run.kept = kept;
      run.keptBytes = bytes;
      run.to = offset;
      return;
    }
    if (run !== undefined) this.keptBytes -= run.keptBytes;
    this.runs.set(tp, { from: offset, to: offset, kept: [], keptBytes: 0 });
  }

  bad(tp: TopicPartitionId, record: ConsumedRecord, error: unknown): void {
    const run = this.runs.get(tp);
    if (run === undefined || record.offset < run.to) return; // no reader started here, or judged before
    if (!this.mayOwn(tp)) return;
    const bytes = recordBytes(record);
    if (run.kept.length >= this.maxKeptPerPartition || this.keptBytes + bytes > this.maxKeptBytes) {
      // Forget: the run restarts after this record, and what lies before it is read again if this partition is owned.
      this.overflowCount++;
      this.keptBytes -= run.keptBytes;
      run.kept = [];
      run.keptBytes = 0;
      run.from = record.offset + 1;
      return;
    }
    run.kept.push({ record: detached(record), error });
    run.keptBytes += bytes;
    this.keptBytes += bytes;
  }

  reached(tp: TopicPartitionId, next: number): void {
    const run = this.runs.get(tp);
    if (run === undefined || next <= run.to) return;
    run.to = next;
    if (!this.mayOwn(tp)) {
      // Someone else's: nothing to keep, a takeover reads what it needs.
      this.keptBytes -= run.keptBytes;
      run.kept = [];
      run.keptBytes = 0;
      run.from = run.to;
    }
  }

  // ---- owner side ----

  assigned(epoch: number, partitions: Iterable<TopicPartitionId>): void {
    this.epoch = epoch;
    this.assignedOnce = true;
    this.owned = new Map([...partitions].map((tp) => [tp, { committed: undefined, cursor: 0, acked: 0, commitStored: 0, busy: false }]));
    for (const [tp, run] of this.runs) {
      if (this.owned.has(tp)) continue;
      this.keptBytes -= run.keptBytes;
      run.kept = [];
      run.keptBytes = 0;
      run.from = run.to;
    }
  }

  committed(epoch: number, tp: TopicPartitionId, offset: number): void {
    const owned = this.owned.get(tp);
    if (epoch !== this.epoch || owned === undefined || owned.committed !== undefined) return;
    // What this instance acknowledged in an earlier epoch (a rebalance that kept the partition here, before its commit)
    // is not lettered again.
    const start = Math.max(offset, this.acknowledged.get(tp) ?? 0);
    owned.committed = offset;
    owned.cursor = start;
    owned.acked = start;
    owned.commitStored = offset;
  }

  /** Owned partitions of the current epoch whose committed offset is still to be read. */
  uncommittedKnown(): TopicPartitionId[] {
    return [...this.owned].filter(([, owned]) => owned.committed === undefined).map(([tp]) => tp);
  }

  isOwned(epoch: number, tp: TopicPartitionId): boolean {
    return epoch === this.epoch && this.owned.has(tp);
  }

  /** The work ready now: at most one item per partition is handed out until `done` (or a new epoch). */
  takeWork(): LedgerWork[] {
    const work: LedgerWork[] = [];
    for (const [tp, owned] of this.owned) {
      const item = this.nextWork(tp, owned);
      if (item !== undefined) work.push(item);
    }
    return work;
  }

  /** `item`'s letters are acknowledged (a gap: the range was read and its letters acknowledged). */
  done(item: LedgerWork): void {
    const owned = this.owned.get(item.tp);
    if (item.epoch !== this.epoch || owned === undefined) {
      // Handed out when everything below it was acknowledged: still true, for an epoch whose offset is read later.
      this.acknowledged.set(item.tp, Math.max(this.acknowledged.get(item.tp) ?? 0, item.to));
      return;
    }
    owned.busy = false;
    if (item.kind === 'gap') owned.cursor = Math.max(owned.cursor, item.to);
    this.ack(item.tp, owned, item.to);
  }

  /** A gap read acknowledged the letters below `next` (it may report its progress before it is done). */
  gapProgress(item: LedgerWork & { kind: 'gap' }, next: number): void {
    const owned = this.owned.get(item.tp);
    if (item.epoch !== this.epoch || owned === undefined) {
      this.acknowledged.set(item.tp, Math.max(this.acknowledged.get(item.tp) ?? 0, Math.min(next, item.to)));
      return;
    }
    this.ack(item.tp, owned, Math.min(next, item.to));
  }

  /** Acknowledged positions of owned partitions not yet committed, for this epoch. */
  commits(): Map<TopicPartitionId, number> {
    const offsets = new Map<TopicPartitionId, number>();
    for (const [tp, owned] of this.owned)
      if (owned.committed !== undefined && owned.acked > owned.commitStored) offsets.set(tp, owned.acked);
    return offsets;
  }

  /** The group stored `offsets` for `epoch`. */
  stored(epoch: number, offsets: ReadonlyMap<TopicPartitionId, number>): void {
    if (epoch !== this.epoch) return;
    for (const [tp, offset] of offsets) {
      const owned = this.owned.get(tp);
      if (owned !== undefined) owned.commitStored = Math.max(owned.commitStored, offset);
    }
  }

  private ack(tp: TopicPartitionId, owned: Owned, next: number): void {
    owned.acked = Math.max(owned.acked, next);
    this.acknowledged.set(tp, Math.max(this.acknowledged.get(tp) ?? 0, owned.acked));
  }

  private mayOwn(tp: TopicPartitionId): boolean {
    return !this.assignedOnce || this.owned.has(tp);
  }

  private nextWork(tp: TopicPartitionId, owned: Owned): LedgerWork | undefined {
    if (owned.committed === undefined || owned.busy) return undefined;
    const run = this.runs.get(tp);
    if (run === undefined) return undefined; // the reader has not started on it: it will
    if (run.from > owned.cursor) {
      owned.busy = true;
      return { kind: 'gap', tp, epoch: this.epoch, from: owned.cursor, to: run.from };
    }
    // The kept records below `to` are settled now; those at or after it belong to a batch being judged.
    const records: BadRecord[] = [];
    const later: BadRecord[] = [];
    let laterBytes = 0;
    for (const bad of run.kept) {
      if (bad.record.offset >= run.to) {
        later.push(bad);
        laterBytes += recordBytes(bad.record);
      } else if (bad.record.offset >= owned.cursor) records.push(bad);
    }
    this.keptBytes -= run.keptBytes - laterBytes;
    run.kept = later;
    run.keptBytes = laterBytes;
    run.from = run.to;
    if (run.to <= owned.cursor) return undefined; // all of it was judged below the cursor (a re-read)
    owned.cursor = run.to;
    if (records.length === 0) {
      this.ack(tp, owned, run.to);
      return undefined;
    }
    owned.busy = true;
    return { kind: 'letters', tp, epoch: this.epoch, records, to: run.to };
  }
}
