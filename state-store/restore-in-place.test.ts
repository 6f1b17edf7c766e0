/**
 * restore.ts reading `RecordRun`s in place (`storesAsJsonText`) against the record path: on random records (good
 * and bad JSON, tombstones, null keys, records below the start offsets, a record that needs versions) both paths
 * leave the same store, checkpoints and counts, ask `onDecodeError` about the same records, report the same judged
 * ranges (`onJudged`) in the same order and stop the same way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, RecordCursor, RecordRun, TopicPartitionId } from '../common/records.js';
import { isJsonText, isJsonTextAt } from '../topology/json-text.js';
import { LevelKeyValueStore } from './level-store.js';
import { VersionsNeeded } from './record-version.js';
import { restoreStore, type RestoreBatch } from './restore.js';
import type { StoreWrite } from './types.js';
import { JsonText } from './value-codec.js';

const TOPIC = 't';

/** Runs `runOf` made that were released (`RecordRun.release`), each once at most. */
const released = new Set<RecordRun>();

/**
 * A run over `records` (one partition) whose keys and values are ranges of one buffer, padded around each, as a
 * fetch response holds them; the records it builds are views of that buffer too. Releasing it detaches the buffer,
 * as a released fetch response is: every view of it reads as empty from then on.
 */
function runOf(records: readonly ConsumedRecord[]): RecordRun {
  const parts: Buffer[] = [];
  const ranges: { key: [number, number] | null; value: [number, number] | null }[] = [];
  let at = 0;
  const place = (bytes: Buffer | null): [number, number] | null => {
    if (bytes === null) return null;
    parts.push(Buffer.from([0x7b]), bytes); // a byte of padding before each range
    const range: [number, number] = [at + 1, at + 1 + bytes.length];
    at = range[1];
    return range;
  };
  for (const r of records) ranges.push({ key: place(r.key), value: place(r.value) });
  const joined = Buffer.concat([...parts, Buffer.from([0x7d])]);
  // Memory of its own (Buffer.concat may slice Node's shared pool), as a fetch response's.
  const buffer = Buffer.from(new ArrayBuffer(joined.length));
  joined.copy(buffer);
  const view = (range: [number, number] | null) => (range === null ? null : buffer.subarray(range[0], range[1]));
  const run: RecordRun = {
    release() {
      expect(released.has(run)).toBe(false);
      released.add(run);
      (buffer.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
    },
    topic: TOPIC,
    partition: records[0]?.partition ?? 0,
    records: () => [...records],
    cursor(): RecordCursor {
      let i = -1;
      const cursor = {
        offset: 0,
        timestamp: 0,
        keyBytes: null as Buffer | null,
        keyStart: 0,
        keyEnd: 0,
        valueBytes: null as Buffer | null,
        valueStart: 0,
        valueEnd: 0,
        next(): boolean {
          if (++i >= records.length) return false;
          const r = records[i] as ConsumedRecord;
          const { key, value } = ranges[i] as (typeof ranges)[number];
          cursor.offset = r.offset;
          cursor.timestamp = r.timestamp;
          cursor.keyBytes = key === null ? null : buffer;
          [cursor.keyStart, cursor.keyEnd] = key ?? [0, 0];
          cursor.valueBytes = value === null ? null : buffer;
          [cursor.valueStart, cursor.valueEnd] = value ?? [0, 0];
          return true;
        },
        record: () => {
          const { key, value } = ranges[i] as (typeof ranges)[number];
          return { ...(records[i] as ConsumedRecord), key: view(key), value: view(value) };
        },
      };
      return cursor;
    },
  };
  return run;
}

/** A JSON table's decoder, as the engine's (table-decoder.ts `decodeStoredTableRecord`) for these records. */
function decode(record: ConsumedRecord): StoreWrite<unknown> | null {
  if (record.key === null) throw new Error('null key');
  if (record.value === null) return { type: 'delete', key: record.key };
  if (record.value.toString('latin1') === '"skip"') return null; // a decoder may skip a record
  if (!isJsonText(record.value)) throw new Error('not JSON');
  return { type: 'put', key: record.key, value: new JsonText(record.value) };
}
const storesAsJsonText = (c: RecordCursor): boolean =>
  c.valueBytes !== null &&
  c.valueBytes.subarray(c.valueStart, c.valueEnd).toString('latin1') !== '"skip"' &&
  isJsonTextAt(c.valueBytes, c.valueStart, c.valueEnd);
const storesAsJsonTextOf = (value: Buffer): boolean => value.toString('latin1') !== '"skip"' && isJsonText(value);
const misplaced = (key: Uint8Array | null): boolean => key !== null && key.length === 1 && key[0] === 0x6d; // "m"

const recordSpec = fc.record({
  partition: fc.integer({ min: 0, max: 1 }),
  gap: fc.integer({ min: 0, max: 2 }),
  key: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'é', 'm'), { nil: null, freq: 12 }),
  value: fc.option(fc.constantFrom('{"v":1}', '[2]', '"x"', '{"v":', 'nope', '"skip"', '{"é":"\u00e9"}'), { nil: null, freq: 5 }),
});

interface Outcome {
  readonly entries: [string, string][];
  readonly checkpoints: [TopicPartitionId, number][];
  readonly restored?: number;
  readonly skipped?: number;
  readonly asked: number[];
  /** `onDecodeError` and `onJudged` calls in order (a global reader's verdicts: each bad record before its range). */
  readonly verdicts: string[];
  /** The bad records' values, read once the restore is done (a dead-letter writer keeping them). */
  readonly kept: string[];
  readonly error?: string;
}

async function restore(
  dir: string,
  name: string,
  batches: RestoreBatch[],
  ends: Map<TopicPartitionId, number>,
  starts: Map<TopicPartitionId, number>,
  options: { inPlace: boolean; needsVersions: boolean; batchSize: number },
): Promise<Outcome> {
  const store = await LevelKeyValueStore.open({ location: join(dir, name), name, partition: 'global' });
  const asked: number[] = [];
  const verdicts: string[] = [];
  const bad: ConsumedRecord[] = [];
  try {
    let result: Awaited<ReturnType<typeof restoreStore>> | undefined;
    let error: string | undefined;
    try {
      result = await restoreStore({
        store,
        batches: (async function* () {
          for (const batch of batches) yield batch;
        })(),
        endOffsets: ends,
        startOffsets: starts,
        decode,
        onJudged: (tp, next) => verdicts.push(`judged ${tp} < ${next}`),
        onDecodeError: (record) => {
          bad.push(record);
          asked.push(record.offset);
          verdicts.push(`bad ${record.partition}@${record.offset}`);
          return record.value?.toString('latin1') === 'nope' && record.partition === 1 ? 'fail' : 'skip';
        },
        batchSize: options.batchSize,
        needsVersions: options.needsVersions ? (record) => misplaced(record.key) : undefined,
        needsVersionsAt: options.needsVersions ? (c) => misplaced(c.keyBytes?.subarray(c.keyStart, c.keyEnd) ?? null) : undefined,
        storesAsJsonText: options.inPlace ? storesAsJsonText : undefined,
      });
    } catch (e) {
      error = e instanceof VersionsNeeded ? `versions needed at ${(e.record as ConsumedRecord).offset}` : (e as Error).constructor.name;
    }
    const entries: [string, string][] = [];
    for await (const entry of store.range()) entries.push([entry.key.toString('utf8'), JSON.stringify(entry.value)]);
    return {
      entries,
      checkpoints: [...store.checkpoints()].sort(),
      restored: result?.restored,
      skipped: result?.decodeErrorsSkipped,
      asked,
      verdicts,
      kept: bad.map((r) => `${String(r.key)}=${String(r.value)}`),
      error,
    };
  } finally {
    await store.close();
  }
}

describe('restoreStore reading runs in place', () => {
  it('does what the record path does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-restore-in-place-'));
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(recordSpec, { maxLength: 30 }),
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 0, max: 3 }),
          fc.boolean(),
          fc.integer({ min: 1, max: 7 }),
          async (specs, cuts, start, needsVersions, batchSize) => {
            // Offsets per partition (gaps as compaction leaves them), runs of one partition cut at random sizes.
            const next = [0, 0];
            const records: ConsumedRecord[] = specs.map((s) => {
              const offset = (next[s.partition] as number) + s.gap;
              next[s.partition] = offset + 1;
              return {
                topic: TOPIC,
                partition: s.partition,
                offset,
                timestamp: offset,
                key: s.key === null ? null : Buffer.from(s.key),
                value: s.value === null ? null : Buffer.from(s.value),
                headers: {},
              };
            });
            const runs: ConsumedRecord[][] = [];
            for (let i = 0, c = 0; i < records.length; c++) {
              const partition = (records[i] as ConsumedRecord).partition;
              const run: ConsumedRecord[] = [];
              const size = cuts[c % cuts.length] as number;
              while (i < records.length && run.length < size && (records[i] as ConsumedRecord).partition === partition)
                run.push(records[i++] as ConsumedRecord);
              runs.push(run);
            }
            const ends = new Map<TopicPartitionId, number>([
              [`${TOPIC}:0`, next[0] as number],
              [`${TOPIC}:1`, next[1] as number],
            ]);
            const starts = new Map<TopicPartitionId, number>([
              [`${TOPIC}:0`, start],
              [`${TOPIC}:1`, 0],
            ]);
            const options = { needsVersions, batchSize };
            const byRecords = await restore(dir, `r${n}`, runs, ends, starts, { ...options, inPlace: false });
            const inPlaceRuns = runs.map(runOf);
            const inPlace = await restore(dir, `p${n}`, inPlaceRuns, ends, starts, { ...options, inPlace: true });
            n++;
            // Runs are released (their bytes freed) as they are done with, unless a record of theirs was built: the
            // store, the verdicts and the bad records kept are the record path's all the same.
            expect(inPlace).toEqual(byRecords);
            // A run with records to restore is released when all of them were good (read to its end), never when
            // one was built.
            const good = (r: ConsumedRecord) => r.key !== null && (r.value === null || storesAsJsonTextOf(r.value));
            const due = (r: ConsumedRecord) => r.offset >= (starts.get(`${TOPIC}:${r.partition}`) ?? 0);
            runs.forEach((run, i) => {
              const wasReleased = released.has(inPlaceRuns[i] as RecordRun);
              if (run.some(due) && run.filter(due).every(good) && inPlace.error === undefined) expect(wasReleased).toBe(true);
              if (run.filter(due).some((r) => !good(r))) expect(wasReleased).toBe(false);
            });
          },
        ),
        { numRuns: 120 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
