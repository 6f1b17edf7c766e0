/**
 * Parked reads: how a task reads stores it can only read asynchronously without an `await` per record. Kafka
 * Streams has no counterpart (its RocksDB reads are synchronous).
 *
 * A record that needs store values neither in the task's pending writes nor its cache (a join's table row, an
 * aggregation's current aggregate, a table's old row) is parked here with a slot reserved at its place in the
 * output sequence, and the record flow goes on. `resolveRound` reads every parked key with one `getMany` per store,
 * then resumes the parked records in parking order, each writing into its own slot, so outputs keep input order.
 * Records parked while resuming wait for the next round. A resumed record reads through the task's views first
 * (a record resumed before it may have written the key since) and falls back to what the round fetched.
 *
 * Ordering: parking must not let a later record overtake an earlier one where they share state. A store access
 * (read or write) by a node waits (`mustWait`: the record parks too, even when its values are cached) while a parked
 * record could still touch the same store: parked at a node accessing it with the same ordering key, or parked
 * upstream of any node accessing it. The same check runs again when a parked record resumes, against records
 * re-parked earlier in the round. Plain table writes (a table source whose changes nobody downstream needs) do not
 * park: the task resolves the round first when `mustResolveBeforeWrite` says so.
 */
import { assertNever } from '../../common/assert-never.js';
import type { TaskId } from '../../common/task-id.js';
import { MissingStoreError } from '../../errors.js';
import type { Topology } from '../../topology/topology.js';
import type {
  StreamAggregateNode,
  StreamGlobalJoinNode,
  StreamTableJoinNode,
  TableAggregateNode,
  TableJoinNode,
  TableSourceNode,
  TopologyNode,
  WindowAggregateNode,
} from '../../topology/nodes.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { InFlight } from './in-flight.js';
import type { OutputSlot, TaskOutputs } from './output-slots.js';
import { NOT_CACHED, type TaskStoreView } from './task-store.js';

/** The node kinds that read stores and may park. */
export type ParkingNode =
  | StreamTableJoinNode
  | StreamGlobalJoinNode
  | TableSourceNode
  | StreamAggregateNode
  | WindowAggregateNode
  | TableAggregateNode
  | TableJoinNode;

/** One key a parked record needs: its store, its bytes (for `getMany`) and its hex (for views and maps). */
export interface StoreRead {
  readonly store: string;
  readonly keyBytes: Buffer;
  readonly hex: string;
}

export interface ParkedRecord {
  readonly node: ParkingNode;
  /** The node the record came from (a table join needs to know its side); -1 for a record read from an input. */
  readonly fromId: number;
  readonly record: InFlight;
  readonly reads: readonly StoreRead[];
  /** Records with the same ordering key at the same node keep their order; '' orders every record at the node. */
  readonly orderingKey: string;
  readonly slot: OutputSlot;
}

/** Current value of a key: the task's pending writes and cache, then the round's reads. undefined = absent. */
export interface StoreReader {
  read(store: string, hex: string): unknown;
}

export type ResumeParked = (parked: ParkedRecord, reader: StoreReader) => void;

export interface ParkedReadsOptions {
  readonly taskId: TaskId;
  readonly topology: Topology;
  /** Node ids of the task's sub-topology. */
  readonly nodeIds: readonly number[];
  /** The task's stores (read through their pending writes and cache). */
  readonly views: ReadonlyMap<string, TaskStoreView>;
  /** Global stores (never cached: the global updater writes them under the task). */
  readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  readonly outputs: TaskOutputs;
}

const NONE: readonly string[] = Object.freeze([]);

/** The distinct keys a round reads from one global store for single-read records, and what getMany returned. */
interface DirectReads {
  readonly keys: Buffer[];
  /** hex → index in `keys`. */
  readonly positions: Map<string, number>;
  values: readonly unknown[];
}

export class ParkedReads {
  /** Reads for the synchronous path: only called for keys known in the views. */
  readonly syncReader: StoreReader;

  private readonly taskId: TaskId;
  private readonly views: ReadonlyMap<string, TaskStoreView>;
  private readonly globalStores: ReadonlyMap<string, ReadOnlyKeyValueStore<unknown>>;
  private readonly outputs: TaskOutputs;
  /** Node id → task stores the node reads or writes. */
  private readonly accessed = new Map<number, readonly string[]>();
  /** Node id → task stores accessed by nodes strictly downstream of it. */
  private readonly downstream = new Map<number, readonly string[]>();
  private parked: ParkedRecord[] = [];
  /** Store → ordering key → records parked at a node accessing the store. */
  private readonly parkedAt = new Map<string, Map<string, number>>();
  /** Store → records parked upstream of a node accessing it. */
  private readonly parkedAbove = new Map<string, number>();

  constructor(options: ParkedReadsOptions) {
    this.taskId = options.taskId;
    this.views = options.views;
    this.globalStores = options.globalStores;
    this.outputs = options.outputs;
    const { topology } = options;
    for (const id of options.nodeIds) this.accessed.set(id, storesAccessedBy(topology.nodes[id]));
    for (const id of options.nodeIds) this.downstream.set(id, this.storesBelow(topology, id));
    const views = this.views;
    this.syncReader = {
      read(store: string, hex: string): unknown {
        const value = views.get(store)?.peek(hex);
        return value === NOT_CACHED ? undefined : value;
      },
    };
  }

  /** Records waiting for the next round. */
  get count(): number {
    return this.parked.length;
  }

  /** Whether a record reaching `node` with `orderingKey` must park behind records parked before it. */
  mustWait(node: TopologyNode, orderingKey: string): boolean {
    if (this.parked.length === 0) return false;
    for (const store of this.accessed.get(node.id) ?? NONE) {
      if ((this.parkedAbove.get(store) ?? 0) > 0) return true;
      const keys = this.parkedAt.get(store);
      if (keys !== undefined && (keys.has(orderingKey) || keys.has(''))) return true;
    }
    return false;
  }

  /** Whether a table source's write of `key` to `store` must wait until the parked records are resolved. */
  mustResolveBeforeWrite(store: string | undefined, key: Buffer | null): boolean {
    if (this.parked.length === 0 || key === null || store === undefined) return false;
    if ((this.parkedAbove.get(store) ?? 0) > 0) return true;
    const keys = this.parkedAt.get(store);
    return keys !== undefined && (keys.has(key.toString('hex')) || keys.has(''));
  }

  /** Parks `record` at `node` until the next round, reserving its place in the outputs. */
  park(node: ParkingNode, fromId: number, record: InFlight, reads: readonly StoreRead[], orderingKey: string): void {
    this.enqueue({ node, fromId, record, reads, orderingKey, slot: this.outputs.reserve() });
  }

  /** Resolves every record parked so far (one getMany per store) and resumes them in parking order. */
  async resolveRound(resume: ResumeParked): Promise<void> {
    const batch = this.parked;
    this.parked = [];
    this.parkedAt.clear();
    this.parkedAbove.clear();

    // What the round knows per store and hex: values the views know now (kept here too, because fetching other keys
    // can evict them from the cache before their record resumes), then the values read from the stores.
    const known = new Map<string, Map<string, unknown>>();
    const toFetch = new Map<string, Map<string, Buffer>>();
    // A record with one read of a global store (a global join's lookup, the usual case) gets its value straight from
    // the store's getMany by position (`directList`, `directAt`: by its place in the batch), one map by hex per store
    // keeping the keys distinct.
    const direct = new Map<string, DirectReads>();
    const directList = new Array<DirectReads | undefined>(batch.length);
    const directAt = new Array<number>(batch.length);
    const entry = <V>(maps: Map<string, Map<string, V>>, store: string): Map<string, V> => {
      let map = maps.get(store);
      if (!map) {
        map = new Map();
        maps.set(store, map);
      }
      return map;
    };
    for (let i = 0; i < batch.length; i++) {
      const { reads } = batch[i] as ParkedRecord;
      for (const read of reads) {
        const view = this.views.get(read.store);
        if (view === undefined && reads.length === 1) {
          let list = direct.get(read.store);
          if (list === undefined) {
            list = { keys: [], positions: new Map(), values: [] };
            direct.set(read.store, list);
          }
          let at = list.positions.get(read.hex);
          if (at === undefined) {
            at = list.keys.length;
            list.keys.push(read.keyBytes);
            list.positions.set(read.hex, at);
          }
          directList[i] = list;
          directAt[i] = at;
          continue;
        }
        const value = view === undefined ? NOT_CACHED : view.peek(read.hex); // global stores are never cached
        if (value !== NOT_CACHED) entry(known, read.store).set(read.hex, value);
        else entry(toFetch, read.store).set(read.hex, read.keyBytes);
      }
    }
    await Promise.all([
      ...[...toFetch].map(async ([store, keys]) => {
        const view = this.views.get(store);
        const reader = view?.store ?? this.globalStores.get(store);
        if (!reader) throw new MissingStoreError(store, `task ${this.taskId}`);
        const hexes = [...keys.keys()];
        const values = await reader.getMany([...keys.values()]);
        const byHex = entry(known, store);
        hexes.forEach((hex, i) => {
          byHex.set(hex, values[i]);
          view?.remember(hex, values[i]);
        });
      }),
      ...[...direct].map(async ([store, list]) => {
        const reader = this.globalStores.get(store);
        if (!reader) throw new MissingStoreError(store, `task ${this.taskId}`);
        list.values = await reader.getMany(list.keys);
      }),
    ]);
    const views = this.views;
    let current = -1;
    const reader: StoreReader = {
      read(store: string, hex: string): unknown {
        const list = current >= 0 ? directList[current] : undefined;
        if (list !== undefined) {
          const own = (batch[current] as ParkedRecord).reads[0] as StoreRead;
          if (own.hex === hex && own.store === store) return list.values[directAt[current] as number];
        }
        const view = views.get(store);
        if (view !== undefined) {
          const known = view.peek(hex);
          if (known !== NOT_CACHED) return known;
        }
        return known.get(store)?.get(hex);
      },
    };
    const previous = this.outputs.current;
    try {
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i] as ParkedRecord;
        // A record re-parked earlier in this round may share state with this one: keep the order.
        if (this.mustWait(p.node, p.orderingKey)) {
          this.enqueue(p);
          continue;
        }
        this.outputs.current = p.slot;
        current = i;
        resume(p, reader);
      }
    } finally {
      this.outputs.restore(previous);
    }
  }

  private enqueue(parked: ParkedRecord): void {
    this.parked.push(parked);
    for (const store of this.accessed.get(parked.node.id) ?? NONE) {
      let keys = this.parkedAt.get(store);
      if (!keys) {
        keys = new Map();
        this.parkedAt.set(store, keys);
      }
      keys.set(parked.orderingKey, (keys.get(parked.orderingKey) ?? 0) + 1);
    }
    for (const store of this.downstream.get(parked.node.id) ?? NONE) {
      this.parkedAbove.set(store, (this.parkedAbove.get(store) ?? 0) + 1);
    }
  }

  private storesBelow(topology: Topology, id: number): readonly string[] {
    const stores = new Set<string>();
    const stack = [...topology.children[id]];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const next = stack.pop() as number;
      if (seen.has(next)) continue;
      seen.add(next);
      for (const store of this.accessed.get(next) ?? storesAccessedBy(topology.nodes[next])) stores.add(store);
      stack.push(...topology.children[next]);
    }
    return stores.size === 0 ? NONE : [...stores];
  }
}

/** Task stores a node reads or writes while processing a record (global stores never change under ordering). */
function storesAccessedBy(node: TopologyNode): readonly string[] {
  switch (node.kind) {
    case 'stream-table-join':
    case 'table-source':
    case 'stream-aggregate':
    case 'window-aggregate':
    case 'table-aggregate':
      return [node.store];
    case 'table-join':
      return [...new Set([node.store, node.left.store, node.right.store])];
    case 'source':
    case 'global-table':
    case 'transform':
    case 'sink':
    case 'repartition-sink':
    case 'repartition-source':
    case 'stream-global-join':
    case 'process':
    case 'table-transform':
    case 'table-to-stream':
    case 'table-group-by':
      return NONE;
    default:
      return assertNever(node, 'topology node');
  }
}
