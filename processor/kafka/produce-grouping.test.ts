import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition, installed } from './produce-grouping.js';
import './client.js';

/** kafkajs 2.2.4's version, as it is (quadratic). */
function original<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (a: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, M[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

describe('groupMessagesPerPartition (kafkajs replacement)', () => {
  it('groups exactly like kafkajs: same partitions, same order, partitioner called once per message in order', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ p: fc.nat(7), v: fc.nat() })), fc.nat(3), (messages, metadataCount) => {
        const partitionMetadata = Array.from({ length: metadataCount }, (_, i) => ({ partitionId: i }));
        const calls: unknown[][] = [[], []];
        const run = (i: number, fn: typeof original) =>
          fn({
            topic: 't',
            partitionMetadata,
            messages,
            partitioner: ({ message }) => {
              calls[i].push(message);
              return message.p;
            },
          });
        expect(run(0, groupMessagesPerPartition)).toEqual(run(1, original));
        expect(calls[0]).toEqual(calls[1]);
      }),
    );
  });

  it("is the grouping kafkajs's producer uses (installed before kafkajs loaded)", () => {
    expect(installed).toBe(true);
    expect(createRequire(import.meta.url)('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
  });
});
