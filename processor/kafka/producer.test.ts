import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionFor } from './producer.js';

// Java's Utils.murmur2 test vectors (org.apache.kafka.common.utils.UtilsTest#testMurmur2); the Java default
// partitioner picks (murmur2(key) & 0x7fffffff) % partitions. Matching them is what keeps joins and key routing
// correct when Java and Tributary producers write the same topics.
const JAVA_MURMUR2: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

describe('partitionFor', () => {
  it.each(JAVA_MURMUR2)('matches the Java client for key %s', (key, hash) => {
    for (const count of [1, 3, 7, 12, 1000]) {
      expect(partitionFor('t', Buffer.from(key), count)).toBe((hash & 0x7fffffff) % count);
    }
  });

  it('is deterministic and in range for any key and partition count', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 500 }), (bytes, count) => {
        const key = Buffer.from(bytes);
        const partition = partitionFor('topic', key, count);
        expect(Number.isInteger(partition) && partition >= 0 && partition < count).toBe(true);
        expect(partitionFor('another-topic', Buffer.from(bytes), count)).toBe(partition);
      }),
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionFor('t', Buffer.from('k'), 0)).toThrow(RangeError);
    expect(() => partitionFor('t', Buffer.from('k'), 1.5)).toThrow(RangeError);
  });
});
