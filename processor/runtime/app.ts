/**
 * TributaryApp: runs a compiled Topology against Kafka.
 *
 *   const app = new TributaryApp(topology, { brokers: 'localhost:9092', stateDir: './state', http: { port: 7070 } });
 *   app.on('state', ({ from, to }) => ...);
 *   await app.start();   // resolves once RUNNING (see below); /ready shows progress meanwhile
 *   ...
 *   await app.stop();    // graceful: in-flight batch finished, outputs acknowledged, stores flushed, offsets committed
 *
 * start() order: query server (so /ready reports bootstrap progress) → state directory lock → validate the topology
 * against the cluster (missing input topics, co-partitioning) and create internal topics → global tables restored
 * up to the end offsets taken now → continuous global updates → join the group, set up the first assignment →
 * RUNNING. `start()` resolves then (or when stop() interrupted it) and rejects with the typed error when start
 * fails; `waitUntilRunning()` gives the same point to other callers. Tasks assigned at that point may still be
 * restoring or catching up their table stores: `waitUntilReady()` (and GET /ready) waits until every store partition
 * served here holds everything below the end offsets taken when it was assigned.
 *
 * States: created → bootstrapping → running ⇄ rebalancing → stopping → stopped; any → failed (then stop() cleans up).
 * Partitioned work and commits: task-manager.ts. Global tables: global-tables.ts. Queries: runtime-query-source.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AppFailedError,
  AppNotRunningError,
  AppStateError,
  CoPartitioningError,
  KafkaAdminError,
  OrphanedInternalTopicsError,
  TributaryError,
  UnknownStoreError,
} from '../../errors.js';
import type { QueryServer } from '../../http-query/server.js';
import type { AppState, AppStatus, MetricFamily, PartitionCountChangeInfo, QuerySource } from '../../http-query/query-source.js';
import { engineMetricFamilies } from './engine-metrics.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import type { Topology } from '../../topology/topology.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { EngineMetrics, type EngineMetricsSnapshot } from '../engine/metrics.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../kafka/client.js';
import { GroupConsumer } from '../kafka/group-consumer.js';
import { PartitionReader } from '../kafka/partition-reader.js';
import type { PartitionReaderFactory } from '../kafka/partition-reading.js';
import { RecordProducer } from '../kafka/producer.js';
import { KafkaTransactionalProducer } from '../kafka/transactional-producer.js';
import {
  describeOrphanedTopic,
  findOrphanedInternalTopics,
  partitionCountChanges,
  prepareClusterLayout,
  type ClusterLayout,
  type OrphanedInternalTopic,
  type PartitionCountChange,
} from './cluster-layout.js';
import { PartitionWatcher } from './partition-watcher.js';
import { listTasks, type TaskSpec } from '../kafka/assignor.js';
import { taskLogOffsets } from './standby-tasks.js';
import { PartitionHistoryTopic } from './partition-history.js';
import { checkConnectKeyRouting } from './connect-key-check.js';
import { TypedEvents, type TributaryAppEventName, type TributaryAppListener } from './events.js';
import { GlobalTables } from './global-tables.js';
import { GlobalDeadLetterWriter } from './global-dead-letters.js';
import { fetchRecords } from '../kafka/record-fetcher.js';
import { kafkaLoggerFor } from '../kafka/kafka-logger.js';
import { resolveAppOptions, type ResolvedAppOptions, type TributaryAppOptions } from './options.js';
import { DeadLetterReader } from './dead-letter-reader.js';
import { ConsumerLagSampler } from './lag-sampler.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';
import { RuntimeQuerySource } from './runtime-query-source.js';
import { runtimeMetricFamilies } from './runtime-metrics.js';
import type { DeadLetterCount, RuntimeStats } from './stats.js';
import { TaskManager } from './task-manager.js';
import { ChangeFeed } from './change-feed.js';
import type { ChangeFeedClient } from '../../http-query/change-feed-client.js';
import { parsePosition, type ChangeEvent, type ChangeFeedEnd, type ChangePosition } from '../../http-query/change-feed.js';
import { memberIdFile } from './member-id-file.js';

const INSTANCE_ID_FILE = 'instance.id';
/** Partition-count changes kept for GET /metadata. */
const PARTITION_CHANGES_KEPT = 50;
/** A layout read this recently is reused (the leader's assignment and its own task setup both ask for one). */
const LAYOUT_REUSE_MS = 1000;
const TERMINAL: ReadonlySet<AppState> = new Set(['stopping', 'stopped', 'failed']);

/** The transitions the state machine allows (anything may go to 'failed' until stopped). */
const NEXT: Readonly<Record<AppState, readonly AppState[]>> = {
  created: ['bootstrapping', 'stopped'],
  bootstrapping: ['running', 'stopping'],
  running: ['rebalancing', 'stopping'],
  rebalancing: ['running', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
  failed: ['stopped'],
};

export class TributaryApp {
  readonly topology: Topology;
  private readonly options: ResolvedAppOptions;
  private readonly events: TypedEvents;
  private readonly engineMetrics = new EngineMetrics();
  private readonly tracker: RestorationTracker;
  private readonly source: RuntimeQuerySource;
  private readonly feed: ChangeFeed;
  private changeClient: ChangeFeedClient | undefined;
  private currentState: AppState = 'created';
  private failure: unknown;
  private advertisedUrl = '';
  private resolvedInstanceId: string | undefined;
  private server: QueryServer | undefined;
  private stateDirectory: StateDirectory | undefined;
  private client: KafkaClient | undefined;
  private admin: KafkaAdmin | undefined;
  private producer: RecordProducer | undefined;
  private sender: OutputSender | undefined;
  private layout: ClusterLayout | undefined;
  /** Partition count of every topic the runtime touches: one Map, updated in place when counts grow. */
  private readonly partitionCounts = new Map<string, number>();
  /** The sub-topologies with their current partition counts. */
  private taskSpecs: readonly TaskSpec[] = [];
  private partitionWatcher: PartitionWatcher | undefined;
  private layoutRefresh: Promise<void> | undefined;
  private layoutReadAt = 0;
  /** Partition counts seen over time of the topics co-partitioned stores are partitioned by (partition-history.ts). */
  private history: PartitionHistoryTopic | undefined;
  private readonly partitionChanges: PartitionCountChangeInfo[] = [];
  private orphanedTopics: readonly OrphanedInternalTopic[] = [];
  private globals: GlobalTables | undefined;
  private globalDeadLetters: GlobalDeadLetterWriter | undefined;
  private tasks: TaskManager | undefined;
  private lagSampler: ConsumerLagSampler | undefined;
  private deadLetterReader: DeadLetterReader | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopRequested = false;
  private startSettled = false;
  private teardown: Promise<void> | undefined;
  private readonly timings = { startedAt: undefined as number | undefined, runningAt: undefined as number | undefined };
  private readonly signalHandler = (signal: NodeJS.Signals): void => {
    this.options.logger.info(`received ${signal}; stopping gracefully`);
    void this.stop().catch((error: unknown) => this.options.logger.error('graceful stop failed', { error }));
  };

  constructor(topology: Topology, options: TributaryAppOptions) {
    this.topology = topology;
    this.options = resolveAppOptions(topology, options);
    this.events = new TypedEvents(this.options.logger);
    this.tracker = new RestorationTracker((event) => this.events.emit('restoration', event));
    this.source = new RuntimeQuerySource({
      topology,
      url: () => this.advertisedUrl,
      instanceId: () => this.resolvedInstanceId ?? this.options.instanceId ?? '',
      partitions: () => (this.layout === undefined ? undefined : this.partitionCounts),
      globals: () => this.globals,
      tasks: () => this.tasks?.view,
      status: () => this.status(),
      metrics: () => this.metricFamilies(),
      lagHistory: () => this.lagSampler?.history(),
      deadLetterReader: () => this.deadLetterReader,
      orphanedInternalTopics: () => this.orphanedTopics,
      partitionCountChanges: () => this.partitionChanges,
      changeFeed: () => this.feed,
      replicas: () => this.tasks?.replicas,
    });
    this.feed = new ChangeFeed({
      topology,
      options: this.options.changeFeed,
      scanTargets: (store) => this.source.scanTargets(store),
      partitionCounts: () => (this.layout === undefined ? undefined : this.partitionCounts),
      globalStore: (name) => (this.globals?.bootstrapped ? this.globals.store(name) : undefined),
    });
  }

  get state(): AppState {
    return this.currentState;
  }

  /** The query-server URL published to the group ('' without HTTP, or before start). */
  get url(): string {
    return this.advertisedUrl;
  }

  get instanceId(): string | undefined {
    return this.resolvedInstanceId;
  }

  /** Why the app failed (state 'failed'), else undefined. */
  get failureCause(): unknown {
    return this.failure;
  }

  on<E extends TributaryAppEventName>(event: E, listener: TributaryAppListener<E>): () => void {
    return this.events.on(event, listener);
  }

  off<E extends TributaryAppEventName>(event: E, listener: TributaryAppListener<E>): void {
    this.events.off(event, listener);
  }

  /**
   * The changes applied to a table or global-table store, as they are committed: the in-process equivalent of
   * GET /stores/:store/changes (a partitioned store is merged across the instances owning its partitions, which
   * needs HTTP on every instance). Each message carries the position after it; pass the last one as `from` to resume
   * without a gap. The last message is `{ type: 'end' }` with the reason (retryable ones: resume from `position`).
   * Breaking out of the loop unsubscribes.
   */
  async *changes(store: string, options: ChangesOptions = {}): AsyncGenerator<ChangeMessage, void, undefined> {
    const info = this.source.store(store);
    if (info === undefined) throw new UnknownStoreError(store);
    const from = typeof options.from === 'string' ? parsePosition(options.from) : options.from;
    // Loaded when first used, as the query server is: an app that never serves HTTP does not hold their code.
    const [{ ChangeFeedClient }, { ChangeReader, openChangeStream }] = await Promise.all([
      import('../../http-query/change-feed-client.js'),
      import('../../http-query/change-stream.js'),
    ]);
    this.changeClient ??= new ChangeFeedClient({ authToken: this.options.http?.authToken, connectTimeoutMs: 2000 });
    const stream = await openChangeStream(
      this.feed,
      info,
      { from, key: options.key, prefix: options.prefix, localOnly: false },
      this.changeClient,
    );
    const reader = new ChangeReader(stream);
    try {
      for (;;) {
        for (const message of await reader.next()) {
          if (message.kind === 'change') yield { type: 'change', event: message.event, position: message.position };
          else if (message.kind === 'end') {
            yield { type: 'end', end: message.end, position: message.position };
            return;
          }
        }
      }
    } finally {
      stream.close();
    }
  }

  /** The interactive-query seam, e.g. to serve it from your own server (`createQueryServer({ source })`). */
  querySource(): QuerySource {
    return this.source;
  }

  status(): AppStatus {
    return { state: this.currentState, restoration: this.tracker.progress() };
  }

  private globalDeadLetterRereads(): RuntimeStats['globalDeadLetterRereads'] {
    const stats = this.globalDeadLetters?.stats();
    return { ranges: stats?.rereads ?? 0, records: (stats?.rereadRecords ?? 0) + (stats?.groupReadRecords ?? 0) };
  }

  stats(): RuntimeStats {
    const tasks = this.tasks?.stats();
    return {
      state: this.currentState,
      instanceId: this.resolvedInstanceId,
      url: this.advertisedUrl,
      tasks: this.tasks?.view.taskViews() ?? [],
      engine: this.engineMetrics.snapshot(),
      restoration: this.tracker.totalsByStore(),
      recordsProcessed: tasks?.recordsProcessed ?? 0,
      recordsSent: this.sender?.sent ?? 0,
      commits: tasks?.commits ?? 0,
      processingGuarantee: this.options.processingGuarantee,
      transactions: { committed: tasks?.transactionsCommitted ?? 0, aborted: tasks?.transactionsAborted ?? 0 },
      commitLatency: tasks?.commitLatency ?? { count: 0, totalMs: 0, maxMs: 0 },
      rebalances: tasks?.rebalances ?? 0,
      unmovedTaskPauses: tasks?.unmovedTaskPauses ?? { count: 0, lastMs: undefined, maxMs: undefined },
      consumerLag: Object.fromEntries(this.tasks?.consumerLag() ?? []),
      deadLetters: deadLetterCounts(this.engineMetrics.snapshot()),
      globalDeadLetterRereads: this.globalDeadLetterRereads(),
      timings: {
        startedAt: this.timings.startedAt,
        runningAt: this.timings.runningAt,
        firstAssignmentAt: tasks?.firstAssignmentAt,
        firstRecordProcessedAt: tasks?.firstRecordProcessedAt,
      },
    };
  }

  /**
   * Starts the app; resolves once it is RUNNING (or when `stop()` interrupted the start). Rejects with the typed
   * error when the start fails (the app is then 'failed'; call `stop()` to release the HTTP port).
   */
  start(): Promise<void> {
    if (this.currentState !== 'created' || this.starting !== undefined) {
      return Promise.reject(new AppStateError(this.currentState, 'start() can be called once; create a new TributaryApp to start again.'));
    }
    this.starting = this.run();
    return this.starting;
  }

  /** Resolves when the app is RUNNING; rejects with AppNotRunningError if it stops or fails first. */
  waitUntilRunning(): Promise<void> {
    if (this.currentState === 'running' || this.currentState === 'rebalancing') return Promise.resolve();
    if (TERMINAL.has(this.currentState)) return Promise.reject(new AppNotRunningError(this.currentState, { cause: this.failure }));
    return new Promise((resolve, reject) => {
      const unsubscribe = this.on('state', ({ to }) => {
        if (to === 'running') {
          unsubscribe();
          resolve();
        } else if (TERMINAL.has(to)) {
          unsubscribe();
          reject(new AppNotRunningError(to, { cause: this.failure }));
        }
      });
    });
  }

  /**
   * Resolves when the app is running and every store partition it serves has caught up to the end offsets taken when
   * it was assigned (global stores: at bootstrap), within `readinessLag`: what GET /ready reports as 200. Rejects
   * with AppNotRunningError if it stops or fails first.
   */
  waitUntilReady(): Promise<void> {
    const ready = (): boolean => this.currentState === 'running' && this.tracker.allDone();
    if (ready()) return Promise.resolve();
    if (TERMINAL.has(this.currentState)) return Promise.reject(new AppNotRunningError(this.currentState, { cause: this.failure }));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (TERMINAL.has(this.currentState)) {
          unsubscribe();
          reject(new AppNotRunningError(this.currentState, { cause: this.failure }));
        } else if (ready()) {
          unsubscribe();
          resolve();
        }
      };
      const offState = this.on('state', check);
      const offRestoration = this.on('restoration', check);
      const unsubscribe = (): void => {
        offState();
        offRestoration();
      };
    });
  }

  /** Graceful stop; idempotent. Also releases a failed app's resources and closes the query server. */
  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  // -------------------------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const { options } = this;
    this.timings.startedAt = Date.now();
    if (options.handleSignals) {
      process.on('SIGTERM', this.signalHandler);
      process.on('SIGINT', this.signalHandler);
    }
    this.transition('bootstrapping');
    // Start-up steps that do not depend on each other run at once (see ARCHITECTURE.md, "Start-up"): the query server,
    // the state directory with the global stores, the producer's connection, and the admin's cluster checks. Each is
    // awaited before the first step that needs it; whatever is in flight settles before a failed or interrupted start
    // tears down, so nothing opens after the teardown closed it.
    const inFlight: Promise<unknown>[] = [];
    const alongside = <T>(work: Promise<T>): Promise<T> => {
      work.catch(() => undefined); // awaited below; an earlier failure must not leave it unhandled
      inFlight.push(work);
      return work;
    };
    try {
      const serving = alongside(this.startQueryServer());
      const locking = alongside(this.lockStateDirectory());
      const opening = alongside(locking.then((stateDirectory) => this.openGlobalStores(stateDirectory)));
      const client = createKafkaClient(options.kafka, { logger: kafkaLoggerFor(options.logger) });
      this.client = client;
      const producer = new RecordProducer(client);
      this.producer = producer;
      const producerConnected = alongside(producer.connect());
      const admin = new KafkaAdmin(client);
      this.admin = admin;
      await admin.connect();
      // Nothing is created in the cluster before the state directory is this process's (a second instance started on
      // it by mistake fails as before, without creating the topics of its own topology). Its lock takes less time than
      // the admin's connection.
      const lockedDirectory = await locking;
      if (this.stopRequested) return;
      const policy = resolveErrorPolicy(options.applicationId, options.errorPolicy);
      const layout = await prepareClusterLayout(admin, this.topology, {
        deadLetterTopic: policy.deadLetterTopic,
        deadLetterPartitions: options.dlqPartitions,
        replicationFactor: options.internalTopicReplicationFactor,
      });
      this.adoptLayout(layout);
      this.layoutReadAt = Date.now();
      const orphansChecked = alongside(this.checkOrphanedInternalTopics(admin));
      // Tables fed by Kafka Connect: routing by key must agree with where Connect put the rows (and learn their keys).
      await checkConnectKeyRouting({ topology: this.topology, client, admin, partitions: this.partitionCounts, logger: options.logger });
      await orphansChecked;
      await serving; // a query server that cannot listen refuses the start too
      if (this.server !== undefined) this.deadLetterReader = new DeadLetterReader({ client, admin, topic: policy.deadLetterTopic });
      await producerConnected;
      if (this.stopRequested) return;

      const sender = new OutputSender({
        producer,
        policy,
        applicationId: options.applicationId,
        metrics: this.engineMetrics,
        logger: options.logger,
        retries: options.productionRetries,
        shouldRetry: () => !TERMINAL.has(this.currentState),
        changelogTopics: new Set(this.topology.changelogTopics.map((changelog) => changelog.topic)),
      });
      this.sender = sender;

      // Every read that rebuilds stores outside the group takes the configured fetch sizes (memory grows with them).
      const readers: PartitionReaderFactory = (readerOptions) =>
        new PartitionReader(client, { ...readerOptions, fetch: { ...options.restorationFetch, ...readerOptions.fetch } });
      // Dead letters of topics only global tables read: one elected writer per partition (dead-letter-ownership.ts). It
      // joins alongside the bootstrap and exists before it, so the letters of records already there come from the
      // bootstrap's own verdicts (its ledger takes verdicts and the assignment in either order).
      const globalDeadLetters = new GlobalDeadLetterWriter({
        topology: this.topology,
        client,
        admin,
        readers,
        errorPolicy: options.errorPolicy,
        sender,
        metrics: this.engineMetrics,
        logger: options.logger,
        sessionTimeoutMs: options.sessionTimeoutMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        memberIds: memberIdFile(lockedDirectory.appDir, 'global-dead-letters'),
        commitIntervalMs: options.commitIntervalMs,
        onFailure: (error) => void this.fail(error),
      });
      this.globalDeadLetters = globalDeadLetters;
      // The group join (a JoinGroup round; seconds when other members must rejoin first) runs alongside the rest of the
      // start and the bootstrap, after every check that can refuse the start; a failed join interrupts the bootstrap,
      // and its error is the start's.
      let joinFailed = false;
      const joined = alongside(globalDeadLetters.start());
      joined
        .catch(() => {
          joinFailed = true;
          return this.globals?.stop();
        })
        .catch(() => undefined);
      const stateDirectory = await opening;

      if (this.regroupedTopics().length > 0) {
        // Before any task opens: a task of a grown topic reads its keys from the partitions of the earlier counts.
        const history = new PartitionHistoryTopic({
          applicationId: options.applicationId,
          admin,
          readers,
          send: (records) => producer.send(records),
          replicationFactor: options.internalTopicReplicationFactor,
          logger: options.logger,
        });
        try {
          await history.load();
        } catch (error) {
          // Not fatal: this instance still regroups after growths it sees itself; one started later may not.
          options.logger.warn(
            'could not read the partition-count history topic; co-partitioned stores regroup only after growths this instance sees',
            { error },
          );
        }
        this.history = history;
        await this.recordHistory();
      }
      const globals = new GlobalTables({
        topology: this.topology,
        client,
        readers,
        restoreBatchRecords: options.memory.globalRestoreBatchRecords,
        admin,
        stateDirectory,
        partitions: this.partitionCounts,
        errorPolicy: options.errorPolicy,
        metrics: this.engineMetrics,
        tracker: this.tracker,
        sender,
        logger: options.logger,
        onFailure: (error) => void this.fail(error),
        onBatchWritten: (records) => this.feed.globalBatchWritten(records),
        verdicts: globalDeadLetters,
      });
      this.globals = globals;
      await globals.open();
      if (!joinFailed) await globals.bootstrap();
      await joined;
      if (this.stopRequested) return;
      globals.startUpdates();

      if (this.topology.subtopologies.length > 0) {
        const tasks = new TaskManager(
          {
            topology: this.topology,
            // The one place the runtime meets the kafkajs group member; TaskManager sees only the port.
            member: (handlers) =>
              new GroupConsumer({
                client,
                groupId: options.applicationId,
                tasks: this.taskSpecs,
                refreshTasks: async () => {
                  await this.refreshLayout();
                  return this.taskSpecs;
                },
                metadataMaxAgeMs: options.partitionCheckIntervalMs,
                url: this.advertisedUrl,
                instanceId: this.resolvedInstanceId,
                memberIds: memberIdFile(stateDirectory.appDir, 'tasks'),
                numStandbyReplicas: options.numStandbyReplicas,
                warmup:
                  options.maxWarmupReplicas > 0
                    ? { acceptableRecoveryLag: options.acceptableRecoveryLag, maxWarmupReplicas: options.maxWarmupReplicas }
                    : undefined,
                taskLogOffsets: (specs) => taskLogOffsets(this.topology, admin, listTasks(specs)),
                sessionTimeoutMs: options.sessionTimeoutMs,
                heartbeatIntervalMs: options.heartbeatIntervalMs,
                rebalanceTimeoutMs: options.rebalanceTimeoutMs,
                fromBeginning: true,
                // The task input queues hold at most what one fetch brings (each batch is processed before the next).
                fetch: {
                  maxWaitTimeMs: options.fetchMaxWaitMs,
                  maxBytesPerPartition: options.memory.fetchMaxBytesPerPartition,
                  maxBytes: options.memory.fetchMaxBytes,
                },
                ...handlers,
              }),
            cluster: admin,
            stateDirectory,
            groupId: options.applicationId,
            partitions: this.partitionCounts,
            refreshPartitions: () => this.refreshLayout(),
            partitionHistory: this.history?.history,
            partitionSeenAt: (topic, count) => this.history?.firstSeen(topic, count),
            expansionGraceMs: options.expansionGraceMs,
            globalStores: globals.readOnlyStores(),
            errorPolicy: options.errorPolicy,
            metrics: this.engineMetrics,
            tracker: this.tracker,
            sender,
            fetchRecords: (positions) => fetchRecords(client, admin, positions),
            logger: options.logger,
            commitIntervalMs: options.commitIntervalMs,
            processingGuarantee: options.processingGuarantee,
            transactionalProducers: (transactionalId) =>
              new KafkaTransactionalProducer(client, transactionalId, { transactionTimeoutMs: options.transactionTimeoutMs }),
            maxTaskIdleMs: options.maxTaskIdleMs,
            restoreBatchRecords: options.memory.restoreBatchRecords,
            taskCacheEntries: options.memory.taskCacheEntries,
            outputQueueBytes: options.memory.outputQueueBytes,
            readers,
            readinessLag: options.readinessLag,
            // Warm-ups are standbys too (the standby machinery follows them).
            standbys: options.numStandbyReplicas > 0 || options.maxWarmupReplicas > 0,
            probingRebalanceIntervalMs: options.maxWarmupReplicas > 0 ? options.probingRebalanceIntervalMs : undefined,
            onRebalancing: () => {
              if (this.currentState === 'running') this.transition('rebalancing');
            },
            onAssigned: (event) => {
              this.events.emit('assignment', event);
              if (this.currentState === 'rebalancing') this.transition('running');
            },
            onFailure: (error) => void this.fail(error),
            changes: this.feed,
          },
          await TaskManager.tasksWithLocalState(this.topology, stateDirectory),
        );
        this.tasks = tasks;
        await tasks.start();
        if (this.server !== undefined) {
          // The lag charts of GET /consumer-lag (and the console): the group's committed offsets against the input ends.
          const inputTopics = [...new Set(this.topology.subtopologies.flatMap((sub) => sub.sourceTopics))];
          this.lagSampler = new ConsumerLagSampler({ admin, groupId: options.applicationId, topics: inputTopics, logger: options.logger });
          this.lagSampler.start();
        }
      }
      this.partitionWatcher = new PartitionWatcher({
        topics: this.topology.userSourceTopics(),
        intervalMs: options.partitionCheckIntervalMs,
        lookups: admin,
        known: () => this.partitionCounts,
        onChange: () => this.refreshLayout().catch((error: unknown) => this.fail(error)),
        logger: options.logger,
      });
      this.partitionWatcher.start();
      if (this.stopRequested || this.currentState !== 'bootstrapping') return;
      this.timings.runningAt = Date.now();
      this.transition('running');
      if (this.tasks?.view.isRebalancing) this.transition('rebalancing');
    } catch (error) {
      await Promise.allSettled(inFlight);
      if (this.stopRequested && this.failure === undefined) return;
      await this.fail(error);
      throw error;
    } finally {
      await Promise.allSettled(inFlight);
      this.startSettled = true;
    }
  }

  /** The query server, when asked for (so /ready reports progress from early on); sets `advertisedUrl`. */
  private async startQueryServer(): Promise<void> {
    const { options } = this;
    if (options.http === undefined) return;
    // Loaded only when asked for: fastify and the routes are ~10 MiB of V8 heap that stays live (and makes V8 let
    // the heap grow that much more before collecting) in an app without a query server.
    const { createQueryServer } = await import('../../http-query/server.js');
    this.server = createQueryServer({
      source: this.source,
      host: options.http.host,
      port: options.http.port,
      authToken: options.http.authToken,
      ui: options.http.ui,
    });
    const listening = await this.server.listen();
    this.advertisedUrl = options.http.advertisedUrl ?? listening;
    options.logger.info('query server listening', { url: listening, advertisedUrl: this.advertisedUrl });
  }

  /** Locks the state directory and reads the instance id. */
  private async lockStateDirectory(): Promise<StateDirectory> {
    const { options } = this;
    const stateDirectory = await StateDirectory.open({
      stateDir: options.stateDir,
      applicationId: options.applicationId,
      logger: options.logger,
      tuning: {
        writeBufferSize: options.memory.storeWriteBufferBytes,
        cacheSize: options.memory.storeBlockCacheBytes,
        maxOpenFiles: options.memory.storeMaxOpenFiles,
      },
      globalTuning: { writeBufferSize: options.memory.globalStoreWriteBufferBytes },
    });
    this.stateDirectory = stateDirectory;
    this.resolvedInstanceId = options.instanceId ?? (await persistentInstanceId(stateDirectory.appDir));
    return stateDirectory;
  }

  /**
   * Opens the global stores while the Kafka connections are made (LevelDB opens on libuv's threads); GlobalTables.open
   * then finds them open. Every open settles before this does, so a failed start's teardown closes them all.
   */
  private async openGlobalStores(stateDirectory: StateDirectory): Promise<StateDirectory> {
    const opened = await Promise.allSettled(this.topology.globalTables.map((spec) => stateDirectory.openStore(spec.store, 'global')));
    const failed = opened.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return stateDirectory;
  }

  /**
   * Internal topics this topology no longer reads (renamed between deploys) with records never read: warn with how
   * to drain them (or refuse to start, when asked), and list them in /metadata.
   */
  private async checkOrphanedInternalTopics(admin: KafkaAdmin): Promise<void> {
    const { logger } = this.options;
    this.orphanedTopics = await findOrphanedInternalTopics(admin, this.topology);
    const unread = this.orphanedTopics.filter((t) => t.unreadRecords > 0);
    if (unread.length > 0 && this.options.orphanedInternalTopics === 'fail') throw new OrphanedInternalTopicsError(unread);
    for (const orphan of this.orphanedTopics) {
      const fields = { topic: orphan.topic, unreadRecords: orphan.unreadRecords };
      if (orphan.unreadRecords > 0) logger.warn(describeOrphanedTopic(orphan), fields);
      else logger.info(describeOrphanedTopic(orphan), fields);
    }
  }

  /** Takes a layout's counts and task specs (the partition Map stays the same object: everything holds it). */
  private adoptLayout(layout: ClusterLayout): void {
    this.layout = layout;
    for (const [topic, count] of layout.partitions) this.partitionCounts.set(topic, count);
    this.taskSpecs = layout.tasks;
  }

  /**
   * Reads partition counts again and makes the cluster fit (internal topics grown; a decrease or a co-partitioning
   * mismatch rejects with the typed error), then logs each change, lists it in /metadata and makes global tables
   * read added partitions. One at a time; a layout read in the last second is reused. A failed admin call is
   * logged and the known layout kept (the next check or rebalance tries again).
   */
  private refreshLayout(): Promise<void> {
    if (Date.now() - this.layoutReadAt < LAYOUT_REUSE_MS && this.layoutRefresh === undefined) return Promise.resolve();
    this.layoutRefresh ??= this.readLayout().finally(() => {
      this.layoutRefresh = undefined;
    });
    return this.layoutRefresh;
  }

  private async readLayout(): Promise<void> {
    const { admin, options } = this;
    if (admin === undefined || this.layout === undefined || TERMINAL.has(this.currentState)) return;
    const policy = resolveErrorPolicy(options.applicationId, options.errorPolicy);
    let next: ClusterLayout;
    try {
      next = await prepareClusterLayout(
        admin,
        this.topology,
        {
          deadLetterTopic: policy.deadLetterTopic,
          deadLetterPartitions: options.dlqPartitions,
          replicationFactor: options.internalTopicReplicationFactor,
        },
        this.partitionCounts,
      );
    } catch (error) {
      if (error instanceof CoPartitioningError && this.fixableByGrowing(error)) {
        // One co-partitioned input grew before the other (expanding topics one after the other): keep working with
        // the known counts until they agree again.
        options.logger.warn(`${error.message} Keeping the known partition counts until the topics agree again.`, { code: error.code });
        return;
      }
      if (error instanceof TributaryError && !(error instanceof KafkaAdminError)) throw error;
      options.logger.warn('could not read the cluster layout again; keeping the known partition counts', { error });
      return;
    }
    this.layoutReadAt = Date.now();
    const changes = partitionCountChanges(this.partitionCounts, next.partitions);
    this.adoptLayout(next);
    await this.recordHistory();
    if (changes.length === 0) return;
    this.notePartitionChanges(changes);
    const globalTopics = new Set(this.topology.globalTables.map((spec) => spec.topic));
    if (changes.some((change) => globalTopics.has(change.topic))) await this.globals?.followAddedPartitions();
  }

  /** Topics co-partitioned stores are partitioned by: sub-topology sources (tables among them) and changelog topics. */
  private regroupedTopics(): string[] {
    if (!this.topology.stores.some((spec) => spec.subtopologyId !== undefined)) return [];
    return [...new Set(this.topology.subtopologies.flatMap((sub) => [...sub.sourceTopics, ...sub.changelogTopics]))];
  }

  /** Adds the counts of now to the shared history (written when new); a failed write is logged, the next read retries. */
  private async recordHistory(): Promise<void> {
    const history = this.history;
    if (history === undefined) return;
    const counts = new Map(
      this.regroupedTopics().flatMap((topic) => {
        const count = this.partitionCounts.get(topic);
        return count === undefined ? [] : [[topic, count] as const];
      }),
    );
    try {
      await history.record(counts);
    } catch (error) {
      this.options.logger.warn('could not write the partition-count history; trying again at the next layout read', { error });
    }
  }

  /** True when only user topics have fewer partitions than the largest: adding partitions to them heals it. */
  private fixableByGrowing(error: CoPartitioningError): boolean {
    const counts = Object.entries(error.partitionsByTopic);
    const max = Math.max(...counts.map(([, count]) => count));
    const internal = new Set([...this.topology.internalTopics(), ...this.topology.changelogTopics.map((c) => c.topic)]);
    return counts.every(([topic, count]) => count === max || !internal.has(topic));
  }

  private notePartitionChanges(changes: readonly PartitionCountChange[]): void {
    const at = new Date().toISOString();
    for (const change of changes) this.partitionChanges.push({ ...change, at });
    this.partitionChanges.splice(0, Math.max(0, this.partitionChanges.length - PARTITION_CHANGES_KEPT));
    this.options.logger.info(
      `partition counts changed: ${changes.map((c) => `${c.topic} ${c.before} → ${c.now}`).join(', ')}; ` +
        'tasks of the new partitions start at their first offset after the next rebalance',
      { changes: changes.map((c) => `${c.topic}:${c.before}->${c.now}`).join(',') },
    );
  }

  private async runStop(): Promise<void> {
    this.stopRequested = true;
    if (this.currentState === 'created') {
      this.transition('stopped');
      return;
    }
    if (this.currentState !== 'failed') this.transition('stopping');
    if (!this.startSettled) {
      // Interrupt a start in progress (a bootstrap read, a group join), then wait for it to bail out.
      await Promise.all([this.globals?.stop(), this.tasks?.stop(true), this.globalDeadLetters?.stop()]);
      await this.starting?.catch(() => undefined);
    }
    await this.releaseResources(this.failure === undefined);
    await this.server?.close().catch((error: unknown) => this.options.logger.warn('closing the query server failed', { error }));
    process.removeListener('SIGTERM', this.signalHandler);
    process.removeListener('SIGINT', this.signalHandler);
    this.transition('stopped');
  }

  /** Stops the Kafka side and closes the stores (once); `commit` false after a failure. */
  private releaseResources(commit: boolean): Promise<void> {
    this.teardown ??= (async () => {
      const { logger } = this.options;
      await this.partitionWatcher?.stop();
      await this.layoutRefresh?.catch(() => undefined);
      await this.lagSampler?.stop();
      await this.tasks?.stop(commit);
      await this.globalDeadLetters?.stop().catch((error: unknown) => logger.warn('leaving the global dead-letter group failed', { error }));
      await this.globals?.stop();
      await this.producer?.disconnect().catch((error: unknown) => logger.warn('producer disconnect failed', { error }));
      await this.admin?.disconnect().catch((error: unknown) => logger.warn('admin disconnect failed', { error }));
      await this.stateDirectory?.close().catch((error: unknown) => logger.error('closing the state directory failed', { error }));
      await this.changeClient?.close().catch(() => undefined);
    })();
    return this.teardown;
  }

  private async fail(error: unknown): Promise<void> {
    if (this.currentState === 'stopped' || this.currentState === 'failed') return;
    if (this.currentState === 'stopping') {
      this.options.logger.warn('error while stopping', { error });
      return;
    }
    this.failure = error;
    const typed = error instanceof TributaryError ? error : new AppFailedError({ cause: error });
    this.options.logger.error('application failed', { error: typed, code: typed.code });
    this.events.emit('error', typed);
    this.forceTransition('failed');
    await this.releaseResources(false);
  }

  private transition(to: AppState): void {
    const from = this.currentState;
    if (from === to || !NEXT[from].includes(to)) return;
    this.forceTransition(to);
  }

  private forceTransition(to: AppState): void {
    const from = this.currentState;
    if (from === to) return;
    this.currentState = to;
    this.options.logger.info('state change', { from, to });
    this.events.emit('state', { from, to });
  }

  private metricFamilies(): MetricFamily[] {
    return [...engineMetricFamilies(this.engineMetrics.snapshot()), ...runtimeMetricFamilies(this.stats())];
  }
}

/** A random id kept in the state directory, so a restarted instance keeps its identity (and tie-breaks). */
async function persistentInstanceId(appDir: string): Promise<string> {
  const file = join(appDir, INSTANCE_ID_FILE);
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (/^[A-Za-z0-9._-]{1,64}$/.test(stored)) return stored;
  } catch {
    // first start in this state directory
  }
  const id = `instance-${randomBytes(6).toString('hex')}`;
  await writeFile(file, `${id}\n`);
  return id;
}

/** Options of `app.changes()`. */
export interface ChangesOptions {
  /** Resume after this position (a message's `position`, or the SSE id). */
  readonly from?: string | ChangePosition;
  /** Only this key (string form, as in a URL). */
  readonly key?: string;
  /** Only keys whose text form starts with this. */
  readonly prefix?: string;
}

/** A message of `app.changes()`. */
export type ChangeMessage =
  | { readonly type: 'change'; readonly event: ChangeEvent; readonly position: string }
  | { readonly type: 'end'; readonly end: ChangeFeedEnd; readonly position: string };

/** The acknowledged dead letters per stage and source, as the console's stats list them. */
function deadLetterCounts(engine: EngineMetricsSnapshot): DeadLetterCount[] {
  return Object.entries(engine.deadLetteredBy).flatMap(([stage, bySource]) =>
    Object.entries(bySource).map(([source, count]) => ({ stage, source, count })),
  );
}
