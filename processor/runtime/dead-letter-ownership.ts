/**
 * Who writes the dead letter of a bad input record, so there is exactly one per bad source record whatever the
 * topology and however many instances run:
 *
 * - A record of a topic that a sub-topology reads (a stream or table source): the task owning that partition in the
 *   application's group. It also decodes the record as every global table on that topic would (node-interpreter.ts),
 *   so global updaters and bootstraps on every instance skip such records without a dead letter
 *   (`notDeadLettered.owner`). The group gives each partition one owner at a time.
 * - A record of a topic only global tables read: the owner of its partition in the consumer group
 *   `<applicationId>-global-dead-letters`, which every instance joins before its global bootstrap
 *   (global-dead-letters.ts). Kafka's group protocol gives a partition one owner at a time and hands it over when
 *   its owner leaves or dies. The owner letters every bad record at or after the group's committed offset C (none:
 *   the log start, so records already there at the first start are included) and commits its progress once the
 *   letters are acknowledged. When one global table reads the topic, the verdicts come from the owner's own global
 *   reader (bootstrap, then updater), which decodes every record anyway; only offsets between C and where those
 *   verdicts start are read again, once (a takeover after the bootstrap, a checkpoint ahead of C). A topic read by
 *   several global tables is read by the group from C and judged as those tables would.
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
