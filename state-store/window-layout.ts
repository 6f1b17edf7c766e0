/**
 * How a window store lays its entries out in a key-value store's data namespace (one LevelDB per store partition,
 * like every other store, so data and checkpoints still share one atomic batch):
 *
 *   [segment: uint64 BE][key bytes, 0x00 escaped as 0x00 0xFF][0x00 0x00][window start: uint64 BE] -> aggregate
 *   [0xFF × 8] "stream-time"                                                                      -> stream time
 *
 * - Order is (segment, key bytes, window start). The escaping keeps key byte order and makes the encoded key
 *   prefix-free (the terminator 0x00 0x00 sorts below any continuation), so "a" and "a\0b" never interleave.
 * - One key, time range: one seek per segment the range touches, then a contiguous run (a few segments at most).
 * - All keys, time range: one contiguous run over the segments the range touches, filtered by window start.
 * - Retention: a segment is a time slice of `segmentIntervalMs`; once every window start in it is older than the
 *   retention, the whole segment goes with one range delete, never key by key.
 * - The reserved stream-time entry (segment 0xFF…FF, beyond any timestamp) records the store's stream time with the
 *   data, so a reopened store clips expired windows before new records arrive.
 */

/** What a window store needs to know about its windows (the topology's window spec carries these fields). */
export interface WindowLayout {
  /** Window length: a window starting at `start` ends (exclusively) at `start + windowSizeMs`. */
  readonly windowSizeMs: number;
  /** How long a window is kept after its start, measured in stream time. */
  readonly retentionMs: number;
  /** Time span of one segment (the unit retention deletes). */
  readonly segmentIntervalMs: number;
}

const SEGMENT_BYTES = 8;
const START_BYTES = 8;
const TERMINATOR = Buffer.from([0x00, 0x00]);
const TWO_32 = 2 ** 32;

/** Segment id of the reserved metadata entries: above any segment a timestamp (< 2^53) can have. */
export const RESERVED_SEGMENT = Buffer.alloc(SEGMENT_BYTES, 0xff);

/** Key of the stream-time entry. */
export const STREAM_TIME_KEY = Buffer.concat([RESERVED_SEGMENT, Buffer.from('stream-time', 'utf8')]);

export function segmentOf(windowStart: number, segmentIntervalMs: number): number {
  return Math.floor(windowStart / segmentIntervalMs);
}

function writeUint64(out: Buffer, value: number, offset: number): void {
  out.writeUInt32BE(Math.floor(value / TWO_32), offset);
  out.writeUInt32BE(value % TWO_32, offset + 4);
}

function readUint64(bytes: Buffer, offset: number): number {
  return bytes.readUInt32BE(offset) * TWO_32 + bytes.readUInt32BE(offset + 4);
}

function checkTime(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
}

/** First key of `segment` (every key of the segment is >= it, every key of the next segment >= the next one). */
export function segmentStartKey(segment: number): Buffer {
  checkTime('segment', segment);
  const out = Buffer.allocUnsafe(SEGMENT_BYTES);
  writeUint64(out, segment, 0);
  return out;
}

/** The key bytes escaped (0x00 → 0x00 0xFF) and terminated (0x00 0x00): order-preserving and prefix-free. */
function escapedKey(key: Uint8Array): Buffer {
  let zeros = 0;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) zeros++;
  const out = Buffer.allocUnsafe(key.length + zeros + TERMINATOR.length);
  let j = 0;
  for (let i = 0; i < key.length; i++) {
    out[j++] = key[i];
    if (key[i] === 0) out[j++] = 0xff;
  }
  out[j++] = 0x00;
  out[j] = 0x00;
  return out;
}

/** `[segment][escaped key][terminator]`: the prefix shared by every window of `key` in `segment`. */
function keyPrefix(segment: number, key: Uint8Array): Buffer {
  return Buffer.concat([segmentStartKey(segment), escapedKey(key)]);
}

/** The storage key of the window of `key` starting at `windowStart`. */
export function windowStorageKey(key: Uint8Array, windowStart: number, segmentIntervalMs: number): Buffer {
  checkTime('windowStart', windowStart);
  const prefix = keyPrefix(segmentOf(windowStart, segmentIntervalMs), key);
  const out = Buffer.allocUnsafe(prefix.length + START_BYTES);
  prefix.copy(out, 0);
  writeUint64(out, windowStart, prefix.length);
  return out;
}

export interface ParsedWindowKey {
  readonly segment: number;
  readonly key: Buffer;
  readonly start: number;
}

/** Inverse of `windowStorageKey`; undefined for a key that is not a window entry (the stream-time entry). */
export function parseWindowStorageKey(stored: Buffer): ParsedWindowKey | undefined {
  if (stored.length < SEGMENT_BYTES + TERMINATOR.length + START_BYTES) return undefined;
  if (stored.subarray(0, SEGMENT_BYTES).equals(RESERVED_SEGMENT)) return undefined;
  const segment = readUint64(stored, 0);
  const end = stored.length - START_BYTES - TERMINATOR.length;
  const key: number[] = [];
  for (let i = SEGMENT_BYTES; i < end; i++) {
    key.push(stored[i]);
    if (stored[i] === 0) i++; // skip the escape byte
  }
  return { segment, key: Buffer.from(key), start: readUint64(stored, stored.length - START_BYTES) };
}

/** Bounds of the windows of `key` starting in `[fromStart, toStart]` within one segment (inclusive both). */
export function keyWindowsInSegment(segment: number, key: Uint8Array, fromStart: number, toStart: number): { gte: Buffer; lte: Buffer } {
  const prefix = keyPrefix(segment, key);
  const gte = Buffer.allocUnsafe(prefix.length + START_BYTES);
  const lte = Buffer.allocUnsafe(prefix.length + START_BYTES);
  prefix.copy(gte, 0);
  prefix.copy(lte, 0);
  writeUint64(gte, fromStart, prefix.length);
  writeUint64(lte, toStart, prefix.length);
  return { gte, lte };
}

/** Oldest window start still retained at `streamTime` (Kafka Streams: start > streamTime - retention). */
export function minLiveStart(streamTime: number | undefined, retentionMs: number): number {
  if (streamTime === undefined) return 0;
  return Math.max(0, streamTime - retentionMs + 1);
}

/** Segments below this one hold only expired windows and can be deleted whole. */
export function firstLiveSegment(streamTime: number | undefined, layout: WindowLayout): number {
  return segmentOf(minLiveStart(streamTime, layout.retentionMs), layout.segmentIntervalMs);
}
