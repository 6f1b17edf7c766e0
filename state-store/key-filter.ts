/**
 * A Bloom filter over key bytes: "certainly never added" or "maybe added" (fresh-versions.ts keeps one per partition
 * of a versioned restore into an empty store, to skip most reads of stored versions). Memory is fixed at construction (10 bits per expected key, at
 * most 32 MiB); more keys than expected only raise the false-positive rate (a read that finds nothing), never give
 * a wrong answer.
 */
import { murmur2 } from '../common/partitioner.js';

const BITS_PER_KEY = 10;
const PROBES = 7;
const MAX_BITS = 2 ** 28;

export class KeyFilter {
  private readonly bits: Uint32Array;
  private readonly size: number;

  constructor(expectedKeys: number) {
    this.size = Math.min(MAX_BITS, Math.max(1024, Math.ceil((expectedKeys * BITS_PER_KEY) / 32) * 32));
    this.bits = new Uint32Array(this.size / 32);
  }

  add(key: Uint8Array): void {
    this.addHashed(keyHashes(key));
  }

  mayContain(key: Uint8Array): boolean {
    return this.mayContainHashed(keyHashes(key));
  }

  /** `add` with the key's hashes computed once (`keyHashes`) for several filters. */
  addHashed([h1, h2]: KeyHashes): void {
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.size;
      this.bits[index >>> 5] |= 1 << (index & 31);
    }
  }

  mayContainHashed([h1, h2]: KeyHashes): boolean {
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.size;
      if ((this.bits[index >>> 5] & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }
}

export type KeyHashes = readonly [number, number];

/** murmur2 and FNV-1a: two independent 32-bit hashes for double hashing (the second forced odd). */
export function keyHashes(key: Uint8Array): KeyHashes {
  let fnv = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) fnv = Math.imul(fnv ^ key[i], 0x01000193);
  return [murmur2(key) >>> 0, (fnv | 1) >>> 0];
}
