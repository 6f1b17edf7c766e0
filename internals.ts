/**
 * `tributary/internals`: the building blocks the runtime, the test driver and the CLI are made of, for tools and
 * custom runtimes. Not needed to write or test an application (see `tributary` and `tributary/testing`); these
 * APIs follow the engine and may change between minor versions.
 */

// common/: record shapes, the partitioner, dead-letter headers
export { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from './common/records.js';
export { defaultPartition, murmur2 } from './common/partitioner.js';
export {
  DeadLetterHeaders,
  TARGET_TOPIC_HEADER,
  deadLetterIdentity,
  isInternalTopic,
  isPendingOriginal,
  pendingOriginalPosition,
  withOriginalRecord,
  withoutOriginalRecord,
  type SourcePosition,
} from './common/dead-letters.js';
export { openRepartitionValue } from './common/repartition-envelope.js';

// processor/engine/: task engine, global tables, error policies, metrics
export { StreamTask, type StreamTaskOptions, type ProcessResult, type CommitOptions } from './processor/engine/stream-task.js';
export { GlobalTableUpdater, type GlobalTableUpdaterOptions, type GlobalBatch } from './processor/engine/global-updater.js';
export { EngineMetrics } from './processor/engine/metrics.js';
export { resolveErrorPolicy, type ResolvedErrorPolicy } from './processor/engine/error-policy.js';
export { createTableRecordDecoder, type TableRecordDecoder } from './processor/engine/table-decoder.js';
export {
  createChangelogDecoder,
  finishWindowRestore,
  windowedChangelogKey,
  parseWindowedChangelogKey,
  type ChangelogDecoder,
} from './processor/engine/changelog.js';

// state-store/: LevelDB stores, state directory, restoration, snapshots
export type {
  KeyValueStore,
  ReadOnlyKeyValueStore,
  Checkpoints,
  RangeOptions,
  StoreWrite,
  StoreEntry,
  KeyInterval,
} from './state-store/types.js';
export {
  WindowStoreReader,
  expireWindows,
  windowWrite,
  streamTimeWrite,
  type WindowEntry,
  type PositionedWindowEntry,
  type WindowScanOptions,
} from './state-store/window-store.js';
export { windowStorageKey, parseWindowStorageKey, STREAM_TIME_KEY, type WindowLayout } from './state-store/window-layout.js';
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

// http-query/: the query server over the QuerySource seam the runtime implements
export {
  createQueryServer,
  INTERNAL_ERROR_CODE,
  QUERY_ERROR_CODES,
  QUERY_ERROR_STATUS,
  storeCodecFromSerdes,
  FORWARDED_HEADER,
  MAX_KEY_BYTES,
  DEFAULT_SCAN_LIMIT,
  MAX_SCAN_LIMIT,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './http-query/index.js';
export type {
  QueryServer,
  QueryServerOptions,
  QueryErrorCode,
  QuerySource,
  StoreInfo,
  StoreKind,
  StoreCodec,
  KeyLocation,
  ScanTarget,
  ClusterMetadata,
  InstanceInfo,
  MetricFamily,
  MetricSample,
  JsonValue,
} from './http-query/index.js';

// processor/dlq/: the parts dead-letter replay is made of
export {
  parseDeadLetter,
  replayRecord,
  ReplayProgress,
  progressTopicName,
  REPLAYED_FROM_HEADER,
  MAX_MALFORMED_LISTED,
} from './processor/dlq/index.js';
export type { DeadLetter, ParsedDeadLetter, ReplayFilter, ProgressEntry } from './processor/dlq/index.js';
