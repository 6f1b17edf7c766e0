/**
 * `tributary`: what an application is written with. The DSL and the compiled Topology, serdes, TributaryApp with its
 * options, events and stats, dead-letter replay, logging, the topology-module shape the CLI loads, and every error
 * class. Test support is in `tributary/testing`, the engine's building blocks in `tributary/internals`.
 */

// Errors (all layers): every class, each with a stable `code` (docs/errors.md)
export * from './errors.js';

// topology/: DSL, serdes, the compiled topology
export { StreamsBuilder, KStream, KTable, GlobalKTable, KGroupedStream, KGroupedTable, TimeWindowedKStream } from './topology/builder.js';
export type {
  SourceOptions,
  TableOptions,
  ToOptions,
  RepartitionOptions,
  JoinOptions,
  ProcessOptions,
  BuildOptions,
  StreamsBuilderOptions,
  GroupedOptions,
  MaterializedOptions,
  WindowedMaterializedOptions,
  TableMapValuesOptions,
} from './topology/builder.js';
export { TimeWindows, type Windowed, type WindowSpec } from './topology/windows.js';
export { Topology } from './topology/topology.js';
export type {
  Subtopology,
  RepartitionTopicSpec,
  ChangelogTopicSpec,
  GlobalTableSpec,
  TableSourceSpec,
  StoreSpec,
  StoreSpecKind,
  WindowStoreSpec,
} from './topology/specs.js';
export { Serdes, type Serde, type CustomSerdeOptions } from './topology/serdes.js';
// topology/formats/: tables fed by a database through Kafka Connect (Debezium, outbox)
export { TableFormats } from './topology/formats/table-format.js';
export type {
  TableFormat,
  TableFormatName,
  DebeziumFormat,
  DebeziumUnwrappedFormat,
  OutboxFormat,
  TruncateHandling,
} from './topology/formats/table-format.js';
export type { OutboxEvent } from './topology/formats/outbox.js';
export { ConnectKeySerde } from './topology/formats/connect-key.js';
export type { ErrorAction, EmitMode, SourceErrorPolicy, ProcessorContext, ProcessorStore, ForwardOptions } from './topology/nodes.js';
export type { RecordHeaders } from './common/records.js';

// Logging
export { silentLogger, loggerFromPino, type Logger, type LogFields, type PinoLike } from './common/logger.js';

// processor/runtime/: TributaryApp, its options, events and stats
export { TributaryApp } from './processor/runtime/index.js';
export type {
  TributaryAppOptions,
  HttpOptions,
  AppKafkaConfig,
  ProcessingGuarantee,
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
export type { ErrorPolicy } from './processor/engine/error-policy.js';
export type { EngineMetricsSnapshot } from './processor/engine/metrics.js';
export type { AppState, AppStatus, RestorationPhase, RestorationProgress } from './http-query/index.js';

// processor/dlq/: dead-letter replay
export { replayDeadLetters } from './processor/dlq/index.js';
export type {
  ReplayDeadLettersOptions,
  ReplayKafkaConfig,
  ReplayCounts,
  ReplayResult,
  ReplayProgressEvent,
  MalformedDeadLetter,
} from './processor/dlq/index.js';
export type { ErrorStage } from './common/dead-letters.js';

// cli/: the shape of a topology module that `tributary run` loads (a topology, or a factory returning one)
export type { TopologyModuleContext, TopologyFactory } from './cli/topology-module.js';
