import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SourcePosition } from './dead-letters.js';
import { markSealedValue, openRepartitionValue, sealRepartitionValue } from './repartition-envelope.js';

const position = fc.record({
  topic: fc.string({ minLength: 1, maxLength: 249 }),
  partition: fc.nat({ max: 2 ** 31 - 1 }),
  offset: fc.maxSafeNat(),
  timestamp: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
});
const value = fc.option(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  { nil: null },
);
const stage = fc.constantFrom(undefined, 'deserialization' as const, 'processing' as const);

describe('repartition value trailer', () => {
  it('round-trips any value (null and empty included), origin and dead-letter stage', () => {
    fc.assert(
      fc.property(value, fc.option(position, { nil: undefined }), stage, (v, origin: SourcePosition | undefined, deadLetter) => {
        const opened = openRepartitionValue(sealRepartitionValue(v, origin, deadLetter));
        expect(opened.value === null ? null : Buffer.from(opened.value)).toEqual(v === null ? null : Buffer.from(v));
        expect(opened.origin).toEqual(origin);
        expect(opened.deadLettered).toBe(deadLetter);
      }),
    );
  });

  it('can mark a sealed value as dead-lettered afterwards, keeping the rest', () => {
    fc.assert(
      fc.property(value, position, fc.constantFrom('deserialization' as const, 'processing' as const), (v, origin, later) => {
        const sealed = sealRepartitionValue(v, origin, undefined);
        markSealedValue(sealed, later);
        expect(openRepartitionValue(sealed)).toMatchObject({ origin, deadLettered: later });
      }),
    );
  });

  it('reads a value without the trailer (an older version wrote it) as it is, never throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const opened = openRepartitionValue(Buffer.from(bytes));
        if (opened.origin === undefined && opened.deadLettered === undefined) expect(opened.value).toEqual(Buffer.from(bytes));
      }),
    );
    expect(openRepartitionValue(Buffer.from('{"id":"o-1"}'))).toEqual({
      value: Buffer.from('{"id":"o-1"}'),
      origin: undefined,
      deadLettered: undefined,
    });
    expect(openRepartitionValue(null)).toEqual({ value: null, origin: undefined, deadLettered: undefined });
  });

  it('adds a few bytes: the varints, the topic name and 7 bytes', () => {
    const sealed = sealRepartitionValue(
      Buffer.from('v'),
      { topic: 'orders', partition: 3, offset: 1_000_000, timestamp: 1_765_000_000_000 },
      undefined,
    );
    expect(sealed.length - 1).toBe(1 + 3 + 6 + 'orders'.length + 7);
  });
});
