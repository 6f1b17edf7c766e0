/**
 * The compiled topology users hold: what `StreamsBuilder.build()` returns and what `TributaryApp` and
 * `TopologyTestDriver` run. Immutable; the compiler that builds it is compile.ts.
 */
import { TopologyBuildError } from '../errors.js';
import { describeTopology, topologyToMermaid } from './describe.js';
import { nodeTopic, type TopologyNode } from './nodes.js';
import type { ChangelogTopicSpec, CompiledTopology, GlobalTableSpec, RepartitionTopicSpec, StoreSpec, Subtopology } from './specs.js';

/** A validated, immutable topology. Hand it to a runtime or to `TopologyTestDriver`. */
export class Topology implements CompiledTopology {
  readonly applicationId: string;
  readonly nodes: readonly TopologyNode[];
  readonly subtopologies: readonly Subtopology[];
  readonly repartitionTopics: readonly RepartitionTopicSpec[];
  /** Changelog topics of derived-table stores (created compacted, one partition per task of their sub-topology). */
  readonly changelogTopics: readonly ChangelogTopicSpec[];
  readonly globalTables: readonly GlobalTableSpec[];
  readonly stores: readonly StoreSpec[];
  /** Node id → ids of the nodes it forwards to (repartition sinks have none: the topic is the edge). */
  readonly children: readonly (readonly number[])[];
  /** Node id → its sub-topology id (undefined for global-table nodes). */
  readonly subtopologyOf: readonly (number | undefined)[];

  // Private and kept in the .d.ts (not marked internal): a stripped constructor would read as a public one.
  private constructor(fields: CompiledTopology) {
    this.applicationId = fields.applicationId;
    this.nodes = fields.nodes;
    this.subtopologies = fields.subtopologies;
    this.repartitionTopics = fields.repartitionTopics;
    this.changelogTopics = fields.changelogTopics;
    this.globalTables = fields.globalTables;
    this.stores = fields.stores;
    this.children = fields.children;
    this.subtopologyOf = fields.subtopologyOf;
    Object.freeze(this);
  }

  /** @internal built by compileTopology */
  static fromCompiled(fields: CompiledTopology): Topology {
    return new Topology(fields);
  }

  /** Topic a source/sink node reads or writes (repartition nodes resolve to their full topic name). */
  topicOf(node: TopologyNode): string | undefined {
    return nodeTopic(this.applicationId, node);
  }

  /** Internal topics this topology reads and writes (`<applicationId>-...-repartition`), sorted. */
  internalTopics(): string[] {
    return this.repartitionTopics.map((r) => r.topic).sort();
  }

  /** User (non-internal) topics read by sub-topologies and global tables. */
  userSourceTopics(): string[] {
    const internal = new Set(this.internalTopics());
    const topics = new Set<string>();
    for (const sub of this.subtopologies) for (const t of sub.sourceTopics) if (!internal.has(t)) topics.add(t);
    for (const g of this.globalTables) topics.add(g.topic);
    return [...topics].sort();
  }

  /**
   * Partition counts for every repartition topic, given the user topics' counts (Kafka Streams' rule):
   * 1. the count the user fixed with `repartition({ partitions })`;
   * 2. else, when the sub-topology reading it also reads user topics (e.g. the table of a join), their count, so
   *    the group is co-partitioned (the runtime still validates that those user topics agree);
   * 3. else the max over the source topics of the sub-topology writing it (recursively through repartitions).
   */
  partitionCounts(userTopicPartitions: (topic: string) => number): ReadonlyMap<string, number> {
    const result = new Map<string, number>();
    const byTopic = new Map(this.repartitionTopics.map((r) => [r.topic, r]));
    const resolve = (topic: string, seen: Set<string>): number => {
      const known = result.get(topic);
      if (known !== undefined) return known;
      const spec = byTopic.get(topic);
      if (!spec) return userTopicPartitions(topic);
      if (spec.partitions !== undefined) {
        result.set(topic, spec.partitions);
        return spec.partitions;
      }
      const internal = new Set(byTopic.keys());
      const coPartitioned = this.subtopologies[spec.consumedBy].sourceTopics.filter((t) => !internal.has(t));
      if (coPartitioned.length > 0) {
        const count = Math.max(...coPartitioned.map(userTopicPartitions));
        result.set(topic, count);
        return count;
      }
      if (seen.has(topic))
        throw new TopologyBuildError(topic, 'repartition topics feed each other in a loop; give one of them a fixed partition count.');
      seen.add(topic);
      const producer = this.subtopologies[spec.producedBy];
      const count = Math.max(1, ...producer.sourceTopics.map((t) => resolve(t, seen)));
      result.set(topic, count);
      return count;
    };
    for (const r of this.repartitionTopics) resolve(r.topic, new Set());
    return result;
  }

  /**
   * Partition count of every changelog topic: the task count of the sub-topology owning its store, i.e. the count of
   * that sub-topology's source topics (repartition topics resolved as in `partitionCounts`).
   */
  changelogPartitionCounts(userTopicPartitions: (topic: string) => number): ReadonlyMap<string, number> {
    const repartition = this.partitionCounts(userTopicPartitions);
    const result = new Map<string, number>();
    for (const changelog of this.changelogTopics) {
      const first = this.subtopologies[changelog.subtopologyId].sourceTopics[0];
      result.set(changelog.topic, repartition.get(first) ?? userTopicPartitions(first));
    }
    return result;
  }

  describe(): string {
    return describeTopology(this);
  }

  toMermaid(): string {
    return topologyToMermaid(this);
  }
}
