/**
 * The partition-reading port: read an explicit set of topic-partitions from given offsets, outside the
 * application's consumer group, either up to end offsets (restoration, bootstrap) or forever (global-table
 * updates). `PartitionReader` (kafkajs, partition-reader.ts) implements it; the runtime depends only on this file,
 * so an in-memory reader (processor/kafka/testing/) plugs in for unit tests. No client library is imported here.
 *
 * The contract every implementation keeps:
 * 1. Records are delivered per topic-partition in offset order, only offsets >= the start and, `until-end`, below
 *    the end offset. `onBatch` calls never overlap; the next waits for the previous one (backpressure).
 * 2. A partition's position (next offset to read) moves past offsets that hold no deliverable record: compaction
 *    gaps, transaction markers, aborted records. "Caught up" is `position >= end`, never "saw offset end-1".
 * 3. Reads are read-committed: end offsets are last stable offsets, aborted records are never delivered.
 */
import type { ConsumedRecord, RecordRun, TopicPartitionId } from '../../common/records.js';

export interface PartitionStart {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read; omitted = the partition's earliest offset. */
  readonly offset?: number;
}

export interface FetchTuning {
  /** Per partition and fetch; keep >= the topics' max.message.bytes. Default 4 MiB. */
  readonly maxBytesPerPartition?: number;
  /**
   * Per fetch response. Default 32 MiB. The kafkajs reader keeps one fetch in flight while the previous response is
   * delivered: about twice this per leader broker.
   */
  readonly maxBytes?: number;
  /** Default 1 (return as soon as anything is there). */
  readonly minBytes?: number;
  /** Longest a fetch waits at the log end. Default 100 ms until-end, 500 ms forever. */
  readonly maxWaitTimeInMs?: number;
}

export interface PartitionReaderOptions {
  readonly partitions: readonly PartitionStart[];
  /** Called with each batch (one topic-partition, offset order); the next batch waits for it (backpressure). */
  readonly onBatch: (records: ConsumedRecord[]) => Promise<void>;
  /**
   * Optional: called instead of `onBatch` where the reader can hand a batch over unbuilt (`RecordRun`: records built
   * only if asked, or read in place); a reader that cannot (or a response it cannot read in place) calls `onBatch`.
   * The same contract as `onBatch`; a run may be empty.
   */
  readonly onRun?: (run: RecordRun) => Promise<void>;
  /**
   * Called once per partition when its position reaches its end offset (`until-end`, or `forever` with end offsets
   * given), after the partition's last `onBatch`; `position` may be past the last delivered record (markers, gaps).
   * The reader does not wait for a returned promise.
   */
  readonly onCaughtUp?: (tp: TopicPartitionId, position: number) => void;
  /**
   * End offsets (exclusive) per partition, e.g. from `KafkaAdmin.fetchEndOffsets`. Required for `until-end`; a
   * partition without an entry is read to the end offset current when `run()` starts.
   */
  readonly endOffsets?: ReadonlyMap<TopicPartitionId, number>;
  /** Default `until-end`. */
  readonly mode?: 'until-end' | 'forever';
  readonly fetch?: FetchTuning;
  /** Names the reader in log lines (kept from when readers joined a throwaway group of that prefix). */
  readonly groupIdPrefix?: string;
}

/** One reading job: create it, `run()` it once, `stop()` it to end early. */
export interface PartitionReading {
  /**
   * Reads until done: `until-end` resolves once every partition reached its end offset; `forever` resolves after
   * `stop()`. Rejects with `PartitionReaderError` when a topic or partition is missing, the reader fails, or
   * `onBatch` throws.
   */
  run(): Promise<void>;
  /** Stops reading; `run()` then resolves. Waits for an in-flight `onBatch`. */
  stop(): Promise<void>;
  /** Next offset to read per partition (the position to checkpoint once the delivered batches are applied). */
  positions(): Map<TopicPartitionId, number>;
}

/** Builds a reading job; the runtime receives one (app.ts passes the kafkajs PartitionReader). */
export type PartitionReaderFactory = (options: PartitionReaderOptions) => PartitionReading;
