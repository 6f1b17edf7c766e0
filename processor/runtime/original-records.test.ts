import { describe, expect, it } from 'vitest';
import { DeadLetterHeaders, deadLetterRecord } from '../../common/dead-letters.js';
import { silentLogger } from '../../common/logger.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import type { RecordPosition } from '../kafka/record-fetcher.js';
import { completeDeadLetters, type FetchRecords } from './original-records.js';

const user = (offset: number): ConsumedRecord => ({
  topic: 'orders',
  partition: 1,
  offset,
  timestamp: 100 + offset,
  key: Buffer.from(`o-${offset}`),
  value: Buffer.from(`{"id":"o-${offset}"}`),
  headers: { trace: Buffer.from(`t-${offset}`) },
});

const internal = (source: ConsumedRecord): ConsumedRecord => ({
  topic: 'app-by-customer-repartition',
  partition: 0,
  offset: source.offset * 10,
  timestamp: source.timestamp,
  key: Buffer.from('c-1'),
  value: Buffer.from('re-serialized'),
  headers: { trace: source.headers.trace as Buffer },
});

const pendingFor = (source: ConsumedRecord): ProducedRecord =>
  deadLetterRecord('app-dlq', 'app', 'processing', internal(source), new RangeError('late'), { source });

const output: ProducedRecord = { topic: 'out', timestamp: 1, key: null, value: Buffer.from('x'), headers: {} };

describe('completeDeadLetters', () => {
  it('puts the original record into pending letters, in place, with one fetch for all of them', async () => {
    const asked: RecordPosition[][] = [];
    const fetch: FetchRecords = async (positions) => {
      asked.push([...positions]);
      return new Map([user(4), user(7)].map((r) => [`orders:1:${r.offset}`, r]));
    };
    const completed = await completeDeadLetters([output, pendingFor(user(4)), output, pendingFor(user(7))], fetch, silentLogger);
    expect(asked).toHaveLength(1);
    expect(asked[0].map((p) => p.offset)).toEqual([4, 7]);
    expect(completed[0]).toBe(output);
    for (const [index, offset] of [
      [1, 4],
      [3, 7],
    ] as const) {
      const letter = completed[index] as ProducedRecord;
      expect(letter).toMatchObject({ topic: 'app-dlq', key: user(offset).key, value: user(offset).value, timestamp: 100 + offset });
      expect(letter.headers.trace?.toString()).toBe(`t-${offset}`);
      expect(letter.headers[DeadLetterHeaders.bytes]).toBeUndefined();
      expect(letter.headers[DeadLetterHeaders.failedAt]?.toString()).toBe(`app-by-customer-repartition:0@${offset * 10}`);
    }
  });

  it('keeps the internal bytes, marked re-serialized, when the original is gone', async () => {
    const completed = await completeDeadLetters([pendingFor(user(4))], async () => new Map(), silentLogger);
    expect(completed[0]?.headers[DeadLetterHeaders.bytes]?.toString()).toBe('re-serialized');
    expect(completed[0]?.value?.toString()).toBe('re-serialized');
  });

  it('returns the outputs untouched, without fetching, when no letter is pending', async () => {
    const outputs = [output, deadLetterRecord('app-dlq', 'app', 'processing', user(1), new Error('x'))];
    const fetch: FetchRecords = async () => {
      throw new Error('must not fetch');
    };
    expect(await completeDeadLetters(outputs, fetch, silentLogger)).toBe(outputs);
  });
});
