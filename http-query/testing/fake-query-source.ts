/**
 * In-memory `QuerySource` for tests and the load check: a "cluster" of stores split into partitions, and one
 * source per instance with its own view of who owns which partition (views may disagree, as during a rebalance).
 */
import { defaultPartition } from '../../common/partitioner.js';
import { Serdes } from '../../topology/serdes.js';
import type { TopologyGraph } from '../../topology/graph.js';
import { assemblePage, tailRange } from '../dead-letter-page.js';
import type {
  AppStatus,
  ClusterMetadata,
  ConsumerLagHistory,
  DeadLetterEntry,
  DeadLetterPage,
  DeadLetterPageRequest,
  KeyLocation,
  ReplicaLocation,
  MetricFamily,
  QuerySource,
  ScanTarget,
  StoreInfo,
  StoreKind,
} from '../query-source.js';
import { storeCodecFromSerdes } from '../serde-codec.js';
import type { WindowLayout } from '../../state-store/window-layout.js';
import { streamTimeWrite, windowWrite } from '../../state-store/window-store.js';
import { SortedArrayStore } from './sorted-array-store.js';

export type PartitionOwner = string | { readonly unavailable: string };

/** All data of every store, split by partition (the whole cluster's state, held once). */
export class FakeClusterData {
  readonly stores = new Map<
    string,
    { kind: StoreKind; partitionCount: number; partitions: SortedArrayStore<unknown>[]; window?: WindowLayout }
  >();

  addStore(name: string, kind: StoreKind, partitionCount: number, window?: WindowLayout): void {
    const count = kind === 'global' ? 1 : partitionCount;
    const partitions = Array.from({ length: count }, (_, p) => new SortedArrayStore<unknown>(name, kind === 'global' ? 'global' : p));
    this.stores.set(name, { kind, partitionCount: count, partitions, window });
  }

  /**
   * Loads windows of string keys into a windowed store, in the window layout, with each partition's stream time (the
   * largest start loaded there, unless given), replacing the store's contents.
   */
  loadWindows(storeName: string, windows: Iterable<readonly [key: string, start: number, value: unknown]>, streamTime?: number): void {
    const store = this.stores.get(storeName);
    if (store?.window === undefined) throw new Error(`no windowed store ${storeName}`);
    const layout = store.window;
    const byPartition = new Map<number, [Buffer, unknown][]>();
    const times = new Map<number, number>();
    for (const [key, start, value] of windows) {
      const bytes = Buffer.from(key, 'utf8');
      const partition = defaultPartition(bytes, store.partitionCount);
      const write = windowWrite(bytes, start, value, layout);
      if (write.type !== 'put') continue;
      let entries = byPartition.get(partition);
      if (entries === undefined) byPartition.set(partition, (entries = []));
      entries.push([Buffer.from(write.key), write.value]);
      times.set(partition, Math.max(times.get(partition) ?? 0, start));
    }
    store.partitions.forEach((partition, p) => {
      const time = streamTime ?? times.get(p) ?? 0;
      partition.load([...(byPartition.get(p) ?? []), [Buffer.from(streamTimeWrite(time).key), time]]);
    });
  }

  /** Loads string keys (string serde, murmur2 partitioned) with JSON values, replacing the store's contents. */
  load(storeName: string, entries: Iterable<readonly [string, unknown]>): void {
    const store = this.stores.get(storeName);
    if (store === undefined) throw new Error(`no store ${storeName}`);
    const byPartition = new Map<number, [Buffer, unknown][]>();
    for (const [key, value] of entries) {
      const bytes = Buffer.from(key, 'utf8');
      const partition = store.kind === 'global' ? 0 : defaultPartition(bytes, store.partitionCount);
      let writes = byPartition.get(partition);
      if (writes === undefined) byPartition.set(partition, (writes = []));
      writes.push([bytes, value]);
    }
    store.partitions.forEach((partition, p) => partition.load(byPartition.get(p) ?? []));
  }
}

export class FakeQuerySource implements QuerySource {
  /** Store name → partition → owner instance id (or unavailable). Mutable so tests can move partitions. */
  readonly owners = new Map<string, PartitionOwner[]>();
  readonly urls = new Map<string, string>();
  status: AppStatus = { state: 'running', restoration: [] };
  metricFamilies: MetricFamily[] = [];
  graph: TopologyGraph = { applicationId: 'fake', nodes: [], edges: [], groups: [] };
  lagHistory: ConsumerLagHistory = { groupId: 'fake', intervalMs: 5000, times: [], partitions: [] };
  /** The dead-letter topic: per partition its earliest offset and records (offset order); the end follows the last. */
  deadLetterPartitions: { earliest: number; records: DeadLetterEntry[] }[] = [{ earliest: 0, records: [] }];
  /** Set to make `deadLetters` fail (the topic cannot be read). */
  deadLetterFailure: Error | undefined;
  /** Store name → partition → lag (records) of a standby replica kept here; set by tests of stale reads. */
  readonly replicas = new Map<string, Map<number, number>>();
  private readonly infos = new Map<string, StoreInfo>();

  constructor(
    private readonly data: FakeClusterData,
    readonly instanceId: string,
  ) {
    const codec = storeCodecFromSerdes(Serdes.string(), Serdes.json());
    for (const [name, store] of data.stores) {
      this.owners.set(
        name,
        Array.from({ length: store.partitionCount }, () => instanceId),
      );
      this.infos.set(name, {
        name,
        kind: store.kind,
        keySerde: 'string',
        valueSerde: 'json',
        partitionCount: store.partitionCount,
        window: store.window,
        codec,
        localPartitions: () => this.localPartitions(name),
        approximateCount: async () => {
          const counts = await Promise.all(this.localPartitions(name).map((p) => store.partitions[p].approximateCount()));
          return counts.reduce((a, b) => a + b, 0);
        },
      });
    }
  }

  /** Assigns partitions round-robin over `instanceIds` (partition p → instanceIds[p % n]). */
  assignRoundRobin(instanceIds: readonly string[]): void {
    for (const [name, owners] of this.owners) {
      if (this.data.stores.get(name)?.kind === 'global') continue;
      owners.forEach((_, p) => (owners[p] = instanceIds[p % instanceIds.length]));
    }
  }

  private localPartitions(name: string): number[] {
    const owners = this.owners.get(name) ?? [];
    if (this.data.stores.get(name)?.kind === 'global') return [0];
    return owners.flatMap((owner, p) => (owner === this.instanceId ? [p] : []));
  }

  stores(): readonly StoreInfo[] {
    return [...this.infos.values()];
  }

  store(name: string): StoreInfo | undefined {
    return this.infos.get(name);
  }

  locate(storeName: string, key: Uint8Array): KeyLocation {
    const store = this.data.stores.get(storeName);
    if (store === undefined) throw new Error(`locate on unknown store ${storeName}`);
    if (store.kind === 'global') return { kind: 'local', store: store.partitions[0] };
    const partition = defaultPartition(key, store.partitionCount);
    return this.locationOf(storeName, partition);
  }

  locateReplica(storeName: string, key: Uint8Array): ReplicaLocation | undefined {
    const store = this.data.stores.get(storeName);
    if (store === undefined || store.kind === 'global') return undefined;
    const partition = defaultPartition(key, store.partitionCount);
    const lagRecords = this.replicas.get(storeName)?.get(partition);
    return lagRecords === undefined ? undefined : { store: store.partitions[partition], lagRecords };
  }

  private locationOf(storeName: string, partition: number): KeyLocation {
    const owner = this.owners.get(storeName)?.[partition];
    if (owner === undefined) throw new Error(`no owner for ${storeName}:${partition}`);
    if (typeof owner !== 'string') return { kind: 'unavailable', reason: owner.unavailable, retryAfterSeconds: 2 };
    if (owner === this.instanceId) {
      return { kind: 'local', store: this.data.stores.get(storeName)!.partitions[partition] };
    }
    const url = this.urls.get(owner);
    if (url === undefined) return { kind: 'unavailable', reason: `no URL for ${owner}`, retryAfterSeconds: 1 };
    return { kind: 'remote', url };
  }

  scanTargets(storeName: string): readonly ScanTarget[] {
    const store = this.data.stores.get(storeName);
    if (store === undefined) throw new Error(`scanTargets on unknown store ${storeName}`);
    if (store.kind === 'global') return [{ kind: 'local', partition: 'global', store: store.partitions[0] }];
    const remote = new Map<string, number[]>();
    const targets: ScanTarget[] = [];
    for (let partition = 0; partition < store.partitionCount; partition++) {
      const location = this.locationOf(storeName, partition);
      if (location.kind === 'local') targets.push({ kind: 'local', partition, store: location.store });
      else if (location.kind === 'unavailable') {
        targets.push({
          kind: 'unavailable',
          partitions: [partition],
          reason: location.reason,
          retryAfterSeconds: location.retryAfterSeconds,
        });
      } else {
        const partitions = remote.get(location.url) ?? [];
        partitions.push(partition);
        remote.set(location.url, partitions);
      }
    }
    for (const [url, partitions] of remote) targets.push({ kind: 'remote', url, partitions });
    return targets;
  }

  metadata(): ClusterMetadata {
    const ids = new Set<string>([this.instanceId, ...this.urls.keys()]);
    return {
      assignmentId: 'a1',
      instances: [...ids].map((id) => {
        const storePartitions: Record<string, number[]> = {};
        for (const [name, owners] of this.owners) {
          storePartitions[name] = owners.flatMap((owner, p) => (owner === id ? [p] : []));
        }
        return {
          id,
          url: this.urls.get(id) ?? '',
          self: id === this.instanceId,
          tasks: Object.values(storePartitions)[0]?.map((p) => `0_${p}`) ?? [],
          storePartitions,
        };
      }),
    };
  }

  state(): AppStatus {
    return this.status;
  }

  metrics(): readonly MetricFamily[] {
    return this.metricFamilies;
  }

  topologyGraph(): TopologyGraph {
    return this.graph;
  }

  consumerLag(): ConsumerLagHistory {
    return this.lagHistory;
  }

  async deadLetters(request: DeadLetterPageRequest): Promise<DeadLetterPage> {
    if (this.deadLetterFailure !== undefined) throw this.deadLetterFailure;
    const tails = this.deadLetterPartitions.map(({ earliest, records }, partition) => {
      const last = records[records.length - 1];
      const bounds = { partition, earliest, end: last === undefined ? earliest : Math.max(earliest, last.offset + 1) };
      const { from, upper } = tailRange(bounds, request.before?.get(partition), request.limit);
      return { ...bounds, from, upper, records: records.filter((r) => r.offset >= from && r.offset < upper) };
    });
    return assemblePage('fake-dlq', tails, request.limit);
  }
}
