/**
 * Store value encoding: one shared msgpackr `Packr` set up for plain data.
 *
 * - `useRecords: false`: objects are plain msgpack maps (no record-structure table to persist next to the data,
 *   which would make every stored value depend on shared, mutable state).
 * - `mapsAsObjects: true`: maps decode back to plain objects.
 * - `copyBuffers: true`: decoded binary values never alias LevelDB's read buffer.
 * Round-trips objects, arrays, strings, numbers, booleans, null, nested structures and binary (Uint8Array/Buffer).
 * `undefined` is not a value: a key without a value is a deleted key.
 */
import { Packr } from 'msgpackr';
import { InvalidStoreValueError } from '../errors.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, moreTypes: false });

export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeValue<V>(bytes: Uint8Array): V {
  return packr.unpack(bytes) as V;
}

/** `encodeValue` for a store write: rejects what no store may hold (both store implementations use it). */
export function encodeStoreValue(storeName: string, value: unknown): Buffer {
  if (value === undefined) throw new InvalidStoreValueError(storeName, 'value is undefined');
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new InvalidStoreValueError(storeName, `value is a ${typeof value}`);
  }
  return encodeValue(value);
}
