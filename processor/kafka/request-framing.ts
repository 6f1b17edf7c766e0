/**
 * kafkajs's framing of a request (size, api key and version, correlation id, client id, then the encoded body) into
 * one buffer of its exact size. Imported (for its effect) through kafkajs-patches.ts by every module here that loads
 * kafkajs, before kafkajs itself, like produce-encoding.ts.
 *
 * kafkajs 2.2.4 (`protocol/request.js`) copies every request body twice, through two encoders whose zero-filled
 * buffers grow to the next power of two: for a Produce request of a few MiB that is most of its size in copies and
 * up to twice it in garbage. This replacement writes the same bytes with one copy of the body (checked against
 * kafkajs's own in request-framing.test.ts). kafkajs's connection captures the function when its module loads, so it
 * is put into Node's module cache before that (`installed` says whether it was in time).
 */
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';

/** The parts of kafkajs's `Encoder` a request body and the framed request are read through. */
export interface EncodedBody {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}

export interface FramingArgs {
  readonly correlationId: number;
  readonly clientId: string | null | undefined;
  readonly request: { readonly apiKey: number; readonly apiVersion: number; encode(): Promise<EncodedBody> | EncodedBody };
}

export type FrameRequest = (args: FramingArgs) => Promise<EncodedBody>;

const Encoder = loadKafkajsModule<{ readonly prototype: EncodedBody }>('kafkajs/src/protocol/encoder.js');

/** `protocol/request.js` of kafkajs, with one copy of the body. */
export async function frameRequest({
  correlationId,
  clientId,
  request: { apiKey, apiVersion, encode },
}: FramingArgs): Promise<EncodedBody> {
  const payload = await encode();
  if (payload === null || payload === undefined || !Buffer.isBuffer(payload.buf)) {
    throw new Error('value should be an instance of Encoder');
  }
  const body = payload.buffer;
  const clientIdLength = clientId === null || clientId === undefined ? -1 : Buffer.byteLength(clientId, 'utf8');
  const size = 2 + 2 + 4 + 2 + Math.max(clientIdLength, 0) + body.length;
  const buf = Buffer.allocUnsafe(4 + size);
  let offset = buf.writeInt32BE(size, 0);
  offset = buf.writeInt16BE(apiKey, offset);
  offset = buf.writeInt16BE(apiVersion, offset);
  offset = buf.writeInt32BE(correlationId, offset);
  offset = buf.writeInt16BE(clientIdLength, offset);
  if (clientIdLength > 0) offset += buf.write(clientId as string, offset, clientIdLength, 'utf8');
  body.copy(buf, offset);
  const framed = Object.create(Encoder.prototype) as EncodedBody;
  framed.buf = buf;
  framed.offset = buf.length;
  return framed;
}

function install(): boolean {
  return replaceKafkajsModule('kafkajs/src/protocol/request.js', 'kafkajs/src/network/connection.js', () => frameRequest);
}

/** True when kafkajs's connections frame their requests with `frameRequest`. */
export const installed: boolean = install();
