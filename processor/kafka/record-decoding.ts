/**
 * kafkajs's decoder of one record of a record batch, with plain-number arithmetic. Imported (for its effect) through
 * kafkajs-patches.ts by every module here that loads kafkajs, before kafkajs itself, like aborted-transactions.ts.
 *
 * kafkajs 2.2.4 (`protocol/recordBatch/record/v0/decoder.js`) reads every record's timestamp delta as a BigInt-backed
 * Long (a few allocations per varint byte) and adds both deltas with Long arithmetic parsed from and printed back to
 * decimal strings: ~7% of a global-table bootstrap's CPU. This replacement keeps its contract exactly (the same
 * fields, `timestamp` and `offset` as the same decimal strings, headers folded the same way) and computes with
 * numbers while every value is a safe integer, falling back to kafkajs's own code otherwise (offsets and timestamps
 * beyond 2^53, varlongs longer than 7 bytes). kafkajs's record-batch decoder captures the function when its module
 * loads, so it is put into Node's module cache before that (`installed` says whether it was in time; a process that
 * loaded kafkajs first keeps the original, which is only slower).
 */
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';

/** The part of kafkajs's `Decoder` the record decoder uses. */
export interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): { toString(): string };
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (decoder: KafkaDecoder) => T): T[];
}

/** What kafkajs's record-batch decoder passes per record. */
export interface RecordBatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}

type HeaderValue = Buffer | null;
type Headers = Record<string, HeaderValue | HeaderValue[]>;
type RecordDecoder = (decoder: KafkaDecoder, batchContext?: RecordBatchContext) => unknown;
type HeaderDecoder = (decoder: KafkaDecoder) => { key: string; value: HeaderValue };

const LOG_APPEND_TIME = 1;

/** Varlongs of up to 7 bytes (49 bits: below 2^53 after zig-zag) as a number; undefined (nothing consumed) otherwise. */
function readSmallVarLong(decoder: KafkaDecoder): number | undefined {
  const { buffer } = decoder;
  let offset = decoder.offset;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buffer[offset++];
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      decoder.offset = offset;
      // Zig-zag without 32-bit bitwise operators.
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    scale *= 128;
  }
  return undefined;
}

function foldHeaders(headers: readonly { key: string; value: HeaderValue }[]): Headers {
  // kafkajs's fold, as it is (an object spread per header): records rarely carry many.
  return headers.reduce<Headers>((obj, { key, value }) => {
    const current = obj[key];
    return {
      ...obj,
      [key]: current === undefined ? value : Array.isArray(current) ? current.concat([value]) : [current, value],
    };
  }, {});
}

/**
 * One decoded record: kafkajs's message shape, with the offset and timestamp kept as numbers (`offsetNumber`,
 * `timestampNumber`, read by kafka-records.ts and consumer-batch.ts) and their decimal strings made only when kafkajs
 * asks for them (`offset`, `timestamp` getters: the consumer reads them for a batch's first and last record).
 */
export class FetchedRecord {
  constructor(
    readonly magicByte: number | undefined,
    readonly attributes: number,
    readonly timestampNumber: number,
    readonly offsetNumber: number,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly headers: Headers,
    readonly isControlRecord: boolean,
    readonly batchContext: RecordBatchContext,
  ) {}

  get offset(): string {
    return String(this.offsetNumber);
  }

  get timestamp(): string {
    return String(this.timestampNumber);
  }
}

/** Builds the replacement around kafkajs's own record decoder (the fallback) and header decoder. */
export function createRecordDecoder(
  original: RecordDecoder,
  headerDecoder: (decoder: KafkaDecoder) => { key: string; value: HeaderValue },
) {
  return (decoder: KafkaDecoder, batchContext?: RecordBatchContext): unknown => {
    if (batchContext === undefined) return original(decoder);
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const baseOffset = Number(firstOffset);
    const baseTimestamp = Number(firstTimestamp);
    if (!Number.isSafeInteger(baseOffset) || !Number.isSafeInteger(baseTimestamp)) return original(decoder, batchContext);
    const start = decoder.offset;
    const attributes = decoder.readInt8();
    const timestampDelta = readSmallVarLong(decoder);
    if (timestampDelta === undefined) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const logAppendTime = timestampType === LOG_APPEND_TIME && maxTimestamp;
    const timestamp = logAppendTime ? Number(maxTimestamp) : baseTimestamp + timestampDelta;
    // The string kafkajs would give must print back from the number (no leading zeros, no sign games, safe).
    if (!Number.isSafeInteger(timestamp) || (logAppendTime && String(timestamp) !== maxTimestamp)) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const offset = baseOffset + decoder.readVarInt();
    if (!Number.isSafeInteger(offset)) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headerList = decoder.readVarIntArray(headerDecoder);
    return new FetchedRecord(
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headerList.length === 0 ? {} : foldHeaders(headerList),
      isControlBatch,
      batchContext,
    );
  };
}

function install(): boolean {
  const path = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
  return replaceKafkajsModule(path, 'kafkajs/src/protocol/recordBatch/v0/decoder.js', () =>
    createRecordDecoder(
      loadKafkajsModule<RecordDecoder>(path),
      loadKafkajsModule<HeaderDecoder>('kafkajs/src/protocol/recordBatch/header/v0/decoder.js'),
    ),
  );
}

/** True when kafkajs's record-batch decoder uses the replacement (it was not loaded before this module). */
export const installed: boolean = install();
