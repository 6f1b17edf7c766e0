import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicPartitionId, type ProducedRecord } from '../../common/records.js';
import { acknowledgedOffsets, mergeAcknowledged } from './produce-acks.js';

const record = (topic: string, partition: number | undefined): ProducedRecord => ({
  topic,
  partition,
  timestamp: 0,
  key: Buffer.from('k'),
  value: null,
  headers: {},
});

describe('acknowledgedOffsets', () => {
  it('is the base offset plus the records the request wrote to each partition', () => {
    const records = [record('c', 0), record('c', 1), record('c', 0), record('out', 2), record('c', 0)];
    const acks = [
      { topic: 'c', partition: 0, baseOffset: 40 },
      { topic: 'c', partition: 1, baseOffset: 7 },
      { topic: 'out', partition: 2, baseOffset: 0 },
    ];
    expect(acknowledgedOffsets(records, acks)).toEqual(
      new Map([
        [topicPartitionId('c', 0), 43],
        [topicPartitionId('c', 1), 8],
        [topicPartitionId('out', 2), 1],
      ]),
    );
  });

  it('reports nothing for a topic with records the client partitioned, nor for a missing base offset', () => {
    const records = [record('out', 0), record('out', undefined), record('c', 1)];
    const acks = [
      { topic: 'out', partition: 0, baseOffset: 3 },
      { topic: 'c', partition: 1, baseOffset: -1 },
    ];
    expect(acknowledgedOffsets(records, acks)).toEqual(new Map());
  });

  it('equals appending each record to its partition one by one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 50 }),
        fc.array(fc.nat({ max: 1000 }), { minLength: 4, maxLength: 4 }),
        (partitions, bases) => {
          const ends = [...bases];
          for (const p of partitions) ends[p]++;
          const acks = [...new Set(partitions)].map((p) => ({ topic: 't', partition: p, baseOffset: bases[p] }));
          const expected = new Map([...new Set(partitions)].map((p) => [topicPartitionId('t', p), ends[p]] as const));
          expect(
            acknowledgedOffsets(
              partitions.map((p) => record('t', p)),
              acks,
            ),
          ).toEqual(expected);
        },
      ),
    );
  });
});

describe('mergeAcknowledged', () => {
  it('keeps the larger position per partition', () => {
    const into = new Map([[topicPartitionId('c', 0), 5]]);
    mergeAcknowledged(
      into,
      new Map([
        [topicPartitionId('c', 0), 3],
        [topicPartitionId('c', 1), 2],
      ]),
    );
    expect(into).toEqual(
      new Map([
        [topicPartitionId('c', 0), 5],
        [topicPartitionId('c', 1), 2],
      ]),
    );
  });
});
