/**
 * Parked join lookups: how a task joins against stores it can only read asynchronously without an `await` per
 * record. Kafka Streams has no counterpart (its RocksDB reads are synchronous).
 *
 * A stream record whose join key is neither in the task's pending writes nor its cache is parked here with a slot
 * reserved at its place in the output sequence, and the record flow goes on. `resolveRound` then reads every parked
 * key with one `getMany` per store and resumes the parked records in parking order, each writing into its own slot,
 * so outputs keep input order. Records parked while resuming (a second join downstream) wait for the next round.
 *
 * The flush-before-table-write rule: a table update must not be applied while a parked record could still see it,
 * i.e. when a record is parked on the same key of that table, or parked upstream of a join reading that table. The
 * task asks `mustResolveBefore` before each table record and resolves first when it says so.
 */
import type { TaskId } from '../../common/task-id.js';
import { MissingStoreError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type { StreamGlobalJoinNode, StreamTableJoinNode } from '../../topology/nodes.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { InFlight } from './in-flight.js';
import type { OutputSlot, TaskOutputs } from './output-slots.js';
import { NOT_CACHED, type TaskStoreView } from './task-store.js';

export type JoinNode = StreamTableJoinNode | StreamGlobalJoinNode;

/** Continues a parked record's join with the table value found (undefined: no row). */
export type ResumeJoin = (node: JoinNode, record: InFlight, tableValue: unknown) => void;

interface ParkedLookup {
  readonly node: JoinNode;
  readonly record: InFlight;
  readonly slot: OutputSlot;
  readonly keyBytes: Buffer;
  readonly hex: string;
}

export interface JoinLookupsOptions {
  readonly taskId: TaskId;
  readonly topology: Topology;
  /** Node ids of the task's sub-topology. */
  readonly nodeIds: readonly number[];
  /** The task's stores (table joins read them through their overlay and cache). */
  readonly views: ReadonlyMap<string, TaskStoreView>;
  /** Global stores (never cached: the global updater writes them under the task). */
  readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  readonly outputs: TaskOutputs;
}

export class JoinLookups {
  private readonly taskId: TaskId;
  private readonly views: ReadonlyMap<string, TaskStoreView>;
  private readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  private readonly outputs: TaskOutputs;
  /** Node id → table stores read by joins strictly downstream of it. */
  private readonly downstreamJoinStores = new Map<number, readonly string[]>();
  private parked: ParkedLookup[] = [];
  /** Store name → hex keys of the lookups parked on it. */
  private readonly parkedKeys = new Map<string, Set<string>>();
  /** Table store → how many parked records will reach a join reading it after they resume. */
  private readonly parkedDownstream = new Map<string, number>();

  constructor(options: JoinLookupsOptions) {
    this.taskId = options.taskId;
    this.views = options.views;
    this.globalStores = options.globalStores;
    this.outputs = options.outputs;
    for (const id of options.nodeIds) this.downstreamJoinStores.set(id, downstreamJoinStores(options.topology, id));
  }

  /** Lookups waiting for the next round. */
  get count(): number {
    return this.parked.length;
  }

  /** Parks `record` at `node` until the next round, reserving its place in the outputs. */
  park(node: JoinNode, record: InFlight, keyBytes: Buffer, hex: string): void {
    this.parked.push({ node, record, slot: this.outputs.reserve(), keyBytes, hex });
    let keys = this.parkedKeys.get(node.store);
    if (!keys) {
      keys = new Set();
      this.parkedKeys.set(node.store, keys);
    }
    keys.add(hex);
    for (const store of this.downstreamJoinStores.get(node.id) ?? []) {
      this.parkedDownstream.set(store, (this.parkedDownstream.get(store) ?? 0) + 1);
    }
  }

  /** Whether a write of `key` to table store `tableStore` must wait until the parked lookups are resolved. */
  mustResolveBefore(tableStore: string | undefined, key: Buffer | null): boolean {
    if (this.parked.length === 0 || key === null || tableStore === undefined) return false;
    if ((this.parkedDownstream.get(tableStore) ?? 0) > 0) return true;
    const keys = this.parkedKeys.get(tableStore);
    return keys !== undefined && keys.has(key.toString('hex'));
  }

  /** Resolves every lookup parked so far (one getMany per store) and resumes them in parking order. */
  async resolveRound(resume: ResumeJoin): Promise<void> {
    const batch = this.parked;
    this.parked = [];
    this.parkedKeys.clear();
    this.parkedDownstream.clear();

    // store → hex → value; keys already known (overlay/cache) are not fetched again.
    const resolved = new Map<string, Map<string, unknown>>();
    const toFetch = new Map<string, Map<string, Buffer>>();
    for (const p of batch) {
      const store = p.node.store;
      let values = resolved.get(store);
      if (!values) {
        values = new Map();
        resolved.set(store, values);
      }
      const view = this.views.get(store);
      const known = view ? view.peek(p.hex) : NOT_CACHED; // global stores are never cached
      if (known !== NOT_CACHED) values.set(p.hex, known);
      else {
        let keys = toFetch.get(store);
        if (!keys) {
          keys = new Map();
          toFetch.set(store, keys);
        }
        keys.set(p.hex, p.keyBytes);
      }
    }
    await Promise.all(
      [...toFetch].map(async ([store, keys]) => {
        const view = this.views.get(store);
        const reader = view?.store ?? this.globalStores.get(store);
        if (!reader) throw new MissingStoreError(store, `task ${this.taskId}`);
        const hexes = [...keys.keys()];
        const fetched = await reader.getMany([...keys.values()]);
        const values = resolved.get(store) as Map<string, unknown>;
        hexes.forEach((hex, i) => {
          values.set(hex, fetched[i]);
          view?.remember(hex, fetched[i]);
        });
      }),
    );
    const previous = this.outputs.current;
    try {
      for (const p of batch) {
        this.outputs.current = p.slot;
        resume(p.node, p.record, resolved.get(p.node.store)?.get(p.hex));
      }
    } finally {
      this.outputs.restore(previous);
    }
  }
}

function downstreamJoinStores(topology: Topology, id: number): string[] {
  const stores = new Set<string>();
  const stack = [...topology.children[id]];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const next = stack.pop() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    const node = topology.nodes[next];
    if (node.kind === 'stream-table-join') stores.add(node.store);
    stack.push(...topology.children[next]);
  }
  return [...stores];
}
