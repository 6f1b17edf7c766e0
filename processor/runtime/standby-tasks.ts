/**
 * Standby replicas (`numStandbyReplicas`): warm copies of other instances' task stores, kept up to date from the
 * topics that feed them, so a failover resumes from a recent checkpoint instead of the beginning of the topic.
 *
 * A standby of task `(s, p)` holds, in this instance's state directory, the stores an active task of `(s, p)` would
 * open: table stores read from partition p of their source topics, derived (aggregation, table-join) stores from
 * partition p of their changelog topics. One `forever` partition reader (outside the group) feeds all standbys of an
 * assignment; every batch is one atomic store write with its checkpoint, exactly like restoration. Window stores
 * are not kept on standby (their stream time is set by a finished restoration; the active task restores them).
 *
 * When a standby becomes active on this instance, its stores are handed over open (the active task's `openStore`
 * gets the same handle) and the task restores only from the standby's checkpoint: the records the standby had not
 * read yet. The store directories make the task count as local state at the next join, so the assignor prefers this
 * instance for it when it has to move.
 */
import type { Logger } from '../../common/logger.js';
import { parseTaskId, type TaskId } from '../../common/task-id.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { KeyValueStore, ReadOnlyKeyValueStore, StoreWrite } from '../../state-store/types.js';
import type { Topology } from '../../topology/topology.js';
import { createChangelogDecoder } from '../engine/changelog.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import type { ClusterLookups } from '../kafka/cluster-lookups.js';
import type { PartitionReaderFactory, PartitionReading } from '../kafka/partition-reading.js';
import type { TaskLogOffsets } from '../kafka/warmup-assignor.js';
import { restoreRange } from './restore-range.js';

export interface StandbyTasksOptions {
  readonly topology: Topology;
  readonly stateDirectory: StateDirectory;
  readonly cluster: Pick<ClusterLookups, 'fetchOffsetRanges'>;
  readonly readers: PartitionReaderFactory;
  readonly errorPolicy: ErrorPolicy | undefined;
  readonly metrics: EngineMetrics;
  readonly logger: Logger;
  /** A dropped standby's stores are about to close (their checkpoints stay on disk: local-checkpoints.ts). */
  readonly onClosing?: (task: TaskId, stores: ReadonlyMap<string, KeyValueStore<unknown>>) => void;
  /**
   * Whether a standby store may answer stale reads: after its topic grew, a standby of a task that gets keys from
   * earlier partitions follows only its own partition, so it lacks the moved keys (see holdsAllItsKeys). Default: yes.
   */
  readonly servesReads?: (task: TaskId, store: string, checkpoints: ReadonlyMap<TopicPartitionId, number>) => boolean;
}

/** One partition a standby follows, and the store it writes. */
interface Followed {
  readonly task: TaskId;
  readonly store: KeyValueStore<unknown>;
  readonly decode: (record: ConsumedRecord) => StoreWrite<unknown> | null;
  readonly onDecodeError: (record: ConsumedRecord, error: unknown) => 'skip' | 'fail' | Promise<'skip' | 'fail'>;
  readonly decodeTombstones: boolean;
}

/**
 * The stores a standby (or warm-up) of a task of sub-topology `subId` keeps, with the topic whose partition p feeds
 * them: table stores (their source topics) and derived stores (their changelog topics).
 */
export function followedStores(topology: Topology, subId: number): { readonly store: string; readonly topic: string }[] {
  const subtopology = topology.subtopologies[subId];
  if (subtopology === undefined) return [];
  return [
    ...subtopology.tableSources.map((spec) => ({ store: spec.store, topic: spec.topic })),
    ...topology.stores
      .filter((spec) => spec.subtopologyId === subId && spec.kind === 'derived' && spec.changelogTopic !== undefined)
      .map((spec) => ({ store: spec.name, topic: spec.changelogTopic as string })),
  ];
}

/**
 * The log offsets of every followed partition of `tasks`, summed per task: the leader's side of the warm-up rule
 * (a member's lag from its checkpoint sum is `end − sum`; from scratch it is `end − start`, less after compaction).
 */
export async function taskLogOffsets(
  topology: Topology,
  cluster: Pick<ClusterLookups, 'fetchOffsetRanges'>,
  tasks: readonly TaskId[],
): Promise<TaskLogOffsets> {
  const topics = [...new Set(topology.subtopologies.flatMap((sub) => followedStores(topology, sub.id).map((s) => s.topic)))];
  const ranges = new Map(await Promise.all(topics.map(async (topic) => [topic, await cluster.fetchOffsetRanges(topic)] as const)));
  const sums = new Map<TaskId, { start: number; end: number }>();
  for (const id of tasks) {
    const { subtopology, partition } = parseTaskId(id);
    const followed = followedStores(topology, subtopology);
    if (followed.length === 0) continue;
    const sum = { start: 0, end: 0 };
    for (const { topic } of followed) {
      const range = ranges.get(topic)?.get(partition);
      sum.start += range?.start ?? 0;
      sum.end += range?.end ?? 0;
    }
    sums.set(id, sum);
  }
  return sums;
}

export class StandbyTasks {
  private readonly stores = new Map<TaskId, Map<string, KeyValueStore<unknown>>>();
  private reader: PartitionReading | undefined;
  private running: Promise<void> | undefined;
  private applied = 0;
  /** Per followed partition: its store and topic-partition, for stale reads. */
  private readonly followedStores = new Map<TaskId, Map<string, TopicPartitionId>>();
  /** End offsets of the followed partitions, refreshed every second while following (the lag of stale reads). */
  private readonly ends = new Map<TopicPartitionId, number>();
  private refresh: NodeJS.Timeout | undefined;
  /** The reader being stopped (`stopReading`), awaited by the next `pause`. */
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: StandbyTasksOptions) {}

  /** The standby tasks this instance keeps now. */
  get tasks(): TaskId[] {
    return [...this.stores.keys()];
  }

  /**
   * The standby store `store` of `task` kept here, and how far behind the end offsets last seen it is (records), or
   * undefined when there is none or its end offset is not known yet.
   */
  replica(task: TaskId, store: string): { store: ReadOnlyKeyValueStore<unknown>; lagRecords: number } | undefined {
    const tp = this.followedStores.get(task)?.get(store);
    const kv = this.stores.get(task)?.get(store);
    if (tp === undefined || kv === undefined || !this.ends.has(tp)) return undefined;
    if (this.options.servesReads?.(task, store, kv.checkpoints()) === false) return undefined;
    const lagRecords = Math.max(0, (this.ends.get(tp) ?? 0) - (kv.checkpoints().get(tp) ?? 0));
    return { store: kv.readOnly(), lagRecords };
  }

  /**
   * Per standby kept here whose end offsets are known: how many records its stores are behind them in total (the
   * lag a warm-up reports in JoinGroup; end offsets are refreshed every second).
   */
  lags(): Map<TaskId, number> {
    const lags = new Map<TaskId, number>();
    for (const [task, byStore] of this.followedStores) {
      let lag = 0;
      for (const [name, tp] of byStore) {
        const end = this.ends.get(tp);
        const store = this.stores.get(task)?.get(name);
        if (end === undefined || store === undefined) {
          lag = Number.POSITIVE_INFINITY;
          break;
        }
        lag += Math.max(0, end - (store.checkpoints().get(tp) ?? 0));
      }
      if (Number.isFinite(lag)) lags.set(task, lag);
    }
    return lags;
  }

  /** Records written to standby stores since start. */
  get appliedRecords(): number {
    return this.applied;
  }

  /**
   * Stops following; every write is settled afterwards. Standbys that became `active` keep their stores open (the
   * active task takes the same handles); the others not in `keep` are closed.
   */
  async pause(keep: ReadonlySet<TaskId>, active: ReadonlySet<TaskId>): Promise<void> {
    await this.stopReading();
    this.followedStores.clear();
    this.ends.clear();
    this.running = undefined;
    for (const [id, stores] of [...this.stores]) {
      if (keep.has(id) && !active.has(id)) continue;
      this.stores.delete(id);
      if (active.has(id)) continue;
      this.options.onClosing?.(id, stores);
      await Promise.all([...stores.values()].map((store) => store.close()));
    }
  }

  /**
   * Stops reading (every write settled when it resolves) but keeps the stores and their lags: called when a rebalance
   * starts, so stopping the reader (a fetch in flight, leaving its group) overlaps the join instead of delaying the
   * next assignment. `pause` finishes the job.
   */
  stopReading(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (this.refresh !== undefined) clearInterval(this.refresh);
    this.refresh = undefined;
    const running = this.running;
    this.running = undefined;
    const previous = this.stopping ?? Promise.resolve();
    const stopping = (async () => {
      await previous;
      await reader?.stop().catch(() => undefined);
      await running;
    })();
    this.stopping = stopping;
    return stopping;
  }

  /** Opens the stores of `standbys` and follows their partitions from the stores' checkpoints until the next `pause`. */
  async follow(standbys: readonly TaskId[], onFailure: (error: unknown) => void): Promise<void> {
    const { topology, stateDirectory, cluster, logger } = this.options;
    const followed = new Map<TopicPartitionId, Followed>();
    const starts: { topic: string; partition: number; offset: number | undefined }[] = [];
    const logs = new Map<string, ReadonlyMap<number, { start: number; end: number }>>();
    const logOf = async (topic: string) => {
      let log = logs.get(topic);
      if (log === undefined) {
        log = await cluster.fetchOffsetRanges(topic);
        logs.set(topic, log);
      }
      return log;
    };
    for (const id of standbys) {
      const { subtopology: subId, partition } = parseTaskId(id);
      const subtopology = topology.subtopologies[subId];
      if (subtopology === undefined) continue;
      const sources = [
        ...subtopology.tableSources.map((spec) => ({
          store: spec.store,
          topic: spec.topic,
          decodeTombstones: false,
          decoder: createTableRecordDecoder(spec, {
            applicationId: topology.applicationId,
            errorPolicy: this.options.errorPolicy,
            logger,
            metrics: this.options.metrics,
            deadLetteredElsewhere: 'owner',
          }),
        })),
        ...topology.stores
          .filter((spec) => spec.subtopologyId === subId && spec.kind === 'derived' && spec.changelogTopic !== undefined)
          .map((spec) => ({
            store: spec.name,
            topic: spec.changelogTopic as string,
            decodeTombstones: true,
            decoder: createChangelogDecoder(spec),
          })),
      ];
      if (sources.length === 0) continue;
      const stores = this.stores.get(id) ?? new Map<string, KeyValueStore<unknown>>();
      this.stores.set(id, stores);
      for (const source of sources) {
        const tp = topicPartitionId(source.topic, partition);
        let store = stores.get(source.store) ?? (await stateDirectory.openStore<unknown>(source.store, partition));
        const log = (await logOf(source.topic)).get(partition) ?? { start: 0, end: 0 };
        const range = restoreRange(store.checkpoints().get(tp), log);
        if (range.rebuild !== undefined) {
          // The log cannot continue from the checkpoint (retention, a recreated topic): start over, as restoration does.
          await stateDirectory.deleteStore(source.store, partition);
          store = await stateDirectory.openStore<unknown>(source.store, partition);
        }
        stores.set(source.store, store);
        const byStore = this.followedStores.get(id) ?? new Map<string, TopicPartitionId>();
        byStore.set(source.store, tp);
        this.followedStores.set(id, byStore);
        this.ends.set(tp, log.end);
        followed.set(tp, {
          task: id,
          store,
          decode: (record) => source.decoder.decode(record),
          onDecodeError: (record, error) => source.decoder.onDecodeError(record, error),
          decodeTombstones: source.decodeTombstones,
        });
        starts.push({ topic: source.topic, partition, offset: range.from });
      }
    }
    if (starts.length === 0) return;
    const reader = this.options.readers({
      partitions: starts,
      mode: 'forever',
      groupIdPrefix: `${topology.applicationId}-standby`,
      // A short fetch wait: stopping the reader at a rebalance waits for the fetch in flight on a quiet partition.
      // Fetch sizes: the configured restorationFetch (readers apply it), so standbys take no more memory than restores.
      fetch: { maxWaitTimeInMs: 100 },
      onBatch: (records) => this.apply(followed, records),
    });
    this.reader = reader;
    this.running = reader.run().catch((error: unknown) => {
      if (this.reader === reader) onFailure(error);
    });
    const topics = [...new Set(starts.map((start) => start.topic))];
    this.refresh = setInterval(() => {
      void Promise.all(
        topics.map(async (topic) => {
          for (const [partition, range] of await cluster.fetchOffsetRanges(topic)) {
            const tp = topicPartitionId(topic, partition);
            if (this.ends.has(tp)) this.ends.set(tp, range.end);
          }
        }),
      ).catch(() => undefined); // the next refresh tries again; stale reads see the older end meanwhile
    }, 1000);
    this.refresh.unref();
    logger.info('standby tasks following their partitions', { tasks: standbys.join(','), partitions: starts.length });
  }

  /** One batch of one partition: decoded in order, written with its checkpoint in one atomic batch. */
  private async apply(followed: ReadonlyMap<TopicPartitionId, Followed>, records: readonly ConsumedRecord[]): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    const tp = topicPartitionId(first.topic, first.partition);
    const target = followed.get(tp);
    if (target === undefined) return;
    const checkpoint = target.store.checkpoints().get(tp);
    const writes: StoreWrite<unknown>[] = [];
    for (const record of records) {
      if (checkpoint !== undefined && record.offset < checkpoint) continue;
      if (record.value === null && record.key !== null && !target.decodeTombstones) {
        writes.push({ type: 'delete', key: record.key });
        continue;
      }
      try {
        const write = target.decode(record);
        if (write !== null) writes.push(write);
      } catch (error) {
        if ((await target.onDecodeError(record, error)) === 'fail') throw error;
      }
    }
    await target.store.write(writes, new Map([[tp, last.offset + 1]]));
    this.applied += writes.length;
  }
}
