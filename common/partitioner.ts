/**
 * The default partitioner for keyed records, byte-compatible with the Java client (and kafkajs's
 * `Partitioners.DefaultPartitioner`): `toPositive(murmur2(keyBytes)) % numPartitions`.
 * Co-partitioned joins rely on every producer choosing the same partition for the same key bytes.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (32-bit, seed 0x9747b28c) as a signed 32-bit integer, like `Utils.murmur2` in Java; of
 * `data[start, end)` when given (bytes read in place, e.g. a key inside a fetch response).
 */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const length = end - start;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = start + i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = start + (length & ~3);
  const remaining = length % 4;
  if (remaining === 3) h ^= data[tail + 2] << 16;
  if (remaining >= 2) h ^= data[tail + 1] << 8;
  if (remaining >= 1) {
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Partition for a keyed record. Throws on a non-positive partition count (a caller bug). */
export function defaultPartition(keyBytes: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(keyBytes)) % numPartitions;
}
