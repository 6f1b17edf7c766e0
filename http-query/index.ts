/** Public API of the interactive-query HTTP layer. */
export {
  createQueryServer,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  INTERNAL_ERROR_CODE,
} from './server.js';
export { QUERY_ERROR_CODES, QUERY_ERROR_STATUS } from './error-codes.js';
export type { QueryErrorCode } from './error-codes.js';
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
  RestorationPhase,
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
