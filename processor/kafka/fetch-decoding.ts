/**
 * A decoder of Fetch v11 responses (the version kafkajs uses against Kafka 2.3 and later, 3.x and 4.x included) that
 * turns record batches straight into `ConsumedRecord`s for the partition reader. kafkajs decodes every record into
 * its own object (a Buffer slice and a Decoder per record, offsets and timestamps as decimal strings) that the reader
 * then converts again; this reads offsets and timestamps as numbers and allocates one record (and its key and value
 * slices) per record, when the batch's records are first read (`DataBatch`), not when the response arrives. Record batches keep their producer, transaction and control flags, so aborted transactions are
 * dropped per batch by the Java client's rule (`visibleRecords`).
 *
 * Only message format v2 (magic 2, every Kafka since 0.11 writes it, 4.x reads nothing else) is decoded here: a
 * response holding an older format throws `LegacyFormatError` and the caller decodes it with kafkajs instead.
 */
import type { ConsumedRecord, RecordCursor, RecordHeaders, RecordRun } from '../../common/records.js';

export interface DecodedBatch {
  readonly baseOffset: number;
  /** Offset of the batch's last record, records compacted away included. */
  readonly lastOffset: number;
  readonly producerId: number;
  readonly transactional: boolean;
  /** A control batch: `abort` says it holds an abort marker (else a commit marker). */
  readonly control: boolean;
  readonly abort: boolean;
  /** Data records (empty for control batches). */
  readonly records: ConsumedRecord[];
}

export interface DecodedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: string;
  readonly lastStableOffset: string;
  readonly abortedTransactions: { readonly producerId: string; readonly firstOffset: string }[];
  readonly batches: DecodedBatch[];
  /**
   * The response body the batches were decoded from, shared by every partition of the response (its uncompressed
   * batches' records are views of it): for a reader that frees the response once through with it
   * (response-framing.ts `releaseFrame`). Absent where the partition was not decoded from a response.
   */
  readonly responseBytes?: Buffer;
}

export interface DecodedFetchResponse {
  readonly throttleTime: number;
  readonly clientSideThrottleTime: number;
  readonly errorCode: number;
  readonly responses: { topicName: string; partitions: DecodedPartition[] }[];
}

/** Decompresses a compressed record set (kafkajs's codecs, chosen by the batch attributes). */
export type Decompress = (attributes: number, compressed: Buffer) => Promise<Buffer>;

export class LegacyFormatError extends Error {
  constructor() {
    super('the fetch response holds message format v0/v1');
  }
}

const NO_HEADERS: RecordHeaders = Object.freeze({});
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const CODEC_MASK = 0x07;
/** Bytes of a record batch header after its first 12 (base offset, batch length). */
const BATCH_HEADER = 49;
/** Where the magic byte is, from the start of a batch (v2) or message (v0/v1). */
const MAGIC_AT = 16;

/** Reads a response body; `pos` moves along. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int8(): number {
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** int64 as a number (exact below 2^53, which offsets, timestamps and producer ids stay under). */
  int64(): number {
    const v = this.buf.readInt32BE(this.pos) * 4294967296 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }
  int64String(): string {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v.toString();
  }
  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    const v = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
  /** Zig-zag varint (up to 2^53 in magnitude: timestamps deltas fit). */
  varint(): number {
    const value = varintAt(this.buf, this.pos);
    this.pos = varintEnd;
    return value;
  }
  varBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const v = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
}

/** Decodes a whole Fetch v11 response body (after the correlation id). */
export async function decodeFetchV11(body: Buffer, decompress: Decompress): Promise<DecodedFetchResponse> {
  const r = new Reader(body);
  const clientSideThrottleTime = r.int32();
  const errorCode = r.int16();
  r.int32(); // session id
  const topicCount = r.int32();
  const responses: DecodedFetchResponse['responses'] = [];
  for (let t = 0; t < topicCount; t++) {
    const topicName = r.string();
    const partitionCount = r.int32();
    const partitions: DecodedPartition[] = [];
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.int32();
      const partitionError = r.int16();
      const highWatermark = r.int64String();
      const lastStableOffset = r.int64String();
      r.int64(); // log start offset
      const abortedCount = r.int32();
      const abortedTransactions: DecodedPartition['abortedTransactions'][number][] = [];
      for (let a = 0; a < abortedCount; a++) abortedTransactions.push({ producerId: r.int64String(), firstOffset: r.int64String() });
      r.int32(); // preferred read replica
      const size = r.int32();
      const batches: DecodedBatch[] = [];
      if (size > 0) {
        const end = r.pos + size;
        await decodeBatches(body, r.pos, Math.min(end, body.length), topicName, partition, decompress, batches);
        r.pos = end;
      }
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        abortedTransactions,
        batches,
        responseBytes: body,
      });
    }
    responses.push({ topicName, partitions });
  }
  return { throttleTime: 0, clientSideThrottleTime, errorCode, responses };
}

async function decodeBatches(
  buf: Buffer,
  start: number,
  end: number,
  topic: string,
  partition: number,
  decompress: Decompress,
  out: DecodedBatch[],
): Promise<void> {
  let pos = start;
  // A partial batch may close the record set (the broker cuts at the byte limit): it is fetched again next time.
  while (end - pos >= MAGIC_AT + 1) {
    // The magic byte sits at the same place in every message format.
    if (buf.readInt8(pos + MAGIC_AT) !== 2) throw new LegacyFormatError();
    if (end - pos < 12 + BATCH_HEADER) break;
    const r = new Reader(buf);
    r.pos = pos;
    const baseOffset = r.int64();
    const batchLength = r.int32();
    const batchEnd = r.pos + batchLength;
    if (batchEnd > end) break;
    r.int32(); // partition leader epoch
    r.int8(); // magic
    r.int32(); // crc
    const attributes = r.int16();
    const lastOffsetDelta = r.int32();
    const baseTimestamp = r.int64();
    const maxTimestamp = r.int64();
    const producerId = r.int64();
    r.int16(); // producer epoch
    r.int32(); // base sequence
    const count = r.int32();
    const control = (attributes & CONTROL) !== 0;
    const transactional = (attributes & TRANSACTIONAL) !== 0;
    const logAppendTime = (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    let abort = false;
    let recordsReader = r;
    if ((attributes & CODEC_MASK) !== 0) {
      recordsReader = new Reader(await decompress(attributes, buf.subarray(r.pos, batchEnd)));
    }
    if (control) {
      // One control record: its key is version (int16) + type (int16; 0 = abort, 1 = commit).
      if (count > 0) {
        recordsReader.varint(); // length
        recordsReader.int8(); // attributes
        recordsReader.varint(); // timestamp delta
        recordsReader.varint(); // offset delta
        const key = recordsReader.varBytes();
        abort = key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
      }
      out.push({ baseOffset, lastOffset: baseOffset + lastOffsetDelta, producerId, transactional, control, abort, records: [] });
    } else {
      const records = new RecordSet(
        recordsReader.buf,
        recordsReader.pos,
        count,
        topic,
        partition,
        baseOffset,
        logAppendTime,
        maxTimestamp,
        baseTimestamp,
      );
      out.push(new DataBatch(baseOffset, baseOffset + lastOffsetDelta, producerId, transactional, records));
    }
    pos = batchEnd;
  }
}

/** Where a data batch's records are, decoded into `ConsumedRecord`s on first use. */
class RecordSet {
  constructor(
    readonly buf: Buffer,
    readonly start: number,
    readonly count: number,
    readonly topic: string,
    readonly partition: number,
    readonly baseOffset: number,
    /** A LogAppendTime batch: every record has the batch's max timestamp (else CreateTime: base + delta). */
    readonly logAppendTime: boolean,
    readonly maxTimestamp: number,
    readonly baseTimestamp: number,
  ) {}

  decode(): ConsumedRecord[] {
    const records = new Array<ConsumedRecord>(this.count);
    const cursor = new RecordSetCursor([this], 0, Number.POSITIVE_INFINITY);
    let i = 0;
    while (cursor.next()) records[i++] = cursor.record();
    records.length = i;
    return records;
  }
}

/** Where the varint read last by `varintAt` ended (a module variable, so reading one allocates nothing). */
let varintEnd = 0;

/** The zig-zag varint at `pos` of `buf`; `varintEnd` is set to the index after it. */
function varintAt(buf: Buffer, pos: number): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[pos++] as number;
    if (byte === undefined) throw new RangeError('varint past the end of the buffer');
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
  }
  varintEnd = pos;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/**
 * Reads the records of data batches (`RecordSet`s, in offset order) in place: offsets from `from` on, up to `end`
 * (exclusive). One object for a whole run of records; `record()` builds the current one.
 */
class RecordSetCursor implements RecordCursor {
  offset = 0;
  timestamp = 0;
  keyBytes: Buffer | null = null;
  keyStart = 0;
  keyEnd = 0;
  valueBytes: Buffer | null = null;
  valueStart = 0;
  valueEnd = 0;
  #set: RecordSet | undefined;
  #setIndex = -1;
  /** Records of `#set` not read yet, and where the next one starts. */
  #left = 0;
  #pos = 0;
  #headersAt = 0;
  #headerCount = 0;

  constructor(
    private readonly sets: readonly RecordSet[],
    private readonly from: number,
    private readonly end: number,
  ) {}

  next(): boolean {
    for (;;) {
      while (this.#left === 0) {
        if (this.#setIndex + 1 >= this.sets.length) {
          this.#setIndex = this.sets.length;
          return false;
        }
        const set = this.sets[++this.#setIndex] as RecordSet;
        this.#set = set;
        this.#left = set.count;
        this.#pos = set.start;
      }
      const set = this.#set as RecordSet;
      const buf = set.buf;
      this.#left--;
      const length = varintAt(buf, this.#pos);
      const next = varintEnd + length;
      // After the length: attributes (int8), timestamp delta, offset delta, key, value, headers.
      const timestampDelta = varintAt(buf, varintEnd + 1);
      const offsetDelta = varintAt(buf, varintEnd);
      const offset = set.baseOffset + offsetDelta;
      if (offset >= this.end) {
        this.#left = 0;
        this.#setIndex = this.sets.length;
        return false;
      }
      this.#pos = next;
      if (offset < this.from) continue;
      const keyLength = varintAt(buf, varintEnd);
      let at = varintEnd;
      if (keyLength < 0) this.keyBytes = null;
      else {
        this.keyBytes = buf;
        this.keyStart = at;
        this.keyEnd = at += keyLength;
      }
      const valueLength = varintAt(buf, at);
      at = varintEnd;
      if (valueLength < 0) this.valueBytes = null;
      else {
        this.valueBytes = buf;
        this.valueStart = at;
        this.valueEnd = at += valueLength;
      }
      this.#headerCount = varintAt(buf, at);
      this.#headersAt = varintEnd;
      this.offset = offset;
      this.timestamp = set.logAppendTime ? set.maxTimestamp : set.baseTimestamp + timestampDelta;
      return true;
    }
  }

  record(): ConsumedRecord {
    const set = this.#set as RecordSet;
    let headers = NO_HEADERS;
    if (this.#headerCount > 0) {
      const r = new Reader(set.buf);
      r.pos = this.#headersAt;
      const h: Record<string, Buffer> = {};
      for (let j = 0; j < this.#headerCount; j++) {
        const name = r.varBytes();
        const headerValue = r.varBytes();
        // Like Java's lastHeader: the last value of a repeated name wins.
        if (name !== null) h[name.toString('utf8')] = headerValue as Buffer;
      }
      headers = h;
    }
    return {
      topic: set.topic,
      partition: set.partition,
      offset: this.offset,
      timestamp: this.timestamp,
      key: this.keyBytes === null ? null : this.keyBytes.subarray(this.keyStart, this.keyEnd),
      value: this.valueBytes === null ? null : this.valueBytes.subarray(this.valueStart, this.valueEnd),
      headers,
    };
  }
}

/**
 * A data batch whose records are built when read, not when the response is decoded: a response fetched ahead
 * (partition-reader.ts) then holds its bytes and one object per batch until its records are delivered, rather than
 * three objects per record that every young-generation GC in between would copy. The records are built on every read
 * and not kept here: whoever reads them (`visibleRecords`, once per delivery) holds them as long as it needs them, so
 * a response whose other partitions are still being handled does not keep the records of those already handled.
 */
class DataBatch implements DecodedBatch {
  readonly control = false;
  readonly abort = false;

  constructor(
    readonly baseOffset: number,
    readonly lastOffset: number,
    readonly producerId: number,
    readonly transactional: boolean,
    /** Where its records are (read in place by `visibleRun`'s cursors). */
    readonly source: RecordSet,
  ) {}

  get records(): ConsumedRecord[] {
    return this.source.decode();
  }
}

/**
 * The batches of `batches` (offset order) whose records a read_committed consumer sees: the Java client's rule per
 * batch. An aborted transaction is active for its producer from its first offset until that producer's abort marker;
 * a transactional batch of a producer with an active aborted transaction is dropped; control batches deliver nothing.
 */
function visibleBatches(
  batches: readonly DecodedBatch[],
  abortedTransactions: readonly { readonly producerId: string; readonly firstOffset: string }[],
): DecodedBatch[] {
  const pending = abortedTransactions
    .map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const active = new Set<number>();
  let next = 0;
  const result: DecodedBatch[] = [];
  for (const batch of batches) {
    while (next < pending.length && (pending[next] as { firstOffset: number }).firstOffset <= batch.lastOffset) {
      active.add((pending[next++] as { producerId: number }).producerId);
    }
    if (batch.control) {
      if (batch.abort) active.delete(batch.producerId);
      continue;
    }
    if (batch.transactional && active.has(batch.producerId)) continue;
    result.push(batch);
  }
  return result;
}

/** The records of `batches` (offset order) a read_committed consumer sees (`visibleBatches`), from `from` on. */
export function visibleRecords(
  batches: readonly DecodedBatch[],
  abortedTransactions: readonly { readonly producerId: string; readonly firstOffset: string }[],
  from: number,
): ConsumedRecord[] {
  const result: ConsumedRecord[] = [];
  for (const batch of visibleBatches(batches, abortedTransactions)) {
    for (const record of batch.records) if (record.offset >= from) result.push(record);
  }
  return result;
}

/**
 * `visibleRecords(batches, abortedTransactions, from)` below `end`, as a run of records built only if asked
 * (common/records.ts `RecordRun`); undefined when a visible batch is not one this module decoded (it has no bytes
 * to read in place).
 */
export function visibleRun(
  topic: string,
  partition: number,
  batches: readonly DecodedBatch[],
  abortedTransactions: readonly { readonly producerId: string; readonly firstOffset: string }[],
  from: number,
  end: number,
): RecordRun | undefined {
  const sets: RecordSet[] = [];
  for (const batch of visibleBatches(batches, abortedTransactions)) {
    if (!(batch instanceof DataBatch)) return undefined;
    sets.push(batch.source);
  }
  const cursor = (): RecordSetCursor => new RecordSetCursor(sets, from, end);
  return {
    topic,
    partition,
    cursor,
    records(): ConsumedRecord[] {
      const records: ConsumedRecord[] = [];
      const c = cursor();
      while (c.next()) records.push(c.record());
      return records;
    },
  };
}
