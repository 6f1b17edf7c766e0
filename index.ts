// The one public entry point of Tributary. Flat list of re-exports grouped by layer; append yours in your group.

// Errors (all layers)
export * from './errors.js';

// Records crossing layers
export { topicPartitionId, type ConsumedRecord, type ProducedRecord, type RecordHeaders, type TopicPartitionId } from './common/records.js';

// topology/: DSL, serdes, compiled topology
export { StreamsBuilder, KStream, KTable, GlobalKTable } from './topology/builder.js';
export type {
  SourceOptions,
  TableOptions,
  ToOptions,
  RepartitionOptions,
  JoinOptions,
  ProcessOptions,
  BuildOptions,
  StreamsBuilderOptions,
} from './topology/builder.js';
export { Topology } from './topology/topology.js';
export type { Subtopology, RepartitionTopicSpec, GlobalTableSpec, TableSourceSpec, StoreSpec } from './topology/specs.js';
export { Serdes, type Serde, type CustomSerdeOptions } from './topology/serdes.js';
export type { ErrorAction, SourceErrorPolicy, ProcessorContext, ProcessorStore, ForwardOptions } from './topology/nodes.js';

// processor/: partitioner, task engine, error policies, metrics
export { defaultPartition, murmur2 } from './common/partitioner.js';
export { StreamTask, type StreamTaskOptions, type ProcessResult } from './processor/engine/stream-task.js';
export { GlobalTableUpdater, type GlobalTableUpdaterOptions, type GlobalBatch } from './processor/engine/global-updater.js';
export { EngineMetrics, type EngineMetricsSnapshot } from './processor/engine/metrics.js';
export { resolveErrorPolicy, type ErrorPolicy, type ResolvedErrorPolicy } from './processor/engine/error-policy.js';
export { DeadLetterHeaders, TARGET_TOPIC_HEADER, type ErrorStage } from './common/dead-letters.js';
export { createTableRecordDecoder, type TableRecordDecoder } from './processor/engine/table-decoder.js';

// processor/test-driver/: TopologyTestDriver for users' unit tests
export { TopologyTestDriver, TestInputTopic, TestOutputTopic } from './processor/test-driver/topology-test-driver.js';
export type {
  TopologyTestDriverOptions,
  PipeOptions,
  TestRecord,
  KeyValue,
  DriverStore,
} from './processor/test-driver/topology-test-driver.js';

// state-store/: stores
export { MemoryKeyValueStore } from './state-store/memory-store.js';
export type { KeyValueStore, ReadOnlyKeyValueStore, Checkpoints, RangeOptions, StoreWrite, StoreEntry } from './state-store/types.js';
// state-store: LevelDB stores, state directory, restoration, snapshots
export { LevelKeyValueStore, type LevelStoreOptions, type LevelTuning } from './state-store/level-store.js';
export { StateDirectory, type StateDirectoryOptions, type StoreId } from './state-store/state-directory.js';
export { restoreStore, DEFAULT_RESTORE_BATCH_SIZE } from './state-store/restore.js';
export type {
  RestoreOptions,
  RestoreResult,
  RestoreProgress,
  RestoreBatch,
  PositionedBatch,
  DecodeErrorDecision,
} from './state-store/restore.js';
export { exportSnapshot, importSnapshot, type SnapshotSummary } from './state-store/snapshot.js';
export { silentLogger, loggerFromPino, type Logger, type LogFields, type PinoLike } from './common/logger.js';

// http-query/: interactive-query HTTP server and the QuerySource seam the runtime implements
export {
  createQueryServer,
  INTERNAL_ERROR_CODE,
  storeCodecFromSerdes,
  FORWARDED_HEADER,
  MAX_KEY_BYTES,
  DEFAULT_SCAN_LIMIT,
  MAX_SCAN_LIMIT,
} from './http-query/index.js';
export type {
  QueryServer,
  QueryServerOptions,
  QuerySource,
  StoreInfo,
  StoreKind,
  StoreCodec,
  KeyLocation,
  ScanTarget,
  ClusterMetadata,
  InstanceInfo,
  AppState,
  AppStatus,
  RestorationProgress,
  MetricFamily,
  MetricSample,
  JsonValue,
} from './http-query/index.js';

// runtime: TributaryApp (Kafka runtime: lifecycle, global tables, tasks, commits, query seam)
export { TributaryApp } from './processor/runtime/index.js';
export type {
  TributaryAppOptions,
  HttpOptions,
  AppKafkaConfig,
  TributaryAppEvents,
  TributaryAppEventName,
  TributaryAppListener,
  StateChangeEvent,
  RestorationEvent,
  AssignmentEvent,
  RuntimeStats,
  RuntimeTimings,
  StoreRestoreTotals,
  TaskView,
} from './processor/runtime/index.js';

// dlq: dead-letter replay (processor/dlq/)
export {
  replayDeadLetters,
  parseDeadLetter,
  replayRecord,
  ReplayProgress,
  progressTopicName,
  REPLAYED_FROM_HEADER,
  MAX_MALFORMED_LISTED,
} from './processor/dlq/index.js';
export type {
  ReplayDeadLettersOptions,
  ReplayKafkaConfig,
  ReplayCounts,
  ReplayResult,
  ReplayProgressEvent,
  MalformedDeadLetter,
  DeadLetter,
  ParsedDeadLetter,
  ReplayFilter,
  ProgressEntry,
} from './processor/dlq/index.js';

// cli: the shape of a topology module that `tributary run` loads (a topology, or a factory returning one)
export type { TopologyModuleContext, TopologyFactory } from './cli/topology-module.js';
