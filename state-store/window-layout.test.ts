import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  STREAM_TIME_KEY,
  firstLiveSegment,
  keyWindowsInSegment,
  minLiveStart,
  parseWindowStorageKey,
  segmentOf,
  segmentStartKey,
  windowStorageKey,
} from './window-layout.js';

// Keys rich in 0x00 and 0xff bytes: the escaping's edge cases.
const keyBytes = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a.map((b) => [0x00, 0x01, 0xfe, 0xff][b % 4])));
const start = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const interval = fc.integer({ min: 1, max: 1_000 });

function compareTuples(a: readonly [number, Buffer, number], b: readonly [number, Buffer, number]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  const keys = Buffer.compare(a[1], b[1]);
  if (keys !== 0) return keys;
  return a[2] === b[2] ? 0 : a[2] < b[2] ? -1 : 1;
}

describe('window storage keys (property)', () => {
  it('sort exactly like (segment, key bytes, window start)', () => {
    fc.assert(
      fc.property(keyBytes, start, keyBytes, start, interval, (k1, s1, k2, s2, i) => {
        const a = windowStorageKey(k1, s1, i);
        const b = windowStorageKey(k2, s2, i);
        const expected = compareTuples([segmentOf(s1, i), k1, s1], [segmentOf(s2, i), k2, s2]);
        expect(Math.sign(Buffer.compare(a, b))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('parse back to segment, key and start, and never look like the stream-time entry', () => {
    fc.assert(
      fc.property(keyBytes, start, interval, (key, windowStart, i) => {
        const stored = windowStorageKey(key, windowStart, i);
        expect(parseWindowStorageKey(stored)).toEqual({ segment: segmentOf(windowStart, i), key, start: windowStart });
        expect(Buffer.compare(stored, STREAM_TIME_KEY)).toBeLessThan(0);
      }),
    );
    expect(parseWindowStorageKey(STREAM_TIME_KEY)).toBeUndefined();
  });

  it('sit between their segment start and the next one', () => {
    fc.assert(
      fc.property(keyBytes, start, interval, (key, windowStart, i) => {
        const stored = windowStorageKey(key, windowStart, i);
        const segment = segmentOf(windowStart, i);
        expect(Buffer.compare(segmentStartKey(segment), stored)).toBeLessThan(0);
        expect(Buffer.compare(stored, segmentStartKey(segment + 1))).toBeLessThan(0);
      }),
    );
  });

  it('a key range within a segment holds exactly the windows of that key with a start in range', () => {
    fc.assert(
      fc.property(keyBytes, keyBytes, fc.nat(50), fc.nat(50), fc.nat(50), (key, other, s, from, to) => {
        const segment = 0;
        const { gte, lte } = keyWindowsInSegment(segment, key, from, to);
        const inside = (stored: Buffer) => Buffer.compare(gte, stored) <= 0 && Buffer.compare(stored, lte) <= 0;
        const interval = 1_000; // every start below lands in segment 0
        expect(inside(windowStorageKey(key, s, interval))).toBe(s >= from && s <= to);
        if (!other.equals(key)) expect(inside(windowStorageKey(other, s, interval))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('retention arithmetic', () => {
  it('keeps windows that start after streamTime - retention, and deletes only whole older segments', () => {
    expect(minLiveStart(undefined, 10)).toBe(0);
    expect(minLiveStart(5, 10)).toBe(0);
    expect(minLiveStart(100, 10)).toBe(91);
    const layout = { windowSizeMs: 10, retentionMs: 10, segmentIntervalMs: 5 };
    // min live start 91 is in segment 18 ([90, 95)): segments 0..17 only hold expired windows.
    expect(firstLiveSegment(100, layout)).toBe(18);
    expect(firstLiveSegment(undefined, layout)).toBe(0);
  });

  it('rejects negative or fractional times instead of writing keys that sort wrongly', () => {
    expect(() => windowStorageKey(Buffer.from('k'), -1, 10)).toThrow(RangeError);
    expect(() => windowStorageKey(Buffer.from('k'), 1.5, 10)).toThrow(RangeError);
  });
});
