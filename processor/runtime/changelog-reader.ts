/**
 * ChangelogReader: brings store partitions up to target offsets from the topics that feed them, outside the
 * application's consumer group. One component for every "restore to offsets" job of the runtime: global tables at
 * bootstrap (one store, every partition of its topic) and co-partitioned table stores at task assignment (one store
 * partition each, many at once), and the changelog partitions of derived-table stores (checkpoint to the
 * changelog's end, tombstones decoded by the store's changelog decoder); with a `forever` reader, standby replicas.
 *
 * One job = one reader over every partition of every target (partition-reading.ts: read-committed, so aborted
 * records are never restored and end offsets are last stable offsets), and per target one `restoreStore` (batches
 * of records written atomically with their checkpoints). The finish rule is the reader's: a partition is done when
 * its position reaches its target, `position >= to`, never "saw offset to-1" (compaction gaps, transaction markers
 * and aborted records at the end are moved past, not waited for). The position a partition reached is written as
 * its checkpoint, so a store restored to a log ending in markers is at its target, not one short of it.
 *
 * Where restoration starts and ends per partition, and whether a store must be rebuilt first, is restore-range.ts.
 */
import { PartitionReaderError } from '../../errors.js';
import {
  parseTopicPartitionId,
  topicPartitionId,
  type ConsumedRecord,
  type RecordCursor,
  type TopicPartitionId,
} from '../../common/records.js';
import { restoreStore, type RestoreBatch, type RestoreResult } from '../../state-store/restore.js';
import type { KeyValueStore, StoreMeta } from '../../state-store/types.js';
import type { TableRecordDecoder } from '../engine/table-decoder.js';
import type { FetchTuning, PartitionReaderFactory, PartitionReading } from '../kafka/partition-reading.js';
import { BatchChannel } from './batch-channel.js';

/** One partition of a target: read from `from` and restore up to `to` (exclusive). */
export interface ChangelogSpan {
  readonly from: number;
  readonly to: number;
}

/** One store to bring up to its targets. */
export interface ChangelogTarget {
  /** Names the target in errors, e.g. `customers[3]`. */
  readonly label: string;
  readonly store: KeyValueStore<unknown>;
  /** Its partitions; only those with `from < to` are read. */
  readonly partitions: ReadonlyMap<TopicPartitionId, ChangelogSpan>;
  /** The store's deserializer and error policy (what a bad record does). */
  readonly decoder: TableRecordDecoder;
  /**
   * Hand tombstones to the decoder instead of deleting their record key (a changelog of a window store keys its
   * records by key and window start, not by store key). Default false.
   */
  readonly decodeTombstones?: boolean;
  /** Apply a record only when newer than the key's stored version (state-store/record-version.ts). Default false. */
  readonly versioned?: boolean;
  /** Without `versioned`: true stops this target with `VersionsNeeded` (restore.ts). */
  readonly needsVersions?: (record: ConsumedRecord) => boolean;
  /** `needsVersions` for a record read in place (restore.ts `needsVersionsAt`); without it such targets build every record. */
  readonly needsVersionsAt?: (cursor: RecordCursor, partition: number) => boolean;
  /** Meta entries written with the target's first store write. */
  readonly meta?: StoreMeta;
  /** After each batch: every record of `tp` below `next` was decoded (restore.ts `onJudged`). */
  readonly onJudged?: (tp: TopicPartitionId, next: number) => void;
  /** Runs once the target reached its targets, before `onRestored` (a window store records its stream time). */
  readonly afterRestore?: () => Promise<void>;
}

export interface ChangelogProgress {
  /** Records applied to the target's store so far in this job. */
  readonly restored: number;
  /** Offsets still to read over the target's partitions (an upper bound: gaps and markers count). */
  readonly remaining: number;
}

export interface ChangelogReaderOptions {
  readonly targets: readonly ChangelogTarget[];
  readonly readers: PartitionReaderFactory;
  /** Names the reader (passed on as the partition reader's `groupIdPrefix`). */
  readonly groupIdPrefix: string;
  readonly fetch?: FetchTuning;
  /** Records per atomic store write (restore.ts). Default DEFAULT_RESTORE_BATCH_SIZE. */
  readonly batchSize?: number;
  /** Progress of one target (at most every `progressIntervalMs`, and once at its end). */
  readonly onProgress?: (target: ChangelogTarget, progress: ChangelogProgress) => void;
  /** One target reached its targets on every partition; its store holds them, checkpoints included. */
  readonly onRestored?: (target: ChangelogTarget, result: RestoreResult) => void;
  readonly progressIntervalMs?: number;
}

/** What one job did per target; `caughtUp` false only when it was stopped first. */
export type ChangelogResults = ReadonlyMap<ChangelogTarget, RestoreResult>;

export class ChangelogReader {
  private reader: PartitionReading | undefined;
  private running: Promise<ChangelogResults> | undefined;
  private stopped = false;

  constructor(private readonly options: ChangelogReaderOptions) {}

  /** True when some span has offsets to read. */
  static hasWork(spans: Iterable<ChangelogSpan>): boolean {
    for (const span of spans) if (span.from < span.to) return true;
    return false;
  }

  /**
   * Restores every target; resolves once each reached its targets (or after `stop()`). Rejects when reading fails,
   * a store write fails or a decoder's policy says 'fail'; the other targets are stopped then.
   */
  run(): Promise<ChangelogResults> {
    if (this.running !== undefined) throw new PartitionReaderError('run() was already called; create a new ChangelogReader');
    this.running = this.restoreAll();
    return this.running;
  }

  /** Stops reading and waits until every store write of the job is done (the stores may be closed then). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reader?.stop().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private async restoreAll(): Promise<ChangelogResults> {
    const results = new Map<ChangelogTarget, RestoreResult>();
    const pending = new Map<ChangelogTarget, Map<TopicPartitionId, ChangelogSpan>>();
    for (const target of this.options.targets) {
      const spans = new Map([...target.partitions].filter(([, span]) => span.from < span.to));
      if (spans.size > 0) pending.set(target, spans);
    }
    if (pending.size === 0 || this.stopped) return results;

    const channels = new Map<ChangelogTarget, BatchChannel<RestoreBatch>>();
    const targetOf = new Map<TopicPartitionId, ChangelogTarget>();
    for (const [target, spans] of pending) {
      channels.set(target, new BatchChannel<RestoreBatch>());
      for (const tp of spans.keys()) {
        if (targetOf.has(tp)) throw new PartitionReaderError(`partition ${tp} is restored into two stores in one job`);
        targetOf.set(tp, target);
      }
    }
    const channelOf = (tp: TopicPartitionId): BatchChannel<RestoreBatch> =>
      channels.get(targetOf.get(tp) as ChangelogTarget) as BatchChannel<RestoreBatch>;
    const reader = this.options.readers({
      partitions: [...targetOf.keys()].map((tp) => {
        const { topic, partition } = parseTopicPartitionId(tp);
        return {
          topic,
          partition,
          offset: (pending.get(targetOf.get(tp) as ChangelogTarget) as Map<TopicPartitionId, ChangelogSpan>).get(tp)?.from,
        };
      }),
      endOffsets: new Map([...pending.values()].flatMap((spans) => [...spans].map(([tp, span]) => [tp, span.to] as const))),
      mode: 'until-end',
      groupIdPrefix: this.options.groupIdPrefix,
      fetch: this.options.fetch,
      onBatch: (records: ConsumedRecord[]) => channelOf(topicPartitionId(records[0].topic, records[0].partition)).push(records),
      // Unbuilt: restoreStore reads a run in place where its target allows, else builds its records.
      onRun: (run) => channelOf(topicPartitionId(run.topic, run.partition)).push(run),
      // The position may be past the last record (markers, gaps): it becomes the checkpoint, and the target's
      // restoreStore finishes as soon as all its partitions are there, without waiting for the other targets.
      onCaughtUp: (tp, position) => void channelOf(tp).push({ records: [], nextOffsets: new Map([[tp, position]]) }),
    });
    this.reader = reader;
    if (this.stopped) await reader.stop();
    const reading = reader.run().then(
      () => {
        for (const channel of channels.values()) channel.end();
      },
      (error: unknown) => {
        for (const channel of channels.values()) channel.fail(error);
      },
    );
    const settled = await Promise.allSettled(
      [...pending].map(async ([target, spans]) => {
        try {
          const result = await restoreStore({
            store: target.store,
            batches: channels.get(target) as BatchChannel<RestoreBatch>,
            endOffsets: new Map([...spans].map(([tp, span]) => [tp, span.to])),
            startOffsets: new Map([...spans].map(([tp, span]) => [tp, span.from])),
            decode: (record) => target.decoder.decode(record),
            batchSize: this.options.batchSize,
            decodeTombstones: target.decodeTombstones,
            versioned: target.versioned,
            needsVersions: target.needsVersions,
            needsVersionsAt: target.needsVersionsAt,
            storesAsJsonText: target.decoder.storesAsJsonText,
            meta: target.meta,
            onJudged: target.onJudged,
            onDecodeError: (record, error) => target.decoder.onDecodeError(record, error),
            onProgress: (progress) => this.options.onProgress?.(target, { restored: progress.restored, remaining: progress.remaining }),
            progressIntervalMs: this.options.progressIntervalMs,
          });
          results.set(target, result);
          if (result.caughtUp) {
            await target.afterRestore?.();
            this.options.onRestored?.(target, result);
          } else if (!this.stopped) throw new PartitionReaderError(`restoring ${target.label}: reading ended before its target offsets`);
        } catch (error) {
          // The other targets cannot finish without the reader: stop them too (they end unfinished).
          this.stopped = true;
          void reader.stop();
          throw error;
        }
      }),
    );
    await reader.stop().catch(() => undefined);
    await reading;
    // Every store write is settled here, failed or not: the caller may close the stores.
    const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    return results;
  }
}
