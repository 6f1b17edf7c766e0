/**
 * Opaque scan cursors: base64url of `[version][direction][last key bytes]`. The next page starts strictly after
 * (forward) or before (reverse) the last key returned, so pages never overlap and never skip a key.
 */
import { InvalidQueryCursorError } from '../errors.js';

const CURSOR_VERSION = 1;
const FORWARD = 0;
const REVERSE = 1;

export interface ScanCursor {
  readonly reverse: boolean;
  readonly lastKey: Buffer;
}

export function encodeCursor(cursor: ScanCursor): string {
  const bytes = Buffer.allocUnsafe(cursor.lastKey.length + 2);
  bytes[0] = CURSOR_VERSION;
  bytes[1] = cursor.reverse ? REVERSE : FORWARD;
  cursor.lastKey.copy(bytes, 2);
  return bytes.toString('base64url');
}

/** Throws `InvalidQueryCursorError` unless `text` is a cursor for a scan in the `reverse` direction. */
export function decodeCursor(text: string, reverse: boolean, maxKeyBytes: number): ScanCursor {
  // Buffer.from(..., 'base64url') silently skips foreign characters, so check the alphabet first.
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new InvalidQueryCursorError('not base64url');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new InvalidQueryCursorError('not canonical base64url');
  if (bytes.length < 2 || bytes[0] !== CURSOR_VERSION) throw new InvalidQueryCursorError('unknown cursor format');
  const direction = bytes[1];
  if (direction !== FORWARD && direction !== REVERSE) throw new InvalidQueryCursorError('unknown direction');
  if ((direction === REVERSE) !== reverse) {
    throw new InvalidQueryCursorError(`the cursor is for a ${direction === REVERSE ? 'reverse' : 'forward'} scan`);
  }
  if (bytes.length - 2 > maxKeyBytes) throw new InvalidQueryCursorError('key too long');
  return { reverse, lastKey: bytes.subarray(2) };
}
