/**
 * Where a co-partitioned task's keys are after its topic grew (pure; no I/O). A key's records are written to
 * murmur2(key) mod the partition count of the moment, so after growths c1 < c2 < ... < M a key now owned by task p
 * (murmur2 mod M = p) may have older records in partition `murmur2 mod ci` of every earlier count. The task reads those
 * *ancestor* partitions once, keeping only its keys, older counts first, then its own partition; tasks whose keys left
 * drop them. Which earlier partitions can hold task p's keys:
 * - an earlier count c dividing M: only `p mod c` (murmur2 mod c = (murmur2 mod M) mod c);
 * - any other c: every partition of c.
 * Partition-count history per topic: ascending distinct counts, the current one last (partition-history.ts).
 */
import { defaultPartition } from '../../common/partitioner.js';
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';

/**
 * The partitions task `partition` reads before its own, in read order (earlier counts first, each partition once,
 * its own partition never): empty when the history holds one count or none of the earlier partitions can hold its
 * keys besides its own.
 */
export function ancestorPartitions(partition: number, history: readonly number[]): number[] {
  const current = history[history.length - 1];
  const result: number[] = [];
  const seen = new Set<number>([partition]);
  for (const count of history.slice(0, -1)) {
    if (count >= current) continue;
    const candidates = current % count === 0 ? [partition % count] : Array.from({ length: count }, (_, i) => i);
    for (const candidate of candidates) {
      if (seen.has(candidate)) continue;
      seen.add(candidate);
      result.push(candidate);
    }
  }
  return result;
}

/** True when `key` belongs to task `partition` of a topic with `count` partitions (the Java default partitioner). */
export function ownsKey(key: Uint8Array, partition: number, count: number): boolean {
  return defaultPartition(key, count) === partition;
}

/**
 * The checkpoint entry a store writes once it holds exactly its keys for `count` partitions of `topic` (ancestors read,
 * foreign keys dropped): never a real partition (the topic name gets a suffix no Kafka topic name can hold).
 */
export function regroupMarker(topic: string, count: number): TopicPartitionId {
  return topicPartitionId(`${topic}#regrouped`, count);
}

/** The topic's history with its current count last (a history that does not know `current` yet gets it appended). */
export function historyWith(history: readonly number[] | undefined, current: number): number[] {
  const counts = [...(history ?? []).filter((count) => count < current), current];
  return [...new Set(counts)].sort((a, b) => a - b);
}
