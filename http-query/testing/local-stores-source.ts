/**
 * A `QuerySource` of one instance holding every partition of the stores it is given (any `ReadOnlyKeyValueStore`:
 * LevelDB, in-memory): for tests of the read path over real stores and for the load check (scripts/bench/http-load.ts).
 */
import { defaultPartition } from '../../common/partitioner.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import { Serdes } from '../../topology/serdes.js';
import type {
  AppStatus,
  ClusterMetadata,
  KeyLocation,
  MetricFamily,
  QuerySource,
  ScanTarget,
  StoreCodec,
  StoreInfo,
} from '../query-source.js';
import { storeCodecFromSerdes } from '../serde-codec.js';

export interface LocalStore {
  readonly name: string;
  /** A global store has one store; a partitioned one a store per partition, keys routed by murmur2 on their bytes. */
  readonly kind: 'global' | 'partitioned';
  readonly partitions: readonly ReadOnlyKeyValueStore[];
  /** Default: string keys, `Serdes.json()` values. */
  readonly codec?: StoreCodec;
}

export class LocalStoresSource implements QuerySource {
  private readonly infos = new Map<string, StoreInfo>();
  private readonly partitions = new Map<string, readonly ReadOnlyKeyValueStore[]>();

  constructor(stores: readonly LocalStore[]) {
    const jsonCodec = storeCodecFromSerdes(Serdes.string(), Serdes.json());
    for (const store of stores) {
      const count = store.partitions.length;
      this.partitions.set(store.name, store.partitions);
      this.infos.set(store.name, {
        name: store.name,
        kind: store.kind,
        keySerde: 'string',
        valueSerde: 'json',
        partitionCount: count,
        codec: store.codec ?? jsonCodec,
        localPartitions: () => Array.from({ length: count }, (_, p) => p),
        approximateCount: async () => {
          const counts = await Promise.all(store.partitions.map((partition) => partition.approximateCount()));
          return counts.reduce((a, b) => a + b, 0);
        },
      });
    }
  }

  stores(): readonly StoreInfo[] {
    return [...this.infos.values()];
  }

  store(name: string): StoreInfo | undefined {
    return this.infos.get(name);
  }

  locate(name: string, key: Uint8Array): KeyLocation {
    const partitions = this.partitions.get(name) ?? [];
    const store = this.infos.get(name)?.kind === 'global' ? partitions[0] : partitions[defaultPartition(key, partitions.length)];
    return { kind: 'local', store };
  }

  scanTargets(name: string): readonly ScanTarget[] {
    const partitions = this.partitions.get(name) ?? [];
    if (this.infos.get(name)?.kind === 'global') return [{ kind: 'local', partition: 'global', store: partitions[0] }];
    return partitions.map((store, partition) => ({ kind: 'local', partition, store }));
  }

  metadata(): ClusterMetadata {
    return { assignmentId: null, instances: [] };
  }

  state(): AppStatus {
    return { state: 'running', restoration: [] };
  }

  metrics(): readonly MetricFamily[] {
    return [];
  }
}
