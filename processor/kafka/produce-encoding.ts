/**
 * kafkajs's Produce request (v3, which v4-v7 reuse) encoded in one pass into one buffer. Imported (for its effect)
 * through kafkajs-patches.ts by every module here that loads kafkajs, before kafkajs itself, like
 * produce-grouping.ts.
 *
 * kafkajs 2.2.4 builds every record in its own `Encoder` (a zero-filled 512-byte buffer, plus a Buffer per varint and
 * BigInt-backed Longs for the timestamp delta), copies each record into the batch body, the body into the batch, the
 * batch into the partition, the partition into the topic and the topic into the request, and checksums each batch
 * one byte at a time (~0.2 GB/s): ~11% of a global join's CPU. This replacement measures the request first and writes
 * it once into a buffer of the exact size, with the CRC-32C of crc32c.ts. Its output is byte for byte kafkajs's
 * (produce-encoding.test.ts checks that over keys, values, headers, timestamps and idempotent/transactional batches),
 * including kafkajs's quirks: the first and max timestamp of a batch are the first and last of the timestamps sorted
 * as strings, a message without a timestamp (or with 0) is stamped with the time of encoding. Compressed requests,
 * and any message outside what kafkajs's encoder accepts without surprise (keys, values and header values other than
 * Buffer/string/null), go to kafkajs's own encoder. kafkajs loads the v3 module lazily at the first produce request
 * (and v4-v7 capture it when they load), so it is put into Node's module cache before that (`installed` says whether
 * it was in time; a process that produced before this module loaded keeps the original, which is only slower).
 */
import { crc32c } from './crc32c.js';
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';

/** kafkajs's 64-bit integer (utils/long.js). */
interface KafkaLong {
  getHighBits(): number;
  getLowBits(): number;
}

interface LongStatics {
  fromValue(value: unknown): KafkaLong;
  fromInt(value: number): KafkaLong;
}

/** The parts of kafkajs's `Encoder` used here (the fallback for varlongs outside the fast range, and the result). */
interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  writeVarLong(value: unknown): KafkaEncoder;
}

interface EncoderStatics {
  new (initialSize?: number): KafkaEncoder;
  readonly prototype: KafkaEncoder;
  sizeOfVarLong(value: unknown): number;
}

export type HeaderValue = Buffer | string;

export interface ProduceMessage {
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly timestamp?: string | number | null;
  readonly headers?: Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>;
}

export interface ProducePartitionData {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

export interface ProduceTopicData {
  readonly topic: string;
  readonly partitions: readonly ProducePartitionData[];
}

/** The arguments of kafkajs's `protocol/requests/produce/v3/request.js`. */
export interface ProduceRequestArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: readonly ProduceTopicData[];
}

export interface ProduceRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  expectResponse(): boolean;
  encode(): Promise<KafkaEncoder>;
}

export type ProduceRequestFactory = (args: ProduceRequestArgs) => ProduceRequest;

const Long = loadKafkajsModule<LongStatics>('kafkajs/src/utils/long.js');
const Encoder = loadKafkajsModule<EncoderStatics>('kafkajs/src/protocol/encoder.js');
const PRODUCE_API_KEY = 0;
const NO_COMPRESSION = 0;
const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
/** Batch bytes before the CRC-covered part: firstOffset, length, partitionLeaderEpoch, magic, crc. */
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4;
/** attributes, lastOffsetDelta, firstTimestamp, maxTimestamp, producerId, producerEpoch, firstSequence, count. */
const BATCH_BODY_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** Timestamp deltas up to this magnitude are encoded with number arithmetic; others by kafkajs's `Encoder`. */
const SMALL_DELTA = 2 ** 40;

/**
 * Per-record facts measured by the first pass and used by the second (reused across requests: encoding is
 * synchronous). For record i: [timestamp delta, key length, value length, body length]; -1 is a null key/value.
 */
let scratch = new Float64Array(4 * 1024);
/** Varlong bytes of timestamp deltas outside the fast range, by record index. */
const bigDeltas = new Map<number, Buffer>();

function ensureScratch(records: number): void {
  if (scratch.length >= records * 4) return;
  let size = scratch.length;
  while (size < records * 4) size *= 2;
  scratch = new Float64Array(size);
}

function sizeOfVarInt(value: number): number {
  let v = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let v = (value << 1) ^ (value >> 31);
  while ((v & 0xffffff80) !== 0) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v & 0x7f;
  return offset;
}

/** Zig-zag of an integer of magnitude <= SMALL_DELTA, exact in doubles. */
function zigZagSmall(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function sizeOfSmallVarLong(value: number): number {
  let v = zigZagSmall(value);
  let bytes = 1;
  while (v >= 128) {
    bytes++;
    v = Math.floor(v / 128);
  }
  return bytes;
}

function writeSmallVarLong(buf: Buffer, offset: number, value: number): number {
  let v = zigZagSmall(value);
  while (v >= 128) {
    buf[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

function isSmallDelta(value: number): boolean {
  return Number.isInteger(value) && value <= SMALL_DELTA && value >= -SMALL_DELTA;
}

function writeInt64(buf: Buffer, offset: number, value: unknown): number {
  const long = Long.fromValue(value);
  buf.writeInt32BE(long.getHighBits(), offset);
  buf.writeInt32BE(long.getLowBits(), offset + 4);
  return offset + 8;
}

/** Byte length of a key, value or header value kafkajs accepts; undefined when it is outside the fast path. */
function bytesLength(value: unknown): number | undefined {
  if (value === null || value === undefined) return -1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Buffer.isBuffer(value)) return value.length;
  return undefined;
}

function sizeOfNullableBytes(length: number): number {
  return length < 0 ? 1 : sizeOfVarInt(length) + length;
}

function writeBytes(buf: Buffer, offset: number, value: Buffer | string | null | undefined, length: number): number {
  offset = writeVarInt(buf, offset, length);
  if (length < 0 || value === null || value === undefined) return offset;
  if (typeof value === 'string') buf.write(value, offset, length, 'utf8');
  else value.copy(buf, offset);
  return offset + length;
}

/** The headers' encoded size (count and entries), or undefined when a header is outside the fast path. */
function sizeOfHeaders(headers: ProduceMessage['headers']): number | undefined {
  if (headers === undefined) return 1;
  if (headers === null || typeof headers !== 'object') return undefined;
  let count = 0;
  let size = 0;
  for (const key of Object.keys(headers)) {
    const keyLength = Buffer.byteLength(key);
    const value = headers[key];
    if (Array.isArray(value)) {
      for (const item of value as readonly unknown[]) {
        const length = bytesLength(item);
        if (length === undefined || length < 0) return undefined;
        size += sizeOfVarInt(keyLength) + keyLength + sizeOfVarInt(length) + length;
        count++;
      }
    } else {
      const length = bytesLength(value);
      if (length === undefined || length < 0) return undefined;
      size += sizeOfVarInt(keyLength) + keyLength + sizeOfVarInt(length) + length;
      count++;
    }
  }
  return sizeOfVarInt(count) + size;
}

function writeHeaders(buf: Buffer, offset: number, headers: ProduceMessage['headers']): number {
  if (headers === undefined) return writeVarInt(buf, offset, 0);
  const keys = Object.keys(headers);
  let count = 0;
  for (const key of keys) {
    const value = headers[key];
    count += Array.isArray(value) ? value.length : 1;
  }
  offset = writeVarInt(buf, offset, count);
  for (const key of keys) {
    const value = headers[key];
    const keyLength = Buffer.byteLength(key);
    if (!Array.isArray(value)) offset = writeHeader(buf, offset, key, keyLength, value as HeaderValue);
    else for (const item of value as readonly HeaderValue[]) offset = writeHeader(buf, offset, key, keyLength, item);
  }
  return offset;
}

function writeHeader(buf: Buffer, offset: number, key: string, keyLength: number, value: HeaderValue): number {
  offset = writeVarInt(buf, offset, keyLength);
  buf.write(key, offset, keyLength, 'utf8');
  return writeBytes(buf, offset + keyLength, value, bytesLength(value) ?? -1);
}

/** The string a default `Array.prototype.sort` compares `value` by. */
function sortKey(value: string | number): string {
  return typeof value === 'string' ? value : String(value);
}

interface BatchTimestamps {
  readonly first: string | number;
  readonly max: string | number;
}

/**
 * kafkajs's first and max timestamp of a batch: the first and last of the messages' timestamps sorted as strings
 * (a stable sort: ties keep input order), or `now` when none has one; undefined when a timestamp is neither a string
 * nor a number.
 */
function batchTimestamps(messages: readonly ProduceMessage[], now: number): BatchTimestamps | undefined {
  let first: string | number | undefined;
  let max: string | number | undefined;
  let firstKey = '';
  let maxKey = '';
  for (const message of messages) {
    const timestamp = message.timestamp;
    if (timestamp === null || timestamp === undefined) continue;
    if (typeof timestamp !== 'string' && typeof timestamp !== 'number') return undefined;
    const key = sortKey(timestamp);
    if (first === undefined || key < firstKey) {
      first = timestamp;
      firstKey = key;
    }
    if (max === undefined || key >= maxKey) {
      max = timestamp;
      maxKey = key;
    }
  }
  return first === undefined || max === undefined ? { first: now, max: now } : { first, max };
}

interface MeasuredPartition {
  readonly timestamps: BatchTimestamps;
  /** Bytes of the partition entry: partition, batch size, the batch. */
  readonly size: number;
}

/**
 * Measures one partition's batch, filling `scratch` from record `base` on; undefined when a message is outside the
 * fast path.
 */
function measurePartition(data: ProducePartitionData, base: number, now: number): MeasuredPartition | undefined {
  const { messages } = data;
  if (!Array.isArray(messages)) return undefined;
  const timestamps = batchTimestamps(messages, now);
  if (timestamps === undefined) return undefined;
  const firstTimestamp = timestamps.first as number;
  let size = 4 + 4 + BATCH_HEAD + BATCH_BODY_HEAD;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message === null || typeof message !== 'object') return undefined;
    const keyLength = bytesLength(message.key);
    const valueLength = bytesLength(message.value);
    const headersSize = sizeOfHeaders(message.headers);
    if (keyLength === undefined || valueLength === undefined || headersSize === undefined) return undefined;
    // kafkajs: `(message.timestamp || dateNow) - firstTimestamp`, with JavaScript's coercions.
    const delta = ((message.timestamp || now) as number) - firstTimestamp;
    const at = (base + i) * 4;
    let deltaSize: number;
    if (isSmallDelta(delta)) deltaSize = sizeOfSmallVarLong(delta);
    else {
      const bytes = new Encoder().writeVarLong(delta).buffer;
      bigDeltas.set(base + i, bytes);
      deltaSize = Encoder.sizeOfVarLong(delta);
    }
    const body = 1 + deltaSize + sizeOfVarInt(i) + sizeOfNullableBytes(keyLength) + sizeOfNullableBytes(valueLength) + headersSize;
    scratch[at] = delta;
    scratch[at + 1] = keyLength;
    scratch[at + 2] = valueLength;
    scratch[at + 3] = body;
    size += sizeOfVarInt(body) + body;
  }
  return { timestamps, size };
}

interface Batch {
  readonly producerId: unknown;
  readonly producerEpoch: number;
  readonly transactional: boolean;
}

function writePartition(
  buf: Buffer,
  offset: number,
  data: ProducePartitionData,
  measured: MeasuredPartition,
  base: number,
  batch: Batch,
): number {
  const { messages } = data;
  const batchLength = measured.size - 4 - 4 - 12;
  offset = buf.writeInt32BE(data.partition, offset);
  offset = buf.writeInt32BE(measured.size - 8, offset);
  offset = buf.writeInt32BE(0, offset); // firstOffset, high
  offset = buf.writeInt32BE(0, offset); // firstOffset, low
  offset = buf.writeInt32BE(batchLength, offset);
  offset = buf.writeInt32BE(0, offset); // partitionLeaderEpoch
  offset = buf.writeInt8(MAGIC_BYTE, offset);
  const crcAt = offset;
  offset += 4;
  const bodyStart = offset;
  offset = buf.writeInt16BE(batch.transactional ? TRANSACTIONAL_MASK : 0, offset);
  offset = buf.writeInt32BE(messages.length - 1, offset);
  offset = writeInt64(buf, offset, measured.timestamps.first);
  offset = writeInt64(buf, offset, measured.timestamps.max);
  offset = writeInt64(buf, offset, batch.producerId);
  offset = buf.writeInt16BE(batch.producerEpoch, offset);
  offset = buf.writeInt32BE(data.firstSequence === undefined ? 0 : data.firstSequence, offset);
  offset = buf.writeInt32BE(messages.length, offset);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const at = (base + i) * 4;
    offset = writeVarInt(buf, offset, scratch[at + 3]);
    buf[offset++] = 0; // attributes
    const big = bigDeltas.get(base + i);
    if (big === undefined) offset = writeSmallVarLong(buf, offset, scratch[at]);
    else offset += big.copy(buf, offset);
    offset = writeVarInt(buf, offset, i);
    offset = writeBytes(buf, offset, message.key, scratch[at + 1]);
    offset = writeBytes(buf, offset, message.value, scratch[at + 2]);
    offset = writeHeaders(buf, offset, message.headers);
  }
  buf.writeUInt32BE(crc32c(buf, bodyStart, offset), crcAt);
  return offset;
}

function sizeOfString(value: string | null | undefined): number {
  return value === null || value === undefined ? 2 : 2 + Buffer.byteLength(value);
}

function writeString(buf: Buffer, offset: number, value: string | null | undefined): number {
  if (value === null || value === undefined) return buf.writeInt16BE(-1, offset);
  const length = Buffer.byteLength(value);
  offset = buf.writeInt16BE(length, offset);
  return offset + buf.write(value, offset, length, 'utf8');
}

/**
 * The request body kafkajs's v3 `encode()` would produce, or undefined when the request is outside the fast path
 * (compression, unexpected message shapes): the caller then uses kafkajs's own encoder.
 */
export function encodeProduceRequest(args: ProduceRequestArgs, now: () => number = Date.now): Buffer | undefined {
  const { acks, timeout, topicData } = args;
  const transactionalId = args.transactionalId === undefined ? null : args.transactionalId;
  const compression = args.compression === undefined ? NO_COMPRESSION : args.compression;
  if (compression !== NO_COMPRESSION || !Array.isArray(topicData)) return undefined;
  if (transactionalId !== null && typeof transactionalId !== 'string') return undefined;
  const batch: Batch = {
    producerId: args.producerId === undefined ? Long.fromInt(-1) : args.producerId,
    producerEpoch: args.producerEpoch === undefined ? 0 : args.producerEpoch,
    transactional: !!transactionalId,
  };
  let records = 0;
  for (const topic of topicData) {
    if (typeof topic.topic !== 'string' || !Array.isArray(topic.partitions)) return undefined;
    for (const partition of topic.partitions) {
      if (!Array.isArray(partition.messages)) return undefined;
      records += partition.messages.length;
    }
  }
  ensureScratch(records);
  bigDeltas.clear();
  const measured: MeasuredPartition[] = [];
  let size = sizeOfString(transactionalId) + 2 + 4 + 4;
  let base = 0;
  for (const topic of topicData) {
    size += sizeOfString(topic.topic) + 4;
    for (const partition of topic.partitions) {
      // kafkajs takes the time once per partition.
      const partitionMeasured = measurePartition(partition, base, now());
      if (partitionMeasured === undefined) return undefined;
      measured.push(partitionMeasured);
      size += partitionMeasured.size;
      base += partition.messages.length;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let offset = writeString(buf, 0, transactionalId);
  offset = buf.writeInt16BE(acks, offset);
  offset = buf.writeInt32BE(timeout, offset);
  offset = buf.writeInt32BE(topicData.length, offset);
  let index = 0;
  base = 0;
  for (const topic of topicData) {
    offset = writeString(buf, offset, topic.topic);
    offset = buf.writeInt32BE(topic.partitions.length, offset);
    for (const partition of topic.partitions) {
      offset = writePartition(buf, offset, partition, measured[index++], base, batch);
      base += partition.messages.length;
    }
  }
  bigDeltas.clear();
  if (offset !== size) throw new Error(`Produce request encoding wrote ${offset} bytes, measured ${size}`);
  return buf;
}

/** kafkajs's `Encoder` holding `buffer`, as kafkajs's request framing expects from `encode()`. */
function asEncoder(buffer: Buffer): KafkaEncoder {
  const encoder = Object.create(Encoder.prototype) as KafkaEncoder;
  encoder.buf = buffer;
  encoder.offset = buffer.length;
  return encoder;
}

/** The v3 request factory: kafkajs's request object, encoded here unless `encodeProduceRequest` declines. */
export function createProduceRequestFactory(original: ProduceRequestFactory): ProduceRequestFactory {
  return (args) => {
    const request = original(args);
    return {
      apiKey: PRODUCE_API_KEY,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => args.acks !== 0,
      encode: async () => {
        const buffer = encodeProduceRequest(args);
        return buffer === undefined ? request.encode() : asEncoder(buffer);
      },
    };
  };
}

const REQUEST_PATH = 'kafkajs/src/protocol/requests/produce/v3/request.js';

function install(): boolean {
  // v4-v7 capture v3 when they load, and load only after it: v3 not loaded yet means nothing captured it.
  return replaceKafkajsModule(REQUEST_PATH, REQUEST_PATH, () =>
    createProduceRequestFactory(loadKafkajsModule<ProduceRequestFactory>(REQUEST_PATH)),
  );
}

/** True when kafkajs's producer encodes its Produce requests with `encodeProduceRequest`. */
export const installed: boolean = install();
