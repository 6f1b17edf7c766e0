// @ts-check
/**
 * The Java client's default partitioner (murmur2, seed 0x9747b28c, sign bit cleared, mod the partition count), the
 * same as common/partitioner.ts, so the store browser can tell which partition (and instance) holds a string key.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** @param {Uint8Array} data */
export function murmur2(data) {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
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

/**
 * Partition of a key serialized as UTF-8 text (the `string` key serde).
 * @param {string} key
 * @param {number} partitions
 */
export function stringKeyPartition(key, partitions) {
  return (murmur2(new TextEncoder().encode(key)) & 0x7fffffff) % partitions;
}
