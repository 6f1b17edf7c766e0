/**
 * The output pipeline of the runtime's tasks: everything a cycle produces (sink records, repartition records, dead
 * letters) goes through one RecordCollector to the OutputSender (acks=all, retries, production error policy).
 *
 * - Partitioning: a keyed record without a partition gets murmur2(key) mod the topic's partition count
 *   (`OutputPartitioner`), the rule of kafkajs's DefaultPartitioner and of the Java client.
 * - One send in flight: outputs added while a send is in flight wait and go out together in the next one (fewer,
 *   larger requests), and processing goes on meanwhile (it overlaps the broker round trip). Sends never overlap,
 *   so per-partition output order is the order records were added.
 * - Bounded: past `maxQueuedBytes` (keys + values) queued behind the send in flight, `makeRoom()` waits for that
 *   send (backpressure: the cycle does not return to the consumer until there is room).
 * - `flush()` resolves once every record added so far is acknowledged. A failed send (after the sender's retries
 *   and policy) is final: nothing is sent after it, `onFailure` hears it once, and `flush()`/`makeRoom()` throw it,
 *   so no offset past it can be committed.
 * - Acknowledged positions: per partition the records named (changelog records always do), the offset after the
 *   last acknowledged record, gathered until `takeAcknowledged()` (what a commit hands to derived-table stores as
 *   their changelog checkpoints).
 */
import type { Logger } from '../../common/logger.js';
import { murmur2, toPositive } from '../../common/partitioner.js';
import type { ProducedRecord, TopicPartitionId } from '../../common/records.js';
import type { ClusterLookups } from '../kafka/cluster-lookups.js';
import { mergeAcknowledged, type AcknowledgedOffsets } from '../kafka/produce-acks.js';

/** Output bytes (keys + values) queued behind the send in flight before a cycle waits for it. */
export const MAX_QUEUED_OUTPUT_BYTES = 8 * 1024 * 1024;

/** The one call the collector needs from the sender (OutputSender implements it). */
export interface OutputSink {
  /** Resolves once the records are acknowledged, with where they landed (see produce-acks.ts). */
  send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets>;
}

/**
 * Partition counts of the topics outputs go to, learned at start and again at every assignment (input and internal
 * topics may have grown; no task processes between the two). Keyed outputs get their partition here: kafkajs's own
 * murmur2 cost ~1-2 µs a record (6% of the CPU), and RecordProducer needs known partitions to bound its requests per
 * partition (see producer.ts).
 */
export class OutputPartitioner {
  private readonly counts = new Map<string, number>();

  /** Counts of `topics` from `known`, the others from the cluster (best effort: unknown ones stay with the producer). */
  async learn(topics: readonly string[], known: ReadonlyMap<string, number>, cluster: ClusterLookups, logger: Logger): Promise<void> {
    const unique = [...new Set(topics)];
    const unknown = unique.filter((topic) => !known.has(topic));
    for (const topic of unique) {
      const count = known.get(topic);
      if (count !== undefined) this.counts.set(topic, count);
    }
    if (unknown.length === 0) return;
    // Best effort: a sink topic missing now (or a failed lookup) is left to kafkajs's partitioner.
    try {
      for (const [topic, count] of (await cluster.describeTopicPartitions(unknown)).partitions) this.counts.set(topic, count);
    } catch (error) {
      logger.warn('could not read the partition counts of sink topics; kafkajs will partition their records', {
        topics: unknown.join(','),
        error,
      });
    }
  }

  /**
   * Gives every keyed record without a partition, of a topic with a known count, its partition: sets `partition` on
   * the record object itself. Outputs are made by the engine for the collector and owned by it from here (nobody
   * reads them as unpartitioned later), so no copy per record: copying every keyed output cost 1-2% of a join's CPU
   * and as much garbage as the record itself.
   */
  assign(records: readonly ProducedRecord[]): void {
    const counts = this.counts;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as { -readonly [K in keyof ProducedRecord]: ProducedRecord[K] };
      if (record.partition !== undefined || record.key === null) continue;
      const count = counts.get(record.topic);
      if (count !== undefined) record.partition = toPositive(murmur2(record.key)) % count;
    }
  }
}

export interface RecordCollectorOptions {
  readonly sender: OutputSink;
  readonly partitioner: OutputPartitioner;
  /** A send failed for good: nothing after it may be committed. Called once. */
  readonly onFailure: (error: unknown) => void;
  /** Default MAX_QUEUED_OUTPUT_BYTES. */
  readonly maxQueuedBytes?: number;
}

export class RecordCollector {
  private readonly maxQueuedBytes: number;
  /** The send in flight (never rejects: a failure lands in `failure`). */
  private sending: Promise<void> | undefined;
  /** Records waiting for the send in flight, in the order they were added. */
  private queued: ProducedRecord[] = [];
  private queuedBytes = 0;
  private failure: { readonly error: unknown } | undefined;
  /** Positions after acknowledged records since the last `takeAcknowledged()`. */
  private acknowledged = new Map<TopicPartitionId, number>();

  constructor(private readonly options: RecordCollectorOptions) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_OUTPUT_BYTES;
  }

  /** Queues `records` (the collector takes the array and may rewrite its entries) and starts a send if none is in flight. */
  add(records: ProducedRecord[]): void {
    if (records.length === 0) return;
    this.options.partitioner.assign(records);
    if (this.queued.length === 0) this.queued = records;
    else for (const record of records) this.queued.push(record);
    for (const record of records) this.queuedBytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
    this.pump();
  }

  /** Past the bound, waits for the send in flight to take the queue; throws the send failure, if any. */
  async makeRoom(): Promise<void> {
    while (this.queuedBytes > this.maxQueuedBytes && this.sending !== undefined && this.failure === undefined) await this.sending;
    this.throwIfFailed();
  }

  /** Resolves once every record added so far is acknowledged; throws the send failure, if any. */
  async flush(): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      this.pump();
      if (this.sending === undefined) return;
      await this.sending;
    }
  }

  /**
   * The offset after the last record acknowledged per partition (records with an explicit partition) since the
   * previous call; call after `flush()` to cover everything added so far.
   */
  takeAcknowledged(): AcknowledgedOffsets {
    const taken = this.acknowledged;
    this.acknowledged = new Map();
    return taken;
  }

  /** Bytes (keys + values) waiting behind the send in flight. */
  get queuedByteCount(): number {
    return this.queuedBytes;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Starts the next send unless one is in flight; chained from the end of every send. */
  private pump(): void {
    if (this.sending !== undefined || this.queued.length === 0 || this.failure !== undefined) return;
    const batch = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.sending = this.options.sender.send(batch).then(
      (acknowledged) => {
        mergeAcknowledged(this.acknowledged, acknowledged);
        this.sending = undefined;
        this.pump();
      },
      (error: unknown) => {
        this.sending = undefined;
        // Production error policy 'fail' (or a dead-letter write that failed): nothing after it may be committed.
        this.failure ??= { error };
        this.options.onFailure(error);
      },
    );
  }
}
