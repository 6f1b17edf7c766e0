/**
 * `isJsonText(bytes)`: would `Serdes.json().deserialize(bytes)` accept these bytes? A check without building the
 * value, for bytes that are stored as they are (value-codec.ts `JsonText`) and parsed only when read: restoring a JSON
 * table then costs neither JSON.parse's objects nor a re-encoding, and a bad record is still caught when consumed.
 *
 * The serde decodes strict UTF-8 (a leading byte-order mark is dropped) and runs JSON.parse, which accepts RFC 8259
 * JSON text: one value between optional whitespace (space, tab, LF, CR). Here: one pass over the bytes with byte-class
 * tables and an explicit container stack (no recursion, so no depth limit, like V8's parser). Bytes >= 0x80 can only
 * be inside strings, where each multi-byte character is checked as strict UTF-8 as it is met (`isJsonTextAt` reads
 * a range of a bigger buffer, e.g. a record's value inside a fetch response, without a view of it). `false` may be answered for input JSON.parse accepts only if
 * this check has a bug: callers then parse the bytes to get the serde's own verdict and error. The other way round
 * (true for bad bytes) would let a bad record into a store; json-text.test.ts checks both directions against
 * JSON.parse. scripts/bench/json-text-bench.ts compares it with JSON.parse (this check costs about a quarter of it on
 * ~200-byte objects and allocates nothing). It runs once per record of a table's bootstrap, so its inner loops are
 * kept tight: a string's plain characters in a loop of their own, whitespace and digits by range (a byte above space
 * is never whitespace), each byte read once (22-26% less time per customer record than one table lookup per byte).
 */
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

function byteTable(entries: Iterable<readonly [number, number]>): Uint8Array {
  const table = new Uint8Array(256);
  for (const [byte, value] of entries) table[byte] = value;
  return table;
}

/** Whitespace JSON allows between tokens: space, tab, LF, CR. */
const WHITESPACE = byteTable([0x20, 0x09, 0x0a, 0x0d].map((b) => [b, 1] as const));
const HEX = byteTable([...'0123456789abcdefABCDEF'].map((c) => [c.charCodeAt(0), 1] as const));

/** Byte classes inside a string. */
const PLAIN = 0;
const END_QUOTE = 1;
const ESCAPE = 2;
const CONTROL = 3;
const MULTI_BYTE = 4;
const STRING_BYTE = byteTable([
  ...Array.from({ length: 0x20 }, (_, b) => [b, CONTROL] as const), // control characters must be escaped
  [QUOTE, END_QUOTE],
  [BACKSLASH, ESCAPE],
  ...Array.from({ length: 0x80 }, (_, b) => [0x80 + b, MULTI_BYTE] as const), // the first byte of a UTF-8 sequence
]);
/** After a backslash: 1 for " \ / b f n r t, 2 for u (four hex digits follow). */
const ESCAPED = byteTable([...[QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].map((b) => [b, 1] as const), [0x75, 2]]);

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Open containers, innermost last (1 = object, 0 = array); shared between calls (the check never re-enters). */
const containers: number[] = [];

export function isJsonText(bytes: Uint8Array): boolean {
  return isJsonTextAt(bytes, 0, bytes.length);
}

/** `isJsonText(bytes.subarray(start, end))`, without the subarray. */
export function isJsonTextAt(bytes: Uint8Array, start: number, end: number): boolean {
  const n = end;
  let i = start;
  // TextDecoder drops one leading byte-order mark before JSON.parse sees the text.
  if (n - i >= 3 && bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) i += 3;
  if (containers.length > 1024) containers.length = 0; // a deeply nested record does not keep its stack
  let depth = 0;
  // Each turn reads one value (opening containers as it meets them), then closes what that value ends.
  for (;;) {
    while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
    if (i >= n) return false;
    let b = bytes[i];
    if (b === OPEN_OBJECT) {
      i++;
      while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
      if (i < n && bytes[i] === CLOSE_OBJECT)
        i++; // {} is a complete value
      else {
        i = skipKey(bytes, i, n);
        if (i < 0) return false;
        containers[depth++] = 1;
        continue;
      }
    } else if (b === OPEN_ARRAY) {
      i++;
      while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
      if (i < n && bytes[i] === CLOSE_ARRAY)
        i++; // [] is a complete value
      else {
        containers[depth++] = 0;
        continue;
      }
    } else {
      if (b === QUOTE) i = skipString(bytes, i, n);
      else if (b === MINUS || (b >= ZERO && b <= NINE)) i = skipNumber(bytes, i, n);
      else if (b === 0x74) i = skipLiteral(bytes, i, n, TRUE);
      else if (b === 0x66) i = skipLiteral(bytes, i, n, FALSE);
      else if (b === 0x6e) i = skipLiteral(bytes, i, n, NULL);
      else return false;
      if (i < 0) return false;
    }
    // After a value: ',' (then the next value, or key and value) or closing brackets; the end at the top level.
    for (;;) {
      while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
      if (depth === 0) return i >= n;
      if (i >= n) return false;
      b = bytes[i];
      const inObject = containers[depth - 1] === 1;
      if (b === COMMA) {
        i++;
        if (inObject) {
          while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
          i = skipKey(bytes, i, n);
          if (i < 0) return false;
        }
        break;
      }
      if (b !== (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      depth--;
      i++;
    }
  }
}

/** The index after `"key" :` starting at `start` (whitespace before it skipped), or -1. */
function skipKey(bytes: Uint8Array, start: number, n: number): number {
  if (start >= n || bytes[start] !== QUOTE) return -1;
  let i = skipString(bytes, start, n);
  if (i < 0) return -1;
  while (i < n && bytes[i] <= 0x20 && WHITESPACE[bytes[i]] === 1) i++;
  return i < n && bytes[i] === COLON ? i + 1 : -1;
}

/** The index after the string starting at `start` (a quote), or -1 if it is not a valid JSON string. */
function skipString(bytes: Uint8Array, start: number, n: number): number {
  let i = start + 1;
  while (i < n) {
    // Runs of plain characters (most of a string) in a tight loop; the rest one by one below.
    while (STRING_BYTE[bytes[i]] === PLAIN) if (++i >= n) return -1;
    const kind = STRING_BYTE[bytes[i]];
    if (kind === PLAIN) {
      i++;
      continue;
    }
    if (kind === MULTI_BYTE) {
      const length = utf8SequenceLength(bytes, i, n);
      if (length === 0) return -1;
      i += length;
      continue;
    }
    if (kind === END_QUOTE) return i + 1;
    if (kind === CONTROL || i + 1 >= n) return -1;
    const escaped = ESCAPED[bytes[i + 1]];
    if (escaped === 1) i += 2;
    else if (escaped === 2) {
      if (i + 5 >= n || HEX[bytes[i + 2]] + HEX[bytes[i + 3]] + HEX[bytes[i + 4]] + HEX[bytes[i + 5]] !== 4) return -1;
      i += 6;
    } else return -1;
  }
  return -1;
}

/** The index after the number starting at `start`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, or -1. */
function skipNumber(bytes: Uint8Array, start: number, n: number): number {
  // Digits by range rather than by table, each byte read once (`start` < n: the caller read the first).
  let i = start;
  let c = bytes[i];
  if (c === MINUS) {
    if (++i >= n) return -1;
    c = bytes[i];
  }
  if (c === ZERO) i++;
  else if (c > ZERO && c <= NINE) {
    i++;
    while (i < n && (c = bytes[i]) >= ZERO && c <= NINE) i++;
  } else return -1;
  if (i >= n) return i;
  c = bytes[i];
  if (c === DOT) {
    i++;
    if (!(i < n && (c = bytes[i]) >= ZERO && c <= NINE)) return -1;
    i++;
    while (i < n && (c = bytes[i]) >= ZERO && c <= NINE) i++;
    if (i >= n) return i;
    c = bytes[i];
  }
  if (c === 0x65 || c === 0x45) {
    i++;
    if (i < n && (bytes[i] === PLUS || bytes[i] === MINUS)) i++;
    if (!(i < n && (c = bytes[i]) >= ZERO && c <= NINE)) return -1;
    i++;
    while (i < n && (c = bytes[i]) >= ZERO && c <= NINE) i++;
  }
  return i;
}

function skipLiteral(bytes: Uint8Array, start: number, n: number, literal: readonly number[]): number {
  if (start + literal.length > n) return -1;
  for (let k = 0; k < literal.length; k++) if (bytes[start + k] !== literal[k]) return -1;
  return start + literal.length;
}

/**
 * Bytes of the well-formed UTF-8 sequence starting at `i` (its first byte >= 0x80), or 0: the strict decoder's rule
 * (no overlong forms, no surrogates, nothing above U+10FFFF), which is what `TextDecoder({ fatal: true })` accepts.
 */
function utf8SequenceLength(bytes: Uint8Array, i: number, n: number): number {
  const b0 = bytes[i];
  if (b0 >= 0xc2 && b0 <= 0xdf) return i + 1 < n && (bytes[i + 1] & 0xc0) === 0x80 ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (i + 2 >= n) return 0;
    const b1 = bytes[i + 1];
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return b1 >= low && b1 <= high && (bytes[i + 2] & 0xc0) === 0x80 ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (i + 3 >= n) return 0;
    const b1 = bytes[i + 1];
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= low && b1 <= high && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/** `isUtf8(bytes.subarray(start, end))` (strict UTF-8), without the subarray. */
export function isUtf8At(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const length = utf8SequenceLength(bytes, i, end);
    if (length === 0) return false;
    i += length;
  }
  return true;
}
