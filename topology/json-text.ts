/**
 * `isJsonText(bytes)`: would `Serdes.json().deserialize(bytes)` accept these bytes? A check without building the
 * value, for bytes that are stored as they are (value-codec.ts `JsonText`) and parsed only when read: restoring a JSON
 * table then costs neither JSON.parse's objects nor a re-encoding, and a bad record is still caught when consumed.
 *
 * The serde decodes strict UTF-8 (a leading byte-order mark is dropped) and runs JSON.parse, which accepts RFC 8259
 * JSON text: one value between optional whitespace (space, tab, LF, CR). Here: Node's native UTF-8 check, then one
 * pass over the bytes with an explicit stack (no recursion, so no depth limit, like V8's parser). Bytes >= 0x80 can
 * only be inside strings. `false` may be answered for input JSON.parse accepts only if this check has a bug: callers
 * then parse the bytes to get the serde's own verdict and error. The other way round (true for bad bytes) would let a
 * bad record into a store; json-text.test.ts checks both directions against JSON.parse.
 */
import { isUtf8 } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isWhitespace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number): boolean => b >= ZERO && b <= NINE;
const isHex = (b: number): boolean => (b >= ZERO && b <= NINE) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Escapes allowed after a backslash besides `u`: " \ / b f n r t. */
const SIMPLE_ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

// Where the scan is inside a container: what may come next.
/** A value (top level, after '[' or ',' in an array, after ':' in an object). */
const VALUE = 0;
/** ']' or a value, right after '['. */
const VALUE_OR_END_ARRAY = 1;
/** '"' (a key) or '}', right after '{'. */
const KEY_OR_END_OBJECT = 2;
/** A key, after ',' in an object. */
const KEY = 3;
/** ',' or the closing bracket, after a value inside a container; end of input at the top level. */
const AFTER_VALUE = 4;

export function isJsonText(bytes: Uint8Array): boolean {
  if (!isUtf8(bytes)) return false;
  const n = bytes.length;
  let i = 0;
  // TextDecoder drops one leading byte-order mark before JSON.parse sees the text.
  if (n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  /** Open containers, innermost last: true for an object. */
  const stack: boolean[] = [];
  let expect = VALUE;
  for (;;) {
    while (i < n && isWhitespace(bytes[i])) i++;
    if (i >= n) return expect === AFTER_VALUE && stack.length === 0;
    const b = bytes[i];
    switch (expect) {
      case AFTER_VALUE: {
        if (stack.length === 0) return false; // something after the top-level value
        const inObject = stack[stack.length - 1];
        if (b === COMMA) {
          expect = inObject ? KEY : VALUE;
          i++;
        } else if (b === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          stack.pop();
          i++;
        } else return false;
        continue;
      }
      case KEY_OR_END_OBJECT:
      case KEY: {
        if (b === CLOSE_OBJECT && expect === KEY_OR_END_OBJECT) {
          stack.pop();
          expect = AFTER_VALUE;
          i++;
          continue;
        }
        if (b !== QUOTE) return false;
        i = skipString(bytes, i);
        if (i < 0) return false;
        while (i < n && isWhitespace(bytes[i])) i++;
        if (i >= n || bytes[i] !== COLON) return false;
        i++;
        expect = VALUE;
        continue;
      }
      case VALUE_OR_END_ARRAY:
      case VALUE:
        if (b === CLOSE_ARRAY && expect === VALUE_OR_END_ARRAY) {
          stack.pop();
          expect = AFTER_VALUE;
          i++;
          continue;
        }
        if (b === OPEN_OBJECT) {
          stack.push(true);
          expect = KEY_OR_END_OBJECT;
          i++;
          continue;
        }
        if (b === OPEN_ARRAY) {
          stack.push(false);
          expect = VALUE_OR_END_ARRAY;
          i++;
          continue;
        }
        if (b === QUOTE) i = skipString(bytes, i);
        else if (b === MINUS || isDigit(b)) i = skipNumber(bytes, i);
        else if (b === 0x74) i = skipLiteral(bytes, i, TRUE);
        else if (b === 0x66) i = skipLiteral(bytes, i, FALSE);
        else if (b === 0x6e) i = skipLiteral(bytes, i, NULL);
        else return false;
        if (i < 0) return false;
        expect = AFTER_VALUE;
        continue;
    }
  }
}

/** The index after the string starting at `start` (a quote), or -1 if it is not a valid JSON string. */
function skipString(bytes: Uint8Array, start: number): number {
  const n = bytes.length;
  let i = start + 1;
  while (i < n) {
    const b = bytes[i];
    if (b === QUOTE) return i + 1;
    if (b < 0x20) return -1; // control characters must be escaped
    if (b === BACKSLASH) {
      if (i + 1 >= n) return -1;
      const e = bytes[i + 1];
      if (e === 0x75) {
        if (i + 5 >= n) return -1;
        if (!(isHex(bytes[i + 2]) && isHex(bytes[i + 3]) && isHex(bytes[i + 4]) && isHex(bytes[i + 5]))) return -1;
        i += 6;
      } else if (SIMPLE_ESCAPES.has(e)) i += 2;
      else return -1;
      continue;
    }
    i++; // ASCII or a byte of a multi-byte character (valid UTF-8 was checked up front)
  }
  return -1;
}

/** The index after the number starting at `start`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, or -1. */
function skipNumber(bytes: Uint8Array, start: number): number {
  const n = bytes.length;
  let i = start;
  if (bytes[i] === MINUS) i++;
  if (i >= n) return -1;
  if (bytes[i] === ZERO) i++;
  else if (isDigit(bytes[i])) while (i < n && isDigit(bytes[i])) i++;
  else return -1;
  if (i < n && bytes[i] === DOT) {
    i++;
    if (!(i < n && isDigit(bytes[i]))) return -1;
    while (i < n && isDigit(bytes[i])) i++;
  }
  if (i < n && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
    i++;
    if (i < n && (bytes[i] === PLUS || bytes[i] === MINUS)) i++;
    if (!(i < n && isDigit(bytes[i]))) return -1;
    while (i < n && isDigit(bytes[i])) i++;
  }
  return i;
}

function skipLiteral(bytes: Uint8Array, start: number, literal: readonly number[]): number {
  if (start + literal.length > bytes.length) return -1;
  for (let k = 0; k < literal.length; k++) if (bytes[start + k] !== literal[k]) return -1;
  return start + literal.length;
}
