/**
 * Global tables on one instance: every partition of each global table's topic goes into one local store.
 *
 * 1. `bootstrap()`: per table, read from the store's checkpoint up to the end offsets taken now, through the engine's
 *    table decoder (same serdes and error policy as live updates) and `restoreStore` (big atomic write batches with
 *    checkpoints, progress). A restarted instance starts at its checkpoint; a new one builds the whole table.
 * 2. `startUpdates()`: one continuous reader over all global topics, from the stores' checkpoints, applying batches
 *    with `GlobalTableUpdater` (dead letters are acknowledged before the checkpoint moves past them).
 */
import { PartitionReaderError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import { GlobalTableUpdater } from '../engine/global-updater.js';
import type { EngineMetrics } from '../engine/metrics.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { PartitionReader, type PartitionStart } from '../kafka/partition-reader.js';
import { parseTopicPartitionId, topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { restoreStore, type RestoreBatch } from '../../state-store/restore.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { BatchChannel } from './batch-channel.js';
import type { Logger } from '../../common/logger.js';
import type { OutputSender } from './output-sender.js';
import type { RestorationTracker } from './restoration-tracker.js';
import { globalUpdatersWriteDeadLetters } from './dead-letter-ownership.js';

export interface GlobalTablesOptions {
  readonly topology: Topology;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  readonly stateDirectory: StateDirectory;
  readonly partitions: ReadonlyMap<string, number>;
  readonly errorPolicy: ErrorPolicy;
  readonly metrics: EngineMetrics;
  readonly tracker: RestorationTracker;
  readonly sender: OutputSender;
  readonly logger: Logger;
  /** The continuous reader failed for good (fail policy, lost topic): the app must fail. */
  readonly onFailure: (error: unknown) => void;
}

/** Fetch sizes for bulk reads: big fetches, few round trips. */
const BULK_FETCH = { maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 } as const;

export class GlobalTables {
  private readonly stores = new Map<string, KeyValueStore<unknown>>();
  private updates: PartitionReader | undefined;
  private updatesRun: Promise<void> | undefined;
  private bootstrapping: PartitionReader[] = [];
  private stopped = false;
  private caughtUp = false;

  constructor(private readonly options: GlobalTablesOptions) {}

  get isEmpty(): boolean {
    return this.options.topology.globalTables.length === 0;
  }

  /** True once every global table reached the end offsets taken at bootstrap. */
  get bootstrapped(): boolean {
    return this.caughtUp;
  }

  readOnlyStores(): ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>> {
    return new Map([...this.stores].map(([name, store]) => [name, store.readOnly()]));
  }

  store(name: string): KeyValueStore<unknown> | undefined {
    return this.stores.get(name);
  }

  async open(): Promise<void> {
    for (const spec of this.options.topology.globalTables) {
      this.stores.set(spec.store, await this.options.stateDirectory.openStore<unknown>(spec.store, 'global'));
    }
  }

  async bootstrap(): Promise<void> {
    await Promise.all(this.options.topology.globalTables.map((spec) => this.bootstrapTable(spec)));
    this.bootstrapping = [];
    if (!this.stopped) this.caughtUp = true;
  }

  startUpdates(): void {
    const { topology, client, errorPolicy, metrics, logger, sender } = this.options;
    if (this.isEmpty || this.stopped) return;
    // Dead letters of global-table records are written by the partition's owner, never here (dead-letter-ownership.ts).
    const updater = new GlobalTableUpdater({
      topology,
      stores: this.stores,
      errorPolicy,
      metrics,
      logger,
      writesDeadLetters: globalUpdatersWriteDeadLetters,
    });
    // Where to resume per partition: the lowest checkpoint of the stores fed by it (re-applying is idempotent).
    const starts = new Map<TopicPartitionId, PartitionStart>();
    for (const spec of topology.globalTables) {
      const checkpoints = (this.stores.get(spec.store) as KeyValueStore<unknown>).checkpoints();
      for (let partition = 0; partition < this.partitionCount(spec.topic); partition++) {
        const tp = topicPartitionId(spec.topic, partition);
        const offset = checkpoints.get(tp);
        const previous = starts.get(tp);
        const lowest =
          previous === undefined
            ? offset
            : previous.offset === undefined || offset === undefined
              ? undefined
              : Math.min(previous.offset, offset);
        starts.set(tp, { topic: spec.topic, partition, offset: lowest });
      }
    }
    const reader = new PartitionReader(client, {
      partitions: [...starts.values()],
      mode: 'forever',
      groupIdPrefix: `${topology.applicationId}-global-updates`,
      onBatch: async (records) => {
        const batch = updater.prepare(records);
        await sender.send(batch.deadLetters);
        await updater.write(batch);
      },
    });
    this.updates = reader;
    this.updatesRun = reader.run().catch((error: unknown) => {
      if (!this.stopped) this.options.onFailure(error);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.bootstrapping, ...(this.updates ? [this.updates] : [])].map((reader) => reader.stop().catch(() => undefined)),
    );
    await this.updatesRun;
  }

  private partitionCount(topic: string): number {
    return this.options.partitions.get(topic) ?? 1;
  }

  private async bootstrapTable(spec: Topology['globalTables'][number]): Promise<void> {
    const { admin, client, tracker, topology, errorPolicy, logger } = this.options;
    const store = this.stores.get(spec.store) as KeyValueStore<unknown>;
    const ends = await admin.fetchEndOffsets(spec.topic);
    const endOffsets = new Map<TopicPartitionId, number>();
    for (const [partition, end] of ends) endOffsets.set(topicPartitionId(spec.topic, partition), end);
    const checkpoints = store.checkpoints();
    const startOf = (tp: TopicPartitionId): number => checkpoints.get(tp) ?? 0;
    const totalEnd = sum(endOffsets.values());
    const startPosition = sum([...endOffsets.keys()].map((tp) => Math.min(startOf(tp), endOffsets.get(tp) as number)));
    tracker.begin(spec.store, 'global', startPosition, totalEnd);
    const pending = [...endOffsets].filter(([tp, end]) => startOf(tp) < end);
    if (pending.length === 0) {
      tracker.finish(spec.store, 'global');
      logger.info('global table is up to date from its local checkpoint', { store: spec.store });
      return;
    }

    const channel = new BatchChannel<RestoreBatch>();
    const reader = new PartitionReader(client, {
      partitions: pending.map(([tp]) => ({ topic: spec.topic, partition: partitionOf(tp), offset: checkpoints.get(tp) })),
      endOffsets: new Map(pending),
      mode: 'until-end',
      groupIdPrefix: `${topology.applicationId}-global-restore`,
      fetch: BULK_FETCH,
      onBatch: (records: ConsumedRecord[]) => channel.push(records),
    });
    this.bootstrapping.push(reader);
    const reading = reader.run().then(
      async () => {
        // Compaction gaps or markers at the end: hand over the reader's final positions, then finish.
        await channel.push({ records: [], nextOffsets: reader.positions() });
        channel.end();
      },
      (error: unknown) => channel.fail(error),
    );
    // Bad records: their dead letters are the partition owner's to write (dead-letter-ownership.ts); skips are counted.
    const decoder = createTableRecordDecoder(spec, {
      applicationId: topology.applicationId,
      errorPolicy,
      logger,
      metrics: this.options.metrics,
      deadLetteredElsewhere: 'owner',
    });
    let reported = 0;
    const result = await restoreStore({
      store,
      batches: channel,
      endOffsets: new Map(pending),
      decode: (record) => decoder.decode(record),
      onDecodeError: (record, error) => decoder.onDecodeError(record, error),
      onProgress: (progress) => {
        tracker.advance(spec.store, 'global', progress.restored - reported, totalEnd - progress.remaining);
        reported = progress.restored;
      },
    });
    await reader.stop();
    await reading;
    tracker.advance(spec.store, 'global', result.restored - reported, totalEnd);
    if (!result.caughtUp) {
      if (this.stopped) return;
      throw new PartitionReaderError(`global table '${spec.store}': reading ${spec.topic} ended before its end offsets`);
    }
    tracker.finish(spec.store, 'global');
    logger.info('global table restored', { store: spec.store, records: result.restored, elapsedMs: Math.round(result.elapsedMs) });
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function partitionOf(tp: TopicPartitionId): number {
  return parseTopicPartitionId(tp).partition;
}
