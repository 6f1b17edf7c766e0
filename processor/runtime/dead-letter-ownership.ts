/**
 * Who writes the dead letter of a bad input record, so there is exactly one per bad source record whatever the
 * topology and however many instances run:
 *
 * - A record of a topic that a sub-topology reads (a stream or table source): the task owning that partition in the
 *   application's group. It also decodes the record as every global table on that topic would (node-interpreter.ts),
 *   so global updaters and bootstraps on every instance skip such records without a dead letter
 *   (`notDeadLettered.owner`). The group gives each partition one owner at a time.
 * - A record of a topic only global tables read: one elected reader per partition, a member of the consumer group
 *   `<applicationId>-global-dead-letters` that every instance joins (global-dead-letters.ts). It reads from the
 *   earliest offset (records already there at the first start included) and commits its progress once the dead
 *   letters are acknowledged; Kafka's group protocol hands a partition over when its owner leaves or dies.
 * - A record that fails after a repartition: the task where it fails, unless it already has a dead letter upstream
 *   (marked in the repartition record); the letter names the user's record and carries its original bytes.
 *
 * At-least-once: a crash between writing dead letters and committing the offsets behind them makes the next owner
 * write them again. Such copies carry the same identity (source topic, partition, offset: `deadLetterIdentity`),
 * which `dlq replay` uses to send each record back once and to report the duplicates it recognised.
 */
import type { Topology } from '../../topology/topology.js';
import { resolveErrorPolicy, type ErrorPolicy } from '../engine/error-policy.js';

/** The consumer group whose members elect the dead-letter writer of each global-only partition. */
export function globalDeadLetterGroupId(applicationId: string): string {
  return `${applicationId}-global-dead-letters`;
}

/** Global-table updaters and bootstraps never write dead letters in the runtime: see the module comment. */
export const globalUpdatersWriteDeadLetters = (): boolean => false;

/** Topics only global tables read, with at least one of those tables under the 'dead-letter' policy. */
export function electedDeadLetterTopics(topology: Topology, errorPolicy: ErrorPolicy | undefined): string[] {
  const readByTasks = new Set(topology.subtopologies.flatMap((sub) => sub.sourceTopics));
  const topics = new Set<string>();
  for (const spec of topology.globalTables) {
    if (readByTasks.has(spec.topic)) continue;
    if (resolveErrorPolicy(topology.applicationId, errorPolicy, spec.errorPolicy).deserialization === 'dead-letter') topics.add(spec.topic);
  }
  return [...topics].sort();
}
