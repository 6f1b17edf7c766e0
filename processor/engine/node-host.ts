/**
 * What the node handlers of a task (node-interpreter.ts, aggregations.ts, table-flow.ts) share: the task's stores,
 * parked reads, derived-table updates, error handling and counters, and the way to send a record on. Also the one
 * store write every derived table makes (`writeDerived`): store, changelog and change in one step.
 */
import type { TaskId } from '../../common/task-id.js';
import type { DerivedTableNode, TopologyNode } from '../../topology/nodes.js';
import type { Topology } from '../../topology/topology.js';
import type { InFlight } from './in-flight.js';
import type { EngineMetrics } from './metrics.js';
import type { ParkedReads } from './parked-reads.js';
import type { RecordErrorHandler } from './record-errors.js';
import type { TableUpdates } from './table-updates.js';
import type { TaskStoreView } from './task-store.js';

export interface NodeHost {
  readonly taskId: TaskId;
  readonly topology: Topology;
  readonly views: ReadonlyMap<string, TaskStoreView>;
  readonly reads: ParkedReads;
  readonly updates: TableUpdates;
  readonly errors: RecordErrorHandler;
  readonly metrics: EngineMetrics;
  /** Sends `record` to every child of node `fromId`. */
  forward(fromId: number, record: InFlight): void;
}

export const isAbsent = (value: unknown): value is null | undefined => value === null || value === undefined;

/**
 * A copy of a stored aggregate for user code: an aggregator that changes its argument in place must not change the
 * old value travelling downstream with the change, nor a value a parked record still holds.
 */
export function copyForUser(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/** The task's view of `store`; the compiler lists every store a node uses among its sub-topology's stores. */
export function viewOf(host: NodeHost, node: TopologyNode, store: string): TaskStoreView {
  const view = host.views.get(store);
  if (view === undefined)
    throw new Error(`${node.name} uses store '${store}', which task ${host.taskId} does not hold. This is a bug in Tributary.`);
  return view;
}

export interface DerivedWrite {
  readonly node: DerivedTableNode;
  readonly record: InFlight;
  /** The key downstream nodes see. */
  readonly forwardKey: unknown;
  /** The store key (a window store: its storage key) and its hex. */
  readonly storeKey: Buffer;
  readonly hex: string;
  readonly changelogKey: Buffer;
  /** The new value (null/undefined deletes the row) and the stored one before (undefined: none). */
  readonly next: unknown;
  readonly current: unknown;
}

/**
 * Writes a derived table's new value for one key (pending until commit, visible to reads at once), then emits the
 * changelog record and the change. The changelog value is serialized first: a value the serde rejects is a
 * processing error of the record, and the store keeps its old value.
 */
export function writeDerived(host: NodeHost, write: DerivedWrite): void {
  const { node, record, current } = write;
  const newValue = isAbsent(write.next) ? null : write.next;
  if (newValue === null && current === undefined) return;
  let changelogValue: Buffer | null;
  try {
    changelogValue = newValue === null ? null : node.valueSerde.serialize(newValue);
  } catch (error) {
    host.errors.processingFailed(node, record, error);
    return;
  }
  viewOf(host, node, node.store).write(
    write.hex,
    newValue === null ? { type: 'delete', key: write.storeKey } : { type: 'put', key: write.storeKey, value: newValue },
  );
  host.updates.emit(
    {
      node,
      record,
      key: write.forwardKey,
      changelogKey: write.changelogKey,
      changelogValue,
      change: { newValue, oldValue: current ?? null },
    },
    write.hex,
  );
}
