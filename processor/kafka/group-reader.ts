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
 *
 * Held topics: partitions the group assigns but this member never fetches, for a caller that learns their records
 * elsewhere and only needs the ownership and the group's offsets. Every assigned partition of a held topic is
 * paused on GROUP_JOIN (synchronous inside kafkajs, before it fetches for the new generation; kafkajs sends no fetch
 * while every partition is paused), `onHeldAssignment(epoch, partitions)` tells the caller, and `commitHeld(epoch,
 * offsets)` commits for the current epoch's held partitions only.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { Consumer, ConsumerGroupJoinEvent, EachBatchPayload } from 'kafkajs';
import kafkajs from 'kafkajs';
import { GroupConsumerCrashedError, OffsetCommitError, StaleAssignmentError } from '../../errors.js';
import { parseTopicPartitionId, topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
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
  /** Topics whose partitions this member owns but never fetches (see the module comment). */
  readonly heldTopics?: readonly string[];
  /** Every assignment (eager: it replaces the previous one): the held partitions it gives this member. */
  readonly onHeldAssignment?: (epoch: number, partitions: readonly TopicPartitionId[]) => void;
}

const REBALANCE_ERROR_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

function isRebalanceError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && REBALANCE_ERROR_TYPES.has(type)) return true;
  }
  return false;
}

export class GroupReader {
  private consumer: Consumer | undefined;
  private stopped = false;
  private failed = false;
  private readonly incarnation: PreviousIncarnation;
  private readonly held: ReadonlySet<string>;
  private epoch = 0;
  private heldOwned = new Set<TopicPartitionId>();

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GroupReaderOptions,
  ) {
    this.incarnation = new PreviousIncarnation(options.groupId, options.memberIds, client.logger);
    this.held = new Set(options.heldTopics ?? []);
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
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onGroupJoin(consumer, event.payload));
    try {
      await consumer.connect();
      await this.incarnation.leave();
      await consumer.subscribe({ topics: [...new Set([...options.topics, ...this.held])], fromBeginning: true });
      await consumer.run({
        // Offsets are resolved only after onBatch settled; kafkajs commits what was resolved after each batch and
        // before it gives partitions up in a rebalance (held partitions resolve nothing: `commitHeld` commits them).
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

  /**
   * Commits `offsets` (next offset per held partition) for `epoch`. StaleAssignmentError when the epoch is not the
   * current one, a partition is not held in it, or the coordinator rejects the generation; OffsetCommitError otherwise.
   */
  async commitHeld(epoch: number, offsets: ReadonlyMap<TopicPartitionId, number>): Promise<void> {
    const consumer = this.consumer;
    if (consumer === undefined || this.stopped)
      throw new OffsetCommitError(this.options.groupId, { cause: new Error('the reader is stopped') });
    const notOwned = [...offsets.keys()].filter((tp) => !this.heldOwned.has(tp));
    if (epoch !== this.epoch || notOwned.length > 0)
      throw new StaleAssignmentError(`commit for epoch ${epoch} (current ${this.epoch})`, [...offsets.keys()]);
    if (offsets.size === 0) return;
    try {
      await consumer.commitOffsets([...offsets].map(([tp, offset]) => ({ ...parseTopicPartitionId(tp), offset: String(offset) })));
    } catch (error) {
      if (isRebalanceError(error))
        throw new StaleAssignmentError('the group coordinator rejected the commit: the group is rebalancing', [...offsets.keys()], {
          cause: error,
        });
      throw new OffsetCommitError(this.options.groupId, { cause: error });
    }
  }

  /** Runs synchronously inside kafkajs before it fetches for the new generation: held partitions are paused here. */
  private onGroupJoin(consumer: Consumer, payload: ConsumerGroupJoinEvent['payload']): void {
    this.incarnation.joined(payload.memberId);
    if (this.held.size === 0) return;
    const epoch = ++this.epoch;
    const held: { topic: string; partitions: number[] }[] = [];
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      if (this.held.has(topic) && partitions.length > 0) held.push({ topic, partitions: [...partitions] });
    }
    this.heldOwned = new Set(held.flatMap(({ topic, partitions }) => partitions.map((partition) => topicPartitionId(topic, partition))));
    if (held.length > 0) consumer.pause(held);
    try {
      this.options.onHeldAssignment?.(epoch, [...this.heldOwned]);
    } catch (error) {
      this.fail(error); // a throw here would fail kafkajs's join
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopped || this.failed || !isRunning() || isStale() || this.held.has(batch.topic)) return;
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
