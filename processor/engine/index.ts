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
 *   - `stores`: one opened KeyValueStore per name in `topology.subtopologies[id].stores` for this partition.
 *     Restore table stores first (source topic = changelog; decoder from `createTableRecordDecoder`), starting
 *     at `store.checkpoints()`.
 *   - `task.inputPartitions` lists the topic-partitions to consume; pass fetched records with `task.addRecords`,
 *     and tell the task where each input stands with `task.noteFetchPosition(tp, nextOffset, logEndOffset)` (at
 *     assignment and after every fetched batch): an empty input known to hold unfetched records holds the task back
 *     (up to `maxFetchWaitMs`), so timestamp order holds across partitions fetched separately.
 *     One topic may feed several sub-topologies: hand each record to every task whose inputs include it.
 *   Loop:
 *     if (task.readyToProcess(now)) {
 *       const { outputs } = await task.process({ maxRecords, nowMs: now });   // timestamp order, no per-record await
 *       send outputs (ProducedRecord.partition undefined ⇒ murmur2 of the key, see processor/partitioner.ts);
 *       a dead letter of a record that failed after a repartition is pending (`isPendingOriginal`): put the user's
 *       record it names in first (`withOriginalRecord`; `withoutOriginalRecord` if it is gone from its topic)
 *     }
 *   Commit (every commit interval):
 *     1. await acks of everything sent so far (dead letters included);
 *     2. const offsets = await task.commit();   // writes store batches atomically WITH checkpoints
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
 *   join-lookups.ts      parked join lookups: reserved output slots, one getMany per store per round,
 *                        the flush-before-table-write rule
 *   processor-context.ts process() nodes: their context and stores, the barrier for async calls
 *   output-slots.ts      outputs in input order through reserved slots
 *   record-errors.ts     error policies per source and dead letters (one per source record)
 *   in-flight.ts         a record in the graph, and the RecordFate of the consumed record it came from (one dead
 *                        letter per record; the origin trailer of the repartition records it writes)
 *   task-store.ts        a task's view of a store: pending writes + LRU cache, written at commit
 *   error-policy.ts, table-decoder.ts, global-updater.ts, metrics.ts: policies, table decoding, global tables, counters
 */
export { StreamTask, type StreamTaskOptions, type ProcessOptions, type ProcessResult } from './stream-task.js';
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
