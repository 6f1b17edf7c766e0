/**
 * kafkajs's Fetch v11 response decoder (the version it uses against Kafka 2.3 and later), replaced by
 * fetch-decoding.ts. Imported (for its effect) through kafkajs-patches.ts by every module here that loads kafkajs,
 * before kafkajs itself, like record-decoding.ts.
 *
 * kafkajs 2.2.4 (`protocol/requests/fetch/v11/response.js`) decodes every record of a response into its own
 * objects (a Decoder and Buffer slices per record, offsets and timestamps as decimal strings) as soon as the
 * response arrives; its consumer then builds a Batch per partition over those. With this replacement a response's
 * partitions carry record batches (`DecodedPartition.batches`) whose records are built only when first read, and
 * consumer-batch.ts builds the consumer's batches over them: the group consumer's records are made once, as
 * `ConsumedRecord`s, when their batch is handled. A response holding message format v0/v1 (`LegacyFormatError`) is
 * decoded by kafkajs's own decoder, whose partitions carry `messages` as before. The error check (`parse`) stays
 * kafkajs's. kafkajs's fetch request module loads the decoder when the first Fetch v11 is built, so it is put into
 * Node's module cache before that (`installed` says whether it was in time). Only together with consumer-batch.ts:
 * in a process that loaded kafkajs's consumer before the patches, kafkajs's own Batch would get partitions without
 * `messages`, so kafkajs keeps its own decoder there too.
 */
import { installed as batchesInstalled } from './consumer-batch.js';
import { decodeFetchV11, LegacyFormatError } from './fetch-decoding.js';
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';

interface ResponseModule {
  decode(raw: Buffer): Promise<unknown>;
  parse(data: unknown): Promise<unknown>;
}

interface KafkajsCodecs {
  lookupCodecByAttributes(attributes: number): { decompress(buffer: Buffer): Promise<Buffer> } | null;
}
let codecs: KafkajsCodecs | undefined;

/** Decompresses a record set with kafkajs's codecs (gzip built in; others registered by the application). */
export async function decompress(attributes: number, compressed: Buffer): Promise<Buffer> {
  const loaded = (codecs ??= loadKafkajsModule<KafkajsCodecs>('kafkajs/src/protocol/message/compression/index.js'));
  const codec = loaded.lookupCodecByAttributes(attributes);
  if (codec === null) throw new Error(`unknown compression codec in record batch attributes ${attributes}`);
  return codec.decompress(compressed);
}

/** The replacement module around kafkajs's own (the fallback decoder and the error check). */
export function createFetchResponse(original: ResponseModule): ResponseModule {
  return {
    decode: (raw: Buffer) =>
      decodeFetchV11(raw, decompress).catch((error: unknown) => {
        if (error instanceof LegacyFormatError) return original.decode(raw);
        throw error;
      }),
    parse: (data: unknown) => original.parse(data),
  };
}

function install(): boolean {
  if (!batchesInstalled) return false;
  const path = 'kafkajs/src/protocol/requests/fetch/v11/response.js';
  return replaceKafkajsModule(path, path, () => createFetchResponse(loadKafkajsModule<ResponseModule>(path)));
}

/** True when kafkajs's Fetch v11 requests decode their responses with fetch-decoding.ts. */
export const installed: boolean = install();
