import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterAbortedMessages, installed, type AbortedTransaction, type FetchedMessage } from './aborted-transactions.js';
import './client.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

function record(offset: number, producerId: string, inTransaction = true): FetchedMessage & { value: string } {
  return { offset: String(offset), key: Buffer.from('k'), value: `${producerId}@${offset}`, batchContext: { producerId, inTransaction } };
}

function marker(offset: number, producerId: string, key: Buffer): FetchedMessage & { value: string } {
  return {
    offset: String(offset),
    key,
    isControlRecord: true,
    value: `marker ${producerId}@${offset}`,
    batchContext: { producerId, inTransaction: true },
  };
}

describe('filterAbortedMessages (read_committed)', () => {
  it('drops the records of every aborted transaction, whatever order the broker lists them in, keeping the others', () => {
    // A aborted (first offset 0), B committed, C aborted (first offset 2) — the broker lists C first (aborted first).
    const messages = [
      record(0, 'A'),
      record(1, 'B'),
      record(2, 'C'),
      record(3, 'A'),
      marker(4, 'C', ABORT),
      marker(5, 'B', COMMIT),
      record(6, 'A'),
      marker(7, 'A', ABORT),
      record(8, 'A'),
      record(9, 'D', false),
    ];
    const aborted: AbortedTransaction[] = [
      { producerId: 'C', firstOffset: '2' },
      { producerId: 'A', firstOffset: '0' },
    ];
    expect(filterAbortedMessages(messages, aborted).map((m) => (m as { value: string }).value)).toEqual([
      'B@1',
      'marker C@4',
      'marker B@5',
      'marker A@7',
      'A@8',
      'D@9',
    ]);
  });

  it('a fetch starting inside several aborted transactions drops all of them from its first record (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 20 }),
        (producers, start) => {
          // Every producer's transaction is aborted, started before the fetch; the list comes in any order.
          const messages = producers.map((p, i) => record(start + i, `P${p}`));
          const aborted = [...new Set(producers)]
            .map((p) => ({ producerId: `P${p}`, firstOffset: String(Math.max(0, start - 1 - p)) }))
            .reverse();
          expect(filterAbortedMessages(messages, aborted)).toEqual([]);
        },
      ),
    );
  });

  it("is the filter kafkajs's consumer uses (installed before kafkajs loaded)", () => {
    expect(installed).toBe(true);
    const Batch = createRequire(import.meta.url)('kafkajs/src/consumer/batch.js') as new (
      topic: string,
      fetchedOffset: string,
      partitionData: unknown,
    ) => { messages: { offset: string }[] };
    const batch = new Batch('t', '0', {
      partition: 0,
      highWatermark: '4',
      abortedTransactions: [
        { producerId: 'C', firstOffset: '1' },
        { producerId: 'A', firstOffset: '0' },
      ],
      messages: [record(0, 'A'), record(1, 'C'), record(2, 'B', false), marker(3, 'A', ABORT)],
    });
    expect(batch.messages.map((m) => m.offset)).toEqual(['2']);
  });
});
