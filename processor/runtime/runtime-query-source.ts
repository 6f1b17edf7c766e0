/**
 * The runtime's side of the interactive-query seam (http-query/query-source.ts). Answers from in-memory state only:
 * the topology, the partition counts found at start, the current task → owner map and the open stores.
 *
 * Routing a key: murmur2(key bytes) mod the partition count of the store's topic gives the partition, hence the task
 * `<subtopology>_<partition>`; its owner serves it. Local answers need the task here, restored, and no rebalance in
 * progress; anything else is `unavailable` with a reason and a retry hint (the server answers 503).
 */
import type {
  AppStatus,
  ClusterMetadata,
  PartitionCountChangeInfo,
  ConsumerLagHistory,
  DeadLetterPage,
  DeadLetterPageRequest,
  InstanceInfo,
  KeyLocation,
  ReplicaLocation,
  MetricFamily,
  QuerySource,
  ScanTarget,
  StoreCodec,
  StoreInfo,
} from '../../http-query/query-source.js';
import { storeCodecFromSerdes } from '../../http-query/serde-codec.js';
import type { ChangeFeedSource } from '../../http-query/change-feed.js';
import type { Topology } from '../../topology/topology.js';
import type { StoreSpec } from '../../topology/specs.js';
import { topologyGraph, type TopologyGraph } from '../../topology/graph.js';
import { Serdes, type Serde } from '../../topology/serdes.js';
import { parseTaskId, taskId, type TaskId } from '../../common/task-id.js';
import type { GroupAssignment } from '../kafka/group-member.js';
import { DEFAULT_LAG_SAMPLE_INTERVAL_MS } from './lag-sampler.js';
import { defaultPartition } from '../../common/partitioner.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from '../../state-store/types.js';

/** What routing needs from the global tables (GlobalTables implements it). */
export interface GlobalStoresView {
  readonly bootstrapped: boolean;
  store(name: string): KeyValueStore<unknown> | undefined;
}

/** What routing needs from the partitioned work (TaskRegistry implements it; TaskManager.view). */
export interface TaskOwnershipView {
  readonly isRebalancing: boolean;
  currentAssignment(): Pick<GroupAssignment, 'epoch' | 'assignmentId' | 'memberId' | 'all' | 'members'> | undefined;
  localStore(task: TaskId, store: string): { store: ReadOnlyKeyValueStore<unknown> } | { reason: string };
  localPartitions(store: string): number[];
  approximateCount(store: string): Promise<number>;
}

/** What the source reads; the parts that exist only after start are getters that may return undefined. */
export interface RuntimeQueryParts {
  readonly topology: Topology;
  readonly url: () => string;
  readonly instanceId: () => string;
  readonly partitions: () => ReadonlyMap<string, number> | undefined;
  readonly globals: () => GlobalStoresView | undefined;
  readonly tasks: () => TaskOwnershipView | undefined;
  readonly status: () => AppStatus;
  /** Internal topics found at start that the topology no longer reads (see cluster-layout.ts). */
  readonly orphanedInternalTopics?: () => readonly { readonly topic: string; readonly unreadRecords: number }[];
  readonly partitionCountChanges?: () => readonly PartitionCountChangeInfo[];
  readonly metrics: () => readonly MetricFamily[];
  /** The group's lag history (ConsumerLagSampler), once sampling runs. */
  readonly lagHistory?: () => ConsumerLagHistory | undefined;
  /** Reads pages of the dead-letter topic (DeadLetterReader), once the Kafka client is connected. */
  readonly deadLetterReader?: () => { page(request: DeadLetterPageRequest): Promise<DeadLetterPage> } | undefined;
  /** The instance's change feed (GET /stores/:store/changes). */
  readonly changeFeed?: () => ChangeFeedSource | undefined;
  /** Standby replicas kept here (standby-tasks.ts), when enabled. */
  readonly replicas?: () => { replica(task: TaskId, store: string): ReplicaLocation | undefined } | undefined;
}

/** How long clients should wait before retrying while the runtime moves or restores partitions. */
const RETRY_AFTER_SECONDS = 1;

export class RuntimeQuerySource implements QuerySource {
  private graph: TopologyGraph | undefined;
  private readonly infos: readonly StoreInfo[];
  private readonly byName: ReadonlyMap<string, StoreInfo>;
  private readonly specs: ReadonlyMap<string, StoreSpec>;

  constructor(private readonly parts: RuntimeQueryParts) {
    this.specs = new Map(parts.topology.stores.map((spec) => [spec.name, spec]));
    this.infos = parts.topology.stores.map((spec) => this.storeInfo(spec));
    this.byName = new Map(this.infos.map((info) => [info.name, info]));
  }

  stores(): readonly StoreInfo[] {
    return this.infos;
  }

  store(name: string): StoreInfo | undefined {
    return this.byName.get(name);
  }

  locate(name: string, key: Uint8Array): KeyLocation {
    const spec = this.specs.get(name);
    if (spec === undefined) return unavailable(`unknown store ${name}`);
    if (spec.kind === 'global') {
      const globals = this.parts.globals();
      const store = globals?.bootstrapped ? globals.store(name) : undefined;
      return store === undefined ? unavailable(`global store ${name} is restoring`) : { kind: 'local', store: store.readOnly() };
    }
    const count = this.partitionCountOf(spec);
    if (count === undefined || spec.subtopologyId === undefined) return unavailable('the instance is starting');
    return this.locatePartition(spec, defaultPartition(key, count));
  }

  locateReplica(name: string, key: Uint8Array): ReplicaLocation | undefined {
    const spec = this.specs.get(name);
    if (spec === undefined || spec.kind === 'global' || spec.subtopologyId === undefined) return undefined;
    const count = this.partitionCountOf(spec);
    if (count === undefined) return undefined;
    return this.parts.replicas?.()?.replica(taskId(spec.subtopologyId, defaultPartition(key, count)), name);
  }

  scanTargets(name: string): readonly ScanTarget[] {
    const spec = this.specs.get(name);
    if (spec === undefined) return [];
    if (spec.kind === 'global') {
      const location = this.locate(name, new Uint8Array(0));
      return location.kind === 'local'
        ? [{ kind: 'local', partition: 'global', store: location.store }]
        : [{ kind: 'unavailable', partitions: [0], reason: reasonOf(location), retryAfterSeconds: RETRY_AFTER_SECONDS }];
    }
    const count = this.partitionCountOf(spec) ?? 0;
    if (count === 0)
      return [{ kind: 'unavailable', partitions: [0], reason: 'the instance is starting', retryAfterSeconds: RETRY_AFTER_SECONDS }];
    const targets: ScanTarget[] = [];
    const remote = new Map<string, number[]>();
    const down = new Map<string, number[]>();
    for (let partition = 0; partition < count; partition++) {
      const location = this.locatePartition(spec, partition);
      if (location.kind === 'local') targets.push({ kind: 'local', partition, store: location.store });
      else if (location.kind === 'remote') remote.set(location.url, [...(remote.get(location.url) ?? []), partition]);
      else down.set(location.reason, [...(down.get(location.reason) ?? []), partition]);
    }
    for (const [url, partitions] of remote) targets.push({ kind: 'remote', url, partitions });
    for (const [reason, partitions] of down)
      targets.push({ kind: 'unavailable', partitions, reason, retryAfterSeconds: RETRY_AFTER_SECONDS });
    return targets;
  }

  metadata(): ClusterMetadata {
    const orphaned = this.parts.orphanedInternalTopics?.() ?? [];
    const changes = this.parts.partitionCountChanges?.() ?? [];
    const extra = {
      ...(orphaned.length > 0 ? { orphanedInternalTopics: orphaned } : {}),
      ...(changes.length > 0 ? { partitionCountChanges: changes } : {}),
    };
    const tasks = this.parts.tasks();
    const assignment = tasks?.currentAssignment();
    if (assignment === undefined) {
      return {
        assignmentId: null,
        instances: [{ id: this.parts.instanceId(), url: this.parts.url(), self: true, tasks: [], storePartitions: {} }],
        ...extra,
      };
    }
    const instances: InstanceInfo[] = assignment.members.map((member) => ({
      id: member.instanceId ?? member.memberId,
      url: member.url,
      self: member.memberId === assignment.memberId,
      tasks: member.tasks,
      storePartitions: this.storePartitionsOf(member.tasks),
    }));
    return { assignmentId: assignment.assignmentId, instances, ...extra };
  }

  state(): AppStatus {
    return this.parts.status();
  }

  metrics(): readonly MetricFamily[] {
    return this.parts.metrics();
  }

  topologyGraph(): TopologyGraph {
    this.graph ??= topologyGraph(this.parts.topology);
    return this.graph;
  }

  consumerLag(): ConsumerLagHistory {
    return (
      this.parts.lagHistory?.() ?? {
        groupId: this.parts.topology.applicationId,
        intervalMs: DEFAULT_LAG_SAMPLE_INTERVAL_MS,
        times: [],
        partitions: [],
      }
    );
  }

  deadLetters(request: DeadLetterPageRequest): Promise<DeadLetterPage> {
    const reader = this.parts.deadLetterReader?.();
    if (reader === undefined) return Promise.reject(new Error('the instance is starting: it is not connected to Kafka yet'));
    return reader.page(request);
  }

  changeFeed(): ChangeFeedSource | undefined {
    return this.parts.changeFeed?.();
  }

  private locatePartition(spec: StoreSpec, partition: number): KeyLocation {
    const tasks = this.parts.tasks();
    const assignment = tasks?.currentAssignment();
    if (tasks === undefined || assignment === undefined) return unavailable('the instance has not joined its group yet');
    if (tasks.isRebalancing) return unavailable('a rebalance is in progress');
    const id = taskId(spec.subtopologyId as number, partition);
    const owner = assignment.all.get(id);
    if (owner === undefined) return unavailable(`no instance owns task ${id}`);
    if (owner.memberId !== assignment.memberId) {
      return owner.url === '' ? unavailable(`the owner of task ${id} has no query URL`) : { kind: 'remote', url: owner.url };
    }
    const local = tasks.localStore(id, spec.name);
    return 'store' in local ? { kind: 'local', store: local.store } : unavailable(local.reason);
  }

  private storePartitionsOf(tasks: readonly TaskId[]): Record<string, number[]> {
    const result: Record<string, number[]> = {};
    for (const id of tasks) {
      const { subtopology, partition } = parseTaskId(id);
      for (const name of this.parts.topology.subtopologies[subtopology]?.stores ?? []) (result[name] ??= []).push(partition);
    }
    return result;
  }

  private partitionCountOf(spec: StoreSpec): number | undefined {
    if (spec.kind === 'global') return 1;
    const partitions = this.parts.partitions();
    if (partitions === undefined) return undefined;
    if (spec.topic !== undefined) return partitions.get(spec.topic);
    const sub = spec.subtopologyId === undefined ? undefined : this.parts.topology.subtopologies[spec.subtopologyId];
    return sub === undefined ? undefined : partitions.get(sub.sourceTopics[0]);
  }

  private storeInfo(spec: StoreSpec): StoreInfo {
    // State stores hold whatever values their processors put: rendered like msgpack-decoded data.
    const valueSerde: Serde<unknown> = spec.valueSerde ?? Serdes.msgpack();
    const codec: StoreCodec = storeCodecFromSerdes(spec.keySerde, valueSerde);
    // Live: unknown until start() has read the cluster's partition counts.
    const partitionCount = (): number => this.partitionCountOf(spec) ?? 1;
    return {
      name: spec.name,
      // Window stores answer the window routes only (their layout is the query server's to read: `window`).
      kind: spec.kind === 'global' ? 'global' : spec.kind === 'window' ? 'windowed' : 'partitioned',
      ...(spec.window === undefined ? {} : { window: spec.window }),
      keySerde: spec.keySerde.name,
      valueSerde: spec.valueSerde?.name ?? 'msgpack',
      get partitionCount(): number {
        return partitionCount();
      },
      codec,
      localPartitions: () => (spec.kind === 'global' ? [0] : (this.parts.tasks()?.localPartitions(spec.name) ?? [])),
      approximateCount: async () => {
        if (spec.kind === 'global') return (await this.parts.globals()?.store(spec.name)?.approximateCount()) ?? 0;
        return (await this.parts.tasks()?.approximateCount(spec.name)) ?? 0;
      },
    };
  }
}

function unavailable(reason: string): KeyLocation {
  return { kind: 'unavailable', reason, retryAfterSeconds: RETRY_AFTER_SECONDS };
}

function reasonOf(location: KeyLocation): string {
  return location.kind === 'unavailable' ? location.reason : 'unavailable';
}
