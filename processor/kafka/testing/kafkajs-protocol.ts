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
