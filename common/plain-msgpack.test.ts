import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { PlainMsgpack } from './plain-msgpack.js';

const plain = new PlainMsgpack({ useRecords: false });
const msgpackr = new Packr({ useRecords: false, mapsAsObjects: true });

describe('PlainMsgpack', () => {
  it('decodes what it encodes, "__proto__" keys included, as JSON does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const decoded = plain.unpack(plain.pack(value));
        expect(JSON.stringify(decoded)).toBe(JSON.stringify(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes exactly as msgpackr does when no "__proto__" key is in the bytes', () => {
    const data = fc.anything({ withTypedArray: true, withBigInt: false, withMap: false, withSet: false, withDate: true });
    fc.assert(
      fc.property(data, (value) => {
        const bytes = msgpackr.pack(value);
        if (bytes.includes('__proto__')) return;
        expect(plain.unpack(bytes)).toEqual(msgpackr.unpack(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a "__proto__" key as an own property, never as the prototype, at any depth', () => {
    const value: unknown = JSON.parse('{"a":[{"__proto__":{"polluted":true}}],"__proto__":null,"b":"__proto__"}');
    const decoded = plain.unpack(plain.pack(value)) as { a: Array<Record<string, unknown>>; b: string };
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['a', '__proto__', 'b']);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toBeNull();
    const inner = decoded.a[0]!;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(decoded.b).toBe('__proto__');
  });

  it('takes map keys that are not strings as msgpackr does (their string form)', () => {
    const bytes = new Packr({ useRecords: false, mapsAsObjects: false }).pack(
      new Map<unknown, unknown>([
        [1, 'one'],
        ['__proto__', 'p'],
      ]),
    );
    expect(plain.unpack(bytes)).toEqual(JSON.parse('{"1":"one","__proto__":"p"}'));
  });

  it('reads a Uint8Array that is not a Buffer', () => {
    const bytes = plain.pack({ __proto_: 1, x: [1, 2] });
    expect(plain.unpack(new Uint8Array(bytes))).toEqual({ __proto_: 1, x: [1, 2] });
  });
});
