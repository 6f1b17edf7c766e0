/**
 * The seam between the query server and an application instance: everything the HTTP layer needs, and nothing
 * from kafkajs or the runtime. The Kafka runtime implements it; tests implement it over in-memory stores.
 *
 * Every method is called per request, so implementations answer from in-memory state (the current task → instance
 * map, open stores) and must not do I/O in `locate`/`scanTargets`.
 */
import type { ReadOnlyKeyValueStore } from '../state-store/types.js';
import type { WindowLayout } from '../state-store/window-layout.js';
import type { TopologyGraph } from '../topology/graph.js';
import type { ChangeFeedSource } from './change-feed.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Store-specific conversions between URL strings, key bytes and JSON. */
export interface StoreCodec {
  /**
   * Key as written in a URL (already percent-decoded) → key bytes, i.e. the key serde's `fromString` + `serialize`.
   * Throws (any error) when the serde rejects the text; the server answers 400 TRIBUTARY_QUERY_INVALID_KEY.
   */
  keyFromString(text: string): Uint8Array;
  /** Key bytes → the JSON the client sees as `"key"`. */
  keyToJson(key: Uint8Array): JsonValue;
  /** Stored value → the JSON the client sees as `"value"`. */
  valueToJson(value: unknown): JsonValue;
  /**
   * True when `valueToJson` of a value parsed from JSON text renders that same JSON (a `Serdes.json()` value): a value
   * the store keeps as JSON text is then sent as that text, never parsed (`ReadOnlyKeyValueStore.readStored`).
   */
  readonly valueJsonTextAsIs?: boolean;
  /**
   * True when the key's JSON is its string form itself (a `Serdes.string()` key): `keyToJson(keyFromString(text))`
   * is `text` for any text without UTF-16 surrogates, so a lookup answers with the key as sent, not decoded again.
   */
  readonly keyJsonIsText?: boolean;
}

/**
 * `partitioned` and `windowed` stores are spread over partitions (routed by key); a `windowed` store holds windowed
 * aggregates in the window layout (state-store/window-layout.ts) and answers the window routes only.
 */
export type StoreKind = 'global' | 'partitioned' | 'windowed';

export interface StoreInfo {
  readonly name: string;
  readonly kind: StoreKind;
  /** Serde names as the topology knows them, e.g. `"string"`, `"json"`; shown to clients. */
  readonly keySerde: string;
  readonly valueSerde: string;
  /** Partitions of the store's changelog/source topic (1 for a global store's view). */
  readonly partitionCount: number;
  /**
   * Set for `windowed` stores: their windows' size, retention and segments. The window routes read the stores that
   * `locate` and `scanTargets` return through it (the same routing as other partitioned stores).
   */
  readonly window?: WindowLayout;
  readonly codec: StoreCodec;
  /** Partitions this instance currently holds (all of them for a global store). Live: changes on rebalance. */
  localPartitions(): readonly number[];
  /** Cheap estimate over the local partitions. */
  approximateCount(): Promise<number>;
}

/** Where the key's partition can be read from right now. */
export type KeyLocation =
  | { readonly kind: 'local'; readonly store: ReadOnlyKeyValueStore }
  /** `url` is the owning instance's query-server base URL, e.g. `http://10.0.0.7:7070`. */
  | { readonly kind: 'remote'; readonly url: string }
  /** Moving, restoring, or owner unknown: the server answers 503 with `Retry-After`. */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly retryAfterSeconds: number };

/**
 * One part of a full-store scan. Together, the targets of one `scanTargets` call must cover each partition of the
 * store exactly once (a global store: one local target with `partition: 'global'`, or one `unavailable` target
 * while it restores; never `remote`).
 *
 * `unavailable` means "retry later" (the server answers 503 with `Retry-After`): use it only for conditions that end
 * on their own (a rebalance, restoration, an instance starting). A request that can never succeed is refused by the
 * server before the source is asked (unknown store: 404; a partition scan of a global store: 400).
 */
export type ScanTarget =
  | { readonly kind: 'local'; readonly partition: number | 'global'; readonly store: ReadOnlyKeyValueStore }
  | { readonly kind: 'remote'; readonly url: string; readonly partitions: readonly number[] }
  | {
      readonly kind: 'unavailable';
      readonly partitions: readonly number[];
      readonly reason: string;
      readonly retryAfterSeconds: number;
    };

export interface InstanceInfo {
  /** Stable instance id (e.g. the consumer group member's client id). */
  readonly id: string;
  /** Query-server base URL of that instance. */
  readonly url: string;
  /** True for the instance answering this request. */
  readonly self: boolean;
  /** Task ids the instance runs, e.g. `"0_3"` (subtopology 0, partition 3). */
  readonly tasks: readonly string[];
  /** Store name → partitions of it the instance holds. */
  readonly storePartitions: Readonly<Record<string, readonly number[]>>;
}

export interface ClusterMetadata {
  /**
   * Opaque id of the group assignment this map comes from, the same on every instance for one rebalance (the leader
   * mints it); `null` before this instance has joined. Two views agree on the assignment iff their ids are equal.
   */
  readonly assignmentId: string | null;
  readonly instances: readonly InstanceInfo[];
  /**
   * Internal topics of the application the running topology no longer reads, with the records its group never
   * read in them (left behind when an internal topic got another name). Absent when there are none.
   */
  readonly orphanedInternalTopics?: readonly { readonly topic: string; readonly unreadRecords: number }[];
  /**
   * Partition counts this instance saw change while it ran (partitions added to input topics, internal topics grown
   * to follow), oldest first, the last 50. Absent when there were none.
   */
  readonly partitionCountChanges?: readonly PartitionCountChangeInfo[];
}

/** One topic whose partition count changed while the app ran. */
export interface PartitionCountChangeInfo {
  readonly topic: string;
  readonly before: number;
  readonly now: number;
  /** When this instance noticed it (ISO 8601). */
  readonly at: string;
}

export type AppState = 'created' | 'bootstrapping' | 'running' | 'rebalancing' | 'stopping' | 'stopped' | 'failed';

/**
 * `restoring`: records are read into the store; `catching-up`: the store's task processes its table partition up to
 * the end offset taken at assignment; `caught-up`: the store holds everything below that end offset (done).
 */
export type RestorationPhase = 'restoring' | 'catching-up' | 'caught-up';

export interface RestorationProgress {
  readonly store: string;
  readonly partition: number | 'global';
  /** Offset the store holds everything below (summed over partitions for a global store), and the end offset it must reach. */
  readonly restoredOffset: number;
  readonly endOffset: number;
  /** True once caught up: lookups of the partition are answered, and /ready counts it as ready. */
  readonly done: boolean;
  /** Offset this restoration started from (the store's checkpoint), and the records applied since (offsets can skip). */
  readonly startOffset?: number;
  readonly restoredRecords?: number;
  /** Epoch ms this restoration began, and when it finished (so clients can show a rate and the time left). */
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly phase?: RestorationPhase;
}

export interface AppStatus {
  readonly state: AppState;
  /** One entry per store partition served here (including finished ones). */
  readonly restoration: readonly RestorationProgress[];
}

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * One Prometheus metric family as plain data (names in Prometheus form, e.g. `tributary_records_processed_total`).
 * Counters hold the running total; the server renders them, it does not accumulate.
 */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly MetricSample[];
}

/**
 * Committed offsets of the application's consumer group against the end offsets of its input topics, sampled at a
 * fixed interval (oldest first, bounded), for lag and processing-rate charts. Arrays line up with `times`; `null`
 * where a sample has no value (no commit yet, a failed sample).
 */
export interface ConsumerLagHistory {
  readonly groupId: string;
  readonly intervalMs: number;
  /** Epoch ms of each sample. */
  readonly times: readonly number[];
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly committed: readonly (number | null)[];
    readonly end: readonly (number | null)[];
  }[];
}

/** A page request on the dead-letter topic: newest first, `before` = per partition the offset to stop below. */
export interface DeadLetterPageRequest {
  readonly limit: number;
  /** Partition → exclusive upper offset (the `next` of the previous page); absent: from each partition's end. */
  readonly before?: ReadonlyMap<number, number>;
}

/** A record of the dead-letter topic, bytes as read (the server renders them). */
export interface DeadLetterEntry {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, Uint8Array>>;
}

export interface DeadLetterPage {
  readonly topic: string;
  /** Newest first. */
  readonly entries: readonly DeadLetterEntry[];
  /** Per partition: earliest offset still in the topic and its end offset (`end - earliest` records at most). */
  readonly partitions: readonly { readonly partition: number; readonly earliest: number; readonly end: number }[];
  /** Pass as `before` for the next (older) page; `null` when nothing older is left. */
  readonly next: ReadonlyMap<number, number> | null;
}

export interface QuerySource {
  stores(): readonly StoreInfo[];
  /** Same objects as `stores()`, by name; `undefined` for an unknown store. */
  store(name: string): StoreInfo | undefined;
  /** Partition of `key` (default murmur2 partitioner) → where it can be read. Only called for a known store. */
  locate(store: string, key: Uint8Array): KeyLocation;
  scanTargets(store: string): readonly ScanTarget[];
  metadata(): ClusterMetadata;
  state(): AppStatus;
  /**
   * Application counters/gauges: records processed per topic, join hits/misses, dropped records, consumer lag…
   * The server adds store sizes, restoration progress and HTTP latency itself.
   */
  metrics(): readonly MetricFamily[];
  /** The compiled topology as a graph (GET /topology and the console's topology view); the route exists only with it. */
  topologyGraph?(): TopologyGraph;
  /** Lag history of the application's group (GET /consumer-lag); the route exists only with it. */
  consumerLag?(): ConsumerLagHistory;
  /**
   * One page of the dead-letter topic, newest first (GET /dead-letters); the route exists only with it. Reads at most
   * `limit` records per partition; rejects when the topic cannot be read (the server answers 503).
   */
  deadLetters?(request: DeadLetterPageRequest): Promise<DeadLetterPage>;
  /** Live changes of table and global-table stores (GET /stores/:store/changes); the route exists only with it. */
  changeFeed?(): ChangeFeedSource | undefined;
  /**
   * A standby replica of the key's partition on this instance, and how many records it is behind its topic's end
   * (`numStandbyReplicas`): what a lookup that allows stale answers reads when the owner cannot answer. No I/O.
   */
  locateReplica?(store: string, key: Uint8Array): ReplicaLocation | undefined;
}

/** A standby replica's store and its lag in records (behind the end offsets last seen). */
export interface ReplicaLocation {
  readonly store: ReadOnlyKeyValueStore;
  readonly lagRecords: number;
}
