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
import { decodeFetchV11, LegacyFormatError, type DecodedPartition } from './fetch-decoding.js';
import { decompress } from './fetch-response.js';
import { loadKafkajsModule } from './kafkajs-module.js';

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

/** A fetch response partition: decoded by fetch-decoding.ts (`batches`) or, for old message formats, by kafkajs. */
export type ReadPartition = DecodedPartition | FetchedPartition;

interface KafkajsProtocolRequest {
  readonly request: { readonly apiVersion: number };
  readonly response: { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
}
interface KafkajsBrokerInternals {
  lookupRequest(apiKey: number, request: unknown): (args: Omit<FetchRequest, never> & { rackId: string }) => KafkajsProtocolRequest;
}

const FETCH_API_KEY = 1;
let fetchRequests: unknown;

/**
 * One Fetch request to `broker`. Version 11 responses (Kafka 2.3+) are decoded by fetch-decoding.ts; anything else
 * (an older broker, or a record set in message format v0/v1) by kafkajs, as `broker.fetch` does.
 */
export async function fetchFrom(
  broker: ClusterBroker,
  request: FetchRequest,
): Promise<{ responses: { topicName: string; partitions: ReadPartition[] }[] }> {
  const internals = broker as unknown as KafkajsBrokerInternals & Record<symbol, unknown>;
  const send = Object.getOwnPropertySymbols(Object.getPrototypeOf(broker) ?? {}).find(
    (symbol) => symbol.description === 'private:Broker:sendRequest',
  );
  const sendRequest = send === undefined ? undefined : internals[send];
  if (typeof internals.lookupRequest !== 'function' || typeof sendRequest !== 'function') return broker.fetch(request);
  fetchRequests ??= loadKafkajsModule('kafkajs/src/protocol/requests/fetch/index.js');
  const protocol = internals.lookupRequest(FETCH_API_KEY, fetchRequests)({ ...request, rackId: '' });
  if (protocol.request.apiVersion !== 11) return broker.fetch(request);
  const kafkajsResponse = protocol.response;
  const response = {
    decode: (raw: Buffer) =>
      decodeFetchV11(raw, decompress).catch((error: unknown) => {
        if (error instanceof LegacyFormatError) return kafkajsResponse.decode(raw);
        throw error;
      }),
    // kafkajs's check of the partition error codes (throws OFFSET_OUT_OF_RANGE, NOT_LEADER, ...).
    parse: (data: unknown) => kafkajsResponse.parse(data),
  };
  return (await (sendRequest as (protocol: unknown) => Promise<unknown>).call(broker, { ...protocol, response })) as {
    responses: { topicName: string; partitions: ReadPartition[] }[];
  };
}

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
