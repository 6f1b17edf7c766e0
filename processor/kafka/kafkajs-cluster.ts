/**
 * kafkajs's cluster (metadata, leaders, broker connections), reached without a consumer group. kafkajs has no
 * `assign()` (kafkajs#373): its consumer must join a group, which costs a JoinGroup round (and up to the broker's
 * `group.initial.rebalance.delay.ms`, 3 s by default) per read. The group-less partition reader fetches straight from
 * the partition leaders through the cluster kafkajs builds for its own clients (same brokers, TLS, SASL, retry and
 * socket settings), made by `Kafka`'s private cluster factory. kafkajs 2.2.4 is the last release, so the shape below
 * is fixed; `createReaderCluster` fails with a clear message if a different kafkajs lacks it.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { Kafka } from 'kafkajs';

/** kafkajs's `ISOLATION_LEVEL.READ_COMMITTED`. */
const READ_COMMITTED = 1;

/** One decoded record (or control record) of a fetch response, as kafkajs's record decoder returns it. */
export interface FetchedRecord {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Record<string, Buffer | null | (Buffer | null)[]>;
  readonly isControlRecord?: boolean;
  readonly batchContext: {
    readonly firstOffset: string;
    readonly lastOffsetDelta: number;
    readonly producerId: string;
    readonly inTransaction: boolean;
  };
}

export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: string;
  readonly lastStableOffset: string;
  readonly abortedTransactions?: { readonly producerId: string; readonly firstOffset: string }[];
  readonly messages: FetchedRecord[];
}

export interface FetchRequest {
  readonly isolationLevel: number;
  readonly maxWaitTime: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
}

export interface ClusterBroker {
  fetch(request: FetchRequest): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

/** The part of kafkajs's `Cluster` the reader uses. */
export interface ReaderCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Every topic with its partitions. */
  metadata(): Promise<{ topicMetadata: { topic: string; partitionMetadata: { partitionId: number }[] }[] }>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  /** Leader node id -> partitions; partitions missing from the metadata are left out. */
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<ClusterBroker>;
  removeBroker(options: { host: string; port: number }): void;
  /** Log start offsets (`fromBeginning`) or end offsets (read_committed: last stable offsets) per partition. */
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export { READ_COMMITTED };

type ClusterFactory = (options: { allowAutoTopicCreation: boolean; isolationLevel: number; metadataMaxAge?: number }) => ReaderCluster;

/** A new kafkajs cluster for one reader (its own connections; `disconnect()` it when done). */
export function createReaderCluster(kafka: Kafka): ReaderCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const factory = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof factory !== 'function') {
    throw new Error('this kafkajs version has no cluster factory (Tributary needs kafkajs 2.2.x: reinstall the pinned version)');
  }
  return (factory as ClusterFactory)({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
}
