import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EncodedBody, type FrameRequest, frameRequest, installed } from './request-framing.js';
import './client.js';

const require = createRequire(import.meta.url);
const REQUEST_PATH = 'kafkajs/src/protocol/request.js';
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => EncodedBody & { writeBuffer(value: Buffer): EncodedBody };

/** kafkajs 2.2.4's request framing, as it is (loaded fresh, outside the module cache entry the patch replaced). */
function originalFraming(): FrameRequest {
  const path = require.resolve(REQUEST_PATH);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as FrameRequest;
  } finally {
    require.cache[path] = cached;
  }
}

const original = originalFraming();

describe('request framing (kafkajs protocol/request.js, one copy)', () => {
  it("is the framing kafkajs's connections use (installed before kafkajs's connection loaded)", () => {
    expect(installed).toBe(true);
    expect(require(REQUEST_PATH)).toBe(frameRequest);
  });

  it('frames every request byte for byte as kafkajs does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          correlationId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          clientId: fc.oneof(fc.constant(null), fc.constant(undefined), fc.string({ unit: 'grapheme', maxLength: 20 })),
          apiKey: fc.nat(70),
          apiVersion: fc.nat(12),
          body: fc.uint8Array({ maxLength: 2000 }),
        }),
        async ({ correlationId, clientId, apiKey, apiVersion, body }) => {
          const request = { apiKey, apiVersion, encode: async () => new Encoder().writeBuffer(Buffer.from(body)) };
          const expected = await original({ correlationId, clientId, request });
          const framed = await frameRequest({ correlationId, clientId, request });
          expect(framed.buffer).toEqual(expected.buffer);
          expect(framed.size()).toBe(expected.size());
        },
      ),
    );
  });

  it('rejects a body that is not an encoder, as kafkajs does', async () => {
    const request = { apiKey: 0, apiVersion: 3, encode: async () => ({}) as EncodedBody };
    await expect(frameRequest({ correlationId: 1, clientId: 'c', request })).rejects.toThrow('value should be an instance of Encoder');
    await expect(original({ correlationId: 1, clientId: 'c', request })).rejects.toThrow('value should be an instance of Encoder');
  });
});
