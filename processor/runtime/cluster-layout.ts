/**
 * Checks the topology against the cluster before anything runs, and creates the internal topics:
 * - every user input topic (streams, tables, global tables) must exist → MissingSourceTopicsError naming them;
 * - repartition topics and the dead-letter topic are created if missing (idempotent, safe with concurrent instances);
 * - all source topics of a sub-topology must have one partition count → CoPartitioningError naming topics and counts;
 * - changelog topics of derived-table stores are created compacted with the task count, or checked when they exist
 *   (changelog-topics.ts);
 * - internal topics (repartition, changelog) with fewer partitions than the topology needs now are grown: input topics
 *   got partitions added since they were created, and co-partitioning must keep holding;
 * - given the previous layout (a running app re-reads it, partition-watcher.ts), a count that went down is a
 *   PartitionCountDecreasedError naming topics and counts.
 * The result is the partition count of every topic the runtime touches, and the task specs for the group.
 *
 * `findOrphanedInternalTopics` lists internal topics of the application (`<applicationId>-...-repartition` or
 * `-changelog`, read by its group before) that this topology no longer uses, with the records the group never read
 * in them: what an earlier deploy left behind when an internal topic got another name.
 */
import { CoPartitioningError, MissingSourceTopicsError, PartitionCountDecreasedError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { KafkaAdmin, TopicSpec } from '../kafka/admin.js';
import type { TaskSpec } from '../kafka/assignor.js';
import { followedStores } from './standby-tasks.js';
import type { ClusterLookups } from '../kafka/cluster-lookups.js';
import { topicPartitionId } from '../../common/records.js';
import { ensureChangelogTopics } from './changelog-topics.js';

/** Kafka's default `max.message.bytes` (1 MiB + record-batch overhead). */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Room for the tributary.* headers (the error message is capped by the engine) and batch framing. */
const DEAD_LETTER_HEADROOM_BYTES = 64 * 1024;

export interface ClusterLayout {
  /** Partition count of every source, repartition, global-table, changelog and dead-letter topic. */
  readonly partitions: ReadonlyMap<string, number>;
  /** One spec per sub-topology, for the group consumer's assignor. */
  readonly tasks: readonly TaskSpec[];
}

export interface InternalTopicOptions {
  readonly deadLetterTopic: string;
  readonly deadLetterPartitions: number;
  readonly replicationFactor?: number;
}

/** What preparing the layout needs from the cluster (KafkaAdmin has it; so does the fake cluster). */
export type LayoutAdmin = Pick<
  KafkaAdmin,
  'describeTopicPartitions' | 'ensureTopics' | 'topicMaxMessageBytes' | 'topicConfigs' | 'addPartitions'
>;

/** One topic whose partition count changed between two layouts. */
export interface PartitionCountChange {
  readonly topic: string;
  readonly before: number;
  readonly now: number;
}

/** Topics whose count differs between `before` and `now` (topics only in one of them are left out), sorted by topic. */
export function partitionCountChanges(before: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): PartitionCountChange[] {
  const changes: PartitionCountChange[] = [];
  for (const [topic, count] of now) {
    const old = before.get(topic);
    if (old !== undefined && old !== count) changes.push({ topic, before: old, now: count });
  }
  return changes.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/** Throws PartitionCountDecreasedError when a topic of `now` has fewer partitions than in `before`. */
export function checkNoDecrease(before: ReadonlyMap<string, number> | undefined, now: ReadonlyMap<string, number>): void {
  if (before === undefined) return;
  const decreased = partitionCountChanges(before, now).filter((change) => change.now < change.before);
  if (decreased.length > 0)
    throw new PartitionCountDecreasedError(
      Object.fromEntries(decreased.map(({ topic, before: b, now: n }) => [topic, { before: b, now: n }])),
    );
}

/**
 * Reads the cluster and makes it fit the topology (see the file comment). `previous`: the partition counts the running
 * app works with; a topic with fewer partitions now fails with PartitionCountDecreasedError.
 */
export async function prepareClusterLayout(
  admin: LayoutAdmin,
  topology: Topology,
  internal: InternalTopicOptions,
  previous?: ReadonlyMap<string, number>,
): Promise<ClusterLayout> {
  const userTopics = topology.userSourceTopics();
  const sinkTopics = topology.subtopologies.flatMap((s) => s.sinkTopics);
  // One description of every topic this reads (metadata requests are most of a warm start's layout time); the
  // internal topics' part saves ensureTopics its own.
  const all = await admin.describeTopicPartitions([...userTopics, ...sinkTopics, ...topology.internalTopics(), internal.deadLetterTopic]);
  const userMissing = userTopics.filter((topic) => all.missing.includes(topic));
  if (userMissing.length > 0) throw new MissingSourceTopicsError([...new Set(userMissing)].sort());
  const described = { partitions: new Map(userTopics.map((topic) => [topic, all.partitions.get(topic) as number] as const)) };
  checkNoDecrease(previous, described.partitions);

  // Co-partitioning of user topics first, so a mismatch fails before anything is created.
  const userCount = (topic: string): number => described.partitions.get(topic) as number;
  checkCoPartitioning(topology, (topic) => described.partitions.get(topic));

  const wanted = topology.partitionCounts(userCount);
  const specs: TopicSpec[] = [...wanted].map(([topic, partitions]) => ({
    topic,
    partitions,
    replicationFactor: internal.replicationFactor,
  }));
  // A dead letter is a source record (or an output that did not fit its topic) plus tributary.* headers: give the
  // dead-letter topic room for the largest record any topic we touch accepts, or one poison record near a topic's
  // limit would be rejected by the DLQ and stop the app. Only applied when we create the topic.
  // (describeConfigs fails as a whole on an unknown topic: ask only about topics that exist; and not at all when the
  // dead-letter topic exists, as on every start but the first.)
  if (all.partitions.has(internal.deadLetterTopic)) {
    specs.push({
      topic: internal.deadLetterTopic,
      partitions: internal.deadLetterPartitions,
      replicationFactor: internal.replicationFactor,
    });
  } else {
    const existingSinks = sinkTopics.filter((topic) => all.partitions.has(topic));
    const limits = await admin.topicMaxMessageBytes([...userTopics, ...existingSinks]);
    const deadLetterLimit = Math.max(DEFAULT_MAX_MESSAGE_BYTES, ...limits.values()) + DEAD_LETTER_HEADROOM_BYTES;
    specs.push({
      topic: internal.deadLetterTopic,
      partitions: internal.deadLetterPartitions,
      replicationFactor: internal.replicationFactor,
      configs: { 'max.message.bytes': String(deadLetterLimit) },
    });
  }
  const created = await admin.ensureTopics(specs, all);
  checkNoDecrease(previous, created);
  // Input topics grew since the repartition topics were created: grow them too (never shrink; a larger one is a
  // co-partitioning error below).
  const behind = new Map([...wanted].filter(([topic, count]) => (created.get(topic) ?? count) < count));
  if (behind.size > 0) for (const [topic, count] of await admin.addPartitions(behind)) created.set(topic, count);

  const partitions = new Map<string, number>(described.partitions);
  for (const [topic, count] of created) partitions.set(topic, count);
  // An existing repartition topic keeps its own count; a wrong one breaks co-partitioning.
  checkCoPartitioning(topology, (topic) => partitions.get(topic));

  const tasks: TaskSpec[] = topology.subtopologies.map((sub) => ({
    subtopology: sub.id,
    topics: sub.sourceTopics,
    partitions: partitions.get(sub.sourceTopics[0]) as number,
    // State a standby or warm-up can follow: table stores (their source topics), changelogged derived stores.
    stateful: followedStores(topology, sub.id).length > 0,
  }));
  // Changelog topics of derived-table stores: one partition per task (changelog-topics.ts).
  const taskCount = (sub: number): number => tasks[sub].partitions;
  for (const [topic, count] of await ensureChangelogTopics(admin, topology, taskCount, internal.replicationFactor))
    partitions.set(topic, count);
  return { partitions, tasks };
}

/** Throws for the first sub-topology whose known source topics disagree (unknown counts are skipped). */
function checkCoPartitioning(topology: Topology, countOf: (topic: string) => number | undefined): void {
  for (const sub of topology.subtopologies) {
    const counts: Record<string, number> = {};
    for (const topic of sub.sourceTopics) {
      const count = countOf(topic);
      if (count !== undefined) counts[topic] = count;
    }
    const distinct = new Set(Object.values(counts));
    if (distinct.size > 1) throw new CoPartitioningError(sub.id, counts, Math.max(...distinct));
  }
}

/** An internal topic of the application the topology no longer reads. */
export interface OrphanedInternalTopic {
  readonly topic: string;
  /** Records in it the application's group has not read (committed offset, else the log start, to the end). */
  readonly unreadRecords: number;
}

/** What finding orphaned internal topics reads from the cluster (KafkaAdmin has it). */
export type InternalTopicLookups = Pick<ClusterLookups, 'fetchOffsetRanges' | 'fetchCommittedOffsets'> & {
  listTopics(): Promise<string[]>;
};

/** Internal topic names of `applicationId` among `topics`: `<applicationId>-<name>-repartition` or `-changelog`. */
export function internalTopicsOf(applicationId: string, topics: readonly string[]): string[] {
  const pattern = new RegExp(`^${applicationId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-.+-(repartition|changelog)$`);
  return topics.filter((topic) => pattern.test(topic));
}

/**
 * Internal topics of the application the topology no longer reads. Only topics the application's group has read
 * (committed offsets on them) count: a name like `shop-eu-orders-repartition` may belong to another application
 * `shop-eu`, and its records are not this one's to drain.
 */
export async function findOrphanedInternalTopics(lookups: InternalTopicLookups, topology: Topology): Promise<OrphanedInternalTopic[]> {
  const used = new Set(topology.internalTopics());
  const candidates = internalTopicsOf(topology.applicationId, await lookups.listTopics())
    .filter((topic) => !used.has(topic))
    .sort();
  if (candidates.length === 0) return [];
  const committed = await lookups.fetchCommittedOffsets(topology.applicationId, candidates);
  const readByGroup = new Set([...committed.keys()].map((tp) => tp.slice(0, tp.lastIndexOf(':'))));
  const result: OrphanedInternalTopic[] = [];
  for (const topic of candidates) {
    if (!readByGroup.has(topic)) continue;
    let unreadRecords = 0;
    for (const [partition, log] of await lookups.fetchOffsetRanges(topic)) {
      const read = Math.max(committed.get(topicPartitionId(topic, partition)) ?? log.start, log.start);
      unreadRecords += Math.max(0, log.end - read);
    }
    result.push({ topic, unreadRecords });
  }
  return result;
}

/** The log line for an orphaned topic: what is in it, and how to drain or drop it. */
export function describeOrphanedTopic({ topic, unreadRecords }: OrphanedInternalTopic): string {
  if (unreadRecords === 0)
    return `internal topic ${topic} is no longer used by this topology and the group read all of it: it can be deleted`;
  return (
    `internal topic ${topic} is no longer used by this topology, and holds ${unreadRecords} record(s) its group never read: ` +
    `they will not be processed. To process them, stop this version, run the previous one until its consumer lag on ${topic} ` +
    `is 0, then deploy this one; or keep the old name (repartition({ name }) / join(..., { repartitionName }) with the ` +
    `part between '<applicationId>-' and '-repartition'). To drop them, delete the topic.`
  );
}
