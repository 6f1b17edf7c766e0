import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyFilter } from './key-filter.js';
import { FreshVersions } from './fresh-versions.js';

describe('KeyFilter', () => {
  it('never forgets a key it was given, whatever its size', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 200 }), fc.integer({ min: 0, max: 300 }), (keys, expected) => {
        const filter = new KeyFilter(expected);
        for (const key of keys) filter.add(key);
        for (const key of keys) expect(filter.mayContain(key)).toBe(true);
      }),
    );
  });

  it('answers "never added" for most other keys at its expected size', () => {
    const filter = new KeyFilter(10_000);
    for (let i = 0; i < 10_000; i++) filter.add(Buffer.from(`customer-${i}`));
    let falsePositives = 0;
    for (let i = 10_000; i < 20_000; i++) if (filter.mayContain(Buffer.from(`customer-${i}`))) falsePositives++;
    expect(falsePositives).toBeLessThan(300);
  });
});

describe('FreshVersions', () => {
  it('skips the read only for a key seen in no other partition, at a timestamp not going back', () => {
    const tps = new Map([
      ['t:0', 10],
      ['t:1', 10],
    ] as const);
    const fresh = new FreshVersions(tps);
    const key = (k: string) => Buffer.from(k);
    expect(fresh.needsRead('t:0', key('a'), 5)).toBe(false); // new key
    expect(fresh.needsRead('t:0', key('a'), 6)).toBe(false); // same partition, later
    expect(fresh.needsRead('t:0', key('b'), 4)).toBe(true); // timestamp went back in t:0
    expect(fresh.needsRead('t:1', key('a'), 9)).toBe(true); // seen in t:0
    expect(fresh.needsRead('t:0', key('a'), 10)).toBe(true); // now seen in t:1 too
  });
});
