/** Public API of the interactive-query HTTP layer. */
export { createQueryServer, INTERNAL_ERROR_CODE } from './server.js';
export type { QueryServer, QueryServerOptions } from './server.js';
export type {
  AppState,
  AppStatus,
  ClusterMetadata,
  InstanceInfo,
  JsonValue,
  KeyLocation,
  MetricFamily,
  MetricSample,
  QuerySource,
  RestorationProgress,
  ScanTarget,
  StoreCodec,
  StoreInfo,
  StoreKind,
} from './query-source.js';
export { storeCodecFromSerdes } from './serde-codec.js';
export { FORWARDED_HEADER } from './forwarding-client.js';
export { MAX_KEY_BYTES } from './keys.js';
export { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT } from './scan.js';
