/**
 * Store value encoding. Two encodings, told apart by the first byte:
 *
 * - msgpack (every value a program writes): one shared msgpackr `Packr` set up for plain data.
 *   - `useRecords: false`: objects are plain msgpack maps (no record-structure table to persist next to the data,
 *     which would make every stored value depend on shared, mutable state).
 *   - maps decode back to plain objects (`PlainMsgpack`: msgpackr's own decoding would rename a `__proto__` key).
 *   - `copyBuffers: true`: decoded binary values never alias LevelDB's read buffer.
 *   Round-trips objects, arrays, strings, numbers, booleans, null, nested structures and binary (Uint8Array/Buffer).
 * - JSON text (`0xC1 0x01` + UTF-8 JSON): a table record's value bytes kept as they came from the topic (`JsonText`),
 *   so restoring a JSON table costs no msgpack re-encoding; decoded with JSON.parse when read. 0xC1 is the one byte
 *   msgpack never uses, so no msgpack value starts with it (this Packr never emits it: no bundled strings).
 *
 * `undefined` is not a value: a key without a value is a deleted key.
 */
import { PlainMsgpack } from '../common/plain-msgpack.js';
import { InvalidStoreValueError } from '../errors.js';

const packr = new PlainMsgpack({ useRecords: false, copyBuffers: true, moreTypes: false });

/** First byte of a stored value that is not msgpack (never used by msgpack). */
const FRAME = 0xc1;
/** Second byte: what follows. */
const JSON_TEXT = 0x01;

/**
 * A value given as its UTF-8 JSON text, already checked to parse (the caller's job: table-decoder.ts parses it with
 * the table's JSON serde first, so a bad record is still caught when it is consumed). Stored as that text; reads
 * return the parsed value, exactly what storing the parsed value would have returned.
 */
export class JsonText {
  constructor(readonly bytes: Uint8Array) {}
}

export function encodeValue(value: unknown): Buffer {
  if (value instanceof JsonText) {
    const out = Buffer.allocUnsafe(jsonTextLength(value));
    writeJsonText(value, out);
    return out;
  }
  return packr.pack(value);
}

/** Bytes of `encodeValue(value)` for a JSON-text value. */
export function jsonTextLength(value: JsonText): number {
  return value.bytes.length + 2;
}

/** `encodeValue(value)` of a JSON-text value into `out` (jsonTextLength(value) bytes long). */
export function writeJsonText(value: JsonText, out: Uint8Array): void {
  writeJsonTextHeader(out);
  out.set(value.bytes, 2);
}

/** The first 2 bytes of `encodeValue` of a JSON-text value (its text follows them). */
export function writeJsonTextHeader(out: Uint8Array): void {
  out[0] = FRAME;
  out[1] = JSON_TEXT;
}

export function decodeValue<V>(bytes: Uint8Array): V {
  if (bytes[0] === FRAME && bytes[1] === JSON_TEXT) return JSON.parse(utf8.decode(bytes.subarray(2))) as V;
  return packr.unpack(bytes) as V;
}

const utf8 = new TextDecoder('utf-8');

/**
 * A stored value that is JSON text, handed out as that text, unparsed (`decodeStoredValue`): what the query server
 * sends as an answer's value as it is. `text` is one JSON value (RFC 8259; the byte-order mark a record may start
 * with is dropped), so it can stand anywhere a JSON value can, e.g. inside a larger JSON document.
 */
export class StoredJsonText {
  constructor(readonly text: string) {}
}

/** `decodeValue`, except that a value stored as JSON text comes back as its text (`StoredJsonText`), not parsed. */
export function decodeStoredValue<V>(bytes: Uint8Array): V | StoredJsonText {
  if (bytes[0] !== FRAME || bytes[1] !== JSON_TEXT) return packr.unpack(bytes) as V;
  // TextDecoder (decodeValue) drops a leading byte-order mark; Buffer#toString keeps it, so skip it here.
  const start = bytes.length >= 5 && bytes[2] === 0xef && bytes[3] === 0xbb && bytes[4] === 0xbf ? 5 : 2;
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new StoredJsonText(buffer.toString('utf8', start));
}

/** `encodeValue` for a store write: rejects what no store may hold (both store implementations use it). */
export function encodeStoreValue(storeName: string, value: unknown): Buffer {
  if (value === undefined) throw new InvalidStoreValueError(storeName, 'value is undefined');
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new InvalidStoreValueError(storeName, `value is a ${typeof value}`);
  }
  return encodeValue(value);
}
