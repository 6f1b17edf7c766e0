/**
 * Global tables on one instance: every partition of each global table's topic goes into one local store.
 *
 * 1. `bootstrap()`: per table, a ChangelogReader (changelog-reader.ts, the component co-partitioned tables restore
 *    with too) reads from the store's checkpoint up to the end offsets taken now, through the engine's table decoder
 *    (same serdes and error policy as live updates) into big atomic write batches with checkpoints. A restarted
 *    instance starts at its checkpoint; a new one builds the whole table. Where a partition's checkpoint lies outside
 *    its log (retention removed records the store needs, or the topic was recreated: restore-range.ts), the whole
 *    store is cleared and rebuilt from the log start, with a log line saying so: a global store does not know which
 *    partition a key came from. Each table has a mode (engine/global-table-mode.ts): fast (blind writes in offset
 *    order) until a key can sit in two partitions, then versioned; a fast bootstrap meeting a misplaced record
 *    starts over, from an empty store, with versions.
 * 2. `startUpdates()`: one continuous reader over all global topics, from the stores' checkpoints, applying batches
 *    with `GlobalTableUpdater` (dead letters are acknowledged before the checkpoint moves past them). When partitions
 *    are added to a global topic, `followAddedPartitions()` turns its fast tables versioned (in place) and replaces
 *    the reader by one over every partition (the new ones from their first offset).
 */
import type { Topology } from '../../topology/topology.js';
import { GlobalTableUpdater } from '../engine/global-updater.js';
import type { EngineMetrics } from '../engine/metrics.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import { createTableRecordDecoder, type TableRecordDecoder } from '../engine/table-decoder.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { PartitionReader, type PartitionStart } from '../kafka/partition-reader.js';
import type { PartitionReaderFactory, PartitionReading } from '../kafka/partition-reading.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { ChangelogReader, type ChangelogSpan } from './changelog-reader.js';
import { describeRebuild, restoreRange } from './restore-range.js';
import type { Logger } from '../../common/logger.js';
import type { OutputSender } from './output-sender.js';
import type { RestorationTracker } from './restoration-tracker.js';
import { globalUpdatersWriteDeadLetters } from './dead-letter-ownership.js';
import type { GlobalVerdictSink } from './global-dead-letters.js';
import {
  GLOBAL_TABLE_MODE_META,
  GlobalTableModes,
  decodeGlobalTableMode,
  isMisplaced,
  isMisplacedAt,
  misplacedMessage,
  type GlobalTableMode,
} from '../engine/global-table-mode.js';
import { VersionsNeeded } from '../../state-store/record-version.js';

export interface GlobalTablesOptions {
  readonly topology: Topology;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  /** Readers for the bootstrap (default: kafkajs PartitionReaders on `client`). */
  readonly readers?: PartitionReaderFactory;
  readonly stateDirectory: StateDirectory;
  readonly partitions: ReadonlyMap<string, number>;
  readonly errorPolicy: ErrorPolicy;
  readonly metrics: EngineMetrics;
  readonly tracker: RestorationTracker;
  readonly sender: OutputSender;
  readonly logger: Logger;
  /** The continuous reader failed for good (fail policy, lost topic): the app must fail. */
  readonly onFailure: (error: unknown) => void;
  /** Records per atomic store write while bootstrapping (`memory.globalRestoreBatchRecords`). */
  readonly restoreBatchRecords?: number;
  /** Called after each batch of updates is written to the stores (the change feed publishes it). */
  readonly onBatchWritten?: (records: readonly ConsumedRecord[]) => void;
  /**
   * Where the bootstrap and the updater report their verdicts on the topics whose dead letters come from them
   * (global-dead-letters.ts): where they start reading, each bad record, how far they judged.
   */
  readonly verdicts?: GlobalVerdictSink;
}

export class GlobalTables {
  private readonly stores = new Map<string, KeyValueStore<unknown>>();
  private readonly modes: GlobalTableModes;
  private updates: PartitionReading | undefined;
  private updatesRun: Promise<void> | undefined;
  private bootstrapping: ChangelogReader[] = [];
  private stopped = false;
  private caughtUp = false;

  constructor(private readonly options: GlobalTablesOptions) {
    this.modes = new GlobalTableModes(options.partitions, options.logger);
  }

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
      modes: this.modes,
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
    const verdicts = this.options.verdicts;
    if (verdicts !== undefined) {
      // A partition without a checkpoint is read from its first offset: nothing lies below the log start.
      for (const [tp, start] of starts) if (verdicts.topics.has(start.topic)) verdicts.readFrom(tp, start.offset ?? 0);
    }
    const readers = this.options.readers ?? ((options) => new PartitionReader(client, options));
    const reader = readers({
      partitions: [...starts.values()],
      mode: 'forever',
      groupIdPrefix: `${topology.applicationId}-global-updates`,
      onBatch: async (records) => {
        const batch = updater.prepare(records);
        // A batch is one partition's: its verdicts, then how far they go.
        if (verdicts !== undefined && records.length > 0 && verdicts.topics.has(records[0].topic)) {
          const last = records[records.length - 1];
          const tp = topicPartitionId(last.topic, last.partition);
          for (const { record, error } of batch.deferred) verdicts.bad(tp, record, error);
          verdicts.reached(tp, last.offset + 1);
        }
        await sender.send(batch.deadLetters);
        const lost = await updater.write(batch);
        // Records older than what a versioned store holds for their key (read from another partition) changed nothing.
        this.options.onBatchWritten?.(lost.size === 0 ? records : records.filter((record) => !lost.has(record)));
      },
    });
    this.updates = reader;
    this.updatesRun = reader.run().catch((error: unknown) => {
      if (!this.stopped) this.options.onFailure(error);
    });
  }

  /**
   * Partitions were added to a global table's topic (the `partitions` map already has the new counts): the
   * continuous reader is replaced by one over every partition, resuming from the stores' checkpoints; the new
   * partitions, which have none, are read from their first offset.
   */
  async followAddedPartitions(): Promise<void> {
    const reader = this.updates;
    if (this.isEmpty || this.stopped || reader === undefined) return;
    this.updates = undefined;
    await reader.stop().catch(() => undefined);
    await this.updatesRun;
    if (this.stopped) return;
    // A key may now have records in two partitions: versions from here on, the store kept (global-table-mode.ts).
    for (const store of this.modes.grownFastTables()) {
      this.modes.switchToVersioned(store, `global table ${store} keeps record versions from now on: its topic grew`);
    }
    this.options.logger.info('global tables read the added partitions from their first offset', {
      topics: [...new Set(this.options.topology.globalTables.map((spec) => `${spec.topic}:${this.partitionCount(spec.topic)}`))].join(','),
    });
    this.startUpdates();
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

  /**
   * Brings one global store up to the end offsets taken now. The table's mode (global-table-mode.ts) decides how:
   * fast (blind writes in offset order; a misplaced record starts the bootstrap over, from an empty store, with
   * versions) or versioned (a fast store whose topic grew since it was built turns versioned in place).
   */
  private async bootstrapTable(spec: Topology['globalTables'][number]): Promise<void> {
    const { admin, logger } = this.options;
    let store = this.stores.get(spec.store) as KeyValueStore<unknown>;
    const logs = await admin.fetchOffsetRanges(spec.topic);
    for (const [partition, log] of logs) {
      const tp = topicPartitionId(spec.topic, partition);
      const checkpoint = store.checkpoints().get(tp);
      const { rebuild } = restoreRange(checkpoint, log);
      if (rebuild === undefined) continue;
      logger.warn(
        `global store ${spec.store} is cleared and rebuilt from the log start of every partition of ${spec.topic}: ${tp}: ${describeRebuild(rebuild)}`,
        { store: spec.store, partition, checkpoint, logStartOffset: log.start, endOffset: log.end },
      );
      store = await this.recreateStore(spec.store);
      break;
    }
    const partitions = logs.size;
    const persisted = store.meta(GLOBAL_TABLE_MODE_META);
    // A store without a mode is new, or was written before modes existed (then built with today's count).
    let mode: GlobalTableMode = decodeGlobalTableMode(persisted) ?? { kind: 'fast', partitions };
    if (mode.kind === 'fast' && mode.partitions < partitions && store.checkpoints().size > 0) {
      logger.warn(
        `global table ${spec.store} keeps record versions from now on: ${spec.topic} grew from ${mode.partitions} to ${partitions} partitions`,
        {
          store: spec.store,
          topic: spec.topic,
        },
      );
      mode = { kind: 'versioned' };
    }
    if (mode.kind === 'fast') mode = { kind: 'fast', partitions };
    this.modes.set(spec.store, spec.topic, mode, persisted);
    try {
      await this.restoreTable(spec, store, logs, mode);
    } catch (error) {
      if (!(error instanceof VersionsNeeded)) throw error;
      if (this.stopped) return;
      // Deletes applied blindly left no marker: an older record read later would bring their key back. Start over.
      logger.warn(`${misplacedMessage(spec.store, error.record as ConsumedRecord, partitions)}; its bootstrap starts over`, {
        store: spec.store,
        topic: spec.topic,
      });
      store = await this.recreateStore(spec.store);
      mode = { kind: 'versioned' };
      this.modes.set(spec.store, spec.topic, mode, undefined);
      await this.restoreTable(spec, store, logs, mode);
    }
  }

  /**
   * A bootstrap leaves its last write buffer (up to `memory.globalStoreWriteBufferBytes`) in memory, and live updates
   * would hold it for as long as the process runs: written out as a table file in the background, it is freed
   * before the stream tasks start taking memory of their own. Not awaited (ready is not delayed); `close()` waits.
   */
  private flushAfterBootstrap(name: string, store: KeyValueStore<unknown>): void {
    if (store.flushWriteBuffer === undefined || this.stopped) return;
    const failed = (error: unknown): void =>
      this.options.logger.debug("writing out the global store's write buffer failed (kept in memory)", {
        store: name,
        error: error instanceof Error ? error.message : String(error),
      });
    try {
      store.flushWriteBuffer().catch(failed);
    } catch (error) {
      failed(error); // closed meanwhile
    }
  }

  private async recreateStore(name: string): Promise<KeyValueStore<unknown>> {
    await this.options.stateDirectory.deleteStore(name, 'global');
    const store = await this.options.stateDirectory.openStore<unknown>(name, 'global');
    this.stores.set(name, store);
    return store;
  }

  private async restoreTable(
    spec: Topology['globalTables'][number],
    store: KeyValueStore<unknown>,
    logs: Awaited<ReturnType<KafkaAdmin['fetchOffsetRanges']>>,
    mode: GlobalTableMode,
  ): Promise<void> {
    const { client, tracker, topology, errorPolicy, logger } = this.options;
    const checkpoints = store.checkpoints();
    const spans = new Map<TopicPartitionId, ChangelogSpan>();
    // The table's verdicts are its topic's (only one global table reads a topic whose letters come from verdicts).
    const verdicts = this.options.verdicts?.topics.has(spec.topic) === true ? this.options.verdicts : undefined;
    let startPosition = 0;
    let totalEnd = 0;
    for (const [partition, log] of logs) {
      const tp = topicPartitionId(spec.topic, partition);
      const range = restoreRange(checkpoints.get(tp), log);
      spans.set(tp, { from: range.from, to: range.to });
      verdicts?.readFrom(tp, range.from);
      startPosition += Math.min(range.from, log.end);
      totalEnd += log.end;
    }
    tracker.begin(spec.store, 'global', startPosition, totalEnd, { partitions: logs.size });
    if (!ChangelogReader.hasWork(spans.values())) {
      tracker.finish(spec.store, 'global');
      logger.info('global table is up to date from its local checkpoint', { store: spec.store });
      return;
    }
    const partitions = logs.size;
    const meta = this.modes.pendingMeta(spec.store);
    let reported = 0;
    // Bad records: their dead letters are the partition owner's to write (dead-letter-ownership.ts); skips are counted.
    const decoder = createTableRecordDecoder(spec, {
      applicationId: topology.applicationId,
      errorPolicy,
      logger,
      metrics: this.options.metrics,
      deadLetteredElsewhere: 'owner',
    });
    const reportingDecoder = verdicts === undefined ? decoder : reportingVerdicts(decoder, verdicts);
    const reader = new ChangelogReader({
      batchSize: this.options.restoreBatchRecords,
      targets: [
        {
          label: spec.store,
          store,
          partitions: spans,
          versioned: mode.kind === 'versioned',
          needsVersions: mode.kind === 'fast' ? (record) => isMisplaced(record, partitions) : undefined,
          needsVersionsAt: mode.kind === 'fast' ? (cursor, partition) => isMisplacedAt(cursor, partition, partitions) : undefined,
          // The mode lands with the first batch it applies to (global-table-mode.ts).
          meta,
          decoder: reportingDecoder,
          onJudged: verdicts === undefined ? undefined : (tp, next) => verdicts.reached(tp, next),
        },
      ],
      readers: this.options.readers ?? ((options) => new PartitionReader(client, options)),
      groupIdPrefix: `${topology.applicationId}-global-restore`,
      onProgress: (_target, progress) => {
        tracker.advance(spec.store, 'global', progress.restored - reported, totalEnd - progress.remaining);
        reported = progress.restored;
      },
    });
    this.bootstrapping.push(reader);
    const results = await reader.run();
    const [result] = results.values();
    if (result === undefined || !result.caughtUp) return; // stopped
    if (meta !== undefined) this.modes.persisted(spec.store, meta);
    tracker.advance(spec.store, 'global', result.restored - reported, totalEnd);
    tracker.finish(spec.store, 'global');
    this.flushAfterBootstrap(spec.store, store);
    logger.info('global table restored', {
      store: spec.store,
      records: result.restored,
      elapsedMs: Math.round(result.elapsedMs),
      mode: mode.kind,
    });
  }
}

/**
 * `decoder` reporting each bad record it skips to `verdicts` (the global dead-letter writer), the bootstrap's verdicts.
 * The records its `storesAsJsonText` accepts are good ones, with no verdict to report: the bootstrap still reads them
 * in place.
 */
export function reportingVerdicts(decoder: TableRecordDecoder, verdicts: Pick<GlobalVerdictSink, 'bad'>): TableRecordDecoder {
  return {
    decode: (record) => decoder.decode(record),
    storesAsJsonText: decoder.storesAsJsonText,
    onDecodeError: (record, error) => {
      const decision = decoder.onDecodeError(record, error);
      const report = (verdict: 'skip' | 'fail'): 'skip' | 'fail' => {
        if (verdict === 'skip') verdicts.bad(topicPartitionId(record.topic, record.partition), record, error);
        return verdict;
      };
      return typeof decision === 'string' ? report(decision) : decision.then(report);
    },
  };
}
