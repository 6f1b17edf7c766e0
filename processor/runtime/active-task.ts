/**
 * One open task of the runtime, and how it is opened and closed: its stores (one LevelDB per store partition,
 * from the state directory; a table store whose checkpoint lies outside its topic's log, or a derived-table store
 * whose checkpoint lies outside its changelog partition, is cleared first, see restore-range.ts), its StreamTask,
 * and the RestorationPlan of its table and changelog partitions. Positioning its inputs on the
 * group member (seek, pause) and running the restoration is the caller's: see TaskManager.
 */
import type { Logger } from '../../common/logger.js';
import { topicPartitionId, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import { parseTaskId, type TaskId } from '../../common/task-id.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { Topology } from '../../topology/topology.js';
import type { StoreSpec, Subtopology } from '../../topology/specs.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import { StreamTask } from '../engine/stream-task.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import { createChangelogDecoder, finishWindowRestore } from '../engine/changelog.js';
import type { LogOffsets } from '../kafka/cluster-lookups.js';
import type { TopicPartition } from '../kafka/group-member.js';
import { RestorationPlan } from './restoration-plan.js';
import { describeRebuild, restoreRange } from './restore-range.js';
import type { RestorationTracker } from './restoration-tracker.js';
import { ancestorPartitions, historyWith, regroupMarker } from './key-regrouping.js';
import { ownKeysDecoder, prepareRegroup, type PendingRegroup, type RegroupedStore } from './store-regrouping.js';

export interface ActiveTask {
  readonly id: TaskId;
  readonly subtopology: Subtopology;
  readonly partition: number;
  readonly task: StreamTask;
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  readonly restoration: RestorationPlan;
  /** Inputs paused until restoration finishes. */
  readonly paused: TopicPartition[];
  /** Earlier partitions to read before its own (its topic grew; store-regrouping.ts), until done. */
  regroup: PendingRegroup | undefined;
  /** The partition counts of its stores' topics when it opened or last regrouped (see regroupKeptTask). */
  layout: string;
  /**
   * Kept across a growth by a multiple: the keys that moved away are dropped once the task processed what was
   * written to its inputs before every member partitioned with the new counts (`until`, read `since` + a grace).
   */
  movedKeys?: { readonly since: number; until?: ReadonlyMap<TopicPartitionId, number> };
}

/** What opening a task needs (TaskManagerOptions has all of it). */
export interface TaskOpeningContext {
  readonly topology: Topology;
  readonly stateDirectory: StateDirectory;
  readonly partitions: ReadonlyMap<string, number>;
  readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  readonly errorPolicy: ErrorPolicy;
  readonly metrics: EngineMetrics;
  readonly tracker: RestorationTracker;
  readonly logger: Logger;
  readonly maxTaskIdleMs: number;
  /** Decoded values the task caches per store (task-store.ts). Default stream-task.ts's. */
  readonly taskCacheEntries?: number;
  /** Records a table store partition may be behind its end offset and count as caught up (see RestorationPlan). */
  readonly readinessLag: number;
  /** Sends dead letters of bad table records found while restoring records nobody processed before. */
  readonly deadLetters: (records: readonly ProducedRecord[]) => Promise<void>;
  /** Partition counts seen over time per topic (partition-history.ts); without it no store is regrouped. */
  readonly partitionHistory?: ReadonlyMap<string, readonly number[]>;
  /** When a count of a topic was first seen (partition-history.ts): new tasks read earlier partitions `expansionGraceMs` later. */
  readonly partitionSeenAt?: (topic: string, count: number) => number | undefined;
  readonly expansionGraceMs?: number;
}

/** The partition counts a task's stores are partitioned by (see ActiveTask.layout). */
export function taskLayout(topology: Topology, subtopologyId: number, partitions: ReadonlyMap<string, number>): string {
  const sub = topology.subtopologies[subtopologyId];
  const topics = [
    ...sub.tableSources.map((spec) => spec.topic),
    ...derivedStoresOf(topology, subtopologyId).map((spec) => spec.changelogTopic),
  ];
  return topics.map((topic) => `${topic}=${partitions.get(topic as string) ?? '?'}`).join(',');
}

/** The stores of a sub-topology's task and the topic each is partitioned by, with that topic's count history. */
function regroupedStoresOf(
  topology: Topology,
  subtopologyId: number,
  context: Pick<TaskOpeningContext, 'partitions' | 'partitionHistory'>,
): RegroupedStore[] {
  const historyOf = (topic: string): number[] => historyWith(context.partitionHistory?.get(topic), context.partitions.get(topic) ?? 1);
  return [
    ...topology.subtopologies[subtopologyId].tableSources.map((spec) => ({
      name: spec.store,
      topic: spec.topic,
      history: historyOf(spec.topic),
      regroupable: true,
    })),
    ...derivedStoresOf(topology, subtopologyId).map((spec) => ({
      name: spec.name,
      topic: spec.changelogTopic as string,
      history: historyOf(spec.changelogTopic as string),
      regroupable: spec.kind !== 'window',
    })),
  ];
}

/**
 * Whether `store` of task `id`, in a copy that followed only the task's own partition (a standby), holds every key
 * the task owns under today's counts: true when no earlier partition of its topic can hold keys of the task, or when
 * the copy regrouped them (its checkpoints carry the marker). A copy that does not must not answer reads: a moved
 * key would look absent.
 */
export function holdsAllItsKeys(
  id: TaskId,
  store: string,
  checkpoints: ReadonlyMap<TopicPartitionId, number>,
  context: Pick<TaskOpeningContext, 'topology' | 'partitions' | 'partitionHistory'>,
): boolean {
  const { subtopology, partition } = parseTaskId(id);
  const regrouped = regroupedStoresOf(context.topology, subtopology, context).find((r) => r.name === store);
  if (regrouped === undefined || !regrouped.regroupable || regrouped.history.length < 2) return true;
  if (ancestorPartitions(partition, regrouped.history).length === 0) return true;
  return checkpoints.has(regroupMarker(regrouped.topic, regrouped.history[regrouped.history.length - 1]));
}

/**
 * A task kept open across a rebalance after its stores' topics grew: when no earlier partition can hold keys of it
 * besides its own (a growth by a multiple), it stays open (no replay) and drops the keys that moved away later
 * (ActiveTask.movedKeys); otherwise it returns false and the caller reopens it (its stores regroup then).
 */
export function regroupKeptTask(active: ActiveTask, context: TaskOpeningContext): boolean {
  const { topology } = context;
  const layout = taskLayout(topology, active.subtopology.id, context.partitions);
  if (layout === active.layout) return true;
  const regrouped = regroupedStoresOf(topology, active.subtopology.id, context).filter((r) => r.regroupable && r.history.length > 1);
  if (regrouped.some((r) => ancestorPartitions(active.partition, r.history).length > 0)) return false;
  // Stream records of moved keys written before the switch may still be on the way to this task (other members flush
  // with the old counts during the rebalance): its joins need the keys until it processed them.
  if (regrouped.length > 0) active.movedKeys = { since: Date.now() };
  active.layout = layout;
  return true;
}

/** Drops the keys that moved away from a kept task (see ActiveTask.movedKeys) and marks its stores. */
export async function dropMovedKeys(active: ActiveTask, context: TaskOpeningContext): Promise<void> {
  const regrouped = regroupedStoresOf(context.topology, active.subtopology.id, context).filter(
    (r) => r.regroupable && r.history.length > 1,
  );
  await prepareRegroup(new Map(active.stores), regrouped, {
    partition: active.partition,
    logs: new Map(),
    logger: context.logger,
    clear: () => Promise.reject(new Error('a kept task never clears its stores')),
    decoder: () => {
      throw new Error('a kept task reads no earlier partitions');
    },
  });
}

/**
 * Opens task `id`'s stores and engine and plans its table restoration from the group's committed offsets and the
 * log offsets at assignment.
 */
export async function openActiveTask(
  id: TaskId,
  context: TaskOpeningContext,
  committed: ReadonlyMap<TopicPartitionId, number>,
  logs: ReadonlyMap<TopicPartitionId, LogOffsets>,
): Promise<ActiveTask> {
  const { topology, stateDirectory, logger } = context;
  const { subtopology: subId, partition } = parseTaskId(id);
  const subtopology = topology.subtopologies[subId];
  const stores = new Map<string, KeyValueStore<unknown>>();
  for (const name of subtopology.stores) stores.set(name, await stateDirectory.openStore<unknown>(name, partition));
  // A store whose checkpoint the log cannot continue from (retention past it, a recreated topic) is cleared and
  // restored from the log start: patching it would keep keys whose later updates or tombstones are gone.
  // Derived-table stores the same, against their changelog partition (a changelog recreated by a reset: past its end).
  const derivedStores = derivedStoresOf(topology, subId);
  const restoredFrom = [
    ...subtopology.tableSources.map((spec) => ({ store: spec.store, tp: topicPartitionId(spec.topic, partition) })),
    ...derivedStores.map((spec) => ({ store: spec.name, tp: topicPartitionId(spec.changelogTopic as string, partition) })),
  ];
  for (const { store, tp } of restoredFrom) {
    const log = logs.get(tp);
    const checkpoint = stores.get(store)?.checkpoints().get(tp);
    if (log === undefined) continue;
    const { rebuild } = restoreRange(checkpoint, log, committed.get(tp));
    if (rebuild === undefined) continue;
    logger.warn(`store ${store} partition ${partition} is rebuilt from the log start of ${tp}: ${describeRebuild(rebuild)}`, {
      store,
      partition,
      checkpoint,
      logStartOffset: log.start,
      endOffset: log.end,
    });
    await stateDirectory.deleteStore(store, partition);
    stores.set(store, await stateDirectory.openStore<unknown>(store, partition));
  }
  // The topic grew since these stores were partitioned: each must hold exactly the keys that hash to this task now.
  const regrouped = regroupedStoresOf(topology, subId, context);
  const grown = new Map(
    regrouped.filter((r) => r.history.length > 1 && r.regroupable).map((r) => [r.name, r.history[r.history.length - 1]]),
  );
  const tableDecoder = (spec: Subtopology['tableSources'][number], deadLetterBadRecords: boolean) =>
    createTableRecordDecoder(spec, {
      applicationId: topology.applicationId,
      errorPolicy: context.errorPolicy,
      logger,
      metrics: context.metrics,
      // Below a committed offset the records were processed (and dead-lettered) before: none is written again.
      deadLetters: deadLetterBadRecords ? context.deadLetters : undefined,
      deadLetteredElsewhere: 'restored',
    });
  const ownKeys = (name: string, decoder: ReturnType<typeof tableDecoder>) => {
    const count = grown.get(name);
    return count === undefined ? decoder : ownKeysDecoder(decoder, partition, count);
  };
  const regroup = await prepareRegroup(stores, regrouped, {
    partition,
    logs,
    logger,
    notBefore: (topic, count) => {
      const seen = context.partitionSeenAt?.(topic, count);
      return seen === undefined ? 0 : seen + (context.expansionGraceMs ?? 0);
    },
    clear: async (name) => {
      await stateDirectory.deleteStore(name, partition);
      return stateDirectory.openStore<unknown>(name, partition);
    },
    decoder: (name) => {
      const table = subtopology.tableSources.find((spec) => spec.store === name);
      if (table !== undefined) return { decoder: ownKeys(name, tableDecoder(table, false)) };
      const spec = derivedStores.find((d) => d.name === name) as StoreSpec;
      return { decoder: ownKeys(name, createChangelogDecoder(spec)), decodeTombstones: true };
    },
  });
  const task = new StreamTask({
    topology,
    subtopologyId: subId,
    partition,
    stores,
    globalStores: context.globalStores,
    errorPolicy: context.errorPolicy,
    metrics: context.metrics,
    logger,
    maxTaskIdleMs: context.maxTaskIdleMs,
    cacheSize: context.taskCacheEntries,
    partitionCount: (topic) => context.partitions.get(topic) ?? 1,
  });
  const restoration = new RestorationPlan({
    partition,
    tableSources: subtopology.tableSources,
    stores,
    committed,
    logs,
    tracker: context.tracker,
    readinessLag: context.readinessLag,
    decoder: (spec, deadLetterBadRecords) => ownKeys(spec.store, tableDecoder(spec, deadLetterBadRecords)),
    derivedStores,
    changelogRestore: (spec, store) => {
      // Changelog records are whole values (a window's: keyed by key and window start); a window store then records
      // the stream time its changelog implies and drops what retention passed.
      const decoder = createChangelogDecoder(spec);
      return {
        decoder: ownKeys(spec.name, decoder),
        decodeTombstones: true,
        afterRestore: () => finishWindowRestore(store, spec, decoder),
      };
    },
    awaitingRegroup: regroup !== undefined,
  });
  const layout = taskLayout(topology, subId, context.partitions);
  return { id, subtopology, partition, task, stores, restoration, paused: [], regroup, layout };
}

/**
 * Closes the task (its buffered records are dropped) and, unless `keepStores`, its stores: their directories stay
 * on disk for a later return, and their restoration progress is no longer reported.
 */
export function closeActiveTask(active: ActiveTask, keepStores: boolean, tracker: Pick<RestorationTracker, 'remove'>): Promise<unknown> {
  active.task.close();
  if (keepStores) return Promise.resolve();
  for (const name of active.stores.keys()) tracker.remove(name, active.partition);
  return Promise.all([...active.stores.values()].map((store) => store.close()));
}

/** The aggregation and table-join stores of a sub-topology: restored from their changelog topics. */
export function derivedStoresOf(topology: Topology, subtopologyId: number): StoreSpec[] {
  return topology.stores.filter(
    (spec) =>
      spec.subtopologyId === subtopologyId && (spec.kind === 'derived' || spec.kind === 'window') && spec.changelogTopic !== undefined,
  );
}
