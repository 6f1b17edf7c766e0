import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUtf8 } from 'node:buffer';
import { isJsonText, isJsonTextAt, isUtf8At } from './json-text.js';
import { Serdes } from './serdes.js';

const serde = Serdes.json();
/** The reference: does the JSON serde accept these bytes? */
function serdeAccepts(bytes: Uint8Array): boolean {
  try {
    serde.deserialize(Buffer.from(bytes));
    return true;
  } catch {
    return false;
  }
}

/** Characters that make up JSON and the usual ways it goes wrong. */
const jsonish = fc.constantFrom(
  ...'{}[],:"\\/ \t\n\r0123456789-+.eEtruefalsnlxbu\u0000\u001f\u007f\u00e9\u2028\ud83d\ude00'.split(''),
  '\\u00e9',
  '\\ud800',
  '\\uzz',
  '\ufeff',
);

describe('isJsonText', () => {
  it('agrees with the JSON serde on valid JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(isJsonText(Buffer.from(text, 'utf8'))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the JSON serde on mangled JSON', () => {
    const mangled = fc
      .tuple(fc.json(), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ unit: jsonish, maxLength: 3 })), { maxLength: 3 }))
      .map(([text, edits]) => {
        let out = text;
        for (const [at, cut, insert] of edits) {
          const p = out.length === 0 ? 0 : at % (out.length + 1);
          out = out.slice(0, p) + insert + out.slice(p + cut);
        }
        return out;
      });
    fc.assert(
      fc.property(mangled, (text) => {
        const bytes = Buffer.from(text, 'utf8');
        expect(isJsonText(bytes)).toBe(serdeAccepts(bytes));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the JSON serde on short random texts and bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: jsonish, maxLength: 12 }), (text) => {
        const bytes = Buffer.from(text, 'utf8');
        expect(isJsonText(bytes)).toBe(serdeAccepts(bytes));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        expect(isJsonText(bytes)).toBe(serdeAccepts(bytes));
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['{"a":1}', true],
    ['\ufeff{"a":1}', true],
    ['\ufeff\ufeff1', false],
    [' [1, -0.5e+3, true, false, null, "x\\u00e9\\n", {}] ', true],
    ['', false],
    ['   ', false],
    ['01', false],
    ['1.', false],
    ['.5', false],
    ['-', false],
    ['1e', false],
    ['[1,]', false],
    ['{"a":1,}', false],
    ['{"a" 1}', false],
    ['{1:1}', false],
    ['"\u0001"', false],
    ['"\\x"', false],
    ['"\\u12"', false],
    ['[1]]', false],
    ['[[1]', false],
    ['nul', false],
    ['truex', false],
    ['1 2', false],
    ['"\ud83d\ude00"', true],
  ])('%j -> %s', (text, valid) => {
    const bytes = Buffer.from(text, 'utf8');
    expect(isJsonText(bytes)).toBe(valid);
    expect(serdeAccepts(bytes)).toBe(valid);
  });

  it('rejects bytes that are not UTF-8 and deep nesting is no problem', () => {
    expect(isJsonText(Buffer.from([0x22, 0xc3, 0x28, 0x22]))).toBe(false);
    expect(isJsonText(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toBe(false); // an encoded surrogate
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(isJsonText(Buffer.from(deep))).toBe(serdeAccepts(Buffer.from(deep)));
  });

  it('checks the UTF-8 of strings as the serde does', () => {
    // Bytes around the edges of UTF-8's ranges (overlong forms, surrogates, above U+10FFFF), inside a JSON string.
    const edgy = fc.constantFrom(
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc1,
      0xc2,
      0xdf,
      0xe0,
      0xed,
      0xef,
      0xf0,
      0xf4,
      0xf5,
      0xff,
    );
    fc.assert(
      fc.property(fc.array(edgy, { maxLength: 8 }), (inside) => {
        const bytes = Buffer.from([0x22, ...inside, 0x22]);
        expect(isJsonText(bytes)).toBe(serdeAccepts(bytes));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('isJsonTextAt and isUtf8At', () => {
  it('never reads past the end of the range: a text cut anywhere, with the rest of it right after the range', () => {
    // The rest would close a cut string, number or container: only the range may decide.
    const texts = fc.oneof(
      fc.json(),
      fc.constant('{"name":"Customer 1 (v2)","email":"customer1@example.com","version":2,"updatedAt":1765000000001}'),
    );
    fc.assert(
      fc.property(texts, fc.nat(), (text, at) => {
        const whole = Buffer.from(text, 'utf8');
        const cut = at % (whole.length + 1);
        expect(isJsonTextAt(whole, 0, cut)).toBe(serdeAccepts(whole.subarray(0, cut)));
      }),
      { numRuns: 5_000 },
    );
  });

  it('answer for a range what isJsonText and isUtf8 answer for its copy', () => {
    const text = fc.oneof(
      fc.json(),
      fc.string({ unit: jsonish, maxLength: 12 }).map((t) => t),
    );
    const bytes = fc.oneof(
      text.map((t) => Buffer.from(t, 'utf8')),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4 }), bytes, fc.uint8Array({ maxLength: 4 }), (before, middle, after) => {
        const whole = Buffer.concat([before, middle, after]);
        const start = before.length;
        const end = start + middle.length;
        expect(isJsonTextAt(whole, start, end)).toBe(isJsonText(Buffer.from(middle)));
        expect(isUtf8At(whole, start, end)).toBe(isUtf8(middle));
      }),
      { numRuns: 5_000 },
    );
  });
});
