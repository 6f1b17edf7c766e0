import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RangeOptions } from './types.js';
import { describeKeyValueStoreConformance } from './conformance.js';
import { MemoryKeyValueStore } from './memory-store.js';

// The in-memory store must behave exactly like the LevelDB store: same contract suite.
describeKeyValueStoreConformance('MemoryKeyValueStore', async () => {
  const store = new MemoryKeyValueStore<unknown>('conformance', 0);
  return { store, cleanup: () => store.close() };
});

describe('MemoryKeyValueStore range (property)', () => {
  // The store binary-searches its bounds; a naive filter over all keys is the oracle.
  const keyBytes = fc.uint8Array({ minLength: 0, maxLength: 3, max: 4 }).map((a) => Buffer.from(a.map((b) => (b === 4 ? 0xff : b))));
  const inRange = (key: Buffer, o: RangeOptions): boolean =>
    (!o.gte || Buffer.compare(key, o.gte) >= 0) &&
    (!o.gt || Buffer.compare(key, o.gt) > 0) &&
    (!o.lte || Buffer.compare(key, o.lte) <= 0) &&
    (!o.lt || Buffer.compare(key, o.lt) < 0) &&
    (!o.prefix || (key.length >= o.prefix.length && Buffer.compare(key.subarray(0, o.prefix.length), o.prefix) === 0));

  it('returns exactly the keys a naive filter selects, in byte order, honouring reverse and limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyBytes, { selector: (k) => k.toString('hex'), maxLength: 40 }),
        fc.record(
          { gte: keyBytes, gt: keyBytes, lte: keyBytes, lt: keyBytes, prefix: keyBytes, reverse: fc.boolean(), limit: fc.nat(10) },
          { requiredKeys: [] },
        ),
        async (keys, options) => {
          const store = new MemoryKeyValueStore<number>('prop', 0);
          await store.write(keys.map((key, i) => ({ type: 'put' as const, key, value: i })));
          const expected = [...keys].sort(Buffer.compare).filter((k) => inRange(k, options));
          if (options.reverse) expected.reverse();
          const limited = options.limit === undefined ? expected : expected.slice(0, options.limit);
          const actual: string[] = [];
          for await (const entry of store.range(options)) actual.push(entry.key.toString('hex'));
          expect(actual).toEqual(limited.map((k) => k.toString('hex')));
        },
      ),
      { numRuns: 300 },
    );
  });
});
