/**
 * Applies consumed records of global-table topics to their global stores: the same decoding and error policy as
 * co-partitioned table sources (table-decoder.ts), one atomic `write` per store per batch carrying the
 * checkpoints (next offset per partition) of the records it covers. Values are stored as the bootstrap stores them
 * (`decodeStoredTableRecord`: a `Serdes.json()` table keeps the record's JSON text, checked, not re-encoded), so
 * joins and lookups read the same thing whichever path wrote a key; the change feed publishes from the records.
 *
 * Every instance reads every partition of a global topic, so the dead letters of bad records are not every
 * updater's to write: `writesDeadLetters(topic)` says which topics are this updater's. For the others a bad record
 * under 'dead-letter' is skipped here and counted as `notDeadLettered.owner` (the task owning the partition writes
 * it when the topic also feeds a sub-topology; the elected reader does for a global-only topic). At most one dead
 * letter per record, however many global tables read the topic.
 *
 * Two steps so dead letters are acknowledged before the checkpoint moves past the bad records:
 *   const batch = updater.prepare(records);   // decode + policy; throws under 'fail'
 *   await send(batch.deadLetters);            // runtime: produce and await acks
 *   await updater.write(batch);               // store writes + checkpoints
 */
import { DeserializationError, MissingStoreError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { GlobalTableSpec } from '../../topology/specs.js';
import type { Logger } from '../../common/logger.js';
import type { KeyValueStore, StoreWrite } from '../../state-store/types.js';
import { applicableWrites } from '../../state-store/restore.js';
import { misplacedMessage, type GlobalTableModes } from './global-table-mode.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import { resolveErrorPolicy, type ErrorPolicy, type ResolvedErrorPolicy } from './error-policy.js';
import { deadLetterRecord, errorClassName, errorMessageOf } from '../../common/dead-letters.js';
import { EngineMetrics } from './metrics.js';
import { decodeStoredTableRecord } from './table-decoder.js';
import { bypassesErrorPolicy } from './formatted-table-decoder.js';

export interface GlobalTableUpdaterOptions {
  readonly topology: Topology;
  /** One store per global table, by store name. */
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  readonly errorPolicy?: ErrorPolicy;
  readonly metrics?: EngineMetrics;
  readonly logger?: Logger;
  /**
   * Whether this updater writes the dead letters of `topic`'s bad records. Default: for topics no sub-topology
   * reads (one instance, e.g. the test driver); the runtime says never (see the module comment).
   */
  readonly writesDeadLetters?: (topic: string) => boolean;
  /**
   * Per table: blind writes (fast) or record versions (global-table-mode.ts); a fast table meeting a misplaced record
   * switches to versioned in place. Default: every table fast, never switching (one instance, e.g. the test driver).
   */
  readonly modes?: GlobalTableModes;
}

export interface GlobalBatch {
  readonly deadLetters: readonly ProducedRecord[];
  /** Bad records under 'dead-letter' whose letter is not this updater's to write (the owner's verdicts). */
  readonly deferred: readonly { readonly record: ConsumedRecord; readonly error: unknown }[];
  /** @internal store name → writes, checkpoints and the record behind each write */
  readonly writes: ReadonlyMap<string, PendingGlobalWrites>;
}

/** @internal */
export interface PendingGlobalWrites {
  writes: StoreWrite<unknown>[];
  checkpoints: Map<TopicPartitionId, number>;
  /** Versioned tables only: the record behind each write (records whose write loses change nothing). */
  sources: Map<StoreWrite<unknown>, ConsumedRecord> | undefined;
}

export class GlobalTableUpdater {
  /** Global-table topics this updater accepts. */
  readonly topics: readonly string[];
  private readonly tables = new Map<string, { spec: GlobalTableSpec; store: KeyValueStore<unknown>; policy: ResolvedErrorPolicy }[]>();
  private readonly metrics: EngineMetrics;
  private readonly logger: Logger | undefined;
  private readonly applicationId: string;
  private readonly writesDeadLetters: (topic: string) => boolean;
  private readonly modes: GlobalTableModes | undefined;

  constructor(options: GlobalTableUpdaterOptions) {
    this.metrics = options.metrics ?? new EngineMetrics();
    this.logger = options.logger;
    this.applicationId = options.topology.applicationId;
    this.modes = options.modes;
    const { topology } = options;
    this.writesDeadLetters =
      options.writesDeadLetters ?? ((topic) => !topology.subtopologies.some((sub) => sub.sourceTopics.includes(topic)));
    for (const spec of options.topology.globalTables) {
      const store = options.stores.get(spec.store);
      if (!store) throw new MissingStoreError(spec.store, 'GlobalTableUpdater');
      const policy = resolveErrorPolicy(this.applicationId, options.errorPolicy, spec.errorPolicy);
      this.tables.set(spec.topic, [...(this.tables.get(spec.topic) ?? []), { spec, store, policy }]);
    }
    this.topics = Object.freeze([...this.tables.keys()].sort());
  }

  /**
   * Decodes a batch. Bad records follow the table's deserialization policy; under 'fail' this throws the
   * `DeserializationError` and nothing of the batch is written.
   */
  prepare(records: readonly ConsumedRecord[]): GlobalBatch {
    const deadLetters: ProducedRecord[] = [];
    const deferred: { record: ConsumedRecord; error: unknown }[] = [];
    const writes = new Map<string, PendingGlobalWrites>();
    const versioned = this.versionedStores(records);
    for (const record of records) {
      const tables = this.tables.get(record.topic);
      if (!tables) throw new MissingStoreError(`<global table for topic ${record.topic}>`, 'GlobalTableUpdater');
      this.metrics.recordProcessed(record.topic);
      let settled = false;
      for (const { spec, policy } of tables) {
        let pending = writes.get(spec.store);
        if (pending === undefined) {
          pending = { writes: [], checkpoints: new Map(), sources: versioned.has(spec.store) ? new Map() : undefined };
          writes.set(spec.store, pending);
        }
        pending.checkpoints.set(topicPartitionId(record.topic, record.partition), record.offset + 1);
        let write: StoreWrite<unknown> | null;
        try {
          // A Serdes.json() table keeps the record's JSON text, as its bootstrap does (reads parse it).
          write = decodeStoredTableRecord(spec, record);
        } catch (error) {
          // One decision per record: a second global table failing on it adds nothing.
          if (!settled) this.badRecord(record, spec, policy, error, deadLetters, deferred);
          settled = true;
          continue;
        }
        if (write === null) continue;
        if (pending.sources !== undefined && write.type !== 'clear') {
          // A key's records may sit in several partitions (state-store/record-version.ts).
          write = { ...write, version: { timestamp: record.timestamp, partition: record.partition, offset: record.offset } };
          pending.sources.set(write, record);
        }
        pending.writes.push(write);
        if (write.type === 'put') this.metrics.tablePuts++;
        else if (write.type === 'delete') this.metrics.tableDeletes++;
      }
    }
    return { deadLetters, deferred, writes };
  }

  /** The stores this batch writes with versions; a fast table meeting a misplaced record switches here, for good. */
  private versionedStores(records: readonly ConsumedRecord[]): ReadonlySet<string> {
    const versioned = new Set<string>();
    const modes = this.modes;
    if (modes === undefined) return versioned;
    for (const tables of this.tables.values()) {
      for (const { spec } of tables) {
        const misplaced = modes.firstMisplaced(spec.store, records);
        if (misplaced !== undefined)
          modes.switchToVersioned(spec.store, misplacedMessage(spec.store, misplaced, modes.partitionCount(spec.topic)));
        if (modes.isVersioned(spec.store)) versioned.add(spec.store);
      }
    }
    return versioned;
  }

  private badRecord(
    record: ConsumedRecord,
    spec: GlobalTableSpec,
    policy: ResolvedErrorPolicy,
    error: unknown,
    deadLetters: ProducedRecord[],
    deferred: { record: ConsumedRecord; error: unknown }[],
  ): void {
    const action = bypassesErrorPolicy(error) ? 'fail' : policy.deserialization;
    if (action === 'fail') {
      this.metrics.recordError('deserialization', 'fail');
      throw error instanceof DeserializationError ? error.underFailPolicy() : error;
    }
    if (action === 'dead-letter') {
      if (this.writesDeadLetters(record.topic)) {
        this.metrics.recordError('deserialization', 'dead-letter');
        deadLetters.push(deadLetterRecord(policy.deadLetterTopic, this.applicationId, 'deserialization', record, error));
      } else {
        this.metrics.recordNotDeadLettered('owner');
        deferred.push({ record, error });
      }
      return;
    }
    this.metrics.recordError('deserialization', 'log-and-skip');
    this.metrics.recordSkipped('deserialization');
    this.logger?.warn('skipping an undecodable global table record (deserialization error policy: log-and-skip)', {
      store: spec.store,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      errorClass: errorClassName(error),
      error: error instanceof DeserializationError ? error.reason : errorMessageOf(error),
    });
  }

  /**
   * Writes a prepared batch: one atomic write (data + checkpoints, and the table's mode when it changed) per global
   * store. A versioned table applies each key's write only when newer than the key's version so far (a moved key's
   * older record read later changes nothing). Returns the records whose write lost on a versioned table (they changed
   * nothing: the change feed leaves them out); empty when every write applied.
   */
  async write(batch: GlobalBatch): Promise<ReadonlySet<ConsumedRecord>> {
    const byName = new Map<string, KeyValueStore<unknown>>();
    for (const tables of this.tables.values()) for (const t of tables) byName.set(t.spec.store, t.store);
    const lost = new Set<ConsumedRecord>();
    await Promise.all(
      [...batch.writes].map(async ([name, { writes, checkpoints, sources }]) => {
        const store = byName.get(name) as KeyValueStore<unknown>;
        const meta = this.modes?.pendingMeta(name);
        if (sources === undefined) {
          await store.write(writes, checkpoints, meta);
        } else {
          const kept = await applicableWrites(store, writes);
          if (kept.length < writes.length) {
            const keptSet = new Set(kept);
            for (const write of writes) if (!keptSet.has(write)) lost.add(sources.get(write) as ConsumedRecord);
          }
          await store.write(kept, checkpoints, meta);
        }
        if (meta !== undefined) this.modes?.persisted(name, meta);
      }),
    );
    return lost;
  }
}
