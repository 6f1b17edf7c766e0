/**
 * Dead letters of records that failed after a repartition carry the user's record as their source, but the engine
 * only has the internal (re-serialized) record at hand. Before such letters are sent, this puts the user's original
 * record in (key, value, timestamp, headers), read back from its topic by offset: rare (only failures downstream of
 * a repartition) and batched per cycle, instead of carrying the original bytes through every repartition record.
 * If the original is gone from its topic (retention, compaction), the letter keeps the internal record's bytes and
 * says so (`tributary.bytes: re-serialized`); the replay tool refuses such letters.
 */
import {
  isPendingOriginal,
  pendingOriginalPosition,
  withOriginalRecord,
  withoutOriginalRecord,
  type SourcePosition,
} from '../../common/dead-letters.js';
import type { Logger } from '../../common/logger.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { recordPositionKey, type RecordPosition } from '../kafka/record-fetcher.js';

/** Reads records back by position; absent from the result when no longer in the log. */
export type FetchRecords = (positions: readonly RecordPosition[]) => Promise<ReadonlyMap<string, ConsumedRecord>>;

/** `outputs` with every pending dead letter completed (the same array when there is none). */
export async function completeDeadLetters(outputs: ProducedRecord[], fetch: FetchRecords, logger: Logger): Promise<ProducedRecord[]> {
  const pending: { index: number; position: SourcePosition | undefined }[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs[i] as ProducedRecord;
    if (isPendingOriginal(output)) pending.push({ index: i, position: pendingOriginalPosition(output) });
  }
  if (pending.length === 0) return outputs;
  const positions = pending.flatMap((p) => (p.position === undefined ? [] : [p.position]));
  const originals = positions.length === 0 ? new Map<string, ConsumedRecord>() : await fetch(positions);
  const completed = [...outputs];
  let missing = 0;
  for (const { index, position } of pending) {
    const letter = outputs[index] as ProducedRecord;
    const original = position === undefined ? undefined : originals.get(recordPositionKey(position));
    if (original === undefined) missing++;
    completed[index] = original === undefined ? withoutOriginalRecord(letter) : withOriginalRecord(letter, original);
  }
  if (missing > 0) {
    logger.warn('dead letters written with re-serialized bytes: their original records are no longer in their topics', {
      letters: missing,
    });
  }
  return completed;
}
