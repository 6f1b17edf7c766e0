/**
 * Rebuilds a store from its source (changelog / compacted table) topic: decode records, write them in batches
 * with the checkpoint of each batch in the same atomic write, stop once every partition reached its end offset.
 * The record source is injected (`batches`), so this module knows nothing about kafkajs.
 */
import { RestoreDecodeError } from '../errors.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../common/records.js';
import type { Checkpoints, KeyValueStore, StoreWrite } from './types.js';

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

export type RestoreBatch = readonly ConsumedRecord[] | PositionedBatch;

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

function isPositioned(batch: RestoreBatch): batch is PositionedBatch {
  return !Array.isArray(batch);
}

/** A map key no latin1 string of key bytes can equal (latin1 chars are below U+0100). */
const CLEAR_SLOT = '\uffff';

/** Buffers one store write: last write per key wins, checkpoints track the last offset + 1 per partition. */
class PendingWrite<V> {
  /** By latin1 key bytes (a clear, first, under CLEAR_SLOT). */
  readonly writes = new Map<string, StoreWrite<V>>();
  readonly checkpoints = new Map<TopicPartitionId, number>();
  records = 0;

  add(tp: TopicPartitionId, offset: number, write: StoreWrite<V> | null): void {
    // latin1 maps each byte to one char: a cheap, collision-free map key for raw key bytes.
    if (write?.type === 'clear') {
      // Everything buffered before a clear is cleared anyway; what follows must come after it.
      this.writes.clear();
      this.writes.set(CLEAR_SLOT, write);
    } else if (write !== null) {
      const key = Buffer.isBuffer(write.key) ? write.key : Buffer.from(write.key.buffer, write.key.byteOffset, write.key.byteLength);
      this.writes.set(key.toString('latin1'), write);
    }
    this.checkpoints.set(tp, offset + 1);
    this.records++;
  }

  isEmpty(): boolean {
    return this.records === 0 && this.checkpoints.size === 0;
  }
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
  let pending = new PendingWrite<V>();
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
    pending = new PendingWrite<V>();
    inflight = store.write([...batch.writes.values()], batch.checkpoints).then(
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

  if (!caughtUp()) {
    for await (const batch of options.batches) {
      const records = isPositioned(batch) ? batch.records : batch;
      // Records come in runs of one partition: build its id once per run, not per record.
      let runTopic: string | undefined;
      let runPartition = -1;
      let tp = '' as TopicPartitionId;
      for (const record of records) {
        if (record.partition !== runPartition || record.topic !== runTopic) {
          runTopic = record.topic;
          runPartition = record.partition;
          tp = topicPartitionId(runTopic, runPartition);
        }
        const position = positions.get(tp);
        if (position === undefined || record.offset < position) continue; // not restored here, or already applied
        let write: StoreWrite<V> | null;
        if (record.value === null && record.key !== null && options.decodeTombstones !== true) {
          write = { type: 'delete', key: record.key };
        } else {
          try {
            write = decode(record);
          } catch (error) {
            const verdict = onDecodeError(record, error);
            const decision = typeof verdict === 'string' ? verdict : await verdict;
            if (decision === 'fail') {
              await flush();
              await settleInflight();
              throw new RestoreDecodeError(store.name, record.topic, record.partition, record.offset, { cause: error });
            }
            decodeErrorsSkipped++;
            write = null;
          }
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
        }
      }
      if (caughtUp()) break; // leaving the loop calls return() on the source, which lets it stop fetching
    }
  }
  await flush();
  await settleInflight();
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
