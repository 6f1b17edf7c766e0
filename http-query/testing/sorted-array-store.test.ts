import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedArrayStore } from './sorted-array-store.js';

const bytes = fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b));
const maybe = fc.option(bytes, { nil: undefined });

describe('SortedArrayStore (test double)', () => {
  it('range matches a naive filter for any bounds, prefix, direction and limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(bytes, { selector: (k) => k.toString('hex'), maxLength: 40 }),
        fc.record({ gte: maybe, gt: maybe, lte: maybe, lt: maybe, prefix: maybe }),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        async (keys, bounds, reverse, limit) => {
          const store = new SortedArrayStore<number>('s', 0);
          store.load(keys.map((k, i) => [k, i] as const));
          const got: string[] = [];
          for await (const entry of store.range({ ...bounds, reverse, limit })) got.push(entry.key.toString('hex'));
          const expected = keys
            .filter(
              (k) =>
                (!bounds.gte || Buffer.compare(k, bounds.gte) >= 0) &&
                (!bounds.gt || Buffer.compare(k, bounds.gt) > 0) &&
                (!bounds.lte || Buffer.compare(k, bounds.lte) <= 0) &&
                (!bounds.lt || Buffer.compare(k, bounds.lt) < 0) &&
                (!bounds.prefix || k.subarray(0, bounds.prefix.length).equals(bounds.prefix)),
            )
            .sort((a, b) => (reverse ? -1 : 1) * Buffer.compare(a, b))
            .slice(0, limit ?? Infinity)
            .map((k) => k.toString('hex'));
          expect(got).toEqual(expected);
          for (const [i, k] of keys.entries()) expect(await store.get(k)).toBe(i);
        },
      ),
    );
  });
});
