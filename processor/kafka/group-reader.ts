/**
 * A plain member of a consumer group over a fixed set of topics: Kafka's group protocol gives each partition to
 * exactly one member at a time and hands it over when a member leaves or dies; the member processes a batch, then
 * its next offset is committed (at-least-once: after a crash the next owner starts at the last commit, so a batch
 * may be processed twice, never skipped). Partitions never committed start at the earliest offset.
 *
 *   const reader = new GroupReader(client, { groupId, topics, onBatch: async (records) => ..., onFailure });
 *   await reader.start();   // connected and subscribed; batches arrive once the group assigned partitions
 *   await reader.stop();    // leaves the group (the others take over its partitions)
 *
 * Used where one instance of an application must do something exactly per partition (e.g. write the dead letters
 * of a topic every instance reads). Nothing about tasks or co-partitioning: kafkajs's round-robin assignor.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import kafkajs from 'kafkajs';
import { GroupConsumerCrashedError } from '../../errors.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { KafkaClient } from './client.js';
import { batchRecords } from './consumer-batch.js';
import type { MemberIdStore } from './group-member.js';
import { PreviousIncarnation } from './previous-incarnation.js';

// kafkajs spreads its exports into module.exports, which Node's ESM named-export detection cannot see.
const { PartitionAssigners } = kafkajs;

export interface GroupReaderOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** One topic-partition's records in offset order; its offsets are committed once this resolves. */
  readonly onBatch: (records: ConsumedRecord[]) => Promise<void>;
  /** `onBatch` threw, or the consumer crashed for good: nothing after the failed batch is committed. */
  readonly onFailure: (error: unknown) => void;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Longest a fetch waits at the log end. Default 500 ms. */
  readonly maxWaitTimeInMs?: number;
  /** Keeps the member id between incarnations: a crashed one's member is removed before joining (previous-incarnation.ts). */
  readonly memberIds?: MemberIdStore;
}

export class GroupReader {
  private consumer: Consumer | undefined;
  private stopped = false;
  private failed = false;
  private readonly incarnation: PreviousIncarnation;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GroupReaderOptions,
  ) {
    this.incarnation = new PreviousIncarnation(options.groupId, options.memberIds, client.logger);
  }

  async start(): Promise<void> {
    const { options } = this;
    const consumer = this.client.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
      allowAutoTopicCreation: false,
      partitionAssigners: [this.incarnation.assigner(PartitionAssigners.roundRobin)],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.stopped)
        this.fail(new GroupConsumerCrashedError(options.groupId, { cause: event.payload.error }));
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.incarnation.joined(event.payload.memberId));
    try {
      await consumer.connect();
      await this.incarnation.leave();
      await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
      await consumer.run({
        // Offsets are resolved only after onBatch settled; kafkajs commits what was resolved after each batch and
        // before it gives partitions up in a rebalance.
        autoCommit: true,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw new GroupConsumerCrashedError(options.groupId, { cause: error });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect();
    await this.incarnation.settled();
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopped || this.failed || !isRunning() || isStale()) return;
    if (batch.messages.length > 0) {
      try {
        await this.options.onBatch(batchRecords(batch));
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    resolveOffset(batch.lastOffset());
    await heartbeat();
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onFailure(error);
  }
}
