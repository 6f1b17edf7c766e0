/**
 * Fetch-ahead for kafkajs's consumer. Imported (for its effect) through kafkajs-patches.ts by every module here that
 * loads kafkajs, before kafkajs itself, like consumer-batch.ts.
 *
 * kafkajs 2.2.4's consumer fetches, hands the response's batches to `eachBatch`, waits until every one was handled,
 * and only then sends the next Fetch: the broker round trip and the response's transfer and decoding never overlap
 * the processing, so a consumer catching up needs large fetches to keep its rate (and the memory they take). Its
 * runner (`consumer/runner.js`) is replaced by a subclass whose `fetch(nodeId)` starts the next Fetch to that broker
 * as soon as a response's batches are handed out, from the offsets the partitions will have once those batches are
 * handled whole (consumer-batch.ts `nextFetchOffset`). At most one such Fetch per broker is in flight, so the
 * responses held are bounded by twice `maxBytes`; one is started only while the broker already holds more records of
 * some partition of the response (a consumer at the end of its partitions long-polls as before, so the connection it
 * shares with heartbeats and commits is not held by a waiting Fetch).
 *
 * When kafkajs asks for the next fetch (every batch of the previous one handled), the response fetched ahead is used
 * only where it is still right, partition by partition: same group generation and assignment (kafkajs makes a new
 * offset manager on every join), no seek pending (any pending seek discards the whole response: kafkajs applies seeks
 * in its own fetch), the partition neither paused nor revoked, and its position now exactly the offset fetched from
 * (a batch handled in part, skipped or failed leaves the position behind: that partition's records are dropped and
 * fetched again). A fetch ahead that fails (leader moved, offset out of range, a closed connection) is dropped, and
 * kafkajs's own fetch runs and handles the error as before, at the same point of its loop: the fetch ahead never
 * starts a rejoin or anything else kafkajs's fetch does on errors, so `eachBatch` still never overlaps a join.
 *
 * kafkajs's consumer module captures the runner class when it loads, so the subclass is put into Node's module cache
 * before that (`installed` says whether it was in time). Only together with consumer-batch.ts, whose batches it reads.
 */
import { installed as batchesInstalled, moreAvailable, nextFetchOffset, type ConsumerBatch } from './consumer-batch.js';
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';

interface TopicPartitions {
  readonly topic: string;
  readonly partitions: number[];
}

interface FetchedTopic {
  readonly topicName: string;
  readonly partitions: { readonly partition: number }[];
}

/** The part of kafkajs's broker the fetch ahead uses (`Broker#fetch`: decodes and checks the response). */
export interface AheadBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
    rackId: string;
  }): Promise<{ responses: FetchedTopic[] }>;
}

/** The part of kafkajs's ConsumerGroup (2.2.4) the fetch ahead reads. */
export interface AheadConsumerGroup {
  readonly offsetManager: {
    nextOffset(topic: string, partition: number): { toString(): string };
    committedOffsets(): Record<string, Record<number, unknown>>;
  } | null;
  readonly generationId: number | null;
  readonly seekOffset: { readonly size: number };
  readonly subscriptionState: { assigned(): TopicPartitions[]; isPaused(topic: string, partition: number): boolean };
  readonly cluster: { refreshMetadataIfNecessary(): Promise<void>; findBroker(options: { nodeId: number }): Promise<AheadBroker> };
  readonly maxWaitTime: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  readonly isolationLevel: number;
  readonly rackId: string;
  filterPartitionsByNode(nodeId: number, topicPartitions: TopicPartitions[]): TopicPartitions[];
  getActiveTopicPartitions(): Record<string, Set<number>>;
  checkForStaleAssignment(): void;
}

export type BatchFactory = new (topic: string, fetchedOffset: string, partitionData: never) => ConsumerBatch;

interface AheadFetch {
  /** kafkajs makes a new offset manager per join: a different one means another assignment. */
  readonly offsetManager: AheadConsumerGroup['offsetManager'];
  readonly generationId: number | null;
  /** `topic|partition` -> the offset fetched from. */
  readonly offsets: Map<string, string>;
  readonly responses: Promise<FetchedTopic[] | undefined>;
}

const key = (topic: string, partition: number) => `${topic}|${partition}`;

/** The fetches ahead of one consumer group, at most one per broker. */
export class FetchAhead {
  readonly #group: AheadConsumerGroup;
  readonly #Batch: BatchFactory;
  readonly #pending = new Map<number, AheadFetch>();

  constructor(group: AheadConsumerGroup, Batch: BatchFactory) {
    this.#group = group;
    this.#Batch = Batch;
  }

  /**
   * Starts the fetch that follows `batches` (just fetched from `nodeId`, about to be handled), when the broker holds
   * more records of one of their partitions. Never throws; a failure shows as no response in `take`.
   */
  start(nodeId: number, batches: readonly ConsumerBatch[]): void {
    this.#pending.delete(nodeId);
    const group = this.#group;
    const { offsetManager } = group;
    if (offsetManager === null || group.seekOffset.size > 0) return;
    const predicted = new Map<string, string>();
    let behind = false;
    for (const batch of batches) {
      const next = nextFetchOffset(batch);
      predicted.set(key(batch.topic, batch.partition), next);
      if (moreAvailable(batch, next)) behind = true;
    }
    if (!behind) return;
    const offsets = new Map<string, string>();
    const topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[] = [];
    try {
      const committed = offsetManager.committedOffsets();
      const active = group.getActiveTopicPartitions();
      for (const { topic, partitions } of group.filterPartitionsByNode(nodeId, group.subscriptionState.assigned())) {
        const requested: { partition: number; fetchOffset: string; maxBytes: number }[] = [];
        for (const partition of partitions) {
          if (committed[topic]?.[partition] == null || active[topic]?.has(partition) !== true) continue;
          const fetchOffset = predicted.get(key(topic, partition)) ?? offsetManager.nextOffset(topic, partition).toString();
          offsets.set(key(topic, partition), fetchOffset);
          requested.push({ partition, fetchOffset, maxBytes: group.maxBytesPerPartition });
        }
        if (requested.length > 0) topics.push({ topic, partitions: requested });
      }
    } catch {
      return; // metadata kafkajs's own fetch will refresh (or fail on) first
    }
    if (topics.length === 0) return;
    const responses = (async () => {
      await group.cluster.refreshMetadataIfNecessary();
      const broker = await group.cluster.findBroker({ nodeId });
      const response = await broker.fetch({
        maxWaitTime: group.maxWaitTime,
        minBytes: group.minBytes,
        maxBytes: group.maxBytes,
        isolationLevel: group.isolationLevel,
        topics,
        rackId: group.rackId,
      });
      return response.responses;
    })().catch(() => undefined);
    this.#pending.set(nodeId, { offsetManager, generationId: group.generationId, offsets, responses });
  }

  /**
   * The batches of the fetch ahead from `nodeId` still right now (see the file's comment), or undefined when there
   * is none, it failed, or nothing of it is right: then kafkajs fetches itself.
   */
  async take(nodeId: number): Promise<ConsumerBatch[] | undefined> {
    const ahead = this.#pending.get(nodeId);
    if (ahead === undefined) return undefined;
    this.#pending.delete(nodeId);
    if (!this.#sameAssignment(ahead)) return undefined;
    const responses = await ahead.responses;
    if (responses === undefined || !this.#sameAssignment(ahead)) return undefined;
    const group = this.#group;
    try {
      group.checkForStaleAssignment();
    } catch {
      return undefined;
    }
    const offsetManager = group.offsetManager as NonNullable<AheadConsumerGroup['offsetManager']>;
    const committed = offsetManager.committedOffsets();
    const active = group.getActiveTopicPartitions();
    const batches: ConsumerBatch[] = [];
    for (const { topicName, partitions } of responses) {
      for (const data of partitions) {
        const { partition } = data;
        const fetchOffset = ahead.offsets.get(key(topicName, partition));
        if (fetchOffset === undefined || committed[topicName]?.[partition] == null) continue;
        if (active[topicName]?.has(partition) !== true || group.subscriptionState.isPaused(topicName, partition)) continue;
        if (offsetManager.nextOffset(topicName, partition).toString() !== fetchOffset) continue;
        batches.push(new this.#Batch(topicName, fetchOffset, data as never));
      }
    }
    return batches.length > 0 ? batches : undefined;
  }

  /** Drops every fetch ahead (their responses are ignored when they arrive). */
  clear(): void {
    this.#pending.clear();
  }

  #sameAssignment(ahead: AheadFetch): boolean {
    const group = this.#group;
    return group.offsetManager === ahead.offsetManager && group.generationId === ahead.generationId && group.seekOffset.size === 0;
  }
}

interface InstrumentationEmitter {
  emit(event: string, payload: unknown): void;
}

/** The part of kafkajs's Runner (2.2.4) the subclass uses. */
interface KafkajsRunner {
  readonly consumerGroup: AheadConsumerGroup;
  readonly instrumentationEmitter: InstrumentationEmitter;
  running: boolean;
  fetch(nodeId: number): Promise<ConsumerBatch[]>;
  heartbeat(): Promise<void>;
  stop(): Promise<void>;
}
type RunnerClass = new (options: unknown) => KafkajsRunner;

/** kafkajs's runner with fetch-ahead (`fetch(nodeId)` is what its fetchers call; see the file's comment). */
export function createFetchAheadRunner(Runner: RunnerClass, Batch: BatchFactory, events: { FETCH: string; FETCH_START: string }) {
  return class FetchAheadRunner extends Runner {
    readonly #ahead: FetchAhead;

    constructor(options: unknown) {
      super(options);
      this.#ahead = new FetchAhead(this.consumerGroup, Batch);
    }

    override async fetch(nodeId: number): Promise<ConsumerBatch[]> {
      let batches: ConsumerBatch[] | undefined;
      if (this.running) {
        const startFetch = Date.now();
        batches = await this.#ahead.take(nodeId);
        if (batches !== undefined) {
          this.instrumentationEmitter.emit(events.FETCH_START, { nodeId });
          this.instrumentationEmitter.emit(events.FETCH, { numberOfBatches: 0, duration: Date.now() - startFetch, nodeId });
        }
      }
      batches ??= await super.fetch(nodeId);
      if (this.running && batches.length > 0) this.#ahead.start(nodeId, batches);
      return batches;
    }

    override async stop(): Promise<void> {
      this.#ahead.clear();
      await super.stop();
    }
  };
}

function install(): boolean {
  if (!batchesInstalled) return false;
  const path = 'kafkajs/src/consumer/runner.js';
  return replaceKafkajsModule(path, 'kafkajs/src/consumer/index.js', () =>
    createFetchAheadRunner(
      loadKafkajsModule<RunnerClass>(path),
      loadKafkajsModule<BatchFactory>('kafkajs/src/consumer/batch.js'),
      loadKafkajsModule<{ events: { FETCH: string; FETCH_START: string } }>('kafkajs/src/consumer/instrumentationEvents.js').events,
    ),
  );
}

/** True when kafkajs's consumer runs with fetch-ahead. */
export const installed: boolean = install();
