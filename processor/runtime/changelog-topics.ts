/**
 * The changelog topics of derived-table stores (aggregations, table–table joins): `<applicationId>-<store>-changelog`,
 * created at start (idempotent, safe with concurrent instances) with one partition per task of the store's
 * sub-topology, compacted. Task `<sub>_<p>` writes and restores partition `p`, so an existing topic with another
 * partition count, or one that is not compacted, is refused (ChangelogTopicMismatchError) rather than used. One with
 * fewer partitions than tasks is grown first: the input topics got partitions added, and the new tasks' changelog
 * partitions start empty.
 *
 * Window stores' changelogs are `compact,delete` with `retention.ms` = the store's retention + one day (Kafka Streams'
 * `windowstore.changelog.additional.retention.ms`): every window is a key of its own, so compaction alone would keep
 * expired windows forever; the extra day covers instances restoring while windows expire.
 */
import { ChangelogTopicMismatchError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { TopicSpec } from '../kafka/admin.js';

/** What creating and checking changelog topics needs from the cluster (KafkaAdmin has it). */
export interface ChangelogTopicAdmin {
  ensureTopics(specs: readonly TopicSpec[]): Promise<Map<string, number>>;
  addPartitions(counts: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  topicConfigs(topics: readonly string[], configNames: readonly string[]): Promise<Map<string, Record<string, string>>>;
}

/** How long a window changelog keeps records past the store's own retention. */
export const WINDOW_CHANGELOG_EXTRA_RETENTION_MS = 24 * 60 * 60 * 1000;

const CLEANUP_POLICY = 'cleanup.policy';

/** The topic spec of every changelog topic; `taskCount(sub)` is the partition count of the sub-topology's inputs. */
export function changelogTopicSpecs(
  topology: Topology,
  taskCount: (subtopologyId: number) => number,
  replicationFactor?: number,
): TopicSpec[] {
  return topology.changelogTopics.map((changelog) => {
    const window = topology.stores.find((store) => store.name === changelog.store)?.window;
    const configs: Record<string, string> =
      window === undefined
        ? { [CLEANUP_POLICY]: 'compact' }
        : { [CLEANUP_POLICY]: 'compact,delete', 'retention.ms': String(window.retentionMs + WINDOW_CHANGELOG_EXTRA_RETENTION_MS) };
    return { topic: changelog.topic, partitions: taskCount(changelog.subtopologyId), replicationFactor, configs };
  });
}

/**
 * Creates the missing changelog topics and checks the existing ones; returns each one's partition count.
 * Throws ChangelogTopicMismatchError for a topic with another partition count or without compaction.
 */
export async function ensureChangelogTopics(
  admin: ChangelogTopicAdmin,
  topology: Topology,
  taskCount: (subtopologyId: number) => number,
  replicationFactor?: number,
): Promise<Map<string, number>> {
  const specs = changelogTopicSpecs(topology, taskCount, replicationFactor);
  if (specs.length === 0) return new Map();
  const counts = await admin.ensureTopics(specs);
  const behind = new Map(
    specs.filter((spec) => (counts.get(spec.topic) ?? spec.partitions) < spec.partitions).map((spec) => [spec.topic, spec.partitions]),
  );
  if (behind.size > 0) for (const [topic, count] of await admin.addPartitions(behind)) counts.set(topic, count);
  const configs = await admin.topicConfigs(
    specs.map((spec) => spec.topic),
    [CLEANUP_POLICY],
  );
  const storeOf = new Map(topology.changelogTopics.map((changelog) => [changelog.topic, changelog.store]));
  for (const spec of specs) {
    const partitions = counts.get(spec.topic) ?? 0;
    const cleanupPolicy = configs.get(spec.topic)?.[CLEANUP_POLICY] ?? 'delete';
    if (partitions !== spec.partitions || !cleanupPolicy.split(',').includes('compact')) {
      throw new ChangelogTopicMismatchError(
        spec.topic,
        storeOf.get(spec.topic) ?? spec.topic,
        { partitions: spec.partitions, cleanupPolicy: spec.configs?.[CLEANUP_POLICY] ?? 'compact' },
        { partitions, cleanupPolicy },
      );
    }
  }
  return counts;
}
