/**
 * Topic, offset and group administration over kafkajs's admin client, returning plain Maps of numbers.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { KafkaAdminError } from '../../errors.js';
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { KafkaClient } from './client.js';
import type { ClusterLookups, LogOffsets, TopicPartitionCounts } from './cluster-lookups.js';
import { loadKafkajsModule } from './kafkajs-module.js';
import { waitForLeaders, type LeaderWaitClock, type LeaderWaitResult } from './leader-wait.js';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

/** Errors of partitions whose leader is not ready yet (just created), which heal within moments. */
const LEADER_NOT_READY = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);
const LEADER_RETRIES = 10;
const LEADER_RETRY_MS = 200;

function isLeaderNotReady(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { type, cause, originalError } = e as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof type === 'string' && LEADER_NOT_READY.has(type)) return true;
    e = cause ?? originalError;
  }
  return false;
}

// kafkajs spreads its enums into module.exports, which Node's ESM loader cannot see as named exports.
const { ConfigResourceTypes } = kafkajs;

/** A metadata response as kafkajs's broker decodes it (it throws on a topic or partition error instead). */
interface MetadataResponse {
  readonly topicMetadata: readonly {
    readonly topic: string;
    readonly partitionMetadata: readonly { readonly partitionId: number; readonly leader: number }[];
  }[];
}

/** kafkajs's broker: single requests, no retrier around them (it throws on a topic or partition error). */
interface AdminBroker {
  metadata(topics: string[]): Promise<MetadataResponse>;
  listOffsets(request: {
    replicaId?: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
  }): Promise<unknown>;
}

/** The part of the admin's kafkajs cluster the leader wait uses. */
interface AdminCluster {
  findControllerBroker(): Promise<AdminBroker>;
  findBroker(options: { nodeId: string }): Promise<AdminBroker>;
}

/** kafkajs's "latest offset" timestamp and read-uncommitted isolation, for ListOffsets. */
const LATEST_OFFSET = -1;
const READ_UNCOMMITTED = 0;

type CreateAdmin = (options: { retry: unknown; logger: unknown; instrumentationEmitter: unknown; cluster: unknown }) => Admin;

/**
 * kafkajs's admin built as `Kafka#admin()` builds it, keeping its cluster: the leader wait after creating topics sends
 * metadata requests through it on its own schedule (leader-wait.ts). Without kafkajs's private parts (another
 * kafkajs version): the plain admin, and creating topics waits with kafkajs's own leader wait.
 */
function adminWithCluster(kafka: Kafka): { admin: Admin; cluster: AdminCluster | undefined } {
  const symbols = new Map(Object.getOwnPropertySymbols(kafka).map((symbol) => [symbol.description, symbol]));
  const internals = kafka as unknown as Record<symbol, unknown>;
  const at = (name: string): unknown => {
    const symbol = symbols.get(name);
    return symbol === undefined ? undefined : internals[symbol];
  };
  const createCluster = at('private:Kafka:createCluster');
  const logger = at('private:Kafka:logger');
  if (typeof createCluster !== 'function' || logger === undefined) return { admin: kafka.admin(), cluster: undefined };
  try {
    const createAdmin = loadKafkajsModule<CreateAdmin>('kafkajs/src/admin/index.js');
    const Emitter = loadKafkajsModule<new () => unknown>('kafkajs/src/instrumentation/emitter.js');
    const instrumentationEmitter = new Emitter();
    const cluster: unknown = createCluster({ allowAutoTopicCreation: false, instrumentationEmitter });
    const retry = at('private:Kafka:clusterRetry');
    const admin = createAdmin({ retry: { ...(retry as object | undefined) }, logger, instrumentationEmitter, cluster });
    return { admin, cluster: cluster as AdminCluster };
  } catch {
    return { admin: kafka.admin(), cluster: undefined };
  }
}

export interface KafkaAdminOptions {
  /** The leader wait's clock (tests). */
  readonly clock?: LeaderWaitClock;
  /** How long a start waits for the leaders of topics it created (default 10 s). */
  readonly leaderWaitTimeoutMs?: number;
}

export class KafkaAdmin implements ClusterLookups {
  private readonly admin: Admin;
  private readonly cluster: AdminCluster | undefined;
  private connected = false;
  /** The last leader wait after creating topics (undefined before any, or with kafkajs's own wait). */
  lastLeaderWait: LeaderWaitResult | undefined;

  constructor(
    client: KafkaClient,
    private readonly options: KafkaAdminOptions = {},
  ) {
    ({ admin: this.admin, cluster: this.cluster } = adminWithCluster(client.kafka));
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.run('connect', () => this.admin.connect());
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.admin.disconnect();
  }

  /** All topic names, internal ones (`__consumer_offsets`, ...) excluded. */
  async listTopics(): Promise<string[]> {
    const topics = await this.run('listTopics', () => this.admin.listTopics());
    return topics.filter((topic) => !topic.startsWith('__'));
  }

  /**
   * Creates the topics that do not exist yet and returns the actual partition count of every asked-for topic (an
   * existing topic keeps its own count, even if it differs from the spec: the caller decides whether that is fatal).
   * Idempotent, and safe when another instance creates the same topics concurrently.
   */
  async ensureTopics(specs: readonly TopicSpec[], known?: TopicPartitionCounts): Promise<Map<string, number>> {
    for (const spec of specs) {
      if (!(Number.isInteger(spec.partitions) && spec.partitions > 0)) {
        throw new KafkaAdminError('ensureTopics', `topic "${spec.topic}" needs a positive integer partition count, got ${spec.partitions}`);
      }
    }
    const names = [...new Set(specs.map((spec) => spec.topic))];
    // A description the caller just made (covering every name) saves a second one.
    const covers = (d: TopicPartitionCounts): boolean => names.every((name) => d.partitions.has(name) || d.missing.includes(name));
    const described = known !== undefined && covers(known) ? known : await this.describeTopicPartitions(names);
    const missing = names.filter((name) => !described.partitions.has(name));
    const partitions = new Map(
      names.flatMap((name) => (described.partitions.has(name) ? [[name, described.partitions.get(name) as number] as const] : [])),
    );
    if (missing.length === 0) return partitions;
    const toCreate = specs.filter((spec) => missing.includes(spec.topic));
    const cluster = this.cluster;
    // createTopics ignores TOPIC_ALREADY_EXISTS, which covers a concurrent creator.
    await this.run('createTopics', () =>
      this.admin.createTopics({
        waitForLeaders: cluster === undefined,
        topics: toCreate.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor ?? -1,
          configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      }),
    );
    if (cluster !== undefined) {
      // The created topics' counts come from the metadata that shows their leaders (a concurrent creator's count wins).
      this.lastLeaderWait = await waitForLeaders(() => this.topicsWithoutLeaders(cluster, missing, partitions), {
        clock: this.options.clock,
        timeoutMs: this.options.leaderWaitTimeoutMs,
      });
      return partitions;
    }
    const after = await this.describeTopicPartitions(missing);
    if (after.missing.length > 0) {
      throw new KafkaAdminError('ensureTopics', `topics ${after.missing.join(', ')} still do not exist after creating them`);
    }
    for (const [topic, count] of after.partitions) partitions.set(topic, count);
    return partitions;
  }

  /**
   * The topics whose partitions are not all served by a leader yet, from single requests straight to the brokers (no
   * retrier, no backoff): a metadata request, then a ListOffsets to each leader for its partitions, because a leader
   * shows in the metadata a moment before it serves its partition (a produce then fails, and kafkajs's idempotent
   * producer can end in OUT_OF_ORDER_SEQUENCE_NUMBER). While a broker answers a leader or unknown-topic error every
   * topic counts as waiting. The counts of the topics ready go into `counts`.
   */
  private async topicsWithoutLeaders(cluster: AdminCluster, topics: readonly string[], counts: Map<string, number>): Promise<string[]> {
    try {
      const response = await (await cluster.findControllerBroker()).metadata([...topics]);
      const led = new Map(response.topicMetadata.map((t) => [t.topic, t.partitionMetadata] as const));
      const waiting: string[] = [];
      const byLeader = new Map<number, Map<string, number[]>>();
      for (const topic of topics) {
        const partitionMetadata = led.get(topic);
        if (partitionMetadata === undefined || partitionMetadata.length === 0 || partitionMetadata.some((p) => p.leader < 0)) {
          waiting.push(topic);
          continue;
        }
        for (const { partitionId, leader } of partitionMetadata) {
          const ofLeader = byLeader.get(leader) ?? new Map<string, number[]>();
          byLeader.set(leader, ofLeader);
          ofLeader.set(topic, [...(ofLeader.get(topic) ?? []), partitionId]);
        }
      }
      if (waiting.length > 0) return waiting;
      await Promise.all(
        [...byLeader].map(async ([leader, partitions]) =>
          (await cluster.findBroker({ nodeId: String(leader) })).listOffsets({
            replicaId: -1,
            isolationLevel: READ_UNCOMMITTED,
            topics: [...partitions].map(([topic, ids]) => ({
              topic,
              partitions: ids.map((partition) => ({ partition, timestamp: LATEST_OFFSET })),
            })),
          }),
        ),
      );
      for (const topic of topics) counts.set(topic, (led.get(topic) as readonly unknown[]).length);
      return [];
    } catch (error) {
      if (isLeaderNotReady(error) || (error instanceof Error && error.name === 'KafkaJSBrokerNotFound')) return [...topics];
      throw new KafkaAdminError('createTopics', error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  /**
   * Grows each topic to `count` partitions (the new ones are empty). A topic that already has at least that many is
   * left alone, so concurrent instances growing the same topic are safe. Returns the counts after the call.
   */
  async addPartitions(counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const current = await this.describeTopicPartitions([...counts.keys()]);
    const grow = [...counts].filter(([topic, count]) => (current.partitions.get(topic) ?? count) < count);
    if (grow.length > 0) {
      try {
        await this.admin.createPartitions({ topicPartitions: grow.map(([topic, count]) => ({ topic, count })) });
      } catch (error) {
        // INVALID_PARTITIONS: another instance grew it first (the count is checked again below).
        if (!/partition/i.test(error instanceof Error ? error.message : String(error))) {
          throw new KafkaAdminError('createPartitions', error instanceof Error ? error.message : String(error), { cause: error });
        }
      }
    }
    // The new partitions show up in metadata once the controller propagated them: poll for a while.
    for (let attempt = 0; ; attempt++) {
      const after = await this.describeTopicPartitions([...counts.keys()]);
      const behind = [...counts].filter(([topic, count]) => (after.partitions.get(topic) ?? count) < count);
      if (behind.length === 0) return after.partitions;
      if (attempt >= 50) {
        const [topic, count] = behind[0];
        throw new KafkaAdminError(
          'createPartitions',
          `topic "${topic}" has ${after.partitions.get(topic)} partitions after growing it to ${count}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Partition counts of the topics that exist; the others are listed in `missing` instead of failing the call. */
  async describeTopicPartitions(topics: readonly string[]): Promise<TopicPartitionCounts> {
    const unique = [...new Set(topics)];
    if (unique.length === 0) return { partitions: new Map(), missing: [] };
    // One metadata request for every topic (what listTopics asks for anyway) rather than a listing, then a second
    // request for the topics found.
    const metadata = await this.run('fetchTopicMetadata', () => this.admin.fetchTopicMetadata());
    const counts = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length] as const));
    const partitions = new Map<string, number>();
    const missing: string[] = [];
    for (const topic of unique) {
      const count = counts.get(topic);
      if (count === undefined) missing.push(topic);
      else partitions.set(topic, count);
    }
    return { partitions, missing };
  }

  /**
   * Each existing topic's `max.message.bytes` (the broker's limit for one record batch), as the broker resolves it
   * (topic override, else the broker default). Every topic must exist: kafkajs fails the whole call otherwise.
   */
  async topicMaxMessageBytes(topics: readonly string[]): Promise<Map<string, number>> {
    const unique = [...new Set(topics)];
    const limits = new Map<string, number>();
    if (unique.length === 0) return limits;
    const described = await this.run('describeConfigs', () =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: unique.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
      }),
    );
    for (const resource of described.resources) {
      const entry = resource.configEntries.find((e) => e.configName === 'max.message.bytes');
      const value = entry === undefined ? Number.NaN : Number(entry.configValue);
      if (Number.isFinite(value)) limits.set(resource.resourceName, value);
    }
    return limits;
  }

  /**
   * Values of `configNames` per existing topic, as the broker resolves them (topic override, else the broker default).
   * Every topic must exist: kafkajs fails the whole call otherwise.
   */
  async topicConfigs(topics: readonly string[], configNames: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const unique = [...new Set(topics)];
    const configs = new Map<string, Record<string, string>>();
    if (unique.length === 0) return configs;
    const described = await this.run('describeConfigs', () =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: unique.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...configNames] })),
      }),
    );
    for (const resource of described.resources) {
      const values: Record<string, string> = {};
      for (const entry of resource.configEntries) if (configNames.includes(entry.configName)) values[entry.configName] = entry.configValue;
      configs.set(resource.resourceName, values);
    }
    return configs;
  }

  /**
   * End offset of each partition: the next offset to be written, read-committed (the last stable offset), so "caught
   * up" is `position >= end`.
   */
  async fetchEndOffsets(topic: string): Promise<Map<number, number>> {
    const offsets = await this.run('fetchTopicOffsets', () => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  /** Log start offset (`low`) and end offset (`high`, the last stable offset) of each partition. */
  async fetchOffsetRanges(topic: string): Promise<Map<number, LogOffsets>> {
    const offsets = await this.run('fetchTopicOffsets', () => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, { start: Number(o.low), end: Number(o.high) }]));
  }

  /** Committed offsets of a group; partitions without a commit are left out. */
  async fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<Map<TopicPartitionId, number>> {
    const result = await this.run('fetchOffsets', () => this.admin.fetchOffsets({ groupId, topics: [...topics] }));
    const committed = new Map<TopicPartitionId, number>();
    for (const { topic, partitions } of result) {
      for (const { partition, offset } of partitions) {
        const value = Number(offset);
        if (value >= 0) committed.set(topicPartitionId(topic, partition), value);
      }
    }
    return committed;
  }

  /** Deletes the topics that exist; missing ones are ignored. */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    const { partitions } = await this.describeTopicPartitions(topics);
    if (partitions.size === 0) return;
    await this.run('deleteTopics', () => this.admin.deleteTopics({ topics: [...partitions.keys()] }));
  }

  /** Deletes consumer groups (they must have no active members); unknown groups are ignored. */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const listed = await this.run('listGroups', () => this.admin.listGroups());
    const known = new Set(listed.groups.map((g) => g.groupId));
    const toDelete = groupIds.filter((id) => known.has(id));
    if (toDelete.length === 0) return;
    await this.run('deleteGroups', () => this.admin.deleteGroups(toDelete));
  }

  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (error instanceof KafkaAdminError) throw error;
        // Partitions just created (by another instance, or added) have no leader for a moment, and kafkajs's admin
        // does not retry these itself: wait a little, refresh the metadata, try again.
        if (attempt < LEADER_RETRIES && isLeaderNotReady(error)) {
          await new Promise((resolve) => setTimeout(resolve, LEADER_RETRY_MS));
          await this.admin.fetchTopicMetadata().catch(() => undefined);
          continue;
        }
        throw new KafkaAdminError(operation, error instanceof Error ? error.message : String(error), { cause: error });
      }
    }
  }
}
