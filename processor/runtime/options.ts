/**
 * `TributaryApp` options: what users pass, the defaults, and validation into one resolved object the runtime parts
 * read. Kafka connection settings pass through to processor/kafka/config.ts unchanged (SSL, SASL, timeouts).
 */
import { DEFAULT_CHANGE_FEED_OPTIONS, type ChangeFeedOptions } from './change-feed.js';
import { RuntimeConfigError } from '../../errors.js';
import type { ErrorPolicy } from '../engine/error-policy.js';
import { kafkaClientConfigProblems, type KafkaClientConfig } from '../kafka/config.js';
import type { Topology } from '../../topology/topology.js';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';

export interface HttpOptions {
  /** Interface the query server listens on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: an ephemeral port (the URL is then known after start). */
  readonly port?: number;
  /** URL other instances use to reach this one (published in the group). Default: the URL the server listens on. */
  readonly advertisedUrl?: string;
  /** Bearer token required on every route but /health (and the console's static files, which hold no data). */
  readonly authToken?: string;
  /** Serve the web console at `/ui/` (topology, cluster, progress and lag, store browser, dead letters). Default true. */
  readonly ui?: boolean;
}

/** Kafka connection settings; `clientId` defaults to `<applicationId>-<instanceId>`, `brokers` may come from `brokers`. */
export type AppKafkaConfig = Omit<KafkaClientConfig, 'clientId' | 'brokers'> & {
  readonly clientId?: string;
  readonly brokers?: readonly string[];
};

/** The change feed (GET /stores/:store/changes, `app.changes()`); every field optional. */
export interface ChangeFeedAppOptions {
  /** Changes kept per store partition so a reconnecting subscriber resumes without a gap. Default 10,000. */
  readonly replayEvents?: number;
  /** Changes waiting for a subscriber whose socket is full before it is dropped as too slow (a pointer each: events are shared). Default 1,000. */
  readonly queueLimit?: number;
  /** Concurrent SSE subscribers per instance (other instances' merged streams count). Default 2,000. */
  readonly maxSubscribers?: number;
  /** Heartbeat interval of SSE streams. Default 15,000 ms. */
  readonly heartbeatMs?: number;
}

export interface TributaryAppOptions {
  /** Consumer group id and internal topic prefix. Must equal the topology's `applicationId` (default: that one). */
  readonly applicationId?: string;
  /** Bootstrap brokers, `host:port` (an array, or a comma-separated string). Either this or `kafka.brokers`. */
  readonly brokers?: readonly string[] | string;
  /** Full Kafka client settings (SSL, SASL, timeouts, retry, log level). */
  readonly kafka?: AppKafkaConfig;
  /** Directory for the LevelDB stores; `<stateDir>/<applicationId>` is locked by one instance at a time. */
  readonly stateDir: string;
  /** Starts the interactive-query server (before bootstrapping, so /ready shows progress). */
  readonly http?: HttpOptions;
  /** Stable id of this instance. Default: a random id persisted in the state directory. */
  readonly instanceId?: string;
  /**
   * `'at-least-once'` (default): after a crash, outputs of the records since the last commit are written again
   * (duplicates downstream). `'exactly-once'`: each task commits its outputs, changelog records, dead letters and
   * input offsets in one Kafka transaction (one transactional producer per task); `read_committed` consumers of the
   * outputs see every result once, whatever crashes. Costs a transaction per task per commit (see the README).
   */
  readonly processingGuarantee?: ProcessingGuarantee;
  /**
   * How often input offsets are committed (after outputs are acknowledged and stores written). Default 1000 under
   * at-least-once, 100 under exactly-once (outputs become visible to `read_committed` consumers at each commit).
   */
  readonly commitIntervalMs?: number;
  /**
   * Exactly-once only: the transaction timeout the producers ask for (the coordinator aborts a transaction open
   * longer). Must not exceed the broker's `transaction.max.timeout.ms` (default 900000). Default 60000.
   */
  readonly transactionTimeoutMs?: number;
  /** Application-wide error policy (per-source policies of the topology override it). */
  readonly errorPolicy?: ErrorPolicy;
  /** Shortcut for `errorPolicy.deadLetterTopic`. Default `<applicationId>-dlq`. */
  readonly dlqTopic?: string;
  /** Partitions of the dead-letter topic when Tributary creates it. Default 1. */
  readonly dlqPartitions?: number;
  /** Replication factor of topics Tributary creates (repartition, dead-letter). Default: the broker's default. */
  readonly internalTopicReplicationFactor?: number;
  /** Group session timeout. Default 30000 (the broker bounds it with group.min/max.session.timeout.ms). */
  readonly sessionTimeoutMs?: number;
  /**
   * Default 500 (at most a third of the session timeout); keep at most a third of it. Members learn of a rebalance
   * from a heartbeat answer, and the group waits for the last one to learn: members that learned first stop
   * processing meanwhile, so a shorter interval shortens the pause of tasks kept through a rebalance.
   */
  readonly heartbeatIntervalMs?: number;
  /** How long the coordinator waits for every member to rejoin. Default 60000. */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits at the end of the log. Default 100 (lower latency, more requests). */
  readonly fetchMaxWaitMs?: number;
  /** Kafka Streams' max.task.idle.ms: wait this long for every input of a task before processing. Default 0. */
  readonly maxTaskIdleMs?: number;
  /**
   * How many records a co-partitioned table partition may still be behind the end offset taken when it was assigned
   * and count as caught up: its lookups are answered and /ready may say 200. Default 0 (caught up = everything below
   * the end offset is in the store). Global tables always bootstrap to their end offsets.
   */
  readonly readinessLag?: number;
  /**
   * Standby replicas per task (Kafka Streams' num.standby.replicas): each co-partitioned task's table and derived
   * stores are also kept up to date on this many other instances (fewer when the group is smaller), so a failover
   * restores only what the standby had not read yet. Default 0.
   */
  readonly numStandbyReplicas?: number;
  /**
   * Warm-up before moving (Kafka Streams' acceptable.recovery.lag): an instance at most this many records behind on
   * a stateful task's stores counts as caught up for it. A task whose balanced new owner is not caught up stays with a
   * caught-up instance (which keeps processing and answering) while the new owner warms up. Default 10000.
   */
  readonly acceptableRecoveryLag?: number;
  /**
   * Warm-up replicas in the whole group at once (Kafka Streams' max.warmup.replicas). Default 2. 0 turns warm-ups
   * off: a task moves at once and its new owner restores it before processing.
   */
  readonly maxWarmupReplicas?: number;
  /**
   * While warm-ups exist, how often one instance asks for a rebalance so caught-up warm-ups take their tasks over
   * (Kafka Streams' probing.rebalance.interval.ms). Default 60000.
   */
  readonly probingRebalanceIntervalMs?: number;
  /**
   * What start() does when an internal topic of this application that the topology no longer reads (a renamed
   * repartition topic) holds records the group never read: `'warn'` (default) logs how to drain it and lists it in
   * GET /metadata; `'fail'` refuses to start (OrphanedInternalTopicsError).
   */
  readonly orphanedInternalTopics?: 'warn' | 'fail';
  /** Retries of a failed produce (after kafkajs's own retries) before the production error policy applies. Default 3. */
  readonly productionRetries?: number;
  /**
   * How often the partition counts of every source, table and global-table topic are read again (they are also read
   * at every rebalance). Partitions added to input topics are then processed from their first offset, internal
   * topics grown to match, global tables read them. Default 30000.
   */
  readonly partitionCheckIntervalMs?: number;
  /**
   * After partitions were added to a co-partitioned table's topic, how long (from when an instance first saw the
   * change) the tasks of new partitions wait before reading the keys they now own from the older partitions, once:
   * producers keep writing a moved key to its old partition until they refresh their metadata (kafkajs
   * `metadataMaxAge`, Java `metadata.max.age.ms`), and records written there after that read are not seen by the new
   * task. Set it to your producers' metadata age. Default 30000.
   */
  readonly expansionGraceMs?: number;
  readonly logger?: Logger;
  /** Stop gracefully on SIGTERM/SIGINT. Default false. */
  readonly handleSignals?: boolean;
  readonly changeFeed?: ChangeFeedAppOptions;
  /**
   * Fetch sizes of the reads that rebuild stores outside the group: global-table bootstrap and updates, table and
   * changelog restoration. A fetch response is decoded in memory at once, so the memory these reads take grows with
   * them. Defaults: 512 KiB per partition, 2 MiB per fetch.
   */
  readonly restorationFetch?: RestorationFetchOptions;
  /**
   * What bounds this process's memory besides V8's heap settings (README "Memory"): the group consumer's fetch
   * sizes (the task input queues hold at most one fetch), the records per restore write, LevelDB's write buffer and
   * block cache per open store, the decoded values cached per task store. None grows with the size of a table.
   */
  readonly memory?: MemoryOptions;
}

export interface MemoryOptions {
  /**
   * Bytes per partition and fetch of the group consumer (task inputs). A bigger record batch (up to the topics'
   * max.message.bytes, broker default 1048588) still comes whole, but only when its partition is the first with data
   * in a fetch (kafkajs shuffles the partitions of each fetch, so it comes in turn): where most batches are that big,
   * raise it. Default 1 MiB (1048576, also the Java consumer's max.partition.fetch.bytes).
   */
  readonly fetchMaxBytesPerPartition?: number;
  /**
   * Bytes per fetch response of the group consumer, all partitions together. Default 1 MiB (1048576); when only
   * `fetchMaxBytesPerPartition` is given, at least that. The records of a fetch live until they are processed, long
   * enough for V8 to move them to the old generation, so the fetch size sets how much heap and how many response
   * buffers wait for a full GC: 1 MiB / 1 MiB per partition peaked 15-21% lower than 8 MiB / 2 MiB in a lone global
   * or co-partitioned join and ~20% lower with both joins in one instance, at the same CPU and backlog time (the
   * next response is fetched ahead while one is handled, so a consumer that is behind does not wait for data; README
   * "Memory"). Raise it only where a broker round trip is long against the time a response takes to process.
   */
  readonly fetchMaxBytes?: number;
  /** Records per atomic store write when restoring a co-partitioned task's store. Default 2,000. */
  readonly restoreBatchRecords?: number;
  /**
   * Records per atomic store write when bootstrapping a global table (in place of `restoreBatchRecords`). A bootstrap's
   * LevelDB writes follow each other (one in flight while the next is filled), so fewer, bigger writes hand off less:
   * 4,000 took a 500,000-customer bootstrap to ready ~4% sooner than 2,000 at ~4% less CPU, about +1 MiB peak RSS
   * (8,000: slower, +6-9 MiB); task stores keep 2,000, since their restorations run side by side (+6 MiB on a table
   * of 6 partitions at 4,000, no faster). README "Performance", *Where a bootstrap's wall time goes*. Default 4,000.
   */
  readonly globalRestoreBatchRecords?: number;
  /** LevelDB write buffer (memtable) per open store; flushed to disk when full. Default 4 MiB. */
  readonly storeWriteBufferBytes?: number;
  /**
   * LevelDB write buffer of each global table's store (in place of `storeWriteBufferBytes`). A bootstrap writes the
   * whole table at once; each full buffer becomes a table file LevelDB merges into the others in the background, so
   * a bigger buffer means fewer flushes and compactions (32 MiB cut a 650,000-record bootstrap's CPU by about a fifth
   * against 4 MiB), but glibc keeps what the bootstrap's buffers used (the full one and the one being written out)
   * after they are freed, so it stays in RSS for the life of the process: 16 MiB took 6% off a 500,000-customer
   * bootstrap's peak and 6% off a global join's at the same CPU (README "Memory"). One per process and global table.
   * Default 16 MiB (32 MiB before).
   */
  readonly globalStoreWriteBufferBytes?: number;
  /**
   * LevelDB block cache per open store (recently read data blocks, uncompressed). A miss decompresses a 4 KiB block
   * from the table file's pages (mapped, kept by the kernel's page cache): lookups spread over a table much bigger
   * than the cache hit it rarely at any size, while every open store fills its cache (a co-partitioned join holds
   * one per task). Raise it for a table that fits, or for skewed lookups. Default 2 MiB (README "Memory").
   */
  readonly storeBlockCacheBytes?: number;
  /**
   * Table files LevelDB keeps open per store. It maps the files it reads into memory (counted in RSS as file pages the
   * kernel may drop), so this times 2 MiB (the file size) bounds that part of RSS. Default 500. LevelDB keeps at
   * least 64 table files open whatever is set here (it raises lower values to 74, 10 of them for its other files).
   */
  readonly storeMaxOpenFiles?: number;
  /**
   * Output bytes (keys + values) queued behind the produce request in flight before processing waits for it; under
   * exactly-once, outputs held for the next transaction before a commit is forced. Default 2 MiB at-least-once (the
   * queued outputs live long enough for V8 to move them to its old generation, so a bigger queue costs several times
   * its size in RSS: a co-partitioned join peaked ~18% higher with 8 MiB, README "Memory"; raise it where the broker
   * is far, as one send carries at most this much), 8 MiB exactly-once (a smaller one would force more transactions).
   */
  readonly outputQueueBytes?: number;
  /**
   * Decoded values a task keeps per store for its lookups (recently used entries). 0 turns the cache off. The entries
   * are live heap, which V8 lets grow 3-4x before collecting (README "Memory"): 10,000 entries of ~450 bytes per task
   * cost a co-partitioned join of 6 tasks ~17% of its peak RSS for a few percent of lookups answered (uniform keys).
   * Raise it when a few keys take most lookups. Default 1,000.
   */
  readonly taskCacheEntries?: number;
}

/** `memory.outputQueueBytes` under exactly-once when not given (DEFAULT_MEMORY's is at-least-once's). */
export const EXACTLY_ONCE_OUTPUT_QUEUE_BYTES = 8 * 1024 * 1024;

export const DEFAULT_MEMORY: Required<MemoryOptions> = {
  fetchMaxBytesPerPartition: 1024 * 1024,
  fetchMaxBytes: 1024 * 1024,
  restoreBatchRecords: 2000,
  globalRestoreBatchRecords: 4000,
  storeWriteBufferBytes: 4 * 1024 * 1024,
  globalStoreWriteBufferBytes: 16 * 1024 * 1024,
  storeBlockCacheBytes: 2 * 1024 * 1024,
  storeMaxOpenFiles: 500,
  outputQueueBytes: 2 * 1024 * 1024,
  taskCacheEntries: 1_000,
};

export interface RestorationFetchOptions {
  /**
   * Bytes per partition and fetch. Default 512 KiB (524288); a bigger record batch still comes whole when its partition
   * is the first of a fetch, which each partition is in turn.
   */
  readonly maxBytesPerPartition?: number;
  /**
   * Bytes per fetch response, all partitions together. Default 2 MiB (2097152): a global-table bootstrap reached ready
   * ~5% sooner than with 1 MiB at the same peak RSS, since a restore gives each response's memory back once it copied
   * its records (8 alternating pairs); 4 MiB was no faster and peaked ~6 MiB higher (README "Performance", *Where a
   * bootstrap's wall time goes*). 8 MiB peaked ~25% higher than 2 MiB before responses were given back.
   */
  readonly maxBytes?: number;
}

export const DEFAULT_RESTORATION_FETCH: Required<RestorationFetchOptions> = {
  maxBytesPerPartition: 512 * 1024,
  maxBytes: 2 * 1024 * 1024,
};

export type ProcessingGuarantee = 'at-least-once' | 'exactly-once';

export const PROCESSING_GUARANTEES: readonly ProcessingGuarantee[] = ['at-least-once', 'exactly-once'];

export interface ResolvedAppOptions {
  readonly applicationId: string;
  readonly processingGuarantee: ProcessingGuarantee;
  readonly transactionTimeoutMs: number;
  readonly kafka: KafkaClientConfig;
  readonly stateDir: string;
  readonly http: (Required<Pick<HttpOptions, 'host' | 'port' | 'ui'>> & Pick<HttpOptions, 'advertisedUrl' | 'authToken'>) | undefined;
  readonly instanceId: string | undefined;
  readonly commitIntervalMs: number;
  readonly errorPolicy: ErrorPolicy;
  readonly dlqPartitions: number;
  readonly internalTopicReplicationFactor: number | undefined;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly fetchMaxWaitMs: number;
  readonly maxTaskIdleMs: number;
  readonly readinessLag: number;
  readonly numStandbyReplicas: number;
  readonly acceptableRecoveryLag: number;
  readonly maxWarmupReplicas: number;
  readonly probingRebalanceIntervalMs: number;
  readonly orphanedInternalTopics: 'warn' | 'fail';
  readonly productionRetries: number;
  readonly partitionCheckIntervalMs: number;
  readonly expansionGraceMs: number;
  readonly logger: Logger;
  readonly handleSignals: boolean;
  readonly changeFeed: ChangeFeedOptions;
  readonly restorationFetch: Required<RestorationFetchOptions>;
  readonly memory: Required<MemoryOptions>;
}

/** Validates and fills defaults; throws `RuntimeConfigError` listing every problem (Kafka ones included). */
export function resolveAppOptions(topology: Topology, options: TributaryAppOptions, defaultInstanceId?: string): ResolvedAppOptions {
  const problems: string[] = [];
  const applicationId = options.applicationId ?? topology.applicationId;
  if (applicationId !== topology.applicationId) {
    problems.push(
      `applicationId: "${applicationId}" differs from the topology's "${topology.applicationId}" (internal topic names come from the topology); build the topology with the same applicationId`,
    );
  }
  if (typeof options.stateDir !== 'string' || options.stateDir.trim() === '')
    problems.push('stateDir: give a directory path for the state stores');

  const fromOption =
    typeof options.brokers === 'string'
      ? options.brokers
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b !== '')
      : options.brokers;
  const brokers = fromOption ?? options.kafka?.brokers ?? [];
  if (options.brokers !== undefined && options.kafka?.brokers !== undefined)
    problems.push('brokers: give the brokers either as `brokers` or as `kafka.brokers`, not both');
  const instanceId = options.instanceId ?? defaultInstanceId;
  const kafka: KafkaClientConfig = {
    ...options.kafka,
    brokers: [...brokers],
    clientId: options.kafka?.clientId ?? `${applicationId}${instanceId === undefined ? '' : `-${instanceId}`}`,
  };
  problems.push(...kafkaClientConfigProblems(kafka));

  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!(Number.isFinite(value) && value > 0)) problems.push(`${name}: ${value} must be a positive number`);
    return value;
  };
  const nonNegativeInt = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!(Number.isInteger(value) && value >= 0)) problems.push(`${name}: ${value} must be an integer >= 0`);
    return value;
  };
  const processingGuarantee = options.processingGuarantee ?? 'at-least-once';
  if (!PROCESSING_GUARANTEES.includes(processingGuarantee))
    problems.push(`processingGuarantee: ${String(processingGuarantee)} must be 'at-least-once' or 'exactly-once'`);
  const exactlyOnce = processingGuarantee === 'exactly-once';
  const commitIntervalMs = positive('commitIntervalMs', options.commitIntervalMs, exactlyOnce ? 100 : 1000);
  const transactionTimeoutMs = positive('transactionTimeoutMs', options.transactionTimeoutMs, 60_000);
  if (!Number.isInteger(transactionTimeoutMs)) problems.push(`transactionTimeoutMs: ${transactionTimeoutMs} must be an integer`);
  if (exactlyOnce && transactionTimeoutMs <= commitIntervalMs)
    problems.push(
      `transactionTimeoutMs: ${transactionTimeoutMs} must be longer than commitIntervalMs (${commitIntervalMs}): a commit's transaction must end before it`,
    );
  const sessionTimeoutMs = positive('sessionTimeoutMs', options.sessionTimeoutMs, 30_000);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs, Math.min(500, Math.floor(sessionTimeoutMs / 3)));
  if (heartbeatIntervalMs >= sessionTimeoutMs)
    problems.push(
      `heartbeatIntervalMs: ${heartbeatIntervalMs} must be lower than sessionTimeoutMs (${sessionTimeoutMs}); a third of it is typical`,
    );
  const rebalanceTimeoutMs = positive('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 60_000);
  const fetchMaxWaitMs = positive('fetchMaxWaitMs', options.fetchMaxWaitMs, 100);
  const maxTaskIdleMs = nonNegativeInt('maxTaskIdleMs', options.maxTaskIdleMs, 0);
  const productionRetries = nonNegativeInt('productionRetries', options.productionRetries, 3);
  const readinessLag = nonNegativeInt('readinessLag', options.readinessLag, 0);
  const numStandbyReplicas = nonNegativeInt('numStandbyReplicas', options.numStandbyReplicas, 0);
  const acceptableRecoveryLag = nonNegativeInt('acceptableRecoveryLag', options.acceptableRecoveryLag, 10_000);
  const maxWarmupReplicas = nonNegativeInt('maxWarmupReplicas', options.maxWarmupReplicas, 2);
  const probingRebalanceIntervalMs = positive('probingRebalanceIntervalMs', options.probingRebalanceIntervalMs, 60_000);
  if (probingRebalanceIntervalMs > 0 && !Number.isInteger(probingRebalanceIntervalMs))
    problems.push(`probingRebalanceIntervalMs: ${probingRebalanceIntervalMs} must be an integer (milliseconds)`);
  const partitionCheckIntervalMs = positive('partitionCheckIntervalMs', options.partitionCheckIntervalMs, 30_000);
  const expansionGraceMs = nonNegativeInt('expansionGraceMs', options.expansionGraceMs, 30_000);
  const orphanedInternalTopics = options.orphanedInternalTopics ?? 'warn';
  if (orphanedInternalTopics !== 'warn' && orphanedInternalTopics !== 'fail')
    problems.push(`orphanedInternalTopics: ${String(orphanedInternalTopics)} must be 'warn' or 'fail'`);
  const dlqPartitions = positive('dlqPartitions', options.dlqPartitions, 1);
  if (!Number.isInteger(dlqPartitions)) problems.push(`dlqPartitions: ${dlqPartitions} must be an integer`);
  const rf = options.internalTopicReplicationFactor;
  if (rf !== undefined && !(Number.isInteger(rf) && rf > 0))
    problems.push(`internalTopicReplicationFactor: ${rf} must be a positive integer`);

  let http: ResolvedAppOptions['http'];
  if (options.http !== undefined) {
    const port = options.http.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) problems.push(`http.port: ${port} must be an integer in 0..65535`);
    if (options.http.advertisedUrl !== undefined && !/^https?:\/\/[^/]+/.test(options.http.advertisedUrl)) {
      problems.push(`http.advertisedUrl: "${options.http.advertisedUrl}" must be an http(s) base URL such as http://10.0.0.7:7070`);
    }
    if (options.http.ui !== undefined && typeof options.http.ui !== 'boolean')
      problems.push(`http.ui: ${String(options.http.ui)} must be true or false`);
    http = {
      host: options.http.host ?? '127.0.0.1',
      port,
      advertisedUrl: options.http.advertisedUrl,
      authToken: options.http.authToken,
      ui: options.http.ui ?? true,
    };
  }
  if (
    options.dlqTopic !== undefined &&
    options.errorPolicy?.deadLetterTopic !== undefined &&
    options.dlqTopic !== options.errorPolicy.deadLetterTopic
  ) {
    problems.push('dlqTopic: differs from errorPolicy.deadLetterTopic; give one of them');
  }
  const feed = options.changeFeed ?? {};
  const changeFeed: ChangeFeedOptions = {
    replayEvents: nonNegativeInt('changeFeed.replayEvents', feed.replayEvents, DEFAULT_CHANGE_FEED_OPTIONS.replayEvents),
    queueLimit: Math.max(1, nonNegativeInt('changeFeed.queueLimit', feed.queueLimit, DEFAULT_CHANGE_FEED_OPTIONS.queueLimit)),
    maxSubscribers: nonNegativeInt('changeFeed.maxSubscribers', feed.maxSubscribers, DEFAULT_CHANGE_FEED_OPTIONS.maxSubscribers),
    heartbeatMs: positive('changeFeed.heartbeatMs', feed.heartbeatMs, DEFAULT_CHANGE_FEED_OPTIONS.heartbeatMs),
  };
  const fetch = options.restorationFetch ?? {};
  const restorationFetch = {
    maxBytesPerPartition: positive(
      'restorationFetch.maxBytesPerPartition',
      fetch.maxBytesPerPartition,
      DEFAULT_RESTORATION_FETCH.maxBytesPerPartition,
    ),
    maxBytes: positive('restorationFetch.maxBytes', fetch.maxBytes, DEFAULT_RESTORATION_FETCH.maxBytes),
  };
  for (const [name, value] of Object.entries(restorationFetch)) {
    if (!Number.isInteger(value)) problems.push(`restorationFetch.${name}: ${value} must be an integer (bytes)`);
  }
  if (restorationFetch.maxBytes > 0 && restorationFetch.maxBytes < restorationFetch.maxBytesPerPartition) {
    problems.push(
      `restorationFetch.maxBytes: ${restorationFetch.maxBytes} must be at least restorationFetch.maxBytesPerPartition (${restorationFetch.maxBytesPerPartition})`,
    );
  }
  // Outputs held per transaction: a smaller bound would force a commit (a transaction per task) more often.
  const memoryDefaults = exactlyOnce ? { ...DEFAULT_MEMORY, outputQueueBytes: EXACTLY_ONCE_OUTPUT_QUEUE_BYTES } : DEFAULT_MEMORY;
  const memory = resolveMemory(options.memory ?? {}, problems, memoryDefaults);
  if (problems.length > 0) throw new RuntimeConfigError(problems);

  const deadLetterTopic = options.dlqTopic ?? options.errorPolicy?.deadLetterTopic ?? `${applicationId}-dlq`;
  return {
    applicationId,
    processingGuarantee,
    transactionTimeoutMs,
    kafka,
    stateDir: options.stateDir,
    http,
    instanceId,
    commitIntervalMs,
    errorPolicy: { ...options.errorPolicy, deadLetterTopic },
    dlqPartitions,
    internalTopicReplicationFactor: rf,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs,
    fetchMaxWaitMs,
    maxTaskIdleMs,
    readinessLag,
    numStandbyReplicas,
    acceptableRecoveryLag,
    maxWarmupReplicas,
    probingRebalanceIntervalMs,
    orphanedInternalTopics,
    productionRetries,
    partitionCheckIntervalMs,
    expansionGraceMs,
    logger: options.logger ?? silentLogger,
    handleSignals: options.handleSignals ?? false,
    changeFeed,
    restorationFetch,
    memory,
  };
}

/** Byte sizes must be whole numbers >= 1 KiB (a smaller fetch or buffer is a typo, not a setting). */
const MIN_BYTES = 1024;

function resolveMemory(given: MemoryOptions, problems: string[], defaults: Required<MemoryOptions>): Required<MemoryOptions> {
  const memory = { ...defaults };
  for (const name of Object.keys(given) as (keyof MemoryOptions)[]) {
    if (!(name in DEFAULT_MEMORY)) {
      problems.push(`memory.${String(name)}: not a setting; use one of ${Object.keys(DEFAULT_MEMORY).join(', ')}`);
      continue;
    }
    const value = given[name];
    if (value === undefined) continue;
    const counts =
      name === 'restoreBatchRecords' || name === 'globalRestoreBatchRecords' || name === 'taskCacheEntries' || name === 'storeMaxOpenFiles';
    // LevelDB keeps 10 of its open files for its own logs and manifests.
    const lowest = name === 'taskCacheEntries' ? 0 : name === 'storeMaxOpenFiles' ? 20 : counts ? 1 : MIN_BYTES;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < lowest) {
      problems.push(`memory.${name}: ${String(value)} must be an integer >= ${lowest}${counts ? '' : ' (bytes)'}`);
      continue;
    }
    memory[name] = value;
  }
  // Only a per-partition size given: the fetch grows to hold at least one partition's.
  if (given.fetchMaxBytes === undefined) memory.fetchMaxBytes = Math.max(memory.fetchMaxBytes, memory.fetchMaxBytesPerPartition);
  if (memory.fetchMaxBytes < memory.fetchMaxBytesPerPartition) {
    problems.push(
      `memory.fetchMaxBytes: ${memory.fetchMaxBytes} must be at least memory.fetchMaxBytesPerPartition (${memory.fetchMaxBytesPerPartition})`,
    );
  }
  return memory;
}
