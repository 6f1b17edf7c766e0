import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, JsonText } from './value-codec.js';

describe('value codec', () => {
  it('reads JSON text back as what JSON.parse gives, and msgpack values as they were', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const parsed: unknown = JSON.parse(text);
        expect(decodeValue(encodeValue(new JsonText(Buffer.from(text, 'utf8'))))).toEqual(parsed);
        expect(decodeValue(encodeValue(parsed))).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it('no msgpack value starts with the JSON-text frame byte 0xC1', () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: false, withBigInt: false, withMap: false, withSet: false, withDate: false }), (value) => {
        if (value === undefined) return;
        expect(encodeValue(value)[0]).not.toBe(0xc1);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a byte-order mark out of the value, as the JSON serde does', () => {
    expect(decodeValue(encodeValue(new JsonText(Buffer.from('\ufeff{"a":1}', 'utf8'))))).toEqual({ a: 1 });
  });
});
