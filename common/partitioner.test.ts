import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { defaultPartition, murmur2 } from './partitioner.js';

// kafkajs's DefaultPartitioner is the reference: same key bytes, same partition as the Java client.
const kafkajsPartition = Partitioners.DefaultPartitioner();

function viaKafkajs(key: Buffer, numPartitions: number): number {
  const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));
  return kafkajsPartition({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('murmur2 partitioner', () => {
  it('matches the Java client test vectors (Kafka UtilsTest.testMurmur2)', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it('chooses the same partition as kafkajs DefaultPartitioner for any key and partition count', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 200 }), (bytes, n) => {
        const key = Buffer.from(bytes);
        expect(defaultPartition(key, n)).toBe(viaKafkajs(key, n));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => defaultPartition(Buffer.from('k'), 0)).toThrow(RangeError);
  });
});

describe('murmur2 of a range', () => {
  it('equals murmur2 of the range copied out', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 6 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 6 }),
        (before, key, after) => {
          const whole = Buffer.concat([before, key, after]);
          expect(murmur2(whole, before.length, before.length + key.length)).toBe(murmur2(Buffer.from(key)));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
