/**
 * How one LevelDB holds both data and metadata: every key starts with a 1-byte namespace.
 *
 *   0x00 'format'            -> format marker (utf8 FORMAT_MARKER), written when the store is created
 *   0x00 'ckpt:' <tp id>     -> checkpoint (next offset, ascii decimal) for one source topic-partition
 *   0x00 'meta:' <name>      -> a meta entry (utf8), e.g. a global table's versioning mode
 *   0x01 <user key bytes>    -> value (value-codec.ts: msgpack, or JSON text)
 *   0x02 <user key bytes>    -> the key's record version (record-version.ts), only for versioned writes
 *
 * A plain prefix byte (rather than abstract-level sublevels) keeps keys raw buffers end to end, lets data and
 * checkpoints share one native batch without sublevel transcoding, and makes the data range a single key interval.
 */
import type { RangeOptions } from './types.js';

export const META_NAMESPACE = 0x00;
export const DATA_NAMESPACE = 0x01;
/**
 * Version 2 added JSON-text values (value-codec.ts), which version-1 code would misread: it sees '/2' as unknown and
 * rebuilds the store. A '/1' store holds only msgpack values, which version 2 reads as they are: it is accepted and
 * its marker moved to '/2' on open (value-codec.ts may write JSON text into it from then on).
 */
export const FORMAT_MARKER = 'tributary-kv/2';
/** Markers of older formats this code reads as they are (rewritten to FORMAT_MARKER on open). */
export const READABLE_OLD_FORMAT_MARKERS: readonly string[] = ['tributary-kv/1'];

export const FORMAT_KEY = Buffer.from([META_NAMESPACE, ...Buffer.from('format', 'utf8')]);
export const CHECKPOINT_KEY_PREFIX = Buffer.from([META_NAMESPACE, ...Buffer.from('ckpt:', 'utf8')]);
/** Smallest key after every checkpoint key (':' + 1 = ';'). */
export const CHECKPOINT_KEY_END = Buffer.from([META_NAMESPACE, ...Buffer.from('ckpt;', 'utf8')]);

export const META_KEY_PREFIX = Buffer.from([META_NAMESPACE, ...Buffer.from('meta:', 'utf8')]);
export const META_KEY_END = Buffer.from([META_NAMESPACE, ...Buffer.from('meta;', 'utf8')]);

export function metaKey(name: string): Buffer {
  return Buffer.concat([META_KEY_PREFIX, Buffer.from(name, 'utf8')]);
}

export const DATA_START = Buffer.from([DATA_NAMESPACE]);
export const DATA_END = Buffer.from([DATA_NAMESPACE + 1]);
export const VERSION_NAMESPACE = 0x02;
export const VERSION_START = Buffer.from([VERSION_NAMESPACE]);
export const VERSION_END = Buffer.from([VERSION_NAMESPACE + 1]);

export function versionKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = VERSION_NAMESPACE;
  out.set(key, 1);
  return out;
}

export function dataKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = DATA_NAMESPACE;
  out.set(key, 1);
  return out;
}

/** The user key of a data key: a view, no copy. */
export function userKey(stored: Buffer): Buffer {
  return stored.subarray(1);
}

export function checkpointKey(topicPartition: string): Buffer {
  return Buffer.concat([CHECKPOINT_KEY_PREFIX, Buffer.from(topicPartition, 'utf8')]);
}

export function topicPartitionOfCheckpointKey(stored: Buffer): string {
  return stored.subarray(CHECKPOINT_KEY_PREFIX.length).toString('utf8');
}

/** Smallest byte string greater than every string starting with `prefix`; undefined when none exists (all 0xff). */
export function prefixUpperBound(prefix: Uint8Array): Buffer | undefined {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

interface Bound {
  readonly key: Buffer;
  readonly inclusive: boolean;
}

/** Iterator bounds in stored-key space for a user range (prefix and gt/gte/lt/lte intersected). */
export interface StoredRange {
  readonly lower: Bound;
  readonly upper: Bound;
}

function tighterLower(a: Bound, b: Bound): Bound {
  const c = Buffer.compare(a.key, b.key);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? b : a;
}

function tighterUpper(a: Bound, b: Bound): Bound {
  const c = Buffer.compare(a.key, b.key);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

export function storedRange(options: RangeOptions): StoredRange {
  let lower: Bound = { key: DATA_START, inclusive: true };
  let upper: Bound = { key: DATA_END, inclusive: false };
  if (options.prefix !== undefined) {
    lower = tighterLower(lower, { key: dataKey(options.prefix), inclusive: true });
    const end = prefixUpperBound(options.prefix);
    if (end !== undefined) upper = tighterUpper(upper, { key: dataKey(end), inclusive: false });
  }
  if (options.gte !== undefined) lower = tighterLower(lower, { key: dataKey(options.gte), inclusive: true });
  if (options.gt !== undefined) lower = tighterLower(lower, { key: dataKey(options.gt), inclusive: false });
  if (options.lte !== undefined) upper = tighterUpper(upper, { key: dataKey(options.lte), inclusive: true });
  if (options.lt !== undefined) upper = tighterUpper(upper, { key: dataKey(options.lt), inclusive: false });
  return { lower, upper };
}

/** True when no key can satisfy the range (lets callers skip opening an iterator). */
export function isEmptyRange(range: StoredRange): boolean {
  const c = Buffer.compare(range.lower.key, range.upper.key);
  return c > 0 || (c === 0 && !(range.lower.inclusive && range.upper.inclusive));
}
