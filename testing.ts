/**
 * `tributary/testing`: support for testing topologies (Kafka Streams ships the same as kafka-streams-test-utils).
 * `TopologyTestDriver` runs a topology in memory with the engine the Kafka runtime uses; `MemoryKeyValueStore` and the
 * store interface are what a `storeFactory` returns.
 */
export { TopologyTestDriver, TestInputTopic, TestOutputTopic } from './processor/test-driver/topology-test-driver.js';
export type {
  TopologyTestDriverOptions,
  PipeOptions,
  TestRecord,
  KeyValue,
  DriverStore,
  DriverWindowStore,
} from './processor/test-driver/topology-test-driver.js';
export { MemoryKeyValueStore } from './state-store/memory-store.js';
export type {
  KeyValueStore,
  ReadOnlyKeyValueStore,
  Checkpoints,
  RangeOptions,
  StoreWrite,
  StoreEntry,
  KeyInterval,
} from './state-store/types.js';
export type { TopicPartitionId } from './common/records.js';
