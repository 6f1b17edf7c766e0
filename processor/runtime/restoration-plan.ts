/**
 * How one task's table stores get to "caught up" after an assignment. Per table partition of the task, with the
 * range rule of restore-range.ts (the same rule global tables use):
 * 1. restoring: records from the store's checkpoint (the log start without one) up to the group's committed offset
 *    (a partition never committed: its end offset at assignment) are read into the store by a ChangelogReader,
 *    outside the group; the task's inputs stay paused meanwhile;
 * 2. catching-up: the task processes the table partition from there, in timestamp order with its stream inputs
 *    (Kafka Streams' semantics: records past the committed offset were not processed yet, and a stream record is
 *    joined against the table as of its timestamp, so a replay after a crash gives the same joins);
 * 3. caught-up: the store's checkpoint reached the end offset taken at assignment (minus the readiness lag the
 *    application allows). Only then are lookups of the partition answered and is it ready; before, 503.
 * A partition never committed restores to its end offset, so it is caught up when restoration ends.
 *
 * Derived-table stores (aggregations, table–table joins; window stores too) restore from their changelog partition
 * (`<applicationId>-<store>-changelog`, partition = the task's) with the same range rule and no committed offset:
 * from the store's checkpoint of that partition to the changelog's end offset at assignment. The changelog holds
 * whole values, the latest the previous owner computed, so the store is caught up (served, ready) as soon as that
 * restoration ends; from there the task's processing moves it on.
 *
 * The plan knows nothing of the group member or the reader: the caller seeks each table partition to its
 * `starts` offset, pauses the task's inputs while `restoring`, runs the ChangelogReader over `targets()`, calls
 * `restored()` per target and `checkCaughtUp()` after every commit of the task.
 */
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { StoreSpec, TableSourceSpec } from '../../topology/specs.js';
import type { TableRecordDecoder } from '../engine/table-decoder.js';
import type { LogOffsets } from '../kafka/cluster-lookups.js';
import type { ChangelogProgress, ChangelogTarget } from './changelog-reader.js';
import { needsRestoring, processingStart, restoreRange, type RestoreRange } from './restore-range.js';
import type { RestorationTracker } from './restoration-tracker.js';

export interface RestorationPlanInputs {
  /** The task's partition number. */
  readonly partition: number;
  readonly tableSources: readonly TableSourceSpec[];
  /** The task's open stores, by name. */
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown>>;
  /** The group's committed offsets (partitions never committed are absent). */
  readonly committed: ReadonlyMap<TopicPartitionId, number>;
  /** Log start and end offsets at assignment. */
  readonly logs: ReadonlyMap<TopicPartitionId, LogOffsets>;
  /** The decoder of a table source; `deadLetterBadRecords` when its records were never processed. */
  readonly decoder: (spec: TableSourceSpec, deadLetterBadRecords: boolean) => TableRecordDecoder;
  /** Derived-table stores of the task (kind `derived` or `window`, each with its changelog topic). */
  readonly derivedStores?: readonly StoreSpec[];
  /** How a derived store's changelog is decoded and finished (engine: createChangelogDecoder, finishWindowRestore). */
  readonly changelogRestore?: (spec: StoreSpec, store: KeyValueStore<unknown>) => ChangelogRestore;
  readonly tracker: Pick<RestorationTracker, 'begin' | 'advance' | 'catchingUp' | 'finish'>;
  /** Records a store partition may still be behind its end offset and count as caught up. Default 0. */
  readonly readinessLag?: number;
  /**
   * The task first reads its keys from earlier partitions of a grown topic (store-regrouping.ts): every partition
   * counts as restoring, and nothing is restored here, until `regrouped()`.
   */
  readonly awaitingRegroup?: boolean;
}

/** Where the task reads one table partition from once restored, and its end offset at assignment. */
export interface TablePartitionStart {
  readonly tp: TopicPartitionId;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly end: number;
}

/** The parts of a changelog target that depend on the store (see ChangelogTarget). */
export type ChangelogRestore = Pick<ChangelogTarget, 'decoder' | 'decodeTombstones' | 'afterRestore'>;

type Phase = 'restoring' | 'catching-up' | 'caught-up';

/** One store partition restored by the plan: a table partition (an input of the task) or a changelog partition. */
interface TablePartition {
  readonly kind: 'table' | 'changelog';
  /** The store's name. */
  readonly name: string;
  readonly tp: TopicPartitionId;
  readonly store: KeyValueStore<unknown>;
  readonly range: RestoreRange;
  /** End offset at assignment. */
  readonly end: number;
  phase: Phase;
  /** Records of this partition's restoration reported to the tracker so far. */
  reported: number;
  readonly target: ChangelogTarget | undefined;
}

export class RestorationPlan {
  /** Every table partition of the task: seek each to its offset. */
  readonly starts: readonly TablePartitionStart[];
  private readonly partition: number;
  private readonly tracker: RestorationPlanInputs['tracker'];
  private readonly lag: number;
  private readonly tables = new Map<TopicPartitionId, TablePartition>();
  private awaitingRegroup: boolean;

  constructor(inputs: RestorationPlanInputs) {
    const { partition, stores, committed, logs, tracker } = inputs;
    this.awaitingRegroup = inputs.awaitingRegroup ?? false;
    this.partition = partition;
    this.tracker = tracker;
    this.lag = Math.max(0, inputs.readinessLag ?? 0);
    const starts: TablePartitionStart[] = [];
    for (const spec of inputs.tableSources) {
      const tp = topicPartitionId(spec.topic, partition);
      // The compiler puts every table source's store among its sub-topology's stores.
      const store = stores.get(spec.store) as KeyValueStore<unknown>;
      const log = logs.get(tp) ?? { start: 0, end: 0 };
      // A store to rebuild was cleared by the caller (active-task.ts) before the plan: no checkpoint here then.
      const range = restoreRange(store.checkpoints().get(tp), log, committed.get(tp));
      const neverProcessed = range.committed === 'none' || range.committed === 'past-log-end';
      this.add('table', spec.store, tp, store, range, log.end, () => ({ decoder: inputs.decoder(spec, neverProcessed) }));
      starts.push({ tp, topic: spec.topic, partition, offset: processingStart(range), end: log.end });
    }
    for (const spec of inputs.derivedStores ?? []) {
      const store = stores.get(spec.name);
      const restore = inputs.changelogRestore;
      if (spec.changelogTopic === undefined || store === undefined || restore === undefined) continue;
      const tp = topicPartitionId(spec.changelogTopic, partition);
      const log = logs.get(tp) ?? { start: 0, end: 0 };
      // No committed offset: a changelog is restored to its end (its records are whole values, never re-processed).
      const range = restoreRange(store.checkpoints().get(tp), log);
      this.add('changelog', spec.name, tp, store, range, log.end, () => restore(spec, store));
    }
    this.starts = starts;
  }

  private add(
    kind: TablePartition['kind'],
    name: string,
    tp: TopicPartitionId,
    store: KeyValueStore<unknown>,
    range: RestoreRange,
    end: number,
    restore: () => ChangelogRestore,
  ): void {
    const checkpoint = store.checkpoints().get(tp);
    const restoring = needsRestoring(range) || this.awaitingRegroup;
    const position = restoring ? range.from : (checkpoint ?? processingStart(range));
    const phase: Phase = restoring ? 'restoring' : this.isCaughtUp(position, end) ? 'caught-up' : 'catching-up';
    const target: ChangelogTarget | undefined = restoring
      ? { label: `${name}[${this.partition}]`, store, partitions: new Map([[tp, { from: range.from, to: range.to }]]), ...restore() }
      : undefined;
    this.tables.set(tp, { kind, name, tp, store, range, end, phase, reported: 0, target });
    this.tracker.begin(name, this.partition, Math.min(position, end), end, { phase });
  }

  /** True while a table partition is being restored: the task must not process yet. */
  get restoring(): boolean {
    if (this.awaitingRegroup) return true;
    for (const table of this.tables.values()) if (table.phase === 'restoring') return true;
    return false;
  }

  isTablePartition(tp: TopicPartitionId): boolean {
    return this.tables.get(tp)?.kind === 'table';
  }

  /** What the ChangelogReader restores for this task (one target per restoring table or changelog partition). */
  targets(): ChangelogTarget[] {
    const targets: ChangelogTarget[] = [];
    if (this.awaitingRegroup) return targets;
    for (const table of this.tables.values()) if (table.phase === 'restoring' && table.target !== undefined) targets.push(table.target);
    return targets;
  }

  /**
   * The task's stores hold their keys from the earlier partitions: its own partitions are restored from here (those
   * with nothing to restore are done at once).
   */
  regrouped(): void {
    if (!this.awaitingRegroup) return;
    this.awaitingRegroup = false;
    for (const table of this.tables.values()) {
      if (table.phase !== 'restoring' || table.target === undefined) continue;
      if (!needsRestoring(table.range)) this.restored(table.target, 0);
    }
  }

  /** The table partition `target` restores, if it is one of this plan's. */
  owns(target: ChangelogTarget): boolean {
    for (const table of this.tables.values()) if (table.target === target) return true;
    return false;
  }

  progress(target: ChangelogTarget, progress: ChangelogProgress): void {
    const table = this.tableOf(target);
    if (table === undefined || table.phase !== 'restoring') return;
    this.tracker.advance(table.name, this.partition, progress.restored - table.reported, table.range.to - progress.remaining);
    table.reported = progress.restored;
  }

  /**
   * `target` reached its committed offset: the task takes over (catching up), or it is caught up already. A
   * changelog partition is at its end offset at assignment: caught up.
   */
  restored(target: ChangelogTarget, restoredRecords: number): void {
    const table = this.tableOf(target);
    if (table === undefined || table.phase !== 'restoring') return;
    const position = table.store.checkpoints().get(table.tp) ?? table.range.to;
    this.tracker.advance(table.name, this.partition, restoredRecords - table.reported, position);
    table.reported = restoredRecords;
    if (table.kind === 'changelog') {
      table.phase = 'caught-up';
      this.tracker.finish(table.name, this.partition);
      return;
    }
    table.phase = 'catching-up';
    this.tracker.catchingUp(table.name, this.partition);
    this.checkCaughtUp();
  }

  /** Reads the stores' checkpoints (after the task committed): partitions that reached their end are caught up. */
  checkCaughtUp(): void {
    for (const table of this.tables.values()) {
      if (table.phase !== 'catching-up') continue;
      const position = table.store.checkpoints().get(table.tp) ?? 0;
      this.tracker.advance(table.name, this.partition, 0, Math.min(position, table.end));
      if (this.isCaughtUp(position, table.end)) {
        table.phase = 'caught-up';
        this.tracker.finish(table.name, this.partition);
      }
    }
  }

  /**
   * True when the task processed a catching-up partition far enough (`positionOf`: the task's position per input)
   * that committing now makes it caught up: the caller commits without waiting for the commit interval.
   */
  commitWouldCatchUp(positionOf: (tp: TopicPartitionId) => number | undefined): boolean {
    for (const table of this.tables.values()) {
      if (table.phase !== 'catching-up' || table.kind !== 'table') continue;
      const position = positionOf(table.tp);
      if (position !== undefined && this.isCaughtUp(position, table.end)) return true;
    }
    return false;
  }

  /** Why lookups of `store` cannot be answered yet (restoring or catching up), or undefined when they can. */
  unavailableReason(store: string): string | undefined {
    if (this.awaitingRegroup) return `store ${store} partition ${this.partition} is restoring (reading its keys from earlier partitions)`;
    for (const table of this.tables.values()) {
      if (table.name !== store) continue;
      if (table.phase === 'restoring') return `store ${store} partition ${this.partition} is restoring`;
      if (table.phase === 'catching-up') {
        const position = table.store.checkpoints().get(table.tp) ?? 0;
        return `store ${store} partition ${this.partition} is catching up (offset ${position} of ${table.end})`;
      }
    }
    return undefined;
  }

  /**
   * Committable position of each table (input) partition past restoration: where its store stands. The task's own offsets
   * take precedence once it has processed the partition.
   */
  floors(): ReadonlyMap<TopicPartitionId, number> {
    const floors = new Map<TopicPartitionId, number>();
    for (const table of this.tables.values()) {
      // Changelog partitions are not inputs: their positions are never committed to the group.
      if (table.phase === 'restoring' || table.kind !== 'table') continue;
      const checkpoint = table.store.checkpoints().get(table.tp);
      if (checkpoint !== undefined) floors.set(table.tp, checkpoint);
    }
    return floors;
  }

  private isCaughtUp(position: number, end: number): boolean {
    return position >= end - this.lag;
  }

  private tableOf(target: ChangelogTarget): TablePartition | undefined {
    for (const table of this.tables.values()) if (table.target === target) return table;
    return undefined;
  }
}
