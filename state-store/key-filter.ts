/**
 * A Bloom filter over key bytes: "certainly never added" or "maybe added" (fresh-versions.ts keeps one per partition
 * of a versioned restore into an empty store, to skip most reads of stored versions). Memory is fixed at
 * construction (about 10 bits per expected key, a power of two, at most 32 MiB); more keys than expected only raise
 * the false-positive rate, never give a wrong "never added".
 */
import { murmur2 } from '../common/partitioner.js';

const BITS_PER_KEY = 10;
const PROBES = 7;
const MAX_BITS = 2 ** 28;

export class KeyFilter {
  private readonly bits: Int32Array;
  private readonly mask: number;

  constructor(expectedKeys: number) {
    let size = 1024;
    while (size < expectedKeys * BITS_PER_KEY && size < MAX_BITS) size *= 2;
    this.bits = new Int32Array(size / 32);
    this.mask = size - 1;
  }

  add(key: Uint8Array): void {
    const hashes = keyHashes(key);
    this.addHashed(hashes.h1, hashes.h2);
  }

  mayContain(key: Uint8Array): boolean {
    const hashes = keyHashes(key);
    return this.mayContainHashed(hashes.h1, hashes.h2);
  }

  /** `add` with the key's hashes computed once (`keyHashes`) for several filters. */
  addHashed(h1: number, h2: number): void {
    for (let i = 0; i < PROBES; i++) {
      const index = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[index >>> 5] |= 1 << (index & 31);
    }
  }

  mayContainHashed(h1: number, h2: number): boolean {
    for (let i = 0; i < PROBES; i++) {
      const index = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.bits[index >>> 5] & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }
}

/** Reused by every call (no allocation per key): read `h1` and `h2` before the next call. */
const scratch = { h1: 0, h2: 0 };

/** murmur2 and FNV-1a: two independent 32-bit hashes for double hashing (the second forced odd). */
export function keyHashes(key: Uint8Array): { readonly h1: number; readonly h2: number } {
  let fnv = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) fnv = Math.imul(fnv ^ key[i], 0x01000193);
  scratch.h1 = murmur2(key);
  scratch.h2 = fnv | 1;
  return scratch;
}
