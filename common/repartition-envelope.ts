/**
 * What a repartition record carries besides the user's value: where the user's record was read (so a failure after
 * the repartition is dead-lettered under the user's record, never the internal topic) and whether that record
 * already has a dead letter (so downstream writes no second one).
 *
 * It is a trailer after the serialized value, not a Kafka header: kafkajs encodes and decodes every header with its
 * own objects and buffers, which measured at several µs per record on the repartition hot path, while the trailer
 * costs one buffer copy. Repartition topics are internal (Tributary writes and reads them), so their value format is
 * ours; the test driver shows them without it.
 *
 *   value = payload ‖ fields ‖ flags (u8) ‖ fields length (u16 BE) ‖ MAGIC (4 bytes)
 *   fields = varint partition ‖ varint offset ‖ zigzag varint timestamp ‖ topic (UTF-8, the rest)
 *   flags: bit 0 the value is null (empty payload); bits 1-2 the stage of the user record's dead letter
 *   (0 none, 1 deserialization, 2 processing).
 *
 * A value without the trailer (written by an older version) is read as it is, with no origin.
 */
import type { ErrorStage, SourcePosition } from './dead-letters.js';

const EMPTY = Buffer.alloc(0);
const MAGIC = Buffer.from('TRO1', 'latin1');
const TAIL = 1 + 2 + MAGIC.length;
const NULL_VALUE = 1;
const STAGE_SHIFT = 1;
const STAGE_MASK = 0b110;
const STAGE_CODES: Readonly<Record<string, number>> = { deserialization: 1, processing: 2 };
const STAGE_NAMES: readonly (ErrorStage | undefined)[] = [undefined, 'deserialization', 'processing', undefined];

const topicBytes = new Map<string, Buffer>();

function encodedTopic(topic: string): Buffer {
  let bytes = topicBytes.get(topic);
  if (bytes === undefined) {
    bytes = Buffer.from(topic, 'utf8');
    // Topic names are few (the sources of a topology); the cap only guards against misuse.
    if (topicBytes.size < 10_000) topicBytes.set(topic, bytes);
  }
  return bytes;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  while (value >= 128) {
    buffer[at++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  buffer[at++] = value;
  return at;
}

/** Reads an unsigned varint at `at`; undefined past `end` or beyond 2^53. */
function readVarint(buffer: Buffer, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 8; i++) {
    const byte = buffer[i] as number;
    value += (byte & 127) * scale;
    if (byte < 128) return Number.isSafeInteger(value) ? { value, next: i + 1 } : undefined;
    scale *= 128;
  }
  return undefined;
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

/** A repartition record's value, with its origin and (possibly) the stage of the origin's dead letter. */
export function sealRepartitionValue(value: Buffer | null, origin: SourcePosition | undefined, deadLetter: ErrorStage | undefined): Buffer {
  const payload = value ?? EMPTY;
  const topic = origin === undefined ? EMPTY : encodedTopic(origin.topic);
  const partition = origin?.partition ?? 0;
  const offset = origin?.offset ?? 0;
  const timestamp = zigzag(origin?.timestamp ?? 0);
  const fields = origin === undefined ? 0 : varintSize(partition) + varintSize(offset) + varintSize(timestamp) + topic.length;
  const sealed = Buffer.allocUnsafe(payload.length + fields + TAIL);
  payload.copy(sealed, 0);
  let at = payload.length;
  if (origin !== undefined) {
    at = writeVarint(sealed, at, partition);
    at = writeVarint(sealed, at, offset);
    at = writeVarint(sealed, at, timestamp);
    at += topic.copy(sealed, at);
  }
  sealed[at] = (value === null ? NULL_VALUE : 0) | ((STAGE_CODES[deadLetter ?? ''] ?? 0) << STAGE_SHIFT);
  sealed.writeUInt16BE(fields, at + 1);
  MAGIC.copy(sealed, at + 3);
  return sealed;
}

/** Marks a sealed value's origin as dead-lettered at `stage` (the record is still unsent: same process() call). */
export function markSealedValue(sealed: Buffer, stage: ErrorStage): void {
  const flags = sealed.length - TAIL;
  sealed[flags] = ((sealed[flags] as number) & ~STAGE_MASK) | ((STAGE_CODES[stage] ?? 0) << STAGE_SHIFT);
}

export interface OpenedRepartitionValue {
  /** The user's serialized value (null when it was null). */
  readonly value: Buffer | null;
  /** Undefined for a value without the trailer, or sealed without an origin. */
  readonly origin: SourcePosition | undefined;
  /** The stage of the origin's dead letter, when it has one. */
  readonly deadLettered: ErrorStage | undefined;
}

const UNSEALED = (value: Buffer | null): OpenedRepartitionValue => ({ value, origin: undefined, deadLettered: undefined });

/** The inverse of `sealRepartitionValue`; a value without a valid trailer is returned as it is. */
export function openRepartitionValue(sealed: Buffer | null): OpenedRepartitionValue {
  if (sealed === null || sealed.length < TAIL) return UNSEALED(sealed);
  const end = sealed.length;
  for (let i = 0; i < MAGIC.length; i++) if (sealed[end - MAGIC.length + i] !== MAGIC[i]) return UNSEALED(sealed);
  const fields = sealed.readUInt16BE(end - MAGIC.length - 2);
  const flagsAt = end - TAIL;
  const start = flagsAt - fields;
  if (start < 0) return UNSEALED(sealed);
  const flags = sealed[flagsAt] as number;
  const value = (flags & NULL_VALUE) !== 0 ? null : sealed.subarray(0, start);
  const deadLettered = STAGE_NAMES[(flags & STAGE_MASK) >> STAGE_SHIFT];
  if (fields === 0) return { value, origin: undefined, deadLettered };
  const partition = readVarint(sealed, start, flagsAt);
  const offset = partition && readVarint(sealed, partition.next, flagsAt);
  const timestamp = offset && readVarint(sealed, offset.next, flagsAt);
  if (!partition || !offset || !timestamp || timestamp.next >= flagsAt) return UNSEALED(sealed);
  const topic = sealed.toString('utf8', timestamp.next, flagsAt);
  return { value, origin: { topic, partition: partition.value, offset: offset.value, timestamp: unzigzag(timestamp.value) }, deadLettered };
}
