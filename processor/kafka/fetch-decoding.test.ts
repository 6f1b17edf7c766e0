/**
 * fetch-decoding.ts against kafkajs: Fetch v11 responses built with kafkajs's own record-batch encoder (any records,
 * headers, null keys and values, gzip, transactional and control batches, aborted transactions) decode to the same
 * records as kafkajs's decoder followed by the read_committed filter and the conversion the reader used before.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../common/records.js';
import './client.js';
import { filterAbortedMessages, type FetchedMessage } from './aborted-transactions.js';
import { decodeFetchV11, LegacyFormatError, visibleRecords, visibleRun } from './fetch-decoding.js';
import { toConsumedRecord, toConsumedRecords } from './kafka-records.js';
import {
  batchRecords,
  createBatchClass,
  DecodedPartitionBatch,
  releaseBatchRecords,
  type BatchMessage,
  type PartitionData,
} from './consumer-batch.js';
import { createFetchResponse, installed as fetchResponseInstalled } from './fetch-response.js';
import type { KafkaMessage } from 'kafkajs';
import { fetchV11ResponseBody as responseBody, Record, RecordBatch } from './testing/kafkajs-protocol.js';

const require = createRequire(import.meta.url);

const V11_PATH = 'kafkajs/src/protocol/requests/fetch/v11/response.js';

/** kafkajs 2.2.4's module at `path`, as it is (loaded fresh, outside the module cache entry a patch replaced). */
function original<T>(path: string): T {
  const resolved = require.resolve(path);
  const cached = require.cache[resolved];
  delete require.cache[resolved];
  try {
    return require(resolved) as T;
  } finally {
    require.cache[resolved] = cached;
  }
}

interface FetchResponseModule {
  decode(raw: Buffer): Promise<{ responses: { topicName: string; partitions: { messages: unknown[] }[] }[] }>;
  parse(data: unknown): Promise<unknown>;
}
const kafkajsV11 = original<FetchResponseModule>(V11_PATH);
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodecByAttributes(attributes: number): { decompress(buffer: Buffer): Promise<Buffer> };
};

const decompress = (attributes: number, compressed: Buffer) => lookupCodecByAttributes(attributes).decompress(compressed);

interface BatchSpec {
  readonly producerId: number;
  readonly transactional: boolean;
  readonly gzip: boolean;
  /** A control batch (one marker) instead of data records. */
  readonly marker?: 'abort' | 'commit';
  readonly records: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer>; timestampDelta: number }[];
  /** Offsets the batch spans past its records (compacted away at its end). */
  readonly trailingGap: number;
}

// Mostly short, sometimes long enough for two- and three-byte varint lengths (64 bytes and more, 8,192 and more).
const bytes = fc.option(
  fc
    .oneof(
      { weight: 8, arbitrary: fc.uint8Array({ maxLength: 12 }) },
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 60, maxLength: 300 }) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 8_180, maxLength: 8_200 }) },
    )
    .map((a) => Buffer.from(a)),
  { nil: null },
);
const batchSpec: fc.Arbitrary<BatchSpec> = fc.record({
  producerId: fc.integer({ min: 1, max: 3 }),
  transactional: fc.boolean(),
  gzip: fc.boolean(),
  marker: fc.option(fc.constantFrom('abort' as const, 'commit' as const), { nil: undefined }),
  records: fc.array(
    fc.record({
      key: bytes,
      value: bytes,
      headers: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 3 }),
        fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
        { maxKeys: 2 },
      ),
      timestampDelta: fc.integer({ min: -100_000, max: 100_000 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  trailingGap: fc.integer({ min: 0, max: 2 }),
});

const CONTROL_FLAG = 0x20;

/** Record batches as the broker stores them, from `baseOffset` on; returns the bytes and each batch's first offset. */
async function encodeBatches(specs: readonly BatchSpec[], baseOffset: number, baseTimestamp: number) {
  const parts: Buffer[] = [];
  const firstOffsets: number[] = [];
  let offset = baseOffset;
  for (const spec of specs) {
    firstOffsets.push(offset);
    const records =
      spec.marker !== undefined
        ? [
            {
              key: Buffer.from([0, 0, 0, spec.marker === 'abort' ? 0 : 1]),
              value: Buffer.from([0, 0, 0, 0, 0, 0]),
              headers: {},
              timestampDelta: 0,
            },
          ]
        : spec.records;
    const encoded = await RecordBatch({
      compression: spec.gzip ? Compression.GZIP : Compression.None,
      firstOffset: String(offset),
      firstTimestamp: baseTimestamp,
      maxTimestamp: baseTimestamp + 100_000,
      lastOffsetDelta: records.length - 1 + spec.trailingGap,
      transactional: spec.transactional || spec.marker !== undefined,
      producerId: String(spec.producerId),
      records: records.map((r, i) =>
        Record({ offsetDelta: i, timestampDelta: r.timestampDelta, key: r.key, value: r.value, headers: r.headers }),
      ),
    });
    const buffer = Buffer.from(encoded.buffer);
    // kafkajs's encoder writes no control batches: set the attribute bit (offset 8 + 4 + 4 + 1 + 4 = 21 + 1 low byte).
    if (spec.marker !== undefined) buffer[22] = (buffer[22] as number) | CONTROL_FLAG;
    parts.push(buffer);
    offset += records.length + spec.trailingGap;
  }
  return { records: Buffer.concat(parts), firstOffsets, end: offset };
}

/** What the reader delivered through kafkajs: its decoder, the read_committed filter, no markers, the conversion. */
async function throughKafkajs(
  body: Buffer,
  topic: string,
  partition: number,
  from: number,
  aborted: { producerId: number; firstOffset: number }[],
) {
  const decoded = await kafkajsV11.decode(body);
  const messages = (decoded.responses[0]?.partitions[0]?.messages ?? []) as (FetchedMessage & KafkaMessage)[];
  const inRange = messages.filter((m) => Number(m.offset) >= from);
  const visible = filterAbortedMessages(
    inRange,
    aborted.map((a) => ({ producerId: String(a.producerId), firstOffset: String(a.firstOffset) })),
  );
  return visible.filter((m) => m.isControlRecord !== true).map((m) => toConsumedRecord(topic, partition, m));
}

/**
 * Aborted transactions for a response fetched from `from`: some transactional data batches' producers, from those
 * batches' first offsets. Like the broker, it lists only transactions that overlap the fetch: one whose abort marker
 * lies below `from` is left out (with it listed, the Java rule, which reads markers below `from`, and kafkajs's, which
 * drops records below `from` first, part ways in a case no broker sends).
 */
function abortedTransactions(
  specs: readonly BatchSpec[],
  firstOffsets: readonly number[],
  picks: readonly number[],
  from: number,
): { producerId: number; firstOffset: number }[] {
  const endsBelowFrom = (i: number) => {
    const producerId = specs[i]?.producerId;
    const marker = specs.findIndex((s, j) => j > i && s.marker === 'abort' && s.producerId === producerId);
    return marker !== -1 && (firstOffsets[marker] as number) < from;
  };
  const candidates = specs.flatMap((s, i) =>
    s.transactional && s.marker === undefined && !endsBelowFrom(i)
      ? [{ producerId: s.producerId, firstOffset: firstOffsets[i] as number }]
      : [],
  );
  if (candidates.length === 0) return [];
  return [...new Set(picks.map((p) => p % candidates.length))].map((i) => candidates[i] as { producerId: number; firstOffset: number });
}

const plain = (records: ConsumedRecord[]) => records.map((r) => ({ ...r, headers: { ...r.headers } }));

describe('decodeFetchV11', () => {
  it('decodes what kafkajs decodes: records, headers, timestamps, gzip, markers, aborted transactions, compacted tails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchSpec, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (specs, baseOffset, fromDelta, abortPicks) => {
          const { records: recordSet, firstOffsets, end } = await encodeBatches(specs, baseOffset, 1_700_000_000_000);
          const from = baseOffset + fromDelta;
          const aborted = abortedTransactions(specs, firstOffsets, abortPicks, from);
          const body = responseBody('t', 3, recordSet, aborted, end);
          const expected = await throughKafkajs(body, 't', 3, from, aborted);
          const decoded = await decodeFetchV11(body, decompress);
          const partition = decoded.responses[0]?.partitions[0];
          expect(partition?.partition).toBe(3);
          expect(partition?.highWatermark).toBe(String(end));
          expect(plain(visibleRecords(partition?.batches ?? [], partition?.abortedTransactions ?? [], from))).toEqual(plain(expected));
          // Every batch's end, records compacted away included.
          expect(Math.max(...(partition?.batches ?? []).map((b) => b.lastOffset)) + 1).toBe(end);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads in place (visibleRun) the records kafkajs delivers, from `from` and below an end offset', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchSpec, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (specs, baseOffset, fromDelta, endDelta, abortPicks) => {
          const { records: recordSet, firstOffsets, end } = await encodeBatches(specs, baseOffset, 1_700_000_000_000);
          const from = baseOffset + fromDelta;
          const until = baseOffset + endDelta;
          const aborted = abortedTransactions(specs, firstOffsets, abortPicks, from);
          const body = responseBody('t', 3, recordSet, aborted, end);
          const expected = plain((await throughKafkajs(body, 't', 3, from, aborted)).filter((r) => r.offset < until));
          const partition = (await decodeFetchV11(body, decompress)).responses[0]?.partitions[0];
          const run = visibleRun('t', 3, partition?.batches ?? [], partition?.abortedTransactions ?? [], from, until);
          if (run === undefined) throw new Error('every batch was decoded here: a run is expected');
          expect([run.topic, run.partition]).toEqual(['t', 3]);
          expect(plain(run.records())).toEqual(expected);
          // The cursor's fields are the records' (keys and values as ranges of its buffers), twice over.
          for (let pass = 0; pass < 2; pass++) {
            const cursor = run.cursor();
            const read: ConsumedRecord[] = [];
            while (cursor.next()) {
              const { keyBytes, valueBytes } = cursor;
              read.push({
                topic: 't',
                partition: 3,
                offset: cursor.offset,
                timestamp: cursor.timestamp,
                key: keyBytes === null ? null : Buffer.from(keyBytes.subarray(cursor.keyStart, cursor.keyEnd)),
                value: valueBytes === null ? null : Buffer.from(valueBytes.subarray(cursor.valueStart, cursor.valueEnd)),
                headers: cursor.record().headers,
              });
            }
            expect(cursor.next()).toBe(false);
            expect(plain(read)).toEqual(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stops at a partial batch at the end of the record set (cut at the byte limit)', async () => {
    const specs: BatchSpec[] = [0, 1].map(() => ({
      producerId: 1,
      transactional: false,
      gzip: false,
      records: [{ key: Buffer.from('k'), value: Buffer.from('v'), headers: {}, timestampDelta: 0 }],
      trailingGap: 0,
    }));
    const { records } = await encodeBatches(specs, 10, 1);
    const decoded = await decodeFetchV11(responseBody('t', 0, records.subarray(0, records.length - 5), [], 12), decompress);
    expect(decoded.responses[0]?.partitions[0]?.batches.map((b) => b.baseOffset)).toEqual([10]);
  });

  it('leaves message formats v0/v1 to kafkajs (LegacyFormatError), even a message shorter than a v2 batch header', async () => {
    // offset 0, size 20, crc, magic 1, attributes, timestamp, null key, null value: 32 bytes.
    const message = Buffer.alloc(32);
    message.writeInt32BE(20, 8);
    message.writeInt8(1, 16);
    message.writeInt32BE(-1, 24);
    message.writeInt32BE(-1, 28);
    await expect(decodeFetchV11(responseBody('t', 0, message, [], 1), decompress)).rejects.toBeInstanceOf(LegacyFormatError);
  });
});

describe("the group consumer's fetch path (fetch-response.ts, consumer-batch.ts)", () => {
  const MessageBatch = createBatchClass(
    ({ messages, abortedTransactions }) =>
      filterAbortedMessages(messages as unknown as FetchedMessage[], abortedTransactions as never) as unknown as typeof messages,
  );

  it("is the Fetch v11 decoder kafkajs's requests use (installed before kafkajs loaded)", () => {
    expect(fetchResponseInstalled).toBe(true);
    expect(require(V11_PATH)).not.toBe(kafkajsV11);
  });

  it("delivers the records kafkajs's decoder and batch deliver, and moves the position past every fetched batch", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchSpec, { minLength: 0, maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 25 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (specs, baseOffset, fromDelta, abortPicks) => {
          const { records: recordSet, firstOffsets, end } = await encodeBatches(specs, baseOffset, 1_700_000_000_000);
          const aborted = abortedTransactions(specs, firstOffsets, abortPicks, baseOffset + fromDelta);
          const body = responseBody('t', 3, recordSet, aborted, end);
          const fetchedOffset = String(baseOffset + fromDelta);
          const theirs = (await kafkajsV11.decode(body)).responses[0]?.partitions[0] as unknown as PartitionData<BatchMessage>;
          const expected = new MessageBatch('t', fetchedOffset, theirs);
          const decoded = await createFetchResponse(kafkajsV11).decode(body);
          const ours = (decoded as Awaited<ReturnType<typeof decodeFetchV11>>).responses[0]?.partitions[0];
          const batch = new DecodedPartitionBatch('t', fetchedOffset, ours as NonNullable<typeof ours>);
          expect(plain(batchRecords(batch))).toEqual(plain(toConsumedRecords('t', 3, expected.messages as unknown as KafkaMessage[])));
          expect(batch.isEmpty()).toBe(expected.isEmpty());
          expect(batch.isEmptyDueToFiltering()).toBe(expected.isEmptyDueToFiltering());
          // kafkajs's position stops at the last record; ours at the last batch's end (records compacted away too).
          const within = Number(fetchedOffset) < end;
          expect(batch.isEmptyIncludingFiltered()).toBe(!within);
          expect(batch.lastOffset()).toBe(within ? String(end - 1) : expected.lastOffset());
          if (!within) expect(batch.firstOffset()).toBe(null);
          else if (!batch.isEmpty()) expect(batch.firstOffset()).toBe(String(batchRecords(batch)[0]?.offset));
          expect(Number(batch.offsetLag())).toBe(end - 1 - Number(batch.lastOffset()));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('builds the records when they are first read, once', async () => {
    const specs: BatchSpec[] = [
      {
        producerId: 1,
        transactional: false,
        gzip: false,
        records: [{ key: null, value: Buffer.from('v'), headers: {}, timestampDelta: 0 }],
        trailingGap: 0,
      },
    ];
    const { records, end } = await encodeBatches(specs, 5, 1);
    const decoded = (await createFetchResponse(kafkajsV11).decode(responseBody('t', 0, records, [], end))) as Awaited<
      ReturnType<typeof decodeFetchV11>
    >;
    const batch = new DecodedPartitionBatch('t', '5', decoded.responses[0]?.partitions[0] as never);
    expect(batch.messages).toBe(batch.messages);
    expect(batch.messages.map((r) => [r.topic, r.partition, r.offset, r.value?.toString()])).toEqual([['t', 0, 5, 'v']]);
  });

  it('lets go of the records once handled, and builds them again if read again', async () => {
    const specs: BatchSpec[] = [
      {
        producerId: 1,
        transactional: false,
        gzip: false,
        records: [{ key: Buffer.from('k'), value: Buffer.from('v'), headers: {}, timestampDelta: 0 }],
        trailingGap: 0,
      },
    ];
    const { records, end } = await encodeBatches(specs, 5, 1);
    const decoded = (await createFetchResponse(kafkajsV11).decode(responseBody('t', 0, records, [], end))) as Awaited<
      ReturnType<typeof decodeFetchV11>
    >;
    const batch = new DecodedPartitionBatch('t', '5', decoded.responses[0]?.partitions[0] as never);
    const first = batch.messages;
    releaseBatchRecords(batch);
    expect(batch.messages).not.toBe(first);
    expect(plain(batch.messages)).toEqual(plain(first));
  });

  it("decodes message formats v0/v1 with kafkajs's decoder", async () => {
    // offset 0, size 20, crc, magic 1, attributes, timestamp, null key, null value: 32 bytes.
    const message = Buffer.alloc(32);
    message.writeInt32BE(20, 8);
    message.writeInt8(1, 16);
    message.writeInt32BE(-1, 24);
    message.writeInt32BE(-1, 28);
    const legacy = { responses: [] };
    const fallback = { decode: async () => legacy, parse: kafkajsV11.parse } as unknown as FetchResponseModule;
    await expect(createFetchResponse(fallback).decode(responseBody('t', 0, message, [], 1))).resolves.toBe(legacy);
  });
});
