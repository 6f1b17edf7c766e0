/**
 * Exact dead-letter accounting for the integration tests: which source records are bad (by the `expect` header the
 * test gives every record it produces), what the dead-letter topic holds (per source topic and stage, distinct source
 * records and copies), whether each letter carries its record's original bytes, and what replay would send.
 */
import { expect } from 'vitest';
import { DeadLetterHeaders, deadLetterIdentity, isInternalTopic } from '../../common/dead-letters.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { EngineMetricsSnapshot } from '../../processor/engine/metrics.js';
import { replayDeadLetters } from '../../processor/dlq/replay.js';
import { kafkaBrokers, readTopic } from '../helpers/kafka.js';

/** Header every produced test record carries: `good`, or the stage its dead letter must have. */
export const EXPECT_HEADER = 'expect';

export type Counts = Record<string, number>;

const text = (b: Buffer | undefined | null): string | undefined => (b === undefined || b === null ? undefined : b.toString('utf8'));
const countKey = (topic: string, stage: string): string => `${topic}/${stage}`;

function bump(counts: Counts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

export interface Expected {
  /** identity → stage, for every bad source record. */
  readonly bad: Map<string, string>;
  /** identity → the source record as it is in its topic. */
  readonly records: Map<string, ConsumedRecord>;
  /** `<topic>/<stage>` → bad source records. */
  readonly counts: Counts;
}

/** Reads the source topics and lists the bad records in them. */
export async function expectedDeadLetters(topics: readonly string[]): Promise<Expected> {
  const bad = new Map<string, string>();
  const records = new Map<string, ConsumedRecord>();
  const counts: Counts = {};
  for (const topic of topics) {
    for (const record of await readTopic(topic)) {
      const identity = `${record.topic}:${record.partition}:${record.offset}`;
      records.set(identity, record);
      const expectation = text(record.headers[EXPECT_HEADER]);
      if (expectation === undefined || expectation === 'good') continue;
      bad.set(identity, expectation);
      bump(counts, countKey(topic, expectation));
    }
  }
  return { bad, records, counts };
}

export interface DeadLetterTally {
  readonly letters: ConsumedRecord[];
  /** `<topic>/<stage>` → letters in the topic (copies included). */
  readonly raw: Counts;
  /** `<topic>/<stage>` → distinct source records. */
  readonly distinct: Counts;
  /** `<topic>` → distinct source records (what replay must send back). */
  readonly distinctByTopic: Counts;
  readonly duplicates: number;
}

export async function tallyDeadLetters(dlqTopic: string): Promise<DeadLetterTally> {
  const letters = await readTopic(dlqTopic);
  const raw: Counts = {};
  const distinct: Counts = {};
  const distinctByTopic: Counts = {};
  const seen = new Set<string>();
  let duplicates = 0;
  for (const letter of letters) {
    const topic = text(letter.headers[DeadLetterHeaders.sourceTopic]) ?? '?';
    const stage = text(letter.headers[DeadLetterHeaders.stage]) ?? '?';
    bump(raw, countKey(topic, stage));
    const identity = deadLetterIdentity(letter.headers) ?? `${letter.partition}@${letter.offset}`;
    if (seen.has(identity)) {
      duplicates++;
      continue;
    }
    seen.add(identity);
    bump(distinct, countKey(topic, stage));
    bump(distinctByTopic, topic);
  }
  return { letters, raw, distinct, distinctByTopic, duplicates };
}

/**
 * Every letter stands for a bad source record with the right stage, carries its original key, value, timestamp and
 * headers byte for byte, and never names an internal topic as its source; every bad record has a letter.
 */
export function checkLetters(applicationId: string, expected: Expected, tally: DeadLetterTally): void {
  const covered = new Set<string>();
  for (const letter of tally.letters) {
    const identity = deadLetterIdentity(letter.headers) as string;
    const where = `letter ${letter.partition}@${letter.offset} (${identity})`;
    expect(identity, where).toBeDefined();
    const source = text(letter.headers[DeadLetterHeaders.sourceTopic]) as string;
    expect(isInternalTopic(applicationId, source), where).toBe(false);
    expect(letter.headers[DeadLetterHeaders.bytes], where).toBeUndefined();
    expect(text(letter.headers[DeadLetterHeaders.stage]), where).toBe(expected.bad.get(identity));
    const original = expected.records.get(identity) as ConsumedRecord;
    expect(original, where).toBeDefined();
    expect(letter.key === null ? null : letter.key.toString('hex'), where).toBe(
      original.key === null ? null : original.key.toString('hex'),
    );
    expect(letter.value === null ? null : letter.value.toString('hex'), where).toBe(
      original.value === null ? null : original.value.toString('hex'),
    );
    expect(letter.timestamp, where).toBe(original.timestamp);
    for (const [name, value] of Object.entries(original.headers))
      expect(text(letter.headers[name]), `${where} header ${name}`).toBe(text(value));
    covered.add(identity);
  }
  expect([...expected.bad.keys()].filter((identity) => !covered.has(identity))).toEqual([]);
}

/** Sum over instances of dead letters acknowledged, as `<topic>/<stage>` counts. */
export function metricCounts(snapshots: readonly EngineMetricsSnapshot[]): Counts {
  const counts: Counts = {};
  for (const snapshot of snapshots) {
    for (const [stage, bySource] of Object.entries(snapshot.deadLetteredBy)) {
      for (const [topic, value] of Object.entries(bySource)) if (value > 0) bump(counts, countKey(topic, stage), value);
    }
  }
  return counts;
}

/** What `dlq replay --dry-run` reports. */
export async function replayDryRun(applicationId: string) {
  return replayDeadLetters({ kafka: { brokers: kafkaBrokers().split(','), logLevel: 'nothing' }, applicationId, dryRun: true });
}
