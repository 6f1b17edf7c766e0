/** The Kafka runtime: `TributaryApp` and the types of its options, events and stats. See app.ts. */
export { TributaryApp } from './app.js';
export type { TributaryAppOptions, HttpOptions, AppKafkaConfig, ProcessingGuarantee } from './options.js';
export type {
  TributaryAppEvents,
  TributaryAppEventName,
  TributaryAppListener,
  StateChangeEvent,
  RestorationEvent,
  AssignmentEvent,
} from './events.js';
export type { RuntimeStats, RuntimeTimings } from './stats.js';
export type { StoreRestoreTotals } from './restoration-tracker.js';
export type { TaskView } from './task-registry.js';
