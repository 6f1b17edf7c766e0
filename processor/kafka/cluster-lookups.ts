/**
 * The cluster lookups port: the admin reads the runtime's task manager makes (committed offsets and log ranges at every
 * assignment, partition counts of sink topics at start). `KafkaAdmin` implements it; like the group-member port
 * (group-member.ts) it imports no client library, so the task manager runs against an in-memory cluster in unit
 * tests and against another client's admin later.
 */
import type { TopicPartitionId } from '../../common/records.js';

export interface TopicPartitionCounts {
  /** Partition count of every topic that exists. */
  readonly partitions: Map<string, number>;
  /** Asked-for topics that do not exist. */
  readonly missing: string[];
}

/** A partition's readable range. */
export interface LogOffsets {
  /** Log start offset: the earliest readable offset (moved by retention and DeleteRecords). */
  readonly start: number;
  /** End offset: the next offset to be written, read-committed (the last stable offset). */
  readonly end: number;
}

export interface ClusterLookups {
  /** Committed offsets of a group (next offset to read); partitions without a commit are left out. */
  fetchCommittedOffsets(groupId: string, topics: readonly string[]): Promise<ReadonlyMap<TopicPartitionId, number>>;
  /** End offset of each partition of `topic` (read-committed: the last stable offset), by partition number. */
  fetchEndOffsets(topic: string): Promise<ReadonlyMap<number, number>>;
  /** Log start and end offset of each partition of `topic`, by partition number. */
  fetchOffsetRanges(topic: string): Promise<ReadonlyMap<number, LogOffsets>>;
  /** Partition counts of the topics that exist; the others are listed in `missing` instead of failing the call. */
  describeTopicPartitions(topics: readonly string[]): Promise<TopicPartitionCounts>;
}
