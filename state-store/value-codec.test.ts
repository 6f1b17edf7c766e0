import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoredValue, decodeValue, encodeValue, JsonText, StoredJsonText } from './value-codec.js';

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

  it('keeps a "__proto__" key as data, as JSON.parse does (msgpackr alone would rename it)', () => {
    const value: unknown = JSON.parse('{"__proto__":{"admin":true},"name":"x","list":[{"__proto__":1}]}');
    const decoded = decodeValue<Record<string, unknown>>(encodeValue(value));
    expect(Object.keys(decoded)).toEqual(['__proto__', 'name', 'list']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(value));
  });

  it('keeps a byte-order mark out of the value, as the JSON serde does', () => {
    expect(decodeValue(encodeValue(new JsonText(Buffer.from('\ufeff{"a":1}', 'utf8'))))).toEqual({ a: 1 });
  });

  it('hands JSON text out as its text (without a byte-order mark) and msgpack values decoded, via decodeStoredValue', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, bom) => {
        const text = JSON.stringify(value, null, bom ? 1 : 0);
        const stored = decodeStoredValue(encodeValue(new JsonText(Buffer.from(`${bom ? '\ufeff' : ''}${text}`, 'utf8'))));
        expect(stored).toBeInstanceOf(StoredJsonText);
        expect((stored as StoredJsonText).text).toBe(text);
        const parsed: unknown = JSON.parse(text);
        expect(decodeStoredValue(encodeValue(parsed))).toEqual(decodeValue(encodeValue(parsed)));
      }),
      { numRuns: 300 },
    );
  });
});
