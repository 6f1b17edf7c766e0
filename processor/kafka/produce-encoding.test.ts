import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32c, crc32cJs, nativeCrc32c } from './crc32c.js';
import { encodeProduceRequest, installed, type ProduceRequestArgs, type ProduceRequestFactory } from './produce-encoding.js';
import './client.js';

const require = createRequire(import.meta.url);
const REQUEST_PATH = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromString(value: string): unknown; fromInt(value: number): unknown };

/** kafkajs 2.2.4's v3 Produce request, as it is (loaded fresh, outside the module cache entry the patch replaced). */
function originalFactory(): ProduceRequestFactory {
  const path = require.resolve(REQUEST_PATH);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as ProduceRequestFactory;
  } finally {
    require.cache[path] = cached;
  }
}

const original = originalFactory();

async function kafkajsBytes(args: ProduceRequestArgs): Promise<Buffer> {
  return Buffer.from((await original(args).encode()).buffer);
}

const NOW = 1_733_000_000_123;

afterEach(() => {
  vi.restoreAllMocks();
});

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const keyOrValue = fc.oneof(fc.constant(null), fc.constant(undefined), bytes, text);
const headerValue = fc.oneof(bytes, text);
const headers = fc.option(
  fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), {
    maxKeys: 4,
  }),
  { nil: undefined },
);
/** Timestamps as kafkajs callers pass them: decimal strings (of different lengths: sorted as strings), numbers, none. */
const timestamp = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(0),
  fc.constantFrom(String(NOW), NOW, '999', 1000, '1000'),
  fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }).map(String),
  fc.integer({ min: 0, max: 2_000_000 }).map(String),
  fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }),
  fc.bigInt({ min: 2n ** 52n, max: 2n ** 62n }).map(String),
);
const message = fc.record({ key: keyOrValue, value: keyOrValue, timestamp, headers }, { requiredKeys: [] });
const partitionData = fc.record(
  {
    partition: fc.nat(20),
    firstSequence: fc.nat(2 ** 31 - 1),
    messages: fc.array(message, { maxLength: 12 }),
  },
  { requiredKeys: ['partition', 'messages'] },
);
const producerId = fc.oneof(
  fc.constant(undefined),
  fc.constant(Long.fromInt(-1)),
  fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map((id) => Long.fromString(String(id))),
  fc.nat(),
);
const requestArgs = fc.record(
  {
    acks: fc.constantFrom(-1, 0, 1),
    timeout: fc.nat(60_000),
    transactionalId: fc.oneof(fc.constant(null), fc.constant(undefined), fc.constant(''), text),
    producerId,
    producerEpoch: fc.nat(32_767),
    compression: fc.constantFrom(undefined, 0),
    topicData: fc.array(
      fc.record({
        topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
        partitions: fc.array(partitionData, { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['acks', 'timeout', 'topicData'] },
) as fc.Arbitrary<ProduceRequestArgs>;

describe('Produce request encoding (kafkajs v3, one pass)', () => {
  it("is the Produce request kafkajs's producer uses (installed before kafkajs's produce requests loaded)", () => {
    expect(installed).toBe(true);
    const requests = require('kafkajs/src/protocol/requests/produce/index.js') as {
      protocol(a: { version: number }): (args: ProduceRequestArgs) => { request: { apiVersion: number; encode(): Promise<unknown> } };
    };
    // v4-v7 wrap v3: every version kafkajs may pick goes through the replacement.
    for (const version of [3, 4, 5, 6, 7]) {
      const { request } = requests.protocol({ version })({ acks: -1, timeout: 1000, topicData: [] });
      expect(request.apiVersion).toBe(version);
    }
    expect(require(REQUEST_PATH)).not.toBe(original);
  });

  it('encodes every request byte for byte as kafkajs does (keys, values, headers, timestamps, idempotent and transactional batches)', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    await fc.assert(
      fc.asyncProperty(requestArgs, async (args) => {
        const expected = await kafkajsBytes(args);
        expect(encodeProduceRequest(args)).toEqual(expected);
        const replaced = (require(REQUEST_PATH) as ProduceRequestFactory)(args);
        expect(Buffer.from((await replaced.encode()).buffer)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes large batches (native CRC-32C) as kafkajs does', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const messages = Array.from({ length: 2000 }, (_, i) => ({
      key: Buffer.from(`customer-${i}`),
      value: Buffer.from(JSON.stringify({ order: i, customer: { name: `name ${i}`, city: 'Zürich' } })),
      timestamp: String(NOW + (i % 7) * 1000),
      headers: i % 3 === 0 ? { origin: 'bench', trace: [Buffer.from([i & 0xff]), 'x'] } : undefined,
    }));
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      transactionalId: 'app-0_1',
      producerId: Long.fromString('4242'),
      producerEpoch: 3,
      topicData: [{ topic: 'joined', partitions: [{ partition: 2, firstSequence: 17, messages }] }],
    };
    expect(encodeProduceRequest(args)).toEqual(await kafkajsBytes(args));
  });

  it('falls back to kafkajs for what it does not encode itself (compression, other value types)', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const topicData = [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }];
    expect(encodeProduceRequest({ acks: -1, timeout: 1, compression: 1, topicData })).toBeUndefined();
    const odd = [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 5 as unknown as string }] }] }];
    expect(encodeProduceRequest({ acks: -1, timeout: 1, topicData: odd })).toBeUndefined();
    const factory = require(REQUEST_PATH) as ProduceRequestFactory;
    const gzip = { acks: -1, timeout: 1, compression: 1, topicData };
    expect(Buffer.from((await factory(gzip).encode()).buffer)).toEqual(await kafkajsBytes(gzip));
  });
});

describe('CRC-32C', () => {
  it('matches kafkajs over any bytes and any sub-range, in JavaScript and natively', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (array, a, b) => {
        const buffer = Buffer.from(array);
        const start = buffer.length === 0 ? 0 : a % buffer.length;
        const end = start + (buffer.length === 0 ? 0 : b % (buffer.length - start + 1));
        const want = kafkajsCrc32c(buffer.subarray(start, end));
        expect(crc32cJs(buffer, start, end)).toBe(want);
        expect(crc32c(buffer, start, end)).toBe(want);
      }),
    );
  });

  it('uses the native implementation where a prebuilt binary exists (linux x64)', () => {
    if (process.platform === 'linux' && process.arch === 'x64') expect(nativeCrc32c).toBe(true);
  });
});
