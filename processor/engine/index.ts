/**
 * The task engine: how a runtime (the Kafka runtime or TopologyTestDriver) drives a topology.
 *
 * Per instance:
 *   const metrics = new EngineMetrics();
 *   const counts = topology.partitionCounts(userTopic => <partitions from the cluster>);   // repartition topics
 *   // Co-partitioning: every topic of `sub.sourceTopics` must have the same partition count (validate it).
 *
 * Global tables (every instance, all partitions): open one KeyValueStore per `topology.globalTables[i].store`
 * (partition 'global'); restore it with `createTableRecordDecoder(spec, {...})` + restoreStore; then for every
 * consumed batch:
 *   const g = new GlobalTableUpdater({ topology, stores, errorPolicy, metrics, writesDeadLetters });
 *   const batch = g.prepare(records); await send(batch.deadLetters); await g.write(batch);
 *   With several instances, one writer per partition must own the dead letters of a global-only topic (the runtime
 *   elects one: processor/runtime/dead-letter-ownership.ts) and `writesDeadLetters` is false everywhere else;
 *   bad records of a topic a sub-topology also reads are always the owning task's.
 *
 * Tasks: one per (sub-topology id, partition) assigned to this instance.
 *   const task = new StreamTask({ topology, subtopologyId, partition, stores, globalStores, errorPolicy, metrics,
 *                                 maxTaskIdleMs, partitionCount });
 *   - `stores`: one opened KeyValueStore per name in `topology.subtopologies[id].stores` for this partition (window
 *     stores too: the window layout lives inside a key-value store).
 *     Restore table stores first (source topic = changelog; decoder from `createTableRecordDecoder`), starting
 *     at `store.checkpoints()`. Derived-table stores (`StoreSpec.kind` 'derived' / 'window') restore from their
 *     changelog topic `spec.changelogTopic` (this task's partition), from the store's checkpoint of that
 *     topic-partition (none: offset 0) to its end, with `createChangelogDecoder(spec)` and `restoreStore(...,
 *     decodeTombstones: true)`; then `finishWindowRestore(store, spec, decoder)` for window stores.
 *   - `task.inputPartitions` lists the topic-partitions to consume; pass fetched records with `task.addRecords`,
 *     and tell the task where each input stands with `task.noteFetchPosition(tp, nextOffset, logEndOffset)` (at
 *     assignment and after every fetched batch): an empty input known to hold unfetched records holds the task back
 *     (up to `maxFetchWaitMs`), so timestamp order holds across partitions fetched separately.
 *     One topic may feed several sub-topologies: hand each record to every task whose inputs include it.
 *   Loop:
 *     if (task.readyToProcess(now)) {
 *       const { outputs } = await task.process({ maxRecords, nowMs: now });   // timestamp order, no per-record await
 *       send outputs (ProducedRecord.partition undefined ⇒ murmur2 of the key, see common/partitioner.ts;
 *       changelog records of derived tables carry the task's partition);
 *       a dead letter of a record that failed after a repartition is pending (`isPendingOriginal`): put the user's
 *       record it names in first (`withOriginalRecord`; `withoutOriginalRecord` if it is gone from its topic)
 *     }
 *   Commit (every commit interval):
 *     0. const { outputs } = await task.prepareCommit();   // updates 'on-commit' tables held back; send them too
 *     1. await acks of everything sent so far (dead letters and changelog records included);
 *     2. const offsets = await task.commit({ changelogOffsets });   // writes store batches atomically WITH checkpoints
 *        `changelogOffsets`: per changelog partition the task wrote, the offset after its last acknowledged record
 *        (from the producer's acknowledgements); it becomes the derived store's checkpoint.
 *     3. commit `offsets` (next offset per input partition) to the consumer group.
 *   If `process` throws (a 'fail' policy: DeserializationError / ProcessingError, or a store error), the task is
 *   failed: do not commit it; close it; restarting resumes from the last committed offsets (the bad record).
 *
 * Production errors: the runtime applies `resolveErrorPolicy(...).production` after its own retries.
 *
 * Modules (StreamTask orchestrates; the rest are internal to the engine):
 *   stream-task.ts       StreamTask: addRecords → process → commit, and the loop that resolves what is pending
 *   input-queues.ts      per-partition queues, next record by head timestamp, the idle/fetch-wait rule
 *   node-interpreter.ts  runs records through the node graph, one function per node kind (exhaustive dispatch)
 *   parked-reads.ts      parked store reads (joins, aggregates, old table rows): reserved output slots, one getMany
 *                        per store per round, the ordering rule (no record overtakes one it shares state with)
 *   aggregations.ts      count/reduce/aggregate per key, per key and window, and over re-grouped tables
 *   table-flow.ts        table nodes (changes with old and new values): table sources that forward changes,
 *                        filter/mapValues, toStream, groupBy, table–table joins
 *   table-updates.ts     a derived table's changes: changelog record + downstream change, or the on-commit cache
 *   changelog.ts         changelog record keys, and decoding changelogs back into store writes (restoration)
 *   node-host.ts         what node handlers share; `writeDerived`, the one store write of every derived table
 *   processor-context.ts process() nodes: their context and stores, the barrier for async calls
 *   output-slots.ts      outputs in input order through reserved slots
 *   record-errors.ts     error policies per source and dead letters (one per source record)
 *   in-flight.ts         a record in the graph, and the RecordFate of the consumed record it came from (one dead
 *                        letter per record; the origin trailer of the repartition records it writes)
 *   task-store.ts        a task's view of a store: pending writes + a bounded cache of recent values, written at commit
 *   error-policy.ts, table-decoder.ts, global-updater.ts, metrics.ts: policies, table decoding, global tables, counters
 */
export { StreamTask, type StreamTaskOptions, type ProcessOptions, type ProcessResult, type CommitOptions } from './stream-task.js';
export { createChangelogDecoder, finishWindowRestore, type ChangelogDecoder } from './changelog.js';
export { GlobalTableUpdater, type GlobalTableUpdaterOptions, type GlobalBatch } from './global-updater.js';
export { EngineMetrics, type EngineMetricsSnapshot } from './metrics.js';
export { DeadLetterHeaders, deadLetterRecord } from '../../common/dead-letters.js';
export {
  resolveErrorPolicy,
  type ErrorAction,
  type ErrorPolicy,
  type ErrorStage,
  type ResolvedErrorPolicy,
  type SourceErrorPolicy,
} from './error-policy.js';
export { createTableRecordDecoder, decodeTableRecord, deserializePart, type TableRecordDecoder } from './table-decoder.js';
