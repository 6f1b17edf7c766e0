/**
 * Dead-letter replay: put dead letters back on their topics once the cause is fixed, at most once per
 * completed run. See replay.ts for the guarantees and progress.ts for how runs with different filters compose.
 */
export { replayDeadLetters, MAX_MALFORMED_LISTED } from './replay.js';
export type {
  ReplayDeadLettersOptions,
  ReplayKafkaConfig,
  ReplayCounts,
  ReplayResult,
  ReplayProgressEvent,
  MalformedDeadLetter,
} from './replay.js';
export {
  parseDeadLetter,
  replayRecord,
  REPLAYED_FROM_HEADER,
  ERROR_STAGES,
  type DeadLetter,
  type ParsedDeadLetter,
} from './dead-letter.js';
export { ReplayProgress, type ReplayFilter, type ProgressEntry, type ReplayDecision, type DeadLetterIdentity } from './progress.js';
export { progressTopicName } from './progress-topic.js';
