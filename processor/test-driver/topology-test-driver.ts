/**
 * TopologyTestDriver: runs a topology in-process for users' unit tests, with the same `StreamTask` code as the
 * Kafka runtime. Topics are in-memory logs with any number of partitions; records are routed with the murmur2
 * partitioner (like real producers), repartition topics are fed back to downstream tasks, global tables are
 * updated, and every task commits (stores + checkpoints) after each pipe.
 *
 *   const driver = new TopologyTestDriver(topology, { partitions: 4 });
 *   await driver.inputTopic('orders', Serdes.string(), Serdes.json<Order>()).pipe('o1', order);
 *   driver.outputTopic('out', Serdes.string(), Serdes.json()).readKeyValues();
 *
 * `pipe` resolves once the record and everything it caused (repartition hops included) is processed and
 * committed; outputs are then readable synchronously. Reading an output topic consumes what was read.
 *
 * Every task commits after each pipe, so the driver's commit interval is one piped record: `on-commit` derived
 * tables emit at most one update per key per pipe. Changelog topics of derived tables are output topics like any
 * other (`outputTopic('<applicationId>-<store>-changelog', ...)`), with one partition per task; `store(name)` and
 * `windowStore(name)` query stores across all partitions.
 */
import { TaskStateError, TestDriverOptionsError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { Serde } from '../../topology/serdes.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { KeyValueStore, RangeOptions } from '../../state-store/types.js';
import { WindowStoreReader } from '../../state-store/window-store.js';
import type { StoreSpec } from '../../topology/specs.js';
import type { Windowed } from '../../topology/windows.js';
import { EngineMetrics } from '../engine/metrics.js';
import { GlobalTableUpdater } from '../engine/global-updater.js';
import { StreamTask } from '../engine/stream-task.js';
import { defaultPartition } from '../../common/partitioner.js';
import {
  DeadLetterHeaders,
  isPendingOriginal,
  pendingOriginalPosition,
  withOriginalRecord,
  withoutOriginalRecord,
  type ErrorStage,
} from '../../common/dead-letters.js';
import { openRepartitionValue } from '../../common/repartition-envelope.js';
import {
  topicPartitionId,
  type ConsumedRecord,
  type ProducedRecord,
  type RecordHeaders,
  type TopicPartitionId,
} from '../../common/records.js';
import { driverArgumentProblems, type TopologyTestDriverOptions } from './driver-options.js';

export type { TopologyTestDriverOptions };

export interface PipeOptions {
  /** Default: the driver clock (see `advanceTime`). */
  readonly timestamp?: number;
  readonly headers?: RecordHeaders;
  /** Default: murmur2 of the key bytes; round-robin for null keys. */
  readonly partition?: number;
}

export interface TestRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly headers: RecordHeaders;
}

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

export class TestInputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  /** Produces one record and processes everything it causes. `null` key or value is sent as null bytes. */
  pipe(key: K | null, value: V | null, options: PipeOptions = {}): Promise<void> {
    return this.pipeRaw(
      key === null ? null : this.keySerde.serialize(key),
      value === null ? null : this.valueSerde.serialize(value),
      options,
    );
  }

  /** Produces records in order (one processing run per record, as separate pipes would). */
  async pipeMany(records: readonly (KeyValue<K | null, V | null> & PipeOptions)[]): Promise<void> {
    for (const r of records) await this.pipe(r.key, r.value, r);
  }

  /** Produces raw bytes, e.g. to test how bad records are handled. */
  pipeRaw(key: Buffer | null, value: Buffer | null, options: PipeOptions = {}): Promise<void> {
    return this.driver.produce(this.name, key, value, options);
  }
}

export class TestOutputTopic<K, V> {
  private position = 0;

  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  /** Unread records in production order (all partitions), consumed by this call. */
  readRecords(): TestRecord<K | null, V | null>[] {
    const produced = this.driver.producedRecords(this.name);
    const unread = produced.slice(this.position);
    this.position = produced.length;
    return unread.map((r) => ({
      key: r.key === null ? null : this.keySerde.deserialize(r.key),
      value: r.value === null ? null : this.valueSerde.deserialize(r.value),
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      headers: r.headers,
    }));
  }

  readKeyValues(): KeyValue<K | null, V | null>[] {
    return this.readRecords().map(({ key, value }) => ({ key, value }));
  }

  /** Unread records in this topic. */
  get unreadCount(): number {
    return this.driver.producedRecords(this.name).length - this.position;
  }

  isEmpty(): boolean {
    return this.unreadCount === 0;
  }
}

/** A store queried across all its partitions. */
export interface DriverStore<K, V> {
  get(key: K): Promise<V | undefined>;
  /** Entries of all partitions merged in key byte order (reverse/limit applied after the merge). */
  range(options?: RangeOptions): Promise<KeyValue<K, V>[]>;
  all(): Promise<KeyValue<K, V>[]>;
}

/** A window store queried across all its partitions. Window starts are inclusive at both ends of a range. */
export interface DriverWindowStore<K, V> {
  /** Windows of `key` whose start is in `[fromStart, toStart]`, by ascending start. */
  fetch(key: K, fromStart?: number, toStart?: number): Promise<KeyValue<Windowed<K>, V>[]>;
  /** Windows of every key whose start is in `[fromStart, toStart]`, ordered by key bytes, then start. */
  fetchAll(fromStart?: number, toStart?: number): Promise<KeyValue<Windowed<K>, V>[]>;
}

interface TaskSlot {
  readonly task: StreamTask;
  /** Changelog partitions the task writes (its partition of each changelog topic of its sub-topology). */
  readonly changelogs: readonly { readonly topic: string; readonly partition: number }[];
  committed: ReadonlyMap<TopicPartitionId, number>;
}

export class TopologyTestDriver {
  readonly topology: Topology;
  readonly metrics = new EngineMetrics();
  private readonly options: TopologyTestDriverOptions;
  private clock: number;
  private readonly logs = new Map<string, ConsumedRecord[][]>();
  private readonly produced = new Map<string, ConsumedRecord[]>();
  private readonly roundRobin = new Map<string, number>();
  private readonly repartitionCounts: ReadonlyMap<string, number>;
  private readonly changelogCounts: ReadonlyMap<string, number>;
  private readonly stores = new Map<string, KeyValueStore<unknown>[]>();
  private readonly tasks: TaskSlot[] = [];
  private readonly tasksByTopic = new Map<string, StreamTask[]>();
  private globalUpdater: GlobalTableUpdater | undefined;
  private pendingGlobal: ConsumedRecord[] = [];
  private initialized: Promise<void> | undefined;
  /** Serializes pipes: concurrent `pipe` calls run one after the other, in call order. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  /** Throws `TestDriverOptionsError` listing every problem with the topology or the options. */
  constructor(topology: Topology, options: TopologyTestDriverOptions = {}) {
    const problems = driverArgumentProblems(topology, options);
    if (problems.length > 0) throw new TestDriverOptionsError(problems);
    this.topology = topology;
    this.options = options;
    this.clock = options.startTimeMs ?? 0;
    this.repartitionCounts = topology.partitionCounts((topic) => this.userPartitions(topic));
    this.changelogCounts = topology.changelogPartitionCounts((topic) => this.userPartitions(topic));
  }

  inputTopic<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInputTopic<K, V> {
    return new TestInputTopic(this, name, keySerde, valueSerde);
  }

  outputTopic<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, name, keySerde, valueSerde);
  }

  /** Dead-letter topic name for this topology (`<applicationId>-dlq` unless the policy names another). */
  get deadLetterTopic(): string {
    return this.options.errorPolicy?.deadLetterTopic ?? `${this.topology.applicationId}-dlq`;
  }

  /** Moves the driver clock (the default timestamp of piped records and the task idle clock). */
  advanceTime(ms: number): void {
    this.clock += ms;
  }

  get currentTimeMs(): number {
    return this.clock;
  }

  partitionsOf(topic: string): number {
    return this.repartitionCounts.get(topic) ?? this.changelogCounts.get(topic) ?? this.userPartitions(topic);
  }

  /** Offsets committed so far per input topic-partition (what a restart would resume from). */
  committedOffsets(): ReadonlyMap<TopicPartitionId, number> {
    const all = new Map<TopicPartitionId, number>();
    for (const slot of this.tasks) for (const [tp, offset] of slot.committed) all.set(tp, offset);
    return all;
  }

  store<K, V>(name: string): DriverStore<K, V> {
    const spec = this.storeSpec(name);
    if (spec.kind === 'window') {
      throw new TaskStateError('driver', `store '${name}' is a window store; query it with driver.windowStore('${name}').`);
    }
    const keySerde = spec.keySerde as Serde<K>;
    const range = async (options: RangeOptions = {}): Promise<KeyValue<K, V>[]> => {
      const entries: { key: Buffer; value: unknown }[] = [];
      for (const store of await this.partitionsOfStore(name)) {
        for await (const entry of store.range({ ...options, limit: undefined, reverse: false })) entries.push(entry);
      }
      entries.sort((a, b) => Buffer.compare(a.key, b.key));
      if (options.reverse) entries.reverse();
      const limited = options.limit !== undefined ? entries.slice(0, options.limit) : entries;
      return limited.map((e) => ({ key: keySerde.deserialize(e.key), value: e.value as V }));
    };
    return {
      get: async (key: K) => {
        const bytes = keySerde.serialize(key);
        const stores = await this.partitionsOfStore(name);
        // Table and derived stores hold the partition the key hashes to; state stores may hold any key, so ask all.
        const partitions = this.keyPartitionsOf(spec);
        if (partitions !== undefined) return (await stores[defaultPartition(bytes, partitions)]?.get(bytes)) as V | undefined;
        for (const store of stores) {
          const value = await store.get(bytes);
          if (value !== undefined) return value as V;
        }
        return undefined;
      },
      range,
      all: () => range(),
    };
  }

  /** A windowed aggregation's store, queried across all its partitions. */
  windowStore<K, V>(name: string): DriverWindowStore<K, V> {
    const spec = this.storeSpec(name);
    const layout = spec.window;
    if (spec.kind !== 'window' || layout === undefined) {
      throw new TaskStateError('driver', `store '${name}' is not a window store; query it with driver.store('${name}').`);
    }
    const keySerde = spec.keySerde as Serde<K>;
    const readers = async (): Promise<WindowStoreReader<unknown>[]> =>
      (await this.partitionsOfStore(name)).map((store) => new WindowStoreReader(store.readOnly(), layout));
    const windowed = (key: Buffer, start: number, end: number, value: unknown): KeyValue<Windowed<K>, V> => ({
      key: { key: keySerde.deserialize(key), window: { start, end } },
      value: value as V,
    });
    return {
      fetch: async (key, fromStart, toStart) => {
        const bytes = keySerde.serialize(key);
        const partitions = this.keyPartitionsOf(spec) ?? 1;
        const reader = (await readers())[defaultPartition(bytes, partitions)];
        const out: KeyValue<Windowed<K>, V>[] = [];
        if (reader === undefined) return out;
        for await (const entry of reader.fetch(bytes, fromStart, toStart))
          out.push(windowed(entry.key, entry.start, entry.end, entry.value));
        return out;
      },
      fetchAll: async (fromStart, toStart) => {
        const entries: { key: Buffer; start: number; end: number; value: unknown }[] = [];
        for (const reader of await readers()) {
          for await (const entry of reader.fetchAll({ fromStart, toStart })) entries.push(entry);
        }
        entries.sort((a, b) => Buffer.compare(a.key, b.key) || a.start - b.start);
        return entries.map((e) => windowed(e.key, e.start, e.end, e.value));
      },
    };
  }

  private storeSpec(name: string): StoreSpec {
    const spec = this.topology.stores.find((s) => s.name === name);
    if (!spec)
      throw new TaskStateError(
        'driver',
        `the topology has no store '${name}' (stores: ${this.topology.stores.map((s) => s.name).join(', ')}).`,
      );
    return spec;
  }

  private async partitionsOfStore(name: string): Promise<KeyValueStore<unknown>[]> {
    await this.init();
    return this.stores.get(name) ?? [];
  }

  /** Partition count keys of a store are spread over by the default partitioner; undefined for state stores. */
  private keyPartitionsOf(spec: StoreSpec): number | undefined {
    if (spec.kind === 'table' && spec.topic !== undefined) return this.partitionsOf(spec.topic);
    if ((spec.kind === 'derived' || spec.kind === 'window') && spec.subtopologyId !== undefined) {
      return this.partitionsOf(this.topology.subtopologies[spec.subtopologyId].sourceTopics[0]);
    }
    return undefined;
  }

  /** Closes every store the driver opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    if (this.initialized) await this.initialized.catch(() => undefined);
    for (const slot of this.tasks) slot.task.close();
    await Promise.all([...this.stores.values()].flat().map((s) => s.close()));
  }

  /** @internal used by TestInputTopic */
  produce(topic: string, key: Buffer | null, value: Buffer | null, options: PipeOptions): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) throw new TaskStateError('driver', 'the driver is closed.');
      await this.init();
      this.append({
        topic,
        key,
        value,
        partition: options.partition,
        timestamp: options.timestamp ?? this.clock,
        headers: options.headers ?? {},
      });
      await this.runUntilQuiet();
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** @internal used by TestOutputTopic */
  producedRecords(topic: string): readonly ConsumedRecord[] {
    return this.produced.get(topic) ?? [];
  }

  private userPartitions(topic: string): number {
    return this.options.topicPartitions?.[topic] ?? this.options.partitions ?? 1;
  }

  private init(): Promise<void> {
    this.initialized ??= this.createTasks();
    return this.initialized;
  }

  private async openStore(name: string, partition: number | 'global'): Promise<KeyValueStore<unknown>> {
    const store = this.options.storeFactory
      ? await this.options.storeFactory(name, partition)
      : new MemoryKeyValueStore<unknown>(name, partition);
    this.stores.set(name, [...(this.stores.get(name) ?? []), store]);
    return store;
  }

  private async createTasks(): Promise<void> {
    const globalStores = new Map<string, KeyValueStore<unknown>>();
    for (const g of this.topology.globalTables) globalStores.set(g.store, await this.openStore(g.store, 'global'));
    if (this.topology.globalTables.length > 0) {
      this.globalUpdater = new GlobalTableUpdater({
        topology: this.topology,
        stores: globalStores,
        errorPolicy: this.options.errorPolicy,
        metrics: this.metrics,
        logger: this.options.logger,
      });
    }
    const readOnlyGlobals = new Map([...globalStores].map(([name, store]) => [name, store.readOnly()]));
    for (const sub of this.topology.subtopologies) {
      const counts = new Set(sub.sourceTopics.map((t) => this.partitionsOf(t)));
      if (counts.size > 1) {
        throw new TaskStateError(
          `${sub.id}_*`,
          `source topics ${sub.sourceTopics.join(', ')} must be co-partitioned (same partition count), got ${sub.sourceTopics.map((t) => `${t}=${this.partitionsOf(t)}`).join(', ')}.`,
        );
      }
      const partitions = this.partitionsOf(sub.sourceTopics[0]);
      for (let partition = 0; partition < partitions; partition++) {
        const stores = new Map<string, KeyValueStore<unknown>>();
        for (const name of sub.stores) stores.set(name, await this.openStore(name, partition));
        const task = new StreamTask({
          topology: this.topology,
          subtopologyId: sub.id,
          partition,
          stores,
          globalStores: readOnlyGlobals,
          errorPolicy: this.options.errorPolicy,
          metrics: this.metrics,
          logger: this.options.logger,
          maxTaskIdleMs: this.options.maxTaskIdleMs,
          partitionCount: (topic) => this.partitionsOf(topic),
        });
        this.tasks.push({ task, changelogs: sub.changelogTopics.map((topic) => ({ topic, partition })), committed: new Map() });
        for (const tp of task.inputPartitions) this.tasksByTopic.set(tp, [...(this.tasksByTopic.get(tp) ?? []), task]);
      }
    }
  }

  private append(output: ProducedRecord): void {
    const record = output.topic === this.deadLetterTopic ? this.completeDeadLetter(output) : output;
    const partitions = this.partitionsOf(record.topic);
    let partition = record.partition;
    if (partition === undefined) {
      if (record.key !== null) partition = defaultPartition(record.key, partitions);
      else {
        partition = (this.roundRobin.get(record.topic) ?? 0) % partitions;
        this.roundRobin.set(record.topic, partition + 1);
      }
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new TaskStateError('driver', `partition ${partition} is out of range for '${record.topic}' (${partitions} partitions).`);
    }
    let log = this.logs.get(record.topic);
    if (!log) {
      log = Array.from({ length: partitions }, () => []);
      this.logs.set(record.topic, log);
    }
    const consumed: ConsumedRecord = {
      topic: record.topic,
      partition,
      offset: log[partition].length,
      timestamp: record.timestamp,
      key: record.key,
      value: record.value,
      headers: record.headers,
    };
    log[partition].push(consumed);
    // Repartition topics are read back as the user's records, without the origin trailer tasks add to their values.
    const visible = this.repartitionCounts.has(record.topic)
      ? { ...consumed, value: openRepartitionValue(consumed.value).value }
      : consumed;
    const produced = this.produced.get(record.topic);
    if (produced) produced.push(visible);
    else this.produced.set(record.topic, [visible]);
    if (record.topic === this.deadLetterTopic) {
      const h = DeadLetterHeaders;
      const stage = (record.headers[h.stage]?.toString('utf8') ?? 'processing') as ErrorStage;
      this.metrics.recordDeadLetter(stage, (record.headers[h.sourceTopic] ?? record.headers[h.targetTopic])?.toString('utf8') ?? '');
    }
    if (this.globalUpdater?.topics.includes(record.topic)) this.pendingGlobal.push(consumed);
    for (const task of this.tasksByTopic.get(topicPartitionId(record.topic, partition)) ?? []) task.addRecords([consumed]);
  }

  /** Next offset of each changelog partition the task writes: what a producer's acknowledgements would report. */
  private changelogPositions(slot: TaskSlot): ReadonlyMap<TopicPartitionId, number> {
    const positions = new Map<TopicPartitionId, number>();
    for (const { topic, partition } of slot.changelogs) {
      const written = this.logs.get(topic)?.[partition].length;
      if (written !== undefined) positions.set(topicPartitionId(topic, partition), written);
    }
    return positions;
  }

  /** A dead letter of a record that failed after a repartition gets the user's original record, as in the runtime. */
  private completeDeadLetter(letter: ProducedRecord): ProducedRecord {
    if (!isPendingOriginal(letter)) return letter;
    const position = pendingOriginalPosition(letter);
    const original = position === undefined ? undefined : this.logs.get(position.topic)?.[position.partition]?.[position.offset];
    return original === undefined ? withoutOriginalRecord(letter) : withOriginalRecord(letter, original);
  }

  private async runUntilQuiet(): Promise<void> {
    for (;;) {
      if (this.pendingGlobal.length > 0 && this.globalUpdater) {
        const records = this.pendingGlobal;
        this.pendingGlobal = [];
        const batch = this.globalUpdater.prepare(records);
        for (const dead of batch.deadLetters) this.append(dead);
        await this.globalUpdater.write(batch);
        continue;
      }
      const busy = this.tasks.filter((slot) => !slot.task.failed && slot.task.bufferedCount() > 0);
      if (busy.length === 0) return;
      for (const slot of busy) {
        const { outputs } = await slot.task.process({ nowMs: this.clock });
        // Outputs are "acknowledged" once appended; then the task may commit, as in the runtime protocol.
        for (const output of outputs) this.append(output);
        for (const output of (await slot.task.prepareCommit()).outputs) this.append(output);
        slot.committed = await slot.task.commit({ changelogOffsets: this.changelogPositions(slot) });
      }
    }
  }
}
