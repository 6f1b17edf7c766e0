/**
 * Rebuilds a store from its source (changelog / compacted table) topic: decode records, write them in batches
 * with the checkpoint of each batch in the same atomic write, stop once every partition reached its end offset.
 * The record source is injected (`batches`), so this module knows nothing about kafkajs.
 */
import { RestoreDecodeError } from '../errors.js';
import { topicPartitionId, type ConsumedRecord, type RecordCursor, type RecordRun, type TopicPartitionId } from '../common/records.js';
import type { Checkpoints, KeyValueStore, PreparedWrite, StoreMeta, StoreWrite } from './types.js';
import { replaces, VersionsNeeded, type RecordVersion } from './record-version.js';
import { FreshVersions } from './fresh-versions.js';

export type DecodeErrorDecision = 'skip' | 'fail';

export interface RestoreProgress {
  /** Source records applied so far (puts, deletes and decoder-skipped records). */
  readonly restored: number;
  /** Records left until every partition reaches its end offset (an upper bound: compaction leaves gaps). */
  readonly remaining: number;
  readonly recordsPerSecond: number;
  readonly elapsedMs: number;
}

/**
 * A batch from the source plus, optionally, the source's position after it. Positions let restoration finish
 * when the log ends in records that are never delivered (transaction markers, aborted records): kafkajs resolves
 * those internally, so the source reports the offset it moved past instead.
 */
export interface PositionedBatch {
  readonly records: readonly ConsumedRecord[];
  readonly nextOffsets?: ReadonlyMap<TopicPartitionId, number>;
}

/** Records, records with positions, or a run of records built only if asked (read in place where restoreStore can). */
export type RestoreBatch = readonly ConsumedRecord[] | PositionedBatch | RecordRun;

export interface RestoreOptions<V> {
  readonly store: KeyValueStore<V>;
  /**
   * Records of the source partitions in offset order per partition, starting at the store's checkpoints (earlier
   * offsets are ignored, so starting earlier is safe).
   */
  readonly batches: AsyncIterable<RestoreBatch>;
  /** Offset restoration must reach per partition (the next offset after the last stable record). */
  readonly endOffsets: ReadonlyMap<TopicPartitionId, number>;
  /**
   * Where reading starts per partition when that is past the store's checkpoint (e.g. the log start offset of a
   * store without one): records below it are ignored and progress counts from it. Default: the checkpoints.
   */
  readonly startOffsets?: ReadonlyMap<TopicPartitionId, number>;
  /**
   * Turns a record into a store write; `null` skips it. Tombstones (non-null key, null value) never reach the
   * decoder unless `decodeTombstones` is set: they become deletes of the record key.
   */
  readonly decode: (record: ConsumedRecord) => StoreWrite<V> | null;
  /**
   * Hand tombstones to `decode` too: for stores whose keys are not the record keys (a window store restored from its
   * changelog keys its entries by segment, key and window start).
   */
  readonly decodeTombstones?: boolean;
  /** Called when `decode` throws. 'skip' drops the record; 'fail' stops with RestoreDecodeError. */
  readonly onDecodeError: (record: ConsumedRecord, error: unknown) => DecodeErrorDecision | Promise<DecodeErrorDecision>;
  readonly onProgress?: (progress: RestoreProgress) => void;
  /** Minimum time between progress callbacks (one more is always sent at the end). Default 250 ms. */
  readonly progressIntervalMs?: number;
  /** Maximum source records per store write. Default 2,000 (see README for the measurements). */
  readonly batchSize?: number;
  /**
   * Keep each key's record version and apply a record only when it is newer than the stored one (record-version.ts:
   * a table whose keys' records may sit in several partitions, read in any order). Default false: offset order.
   */
  readonly versioned?: boolean;
  /**
   * Without `versioned`: a record for which this answers true stops restoration with `VersionsNeeded` (after the
   * write in flight settled), e.g. a record the default partitioner would not have put in its partition.
   */
  readonly needsVersions?: (record: ConsumedRecord) => boolean;
  /**
   * Lets an unversioned restore read `RecordRun` batches in place, building no object per record: true when the
   * record at `cursor` (a non-null key and value) is a put of its key bytes with its value bytes as JSON text, which
   * is what `decode` would return for it (a `JsonText` value). False: the record is built and goes through `decode`
   * (and `onDecodeError`) as any other. Used only where the store's prepared write reads in place
   * (`PreparedWrite.putJsonTextAt`), without `decodeTombstones`, and, when `needsVersions` is given, with
   * `needsVersionsAt`; other restores build the run's records.
   */
  readonly storesAsJsonText?: (cursor: RecordCursor) => boolean;
  /** `needsVersions` for a record read in place (`storesAsJsonText`). */
  readonly needsVersionsAt?: (cursor: RecordCursor, partition: number) => boolean;
  /** Meta entries written with the first store write (in its atomic batch). */
  readonly meta?: StoreMeta;
  /**
   * After each source batch, per partition it moved: every record below `next` was decoded (or skipped), and
   * `onDecodeError` was called for each bad one before (the verdicts of a global reader: global-dead-letters.ts).
   */
  readonly onJudged?: (tp: TopicPartitionId, next: number) => void;
}

export interface RestoreResult {
  /** Source records applied (including decoder-skipped ones). */
  readonly restored: number;
  /** Records dropped by `onDecodeError` returning 'skip'. */
  readonly decodeErrorsSkipped: number;
  /** False when `batches` ended before every partition reached its end offset. */
  readonly caughtUp: boolean;
  readonly checkpoints: Checkpoints;
  readonly elapsedMs: number;
}

export const DEFAULT_RESTORE_BATCH_SIZE = 2000;

function isRun(batch: RestoreBatch): batch is RecordRun {
  return !Array.isArray(batch) && 'cursor' in batch;
}

function isPositioned(batch: RestoreBatch): batch is PositionedBatch {
  return !Array.isArray(batch) && !('cursor' in batch);
}

/** A map key no latin1 string of key bytes can equal (latin1 chars are below U+0100). */
const CLEAR_SLOT = '\uffff';

/**
 * Buffers one store write; checkpoints track the last offset + 1 per partition. Unversioned writes are kept in
 * order (the store applies them in order, so the last write of a key wins there, and no per-record map key is built),
 * straight into the store's prepared write when it has one (filled while the previous write is on disk); versioned
 * writes keep the newest version per key.
 */
class PendingWrite<V> {
  /** Unversioned without a prepared write: every write in order (a clear, first, drops what came before it). */
  readonly ordered: StoreWrite<V>[] = [];
  /** Versioned: by latin1 key bytes (a clear, first, under CLEAR_SLOT). */
  readonly byKey = new Map<string, StoreWrite<V>>();
  readonly checkpoints = new Map<TopicPartitionId, number>();
  /** Versioned writes certainly newer than the stored version of their key (fresh-versions.ts). */
  readonly unread = new Set<StoreWrite<V>>();
  records = 0;

  /** `prepared`: the store's write to fill (unversioned only); without it the writes are kept for `KeyValueStore.write`. */
  constructor(
    private readonly versioned: boolean,
    readonly prepared?: PreparedWrite<V>,
  ) {}

  /** A record written straight into `prepared` (read in place) counts as added. */
  added(tp: TopicPartitionId, offset: number): void {
    this.checkpoints.set(tp, offset + 1);
    this.records++;
  }

  add(tp: TopicPartitionId, offset: number, write: StoreWrite<V> | null): void {
    if (write !== null && this.prepared !== undefined) {
      this.prepared.add(write);
    } else if (write?.type === 'clear') {
      // Everything buffered before a clear is cleared anyway; what follows must come after it.
      if (this.versioned) {
        this.byKey.clear();
        this.byKey.set(CLEAR_SLOT, write);
      } else {
        this.ordered.length = 0;
        this.ordered.push(write);
      }
    } else if (write !== null) {
      if (this.versioned) {
        // latin1 maps each byte to one char: a cheap, collision-free map key for raw key bytes.
        const key = Buffer.isBuffer(write.key) ? write.key : Buffer.from(write.key.buffer, write.key.byteOffset, write.key.byteLength);
        const slot = key.toString('latin1');
        const buffered = this.byKey.get(slot);
        // The newest record of the key in this batch, whatever the order partitions were read in.
        if (buffered === undefined || buffered.type === 'clear' || write.version === undefined || replaces(write.version, buffered.version))
          this.byKey.set(slot, write);
      } else this.ordered.push(write);
    }
    this.added(tp, offset);
  }

  writes(): StoreWrite<V>[] {
    return this.versioned ? [...this.byKey.values()] : this.ordered;
  }

  isEmpty(): boolean {
    return this.records === 0 && this.checkpoints.size === 0;
  }
}

/**
 * The writes whose version is newer than the one the store holds for their key (one `getVersions` round trip);
 * writes `unread` says are certainly newer (fresh-versions.ts) skip the read.
 */
export async function newerThanStored<V>(
  store: KeyValueStore<V>,
  writes: readonly StoreWrite<V>[],
  unread?: ReadonlySet<StoreWrite<V>>,
): Promise<StoreWrite<V>[]> {
  // After a clear (a truncated database table) nothing stored is older: every write applies.
  if (writes.some((w) => w.type === 'clear')) return [...writes];
  const keyed: (StoreWrite<V> & { key: Uint8Array; version: RecordVersion })[] = [];
  for (const w of writes) {
    if (w.type === 'clear' || w.version === undefined || unread?.has(w) === true) continue;
    keyed.push(w as StoreWrite<V> & { key: Uint8Array; version: RecordVersion });
  }
  if (keyed.length === 0) return [...writes];
  const stored = await store.getVersions(keyed.map((w) => w.key));
  const stale = new Set<StoreWrite<V>>(keyed.filter((w, i) => !replaces(w.version, stored[i])));
  return stale.size === 0 ? [...writes] : writes.filter((w) => !stale.has(w));
}

/**
 * The versioned writes that apply, in order: each one only when newer than the key's version so far (stored, then
 * the batch's earlier writes), so every applied write is a real change (what a change feed publishes). Unversioned
 * writes and batches with a clear are kept as they are.
 */
export async function applicableWrites<V>(store: KeyValueStore<V>, writes: readonly StoreWrite<V>[]): Promise<StoreWrite<V>[]> {
  if (writes.some((w) => w.type === 'clear')) return [...writes];
  const versioned = writes.filter((w) => w.type !== 'clear' && w.version !== undefined) as (StoreWrite<V> & { key: Uint8Array })[];
  if (versioned.length === 0) return [...writes];
  const slots = versioned.map((w) => Buffer.from(w.key.buffer, w.key.byteOffset, w.key.byteLength).toString('latin1'));
  const unique = [...new Set(slots)];
  const keyOf = new Map(versioned.map((w, i) => [slots[i], w.key]));
  const stored = await store.getVersions(unique.map((slot) => keyOf.get(slot) as Uint8Array));
  const current = new Map<string, RecordVersion | undefined>(unique.map((slot, i) => [slot, stored[i]]));
  const slotOf = new Map<StoreWrite<V>, string>(versioned.map((w, i) => [w, slots[i]]));
  return writes.filter((w) => {
    const slot = slotOf.get(w);
    if (slot === undefined || w.type === 'clear' || w.version === undefined) return true;
    if (!replaces(w.version, current.get(slot))) return false;
    current.set(slot, w.version);
    return true;
  });
}

export async function restoreStore<V>(options: RestoreOptions<V>): Promise<RestoreResult> {
  const { store, endOffsets, decode, onDecodeError, onProgress } = options;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_RESTORE_BATCH_SIZE);
  const progressIntervalMs = options.progressIntervalMs ?? 250;
  const startedAt = performance.now();

  // Next offset to apply per restored partition; records below it are already in the store.
  const positions = new Map<TopicPartitionId, number>();
  const initial = store.checkpoints();
  for (const tp of endOffsets.keys()) positions.set(tp, Math.max(initial.get(tp) ?? 0, options.startOffsets?.get(tp) ?? 0));

  let restored = 0;
  let decodeErrorsSkipped = 0;
  let lastProgressAt = startedAt;
  const versioned = options.versioned === true;
  const needsVersions = versioned ? undefined : options.needsVersions;
  // A store without checkpoints was never written by a restore or an updater: every version it will hold comes from
  // this restore, so most records can skip reading their key's version (fresh-versions.ts).
  const fresh =
    versioned && initial.size === 0
      ? new FreshVersions(new Map([...endOffsets].map(([tp, end]) => [tp, Math.max(0, end - (positions.get(tp) ?? 0))])))
      : undefined;
  let meta = options.meta;
  // Unversioned writes go straight into the store's native batch as they are decoded, while the previous batch is
  // being written (a store without prepared writes gets arrays through `write`).
  const nextPending = (): PendingWrite<V> => new PendingWrite<V>(versioned, versioned ? undefined : store.prepareWrite?.());
  let pending = nextPending();
  // Runs are read in place (no record object per record) when the restore and the store allow it.
  const storesAsJsonText =
    !versioned &&
    options.decodeTombstones !== true &&
    (needsVersions === undefined || options.needsVersionsAt !== undefined) &&
    pending.prepared?.putJsonTextAt !== undefined &&
    pending.prepared.deleteAt !== undefined
      ? options.storesAsJsonText
      : undefined;
  const needsVersionsAt = needsVersions === undefined ? undefined : options.needsVersionsAt;
  // One write in flight while the next chunk is decoded; its failure is rethrown at the next sync point.
  let inflight: Promise<void> | undefined;
  let inflightError: { error: unknown } | undefined;

  const remaining = (): number => {
    let sum = 0;
    for (const [tp, end] of endOffsets) sum += Math.max(0, end - (positions.get(tp) ?? 0));
    return sum;
  };
  const caughtUp = (): boolean => {
    for (const [tp, end] of endOffsets) if ((positions.get(tp) ?? 0) < end) return false;
    return true;
  };
  const progress = (): RestoreProgress => {
    const elapsedMs = performance.now() - startedAt;
    return {
      restored,
      remaining: remaining(),
      recordsPerSecond: elapsedMs > 0 ? Math.round((restored / elapsedMs) * 1000) : 0,
      elapsedMs,
    };
  };
  const settleInflight = async (): Promise<void> => {
    if (inflight !== undefined) await inflight;
    inflight = undefined;
    if (inflightError !== undefined) throw inflightError.error;
  };
  const flush = async (): Promise<void> => {
    await settleInflight();
    if (pending.isEmpty()) return;
    const batch = pending;
    pending = nextPending();
    const batchMeta = meta;
    meta = undefined;
    const prepared = batch.prepared;
    inflight = (
      prepared !== undefined
        ? prepared.commit(batch.checkpoints, batchMeta)
        : (versioned ? newerThanStored(store, batch.writes(), batch.unread) : Promise.resolve(batch.writes())).then((writes) =>
            store.write(writes, batch.checkpoints, batchMeta),
          )
    ).then(
      () => {
        restored += batch.records;
      },
      (error: unknown) => {
        inflightError = { error };
      },
    );
    if (onProgress !== undefined && performance.now() - lastProgressAt >= progressIntervalMs) {
      lastProgressAt = performance.now();
      onProgress(progress());
    }
  };

  /** What a record `decode` threw for becomes: the policy's verdict (after its dead letter, if any). */
  const decodeFailed = async (record: ConsumedRecord, error: unknown): Promise<null> => {
    const verdict = onDecodeError(record, error);
    const decision = typeof verdict === 'string' ? verdict : await verdict;
    if (decision === 'fail') {
      await flush();
      await settleInflight();
      throw new RestoreDecodeError(store.name, record.topic, record.partition, record.offset, { cause: error });
    }
    decodeErrorsSkipped++;
    return null;
  };

  /**
   * A run read in place: the common records go straight into the prepared write (which copies their bytes), the
   * others are built. True when none was built: nothing of the run's bytes is kept or handed on then.
   */
  const restoreRun = async (run: RecordRun, check: (cursor: RecordCursor) => boolean): Promise<boolean> => {
    const tp = topicPartitionId(run.topic, run.partition);
    let position = positions.get(tp);
    if (position === undefined) return true; // not restored here
    let copiedOnly = true;
    const cursor = run.cursor();
    while (cursor.next()) {
      const offset = cursor.offset;
      if (offset < position) continue; // already applied
      if (needsVersionsAt?.(cursor, run.partition) === true) {
        await settleInflight();
        throw new VersionsNeeded(cursor.record());
      }
      const key = cursor.keyBytes;
      const value = cursor.valueBytes;
      const prepared = pending.prepared as Required<PreparedWrite<V>>;
      if (key !== null && value === null) {
        prepared.deleteAt(key, cursor.keyStart, cursor.keyEnd);
        pending.added(tp, offset);
      } else if (key !== null && value !== null && check(cursor)) {
        prepared.putJsonTextAt(key, cursor.keyStart, cursor.keyEnd, value, cursor.valueStart, cursor.valueEnd);
        pending.added(tp, offset);
      } else {
        // A built record's key and value are views of the run's bytes, handed to the decoder (user code) and maybe
        // to a dead letter: the run's bytes are not released then.
        copiedOnly = false;
        const record = cursor.record();
        let write: StoreWrite<V> | null;
        try {
          write = decode(record);
        } catch (error) {
          positions.set(tp, position);
          write = await decodeFailed(record, error);
        }
        pending.add(tp, offset, write);
      }
      position = offset + 1;
      if (pending.records >= batchSize) {
        positions.set(tp, position);
        await flush();
      }
    }
    positions.set(tp, position);
    return copiedOnly;
  };

  try {
    if (!caughtUp()) {
      for await (const batch of options.batches) {
        if (isRun(batch) && storesAsJsonText !== undefined) {
          // Every record of the run was copied into the store's write: its source may free the bytes now.
          if (await restoreRun(batch, storesAsJsonText)) batch.release?.();
          if (options.onJudged !== undefined) {
            const tp = topicPartitionId(batch.topic, batch.partition);
            const position = positions.get(tp);
            if (position !== undefined) options.onJudged(tp, position);
          }
          if (caughtUp()) break;
          continue;
        }
        const records = isRun(batch) ? batch.records() : isPositioned(batch) ? batch.records : batch;
        // Records come in runs of one partition: build its id once per run, not per record.
        let runTopic: string | undefined;
        let runPartition = -1;
        let tp = '' as TopicPartitionId;
        const judged = options.onJudged === undefined ? undefined : new Set<TopicPartitionId>();
        for (const record of records) {
          if (record.partition !== runPartition || record.topic !== runTopic) {
            runTopic = record.topic;
            runPartition = record.partition;
            tp = topicPartitionId(runTopic, runPartition);
            judged?.add(tp);
          }
          const position = positions.get(tp);
          if (position === undefined || record.offset < position) continue; // not restored here, or already applied
          if (needsVersions?.(record) === true) {
            await settleInflight();
            throw new VersionsNeeded(record);
          }
          let write: StoreWrite<V> | null;
          if (record.value === null && record.key !== null && options.decodeTombstones !== true) {
            write = { type: 'delete', key: record.key };
          } else {
            try {
              write = decode(record);
            } catch (error) {
              write = await decodeFailed(record, error);
            }
          }
          if (versioned && write !== null && write.type !== 'clear') {
            write = { ...write, version: { timestamp: record.timestamp, partition: record.partition, offset: record.offset } };
            if (fresh !== undefined && !fresh.needsRead(tp, write.key, record.timestamp)) pending.unread.add(write);
          }
          pending.add(tp, record.offset, write);
          positions.set(tp, record.offset + 1);
          if (pending.records >= batchSize) await flush();
        }
        if (isPositioned(batch) && batch.nextOffsets !== undefined) {
          for (const [tp, next] of batch.nextOffsets) {
            const position = positions.get(tp);
            if (position === undefined || next <= position) continue;
            positions.set(tp, next);
            pending.checkpoints.set(tp, next);
            judged?.add(tp);
          }
        }
        if (judged !== undefined) {
          for (const moved of judged) {
            const position = positions.get(moved);
            if (position !== undefined) options.onJudged?.(moved, position);
          }
        }
        if (caughtUp()) break; // leaving the loop calls return() on the source, which lets it stop fetching
      }
    }
    await flush();
    await settleInflight();
  } catch (error) {
    // A failed or stopped restore writes nothing of the batch it was filling.
    await pending.prepared?.discard().catch(() => undefined);
    throw error;
  }
  await pending.prepared?.discard(); // the empty batch left after the last flush
  const result: RestoreResult = {
    restored,
    decodeErrorsSkipped,
    caughtUp: caughtUp(),
    checkpoints: store.checkpoints(),
    elapsedMs: performance.now() - startedAt,
  };
  onProgress?.(progress());
  return result;
}
