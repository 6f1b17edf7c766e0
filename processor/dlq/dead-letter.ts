/**
 * Reading a dead letter back: which topic (and partition) its original bytes belong to, and the record that replays
 * it. Pure functions; the headers written by processor/engine/error-policy.ts (source stages) and
 * processor/runtime/output-sender.ts (production stage) are the contract.
 */
import { DeadLetterBytes, DeadLetterHeaders, deadLetterIdentity, isInternalTopic, type ErrorStage } from '../../common/dead-letters.js';
import type { ConsumedRecord, ProducedRecord, RecordHeaders } from '../../common/records.js';
import { TARGET_TOPIC_HEADER } from '../../common/dead-letters.js';

/** Header added to every replayed record: `<dlqTopic>:<partition>:<offset>` of the dead letter it came from. */
export const REPLAYED_FROM_HEADER = 'tributary.replayed-from';

/** Headers Tributary adds; none of them is copied to a replayed record (except the new `replayed-from`). */
const TRIBUTARY_HEADER_PREFIX = 'tributary.';

export const ERROR_STAGES: readonly ErrorStage[] = ['deserialization', 'processing', 'production'];

/** A dead letter whose headers say where its bytes go back to. */
export interface DeadLetter {
  readonly record: ConsumedRecord;
  readonly stage: ErrorStage;
  /** Where the replay goes: the source topic (deserialization/processing) or the target topic (production). */
  readonly topic: string;
  /** Partition the original record was read from; undefined for production-stage letters (never read yet). */
  readonly sourcePartition: number | undefined;
  readonly sourceOffset: number | undefined;
  /** The user record it stands for (`deadLetterIdentity`); copies share it. Undefined for production letters. */
  readonly identity: string | undefined;
}

export type ParsedDeadLetter = { readonly ok: true; readonly letter: DeadLetter } | { readonly ok: false; readonly reason: string };

function header(headers: RecordHeaders, name: string): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : value.toString('utf8');
}

function nonNegativeInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

function isErrorStage(text: string | undefined): text is ErrorStage {
  return text !== undefined && (ERROR_STAGES as readonly string[]).includes(text);
}

/**
 * Reads the headers of a record from the dead-letter topic. A record without what replay needs is reported with
 * the reason, never guessed: source stages need topic, partition and offset; the production stage needs its target.
 */
export function parseDeadLetter(record: ConsumedRecord): ParsedDeadLetter {
  const h = DeadLetterHeaders;
  const stage = header(record.headers, h.stage);
  if (stage === undefined) return { ok: false, reason: `no ${h.stage} header (not written by Tributary)` };
  if (!isErrorStage(stage)) return { ok: false, reason: `unknown ${h.stage} "${stage}"` };

  if (stage === 'production') {
    const target = header(record.headers, TARGET_TOPIC_HEADER);
    if (target === undefined || target === '') return { ok: false, reason: `production dead letter without ${TARGET_TOPIC_HEADER}` };
    return { ok: true, letter: { record, stage, topic: target, sourcePartition: undefined, sourceOffset: undefined, identity: undefined } };
  }

  const topic = header(record.headers, h.sourceTopic);
  if (topic === undefined || topic === '') return { ok: false, reason: `no ${h.sourceTopic} header` };
  const partitionText = header(record.headers, h.sourcePartition);
  const partition = nonNegativeInt(partitionText);
  if (partition === undefined)
    return {
      ok: false,
      reason: `${h.sourcePartition} is ${partitionText === undefined ? 'missing' : `"${partitionText}", not a partition number`}`,
    };
  const offsetText = header(record.headers, h.sourceOffset);
  const offset = nonNegativeInt(offsetText);
  if (offset === undefined)
    return { ok: false, reason: `${h.sourceOffset} is ${offsetText === undefined ? 'missing' : `"${offsetText}", not an offset`}` };
  return {
    ok: true,
    letter: { record, stage, topic, sourcePartition: partition, sourceOffset: offset, identity: deadLetterIdentity(record.headers) },
  };
}

/**
 * Why a well-formed dead letter must not be replayed, if so: its destination is one of the application's internal
 * topics (a letter written before failures after a repartition were traced to the user's record), or its bytes are
 * not the user's record (`tributary.bytes: re-serialized`: the original was gone from its topic).
 */
export function replayRefusal(letter: DeadLetter, applicationId: string): string | undefined {
  if (isInternalTopic(applicationId, letter.topic)) {
    return `its source ${letter.topic} is an internal topic of ${applicationId}: replay never writes there (the record came from a user topic before the repartition)`;
  }
  const bytes = header(letter.record.headers, DeadLetterHeaders.bytes);
  if (bytes !== undefined) {
    return bytes === DeadLetterBytes.reserialized
      ? `its bytes are the internal re-serialized record, not the user's (the original was no longer in ${letter.topic})`
      : `unknown ${DeadLetterHeaders.bytes} "${bytes}"`;
  }
  return undefined;
}

/**
 * Recognises copies of a dead letter (same identity: a re-write after a crash) within one scan. Memory: one entry per
 * distinct source record scanned.
 */
export class DuplicateLetters {
  private readonly seen = new Set<string>();

  /** True when a letter with the same identity was seen before (letters without identity are never duplicates). */
  isDuplicate(letter: DeadLetter): boolean {
    if (letter.identity === undefined) return false;
    if (this.seen.has(letter.identity)) return true;
    this.seen.add(letter.identity);
    return false;
  }
}

/**
 * The record that puts a dead letter back: original key, value and timestamp; original headers minus `tributary.*`,
 * plus `tributary.replayed-from`. It goes to the partition it was read from when that partition still exists (exact
 * for null keys and custom partitioners too); otherwise (and for production letters) the key decides (murmur2).
 */
export function replayRecord(letter: DeadLetter, targetPartitionCount: number): ProducedRecord {
  const { record } = letter;
  const headers: Record<string, Buffer> = {};
  for (const name in record.headers) {
    if (!name.startsWith(TRIBUTARY_HEADER_PREFIX)) headers[name] = record.headers[name] as Buffer;
  }
  headers[REPLAYED_FROM_HEADER] = Buffer.from(`${record.topic}:${record.partition}:${record.offset}`);
  const partition =
    letter.sourcePartition !== undefined && letter.sourcePartition < targetPartitionCount ? letter.sourcePartition : undefined;
  return { topic: letter.topic, partition, timestamp: record.timestamp, key: record.key, value: record.value, headers };
}
