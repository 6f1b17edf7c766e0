/** Turning client-sent key strings into key bytes with a store's key serde, with the checks every route needs. */
import { InvalidQueryKeyError, QueryKeyTooLongError } from '../errors.js';
import type { StoreInfo } from './query-source.js';

/** Longest key (encoded bytes) any route accepts. */
export const MAX_KEY_BYTES = 4096;

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeKey(store: StoreInfo, text: string): Buffer {
  // A string of more UTF-16 units than the byte limit cannot encode under it with any text serde: skip the work.
  if (text.length > MAX_KEY_BYTES) throw new QueryKeyTooLongError(MAX_KEY_BYTES);
  let bytes: Uint8Array;
  try {
    bytes = store.codec.keyFromString(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidQueryKeyError(store.name, store.keySerde, detail, { cause: error });
  }
  if (bytes.byteLength > MAX_KEY_BYTES) throw new QueryKeyTooLongError(MAX_KEY_BYTES);
  return toBuffer(bytes);
}
