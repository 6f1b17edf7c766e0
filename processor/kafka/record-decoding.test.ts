import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecordDecoder, FetchedRecord, installed, type KafkaDecoder, type RecordBatchContext } from './record-decoding.js';
import './client.js';

const require = createRequire(import.meta.url);
type Long = { toString(): string };
const LongClass = require('kafkajs/src/utils/long.js') as { fromString(value: string): Long };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkaDecoder;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: {
  offsetDelta: number;
  timestampDelta: Long;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}) => { buffer: Buffer };
const headerDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder.js') as (decoder: KafkaDecoder) => {
  key: string;
  value: Buffer | null;
};

/** kafkajs 2.2.4's record decoder, as it is (loaded fresh, outside the module cache entry the patch replaced). */
function originalDecoder() {
  const path = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as (decoder: KafkaDecoder, context?: RecordBatchContext) => unknown;
  } finally {
    require.cache[path] = cached;
  }
}

const original = originalDecoder();

/** The fields of a kafkajs message, as kafkajs's consumer reads them (getters included). */
function kafkajsView(record: unknown): unknown {
  const r = record as Record<string, unknown>;
  return {
    magicByte: r.magicByte,
    attributes: r.attributes,
    timestamp: r.timestamp,
    offset: r.offset,
    key: r.key,
    value: r.value,
    headers: r.headers,
    isControlRecord: r.isControlRecord,
    batchContext: r.batchContext,
  };
}
const replacement = createRecordDecoder(original, headerDecoder);

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const nearSafeLimit = fc.bigInt({ min: 2n ** 53n - 1000n, max: 2n ** 53n + 1000n });
const anyLong = fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 41n }), nearSafeLimit, int64);
const bytes = fc.option(
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  { nil: null },
);

describe('record decoding (kafkajs record v0, plain-number arithmetic)', () => {
  it('kafkajs uses the replacement (installed before its record-batch decoder loaded)', () => {
    expect(installed).toBe(true);
    const path = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
    expect(require(path)).not.toBe(original);
  });

  it('decodes every record exactly as kafkajs does (timestamps, offsets, keys, values, headers, fallbacks)', () => {
    fc.assert(
      fc.property(
        fc.record({
          firstOffset: anyLong,
          firstTimestamp: anyLong,
          timestampDelta: fc.oneof(
            fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n }),
            fc.bigInt({ min: -(2n ** 50n), max: 2n ** 50n }),
            int64,
          ),
          offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          key: bytes,
          value: bytes,
          headers: fc.dictionary(
            fc.string({ maxLength: 4 }),
            fc.oneof(
              fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
              fc.array(
                fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
                { minLength: 2, maxLength: 3 },
              ),
            ),
            { maxKeys: 3 },
          ),
          timestampType: fc.constantFrom(0, 1, -1),
          maxTimestamp: fc.oneof(fc.constant(1_700_000_000_000n), anyLong),
          isControlBatch: fc.boolean(),
        }),
        (r) => {
          const { buffer } = encodeRecord({
            offsetDelta: r.offsetDelta,
            timestampDelta: LongClass.fromString(String(r.timestampDelta)),
            key: r.key,
            value: r.value,
            headers: r.headers,
          });
          const context: RecordBatchContext = {
            firstOffset: String(r.firstOffset),
            firstTimestamp: String(r.firstTimestamp),
            magicByte: 2,
            isControlBatch: r.isControlBatch,
            timestampType: r.timestampType,
            maxTimestamp: String(r.maxTimestamp),
          };
          const decode = (fn: typeof original) => {
            const decoder = new Decoder(buffer);
            decoder.readVarInt(); // the record's length, read by the record-batch decoder
            const record = fn(decoder, context);
            return { record, end: decoder.offset };
          };
          const expected = decode(original);
          const actual = decode(replacement);
          expect({ record: kafkajsView(actual.record), end: actual.end }).toEqual(expected);
          if (actual.record instanceof FetchedRecord) {
            expect(actual.record.offsetNumber).toBe(Number(actual.record.offset));
            expect(actual.record.timestampNumber).toBe(Number(actual.record.timestamp));
          }
          expect((actual.record as { batchContext: unknown }).batchContext).toBe(context);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
