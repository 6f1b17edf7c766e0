import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeSerde } from './change.js';
import { Serdes } from './serdes.js';
import { TimeWindows, windowStartsFor } from './windows.js';

const timestamp = fc.integer({ min: 0, max: 10_000_000 });

describe('window assignment (property)', () => {
  it('tumbling: exactly the one window [start, start + size) holding the timestamp, aligned to the size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), timestamp, (size, ts) => {
        const starts = TimeWindows.ofSize(size).windowStartsFor(ts);
        expect(starts).toHaveLength(1);
        expect(starts[0] % size).toBe(0);
        expect(starts[0] <= ts && ts < starts[0] + size).toBe(true);
      }),
    );
  });

  it('hopping: every start that is a multiple of the advance, at least 0, with the timestamp inside its window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 5_000 }), (a, b, ts) => {
        const [advance, size] = a <= b ? [a, b] : [b, a];
        const spec = { sizeMs: size, advanceMs: advance, graceMs: 0 };
        const naive: number[] = [];
        for (let start = 0; start <= ts; start += advance) if (ts < start + size) naive.push(start);
        expect(windowStartsFor(spec, ts)).toEqual(naive);
      }),
    );
  });
});

describe('windowed and change serdes (property)', () => {
  it('a windowed key round-trips: inner key bytes then the start, end = start + size', () => {
    fc.assert(
      fc.property(fc.string(), timestamp, fc.integer({ min: 1, max: 1_000 }), (key, start, size) => {
        const serde = Serdes.windowed(Serdes.string(), size);
        const bytes = serde.serialize({ key, window: { start, end: start + size } });
        expect(bytes.subarray(0, bytes.length - 8).toString('utf8')).toBe(key);
        expect(Number(bytes.readBigUInt64BE(bytes.length - 8))).toBe(start);
        expect(serde.deserialize(bytes)).toEqual({ key, window: { start, end: start + size } });
      }),
    );
    expect(() => Serdes.windowed(Serdes.string(), 10).deserialize(Buffer.alloc(3))).toThrow('at least 8 bytes');
  });

  it('a change round-trips with its new value, its old value, or both', () => {
    const json = fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer()), fc.dictionary(fc.string(), fc.boolean()));
    fc.assert(
      fc.property(fc.option(json), fc.option(json), (newValue, oldValue) => {
        fc.pre(newValue !== null || oldValue !== null);
        const serde = changeSerde(Serdes.json());
        expect(serde.deserialize(serde.serialize({ newValue, oldValue }))).toEqual({ newValue, oldValue });
      }),
    );
    const serde = changeSerde(Serdes.json());
    expect(() => serde.serialize({ newValue: null, oldValue: null })).toThrow('a change needs a new or an old value');
    expect(() => serde.deserialize(Buffer.from([9]))).toThrow('unknown change tag 9');
  });
});
