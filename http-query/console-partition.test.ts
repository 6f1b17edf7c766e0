/** The console's browser copy of the partitioner agrees with common/partitioner.ts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPartition, murmur2 } from '../common/partitioner.js';
import { murmur2 as browserMurmur2, stringKeyPartition } from './console/partition.js';

describe('console partitioner', () => {
  it('matches murmur2 on any bytes and the default partitioner on any string key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(browserMurmur2(bytes)).toBe(murmur2(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        expect(stringKeyPartition(key, partitions)).toBe(defaultPartition(Buffer.from(key, 'utf8'), partitions));
      }),
    );
  });
});
