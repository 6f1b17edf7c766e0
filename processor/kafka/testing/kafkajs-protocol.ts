/**
 * kafkajs 2.2.4's own protocol encoders, for tests that build Kafka responses byte for byte (record batches and
 * Fetch responses) the way a broker would, then decode them with Tributary's and kafkajs's decoders.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The part of kafkajs's `Encoder` the tests use. */
export interface KafkajsEncoder {
  buffer: Buffer;
  writeInt8(v: number): KafkajsEncoder;
  writeInt16(v: number): KafkajsEncoder;
  writeInt32(v: number): KafkajsEncoder;
  writeInt64(v: number | string): KafkajsEncoder;
  writeString(v: string): KafkajsEncoder;
  writeBytes(v: Buffer): KafkajsEncoder;
}

export const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;

/** A v2 record batch (magic 2) of the given records. */
export const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (options: unknown) => Promise<KafkajsEncoder>;
};

/** One record of a v2 record batch. */
export const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (options: unknown) => KafkajsEncoder;

/**
 * The body of a Fetch v11 response for one partition of one topic: no error, high watermark and last stable offset
 * `end`, log start 0, the `aborted` transactions, no preferred read replica, then the record set as it came.
 */
export function fetchV11ResponseBody(
  topic: string,
  partition: number,
  recordSet: Buffer,
  aborted: readonly { readonly producerId: number; readonly firstOffset: number }[],
  end: number,
): Buffer {
  const encoder = new Encoder()
    .writeInt32(0)
    .writeInt16(0)
    .writeInt32(0)
    .writeInt32(1)
    .writeString(topic)
    .writeInt32(1)
    .writeInt32(partition)
    .writeInt16(0)
    .writeInt64(end)
    .writeInt64(end)
    .writeInt64(0)
    .writeInt32(aborted.length);
  for (const a of aborted) encoder.writeInt64(a.producerId).writeInt64(a.firstOffset);
  return encoder.writeInt32(-1).writeBytes(recordSet).buffer;
}
