/**
 * An in-memory Kafka for unit tests of the runtime: topics with partitioned logs, one committed-offset table per
 * group, the cluster lookups port (cluster-lookups.ts), the partition-reading port (`reader`, partition-reading.ts)
 * a producer (`send`, as RecordProducer has it: it resolves with the offset after the acknowledged records per
 * partition the records named) that appends to the logs, and the admin calls that create and check internal topics
 * (`ensureTopics`, `topicConfigs`). Read it with `FakeGroupMember` (fake-group-member.ts) or `reader()`.
 * Integration tests use a real broker.
 *
 * A log can hold offsets without a deliverable record, as real ones do: `appendMarkers` (transaction markers,
 * aborted records), `compact` (compaction gaps), and a log start offset moved by `deleteRecords` (retention,
 * DeleteRecords). Readers move past such offsets without delivering anything.
 */
import { defaultPartition } from '../../../common/partitioner.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../../common/records.js';
import { PartitionReaderError, ProducerFencedError, TransactionFailedError } from '../../../errors.js';
import type { ClusterLookups, LogOffsets, TopicPartitionCounts } from '../cluster-lookups.js';
import type { TopicSpec } from '../admin.js';
import { acknowledgedOffsets, type AcknowledgedOffsets } from '../produce-acks.js';
import type { PartitionReaderOptions, PartitionReading } from '../partition-reading.js';
import type { ProducerTransaction, TransactionalProducer } from '../transactional-producer.js';

export interface FakeRecordInput {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly timestamp?: number;
}

/** One partition: every offset from 0 to the end; `undefined` where no record can be delivered. */
interface FakeLog {
  readonly entries: (ConsumedRecord | undefined)[];
  /** Log start offset: entries below it are gone. */
  start: number;
}

export class FakeCluster implements ClusterLookups {
  private readonly logs = new Map<TopicPartitionId, FakeLog>();
  private readonly partitionCounts = new Map<string, number>();
  /** Topic configs given at creation (`cleanup.policy` defaults to `delete`, as the broker's does). */
  private readonly configs = new Map<string, Record<string, string>>();
  private readonly committedByGroup = new Map<string, Map<TopicPartitionId, number>>();
  /** Every `send` call, in order (what the producer was asked to write, acknowledged or not). */
  readonly sendCalls: (readonly ProducedRecord[])[] = [];
  /** When set, the next `send` calls reject with it (until cleared). */
  sendFailure: Error | undefined;
  /** When set, `send` waits for it before acknowledging (to hold a send in flight). */
  sendGate: Promise<void> | undefined;
  /** Epoch per transactional id: `init()` of a newer producer bumps it and fences the older ones. */
  private readonly transactionalEpochs = new Map<string, number>();
  /** Transactions committed / aborted (by their producer or by fencing), in order. */
  readonly transactions: { readonly transactionalId: string; readonly outcome: 'committed' | 'aborted'; readonly records: number }[] = [];
  /**
   * When set, called at each step of every transaction (`send`, `sendOffsets`, `commit`); a throw fails that step
   * (tests inject crashes and broker errors there).
   */
  transactionHook: ((step: 'send' | 'sendOffsets' | 'commit', transactionalId: string) => void) | undefined;
  /** Options of every reading job created with `reader()`, in order. */
  readonly reads: PartitionReaderOptions[] = [];

  createTopic(topic: string, partitions: number, configs: Readonly<Record<string, string>> = {}): this {
    this.partitionCounts.set(topic, partitions);
    if (!this.configs.has(topic)) this.configs.set(topic, { ...configs });
    for (let p = 0; p < partitions; p++)
      if (!this.logs.has(topicPartitionId(topic, p))) this.logs.set(topicPartitionId(topic, p), { entries: [], start: 0 });
    return this;
  }

  /** Deletes a topic with its logs and configs (committed offsets of groups stay, as Kafka keeps them). */
  deleteTopic(topic: string): void {
    const count = this.partitionCounts.get(topic) ?? 0;
    for (let p = 0; p < count; p++) this.logs.delete(topicPartitionId(topic, p));
    this.partitionCounts.delete(topic);
    this.configs.delete(topic);
  }

  /** Every topic, sorted. */
  async listTopics(): Promise<string[]> {
    return [...this.partitionCounts.keys()].sort();
  }

  partitionCount(topic: string): number | undefined {
    return this.partitionCounts.get(topic);
  }

  /** Appends records to one partition (timestamps default to the offset); returns their offsets. */
  append(topic: string, partition: number, records: readonly FakeRecordInput[]): number[] {
    const log = this.logOf(topic, partition);
    return records.map((input) => {
      const offset = log.entries.length;
      log.entries.push({
        topic,
        partition,
        offset,
        timestamp: input.timestamp ?? offset,
        key: toBuffer(input.key),
        value: toBuffer(input.value),
        headers: {},
      });
      return offset;
    });
  }

  /** Appends `count` offsets no reader ever delivers (transaction markers, aborted records); returns the new end. */
  appendMarkers(topic: string, partition: number, count = 1): number {
    const log = this.logOf(topic, partition);
    for (let i = 0; i < count; i++) log.entries.push(undefined);
    return log.entries.length;
  }

  /** Removes the records at `offsets` (compaction); their offsets stay taken. */
  compact(topic: string, partition: number, offsets: readonly number[]): void {
    const log = this.logOf(topic, partition);
    for (const offset of offsets) log.entries[offset] = undefined;
  }

  /** Moves the log start offset to `before` (retention, DeleteRecords); `before` may be the end (an emptied log). */
  deleteRecords(topic: string, partition: number, before: number): void {
    const log = this.logOf(topic, partition);
    if (before > log.entries.length) throw new Error(`fake cluster: ${topic}:${partition} ends at ${log.entries.length}, not ${before}`);
    log.start = Math.max(log.start, before);
  }

  /** The records of one partition from its log start, in offset order. */
  records(topic: string, partition: number): readonly ConsumedRecord[] {
    const log = this.logOf(topic, partition);
    const records: ConsumedRecord[] = [];
    for (let offset = log.start; offset < log.entries.length; offset++) {
      const record = log.entries[offset];
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** What a fetch from `offset` returns: deliverable records of up to `max` offsets, and the offset after them. */
  fetch(topic: string, partition: number, offset: number, max: number): { readonly records: ConsumedRecord[]; readonly next: number } {
    const log = this.logOf(topic, partition);
    const from = Math.max(offset, log.start);
    const to = Math.min(log.entries.length, from + max);
    const records: ConsumedRecord[] = [];
    for (let o = from; o < to; o++) {
      const record = log.entries[o];
      if (record !== undefined) records.push(record);
    }
    return { records, next: Math.max(to, offset) };
  }

  endOffset(topic: string, partition: number): number {
    return this.logOf(topic, partition).entries.length;
  }

  logStartOffset(topic: string, partition: number): number {
    return this.logOf(topic, partition).start;
  }

  committed(groupId: string): ReadonlyMap<TopicPartitionId, number> {
    return this.groupOffsets(groupId);
  }

  commit(groupId: string, offsets: ReadonlyMap<TopicPartitionId, number>): void {
    const group = this.groupOffsets(groupId);
    for (const [tp, offset] of offsets) group.set(tp, offset);
  }

  // ClusterLookups ------------------------------------------------------------------------------------------------

  async fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<Map<TopicPartitionId, number>> {
    const wanted = new Set(topics);
    return new Map([...this.groupOffsets(groupId)].filter(([tp]) => wanted.has(tp.slice(0, tp.lastIndexOf(':')))));
  }

  async fetchEndOffsets(topic: string): Promise<Map<number, number>> {
    const count = this.partitionCounts.get(topic) ?? 0;
    return new Map(Array.from({ length: count }, (_, p) => [p, this.endOffset(topic, p)] as const));
  }

  async fetchOffsetRanges(topic: string): Promise<Map<number, LogOffsets>> {
    const count = this.partitionCounts.get(topic) ?? 0;
    return new Map(
      Array.from({ length: count }, (_, p) => [p, { start: this.logStartOffset(topic, p), end: this.endOffset(topic, p) }] as const),
    );
  }

  async describeTopicPartitions(topics: readonly string[]): Promise<TopicPartitionCounts> {
    const partitions = new Map<string, number>();
    const missing: string[] = [];
    for (const topic of new Set(topics)) {
      const count = this.partitionCounts.get(topic);
      if (count === undefined) missing.push(topic);
      else partitions.set(topic, count);
    }
    return { partitions, missing };
  }

  // Admin (internal topics) -----------------------------------------------------------------------------------------

  /** Creates the missing topics (existing ones keep their count and configs); returns every asked-for count. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const spec of specs) {
      if (!this.partitionCounts.has(spec.topic)) this.createTopic(spec.topic, spec.partitions, spec.configs);
      counts.set(spec.topic, this.partitionCounts.get(spec.topic) as number);
    }
    return counts;
  }

  /** Grows topics to the given counts (as KafkaAdmin.addPartitions: never shrinks); returns the counts after. */
  async addPartitions(counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    for (const [topic, count] of counts) {
      const current = this.partitionCounts.get(topic);
      if (current === undefined) continue;
      if (current < count) this.createTopic(topic, count);
      result.set(topic, this.partitionCounts.get(topic) as number);
    }
    return result;
  }

  /** Every topic's `max.message.bytes`: the broker default unless set at creation. */
  async topicMaxMessageBytes(topics: readonly string[]): Promise<Map<string, number>> {
    return new Map(topics.map((topic) => [topic, Number(this.configs.get(topic)?.['max.message.bytes'] ?? 1_048_588)]));
  }

  /** The asked-for configs of each topic; `cleanup.policy` is `delete` unless set at creation. */
  async topicConfigs(topics: readonly string[], configNames: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const result = new Map<string, Record<string, string>>();
    for (const topic of topics) {
      const configs = this.configs.get(topic);
      if (configs === undefined) throw new Error(`fake cluster: topic ${topic} does not exist`);
      const resolved: Record<string, string> = { 'cleanup.policy': 'delete', ...configs };
      result.set(topic, Object.fromEntries(configNames.flatMap((name) => (resolved[name] === undefined ? [] : [[name, resolved[name]]]))));
    }
    return result;
  }

  // Producer ------------------------------------------------------------------------------------------------------

  /**
   * Appends `records` (acks=all: all or none); a keyless record without a partition goes to partition 0. Resolves
   * with the offset after the appended records per partition the records named, as a produce response reports it.
   */
  async send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    this.sendCalls.push(records);
    if (this.sendGate !== undefined) await this.sendGate;
    if (this.sendFailure !== undefined) throw this.sendFailure;
    const baseOffsets = new Map<TopicPartitionId, { topic: string; partition: number; baseOffset: number }>();
    for (const record of records) {
      const count = this.partitionCounts.get(record.topic);
      if (count === undefined) throw new Error(`fake cluster: topic ${record.topic} does not exist`);
      const partition = record.partition ?? (record.key === null ? 0 : defaultPartition(record.key, count));
      const log = this.logOf(record.topic, partition);
      const tp = topicPartitionId(record.topic, partition);
      if (!baseOffsets.has(tp)) baseOffsets.set(tp, { topic: record.topic, partition, baseOffset: log.entries.length });
      log.entries.push({ ...record, partition, offset: log.entries.length });
    }
    return acknowledgedOffsets(records, [...baseOffsets.values()]);
  }

  /**
   * A transactional producer (kafkajs semantics): records and offsets of a transaction land together at `commit()`,
   * followed by a marker offset per partition written (as the commit marker of a real log); nothing lands on
   * `abort()`. `init()` bumps the id's epoch: older producers of the id are fenced (ProducerFencedError) and the
   * transaction one left open is aborted.
   */
  transactionalProducer(transactionalId: string): TransactionalProducer {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cluster = this;
    let epoch = -1;
    let open: { records: ProducedRecord[]; offsets: Map<string, Map<TopicPartitionId, number>>; ended: boolean } | undefined;
    const checkEpoch = (): void => {
      if (epoch < 0 || cluster.transactionalEpochs.get(transactionalId) !== epoch) throw new ProducerFencedError(transactionalId);
    };
    const step = (name: 'send' | 'sendOffsets' | 'commit'): void => {
      checkEpoch();
      try {
        cluster.transactionHook?.(name, transactionalId);
      } catch (error) {
        if (error instanceof ProducerFencedError || error instanceof TransactionFailedError) throw error;
        throw new TransactionFailedError(transactionalId, name, false, { cause: error });
      }
    };
    return {
      transactionalId,
      async init() {
        epoch = (cluster.transactionalEpochs.get(transactionalId) ?? -1) + 1;
        cluster.transactionalEpochs.set(transactionalId, epoch);
        const left = cluster.openTransactions.get(transactionalId);
        if (left !== undefined && !left.ended) {
          left.ended = true;
          cluster.transactions.push({ transactionalId, outcome: 'aborted', records: left.records.length });
        }
      },
      async begin(): Promise<ProducerTransaction> {
        checkEpoch();
        if (open !== undefined && !open.ended) throw new TransactionFailedError(transactionalId, 'begin', false);
        const txn = { records: [] as ProducedRecord[], offsets: new Map<string, Map<TopicPartitionId, number>>(), ended: false };
        open = txn;
        cluster.openTransactions.set(transactionalId, txn);
        const usable = (): void => {
          if (txn.ended) throw new TransactionFailedError(transactionalId, 'a step after the end', false);
        };
        return {
          async send(records) {
            step('send');
            usable();
            for (const record of records) txn.records.push(record);
          },
          async sendOffsets(groupId, offsets) {
            step('sendOffsets');
            usable();
            let group = txn.offsets.get(groupId);
            if (group === undefined) txn.offsets.set(groupId, (group = new Map()));
            for (const [tp, offset] of offsets) group.set(tp, offset);
          },
          async commit() {
            step('commit');
            usable();
            txn.ended = true;
            const acknowledged = cluster.appendCommitted(txn.records);
            for (const [groupId, offsets] of txn.offsets) cluster.commit(groupId, offsets);
            cluster.transactions.push({ transactionalId, outcome: 'committed', records: txn.records.length });
            return acknowledged;
          },
          async abort() {
            if (txn.ended) return;
            checkEpoch();
            txn.ended = true;
            cluster.transactions.push({ transactionalId, outcome: 'aborted', records: txn.records.length });
          },
        };
      },
      async close() {
        if (open !== undefined && !open.ended && cluster.transactionalEpochs.get(transactionalId) === epoch) {
          open.ended = true;
          cluster.transactions.push({ transactionalId, outcome: 'aborted', records: open.records.length });
        }
      },
    };
  }

  private readonly openTransactions = new Map<string, { records: ProducedRecord[]; ended: boolean }>();

  /** Appends a committed transaction's records, then a commit marker per partition written. */
  private appendCommitted(records: readonly ProducedRecord[]): AcknowledgedOffsets {
    const written = new Map<TopicPartitionId, { topic: string; partition: number; baseOffset: number }>();
    for (const record of records) {
      const count = this.partitionCounts.get(record.topic);
      if (count === undefined) throw new Error(`fake cluster: topic ${record.topic} does not exist`);
      const partition = record.partition ?? (record.key === null ? 0 : defaultPartition(record.key, count));
      const log = this.logOf(record.topic, partition);
      const tp = topicPartitionId(record.topic, partition);
      if (!written.has(tp)) written.set(tp, { topic: record.topic, partition, baseOffset: log.entries.length });
      log.entries.push({ ...record, partition, offset: log.entries.length });
    }
    const acknowledged = acknowledgedOffsets(records, [...written.values()]);
    for (const { topic, partition } of written.values()) this.appendMarkers(topic, partition, 1);
    return acknowledged;
  }

  // Partition reading ---------------------------------------------------------------------------------------------

  /** An in-memory PartitionReader (until-end only); its options are recorded in `reads`. */
  reader(options: PartitionReaderOptions): PartitionReading {
    this.reads.push(options);
    return new FakePartitionReader(this, options);
  }

  private logOf(topic: string, partition: number): FakeLog {
    const log = this.logs.get(topicPartitionId(topic, partition));
    if (log === undefined) throw new Error(`fake cluster: ${topic}:${partition} does not exist`);
    return log;
  }

  private groupOffsets(groupId: string): Map<TopicPartitionId, number> {
    let offsets = this.committedByGroup.get(groupId);
    if (offsets === undefined) {
      offsets = new Map();
      this.committedByGroup.set(groupId, offsets);
    }
    return offsets;
  }
}

/**
 * Reads the fake logs like PartitionReader reads Kafka: from each start (the log start when none is given, or when
 * the start is below it: Kafka's reset to earliest) up to the end offsets, batches of `batchOffsets` offsets,
 * moving past offsets without records, `onCaughtUp` once per partition.
 */
class FakePartitionReader implements PartitionReading {
  private readonly states = new Map<
    TopicPartitionId,
    { topic: string; partition: number; position: number; end: number; reported: boolean }
  >();
  private stopped = false;
  private started = false;

  constructor(
    private readonly cluster: FakeCluster,
    private readonly options: PartitionReaderOptions & { readonly batchOffsets?: number },
  ) {
    if (options.partitions.length === 0) throw new PartitionReaderError('no partitions given');
    if ((options.mode ?? 'until-end') !== 'until-end') throw new Error('fake cluster: only until-end readers are implemented');
  }

  async run(): Promise<void> {
    if (this.started) throw new PartitionReaderError('run() was already called; create a new PartitionReader');
    this.started = true;
    for (const p of this.options.partitions) {
      const tp = topicPartitionId(p.topic, p.partition);
      if (this.cluster.partitionCount(p.topic) === undefined) throw new PartitionReaderError(`topic(s) ${p.topic} do not exist`);
      const start = this.cluster.logStartOffset(p.topic, p.partition);
      const position = p.offset === undefined || p.offset < start ? start : p.offset;
      const end = this.options.endOffsets?.get(tp) ?? this.cluster.endOffset(p.topic, p.partition);
      this.states.set(tp, { topic: p.topic, partition: p.partition, position, end, reported: false });
    }
    this.report();
    // Yield between batches, as a real fetch loop does, so a stop() from another task can land.
    while (!this.stopped && [...this.states.values()].some((s) => s.position < s.end)) {
      for (const state of this.states.values()) {
        if (this.stopped || state.position >= state.end) continue;
        const max = Math.min(this.options.batchOffsets ?? 3, state.end - state.position);
        const { records, next } = this.cluster.fetch(state.topic, state.partition, state.position, max);
        const wanted = records.filter((r) => r.offset < state.end);
        if (wanted.length > 0) {
          try {
            await this.options.onBatch(wanted);
          } catch (error) {
            throw new PartitionReaderError(`onBatch failed on ${state.topic}:${state.partition}`, { cause: error });
          }
        }
        state.position = next;
        this.report();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  positions(): Map<TopicPartitionId, number> {
    return new Map([...this.states].map(([tp, s]) => [tp, s.position]));
  }

  private report(): void {
    for (const [tp, state] of this.states) {
      if (state.reported || state.position < state.end) continue;
      state.reported = true;
      this.options.onCaughtUp?.(tp, state.position);
    }
  }
}

function toBuffer(value: string | Buffer | null): Buffer | null {
  return value === null ? null : typeof value === 'string' ? Buffer.from(value) : value;
}
