import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBatchClass, installed, type BatchMessage, type PartitionData } from './consumer-batch.js';
import { FetchedRecord, type RecordBatchContext } from './record-decoding.js';
import './client.js';

const require = createRequire(import.meta.url);
const BATCH_PATH = 'kafkajs/src/consumer/batch.js';

/** kafkajs 2.2.4's Batch, as it is (loaded fresh, outside the module cache entry the patch replaced). */
function originalBatch(): new (topic: string, fetchedOffset: string, data: PartitionData<unknown>) => KafkajsBatch {
  const path = require.resolve(BATCH_PATH);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as new (topic: string, fetchedOffset: string, data: PartitionData<unknown>) => KafkajsBatch;
  } finally {
    require.cache[path] = cached;
  }
}

interface KafkajsBatch {
  readonly fetchedOffset: string;
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly rawMessages: unknown[];
  readonly messagesWithinOffset: unknown[];
  readonly messages: unknown[];
  isEmpty(): boolean;
  isEmptyIncludingFiltered(): boolean;
  isEmptyDueToFiltering(): boolean;
  isEmptyControlRecord(): boolean;
  isEmptyDueToLogCompactedMessages(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}

const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as Parameters<typeof createBatchClass>[0];
const Original = originalBatch();
const Replacement = createBatchClass(filterAbortedMessages);

function view(batch: KafkajsBatch) {
  const offsets = (list: unknown[]) => list.map((m) => (m as { offset: string }).offset);
  return {
    fetchedOffset: batch.fetchedOffset,
    topic: batch.topic,
    partition: batch.partition,
    highWatermark: batch.highWatermark,
    raw: batch.rawMessages,
    within: offsets(batch.messagesWithinOffset),
    messages: offsets(batch.messages),
    isEmpty: batch.isEmpty(),
    isEmptyIncludingFiltered: batch.isEmptyIncludingFiltered(),
    isEmptyDueToFiltering: batch.isEmptyDueToFiltering(),
    isEmptyControlRecord: batch.isEmptyControlRecord(),
    isEmptyDueToLogCompactedMessages: batch.isEmptyDueToLogCompactedMessages(),
    firstOffset: batch.firstOffset(),
    lastOffset: batch.lastOffset(),
    offsetLag: batch.offsetLag(),
    offsetLagLow: batch.offsetLagLow(),
  };
}

function record(offset: bigint, control: boolean, producerId: string, inTransaction: boolean, abort: boolean): BatchMessage {
  const context = { firstOffset: '0', firstTimestamp: '0', producerId, inTransaction } as RecordBatchContext;
  const key = control ? Buffer.from([0, 0, 0, abort ? 0 : 1]) : Buffer.from('k');
  if (offset <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return new FetchedRecord(2, 0, 1, Number(offset), key, null, {}, control, context);
  }
  // What kafkajs's own decoder returns (offsets beyond 2^53).
  const headers = {};
  const message = {
    magicByte: 2,
    attributes: 0,
    timestamp: '1',
    offset: String(offset),
    key,
    value: null,
    headers,
    isControlRecord: control,
    batchContext: context,
  };
  return message;
}

describe("consumer batch (kafkajs's Batch, numeric offsets)", () => {
  it("is the class kafkajs's consumer group uses (installed before kafkajs loaded)", () => {
    expect(installed).toBe(true);
    expect(require(BATCH_PATH)).not.toBe(Original);
  });

  it('behaves exactly as kafkajs does (offset filter, aborted and control records, offsets and lags)', () => {
    const start = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 2n ** 53n - 20n, max: 2n ** 53n + 20n }));
    fc.assert(
      fc.property(
        start,
        fc.array(
          fc.record({
            gap: fc.bigInt({ min: 1n, max: 3n }),
            control: fc.boolean(),
            abort: fc.boolean(),
            producer: fc.constantFrom('1', '2'),
            inTransaction: fc.boolean(),
          }),
          { maxLength: 12 },
        ),
        fc.integer({ min: -3, max: 15 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.record({ producerId: fc.constantFrom('1', '2'), step: fc.integer({ min: 0, max: 12 }) }), { maxLength: 2 }),
        (first, specs, fetchedStep, hwStep, aborted) => {
          let offset = first;
          const messages = specs.map((s) => {
            offset += s.gap;
            return record(offset, s.control, s.producer, s.inTransaction, s.abort);
          });
          const fetchedOffset = String(first + BigInt(Math.max(fetchedStep, 0)));
          const data = {
            partition: 3,
            highWatermark: String(offset + BigInt(hwStep)),
            abortedTransactions: aborted.map((a) => ({ producerId: a.producerId, firstOffset: String(first + BigInt(a.step)) })),
            messages,
          };
          const expected = view(new Original('t', fetchedOffset, data));
          const actual = view(new Replacement('t', fetchedOffset, data) as unknown as KafkajsBatch);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
