import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import './client.js';
import { DecodedPartitionBatch } from './consumer-batch.js';
import { FetchAhead, installed, type AheadBroker, type AheadConsumerGroup, type BatchFactory } from './fetch-ahead.js';
import type { DecodedPartition } from './fetch-decoding.js';

const require = createRequire(import.meta.url);

/** A partition's data in a response: `count` offsets from `from`, the log `extra` offsets further. */
function partitionData(partition: number, from: number, count: number, extra: number): DecodedPartition {
  const end = from + count + extra;
  return {
    partition,
    errorCode: 0,
    highWatermark: String(end),
    lastStableOffset: String(end),
    abortedTransactions: [],
    batches:
      count === 0
        ? []
        : [
            {
              baseOffset: from,
              lastOffset: from + count - 1,
              producerId: -1,
              transactional: false,
              control: false,
              abort: false,
              records: [],
            },
          ],
  };
}

class FakeGroup implements AheadConsumerGroup {
  offsetManager: AheadConsumerGroup['offsetManager'];
  generationId = 1;
  readonly seekOffset = new Map<string, string>();
  readonly resolved = new Map<number, number>();
  readonly paused = new Set<number>();
  readonly requests: { partition: number; fetchOffset: string }[][] = [];
  respond: (partitions: { partition: number; fetchOffset: string }[]) => DecodedPartition[] = () => [];
  readonly maxWaitTime = 100;
  readonly minBytes = 1;
  readonly maxBytes = 1000;
  readonly maxBytesPerPartition = 100;
  readonly isolationLevel = 1;
  readonly rackId = '';

  constructor(readonly partitions: number[]) {
    this.offsetManager = this.newOffsetManager();
  }

  newOffsetManager(): AheadConsumerGroup['offsetManager'] {
    return {
      nextOffset: (_topic: string, partition: number) => String(this.resolved.get(partition) ?? 0),
      committedOffsets: () => ({ t: Object.fromEntries(this.partitions.map((p) => [p, '0'])) }),
    };
  }

  readonly subscriptionState = {
    assigned: () => [{ topic: 't', partitions: [...this.partitions] }],
    isPaused: (_topic: string, partition: number) => this.paused.has(partition),
  };

  readonly cluster = {
    refreshMetadataIfNecessary: async () => undefined,
    findBroker: async (): Promise<AheadBroker> => ({
      fetch: async (request) => {
        const partitions = request.topics.flatMap((t) => t.partitions.map(({ partition, fetchOffset }) => ({ partition, fetchOffset })));
        this.requests.push(partitions);
        return { responses: [{ topicName: 't', partitions: this.respond(partitions) }] };
      },
    }),
  };

  filterPartitionsByNode(_nodeId: number, topicPartitions: { topic: string; partitions: number[] }[]) {
    return topicPartitions;
  }

  getActiveTopicPartitions() {
    return { t: new Set(this.partitions.filter((p) => !this.paused.has(p))) };
  }

  checkForStaleAssignment(): void {}
}

const Batch = DecodedPartitionBatch as unknown as BatchFactory;

describe('fetch-ahead (kafkajs consumer runner)', () => {
  it("is the runner kafkajs's consumer uses (installed before kafkajs loaded)", () => {
    expect(installed).toBe(true);
    expect((require('kafkajs/src/consumer/runner.js') as { name: string }).name).toBe('FetchAheadRunner');
  });

  it('fetches from where the batches end, and keeps exactly the partitions whose position got there', async () => {
    const outcome = fc.constantFrom('whole' as const, 'part' as const, 'none' as const, 'paused' as const);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ from: fc.nat(50), count: fc.nat(4), extra: fc.nat(3), outcome, inResponse: fc.boolean() }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom('none' as const, 'seek' as const, 'rejoin' as const),
        async (specs, event) => {
          const group = new FakeGroup(specs.map((_, p) => p));
          specs.forEach((s, p) => group.resolved.set(p, s.from));
          const fetched = specs.flatMap((s, p) =>
            s.inResponse ? [new Batch('t', String(s.from), partitionData(p, s.from, s.count, s.extra) as never)] : [],
          );
          group.respond = (partitions) =>
            partitions.map(({ partition, fetchOffset }) => partitionData(partition, Number(fetchOffset), 2, 0));
          const ahead = new FetchAhead(group, Batch);
          ahead.start(0, fetched);
          const behind = specs.some((s) => s.inResponse && s.extra > 0);
          expect(group.requests.length).toBe(0); // sent after a tick (metadata check first)
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setImmediate(resolve));
          if (!behind) {
            expect(group.requests).toEqual([]);
            expect(await ahead.take(0)).toBeUndefined();
            return;
          }
          const expectedNext = specs.map((s) => (s.inResponse && s.count > 0 ? s.from + s.count : s.from));
          expect(group.requests[0]).toEqual(specs.map((_, p) => ({ partition: p, fetchOffset: String(expectedNext[p]) })));
          // The handling of the batches: kafkajs resolves (or not) each partition's position.
          specs.forEach((s, p) => {
            if (!s.inResponse) return;
            if (s.outcome === 'whole') group.resolved.set(p, expectedNext[p] as number);
            if (s.outcome === 'part' && s.count > 1) group.resolved.set(p, s.from + 1);
            if (s.outcome === 'paused') group.paused.add(p);
          });
          if (event === 'seek') group.seekOffset.set('["t",0]', '0');
          if (event === 'rejoin') {
            group.offsetManager = group.newOffsetManager();
            group.generationId++;
          }
          const taken = await ahead.take(0);
          const kept = specs.flatMap((s, p) =>
            event === 'none' && !group.paused.has(p) && (group.resolved.get(p) ?? 0) === expectedNext[p] ? [p] : [],
          );
          if (kept.length === 0) expect(taken).toBeUndefined();
          else expect(taken?.map((b) => [b.partition, b.fetchedOffset])).toEqual(kept.map((p) => [p, String(expectedNext[p])]));
          // Taken once.
          expect(await ahead.take(0)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drops a fetch ahead that failed (kafkajs fetches itself and handles the error)', async () => {
    const group = new FakeGroup([0]);
    group.respond = () => {
      throw new Error('NOT_LEADER_OR_FOLLOWER');
    };
    const ahead = new FetchAhead(group, Batch);
    ahead.start(0, [new Batch('t', '0', partitionData(0, 0, 2, 5) as never)]);
    group.resolved.set(0, 2);
    expect(await ahead.take(0)).toBeUndefined();
    expect(group.requests.length).toBe(1);
  });

  it('starts nothing while a seek is pending or when the group has no assignment', () => {
    const group = new FakeGroup([0]);
    group.seekOffset.set('["t",0]', '5');
    const ahead = new FetchAhead(group, Batch);
    ahead.start(0, [new Batch('t', '0', partitionData(0, 0, 2, 5) as never)]);
    group.seekOffset.clear();
    group.offsetManager = null;
    ahead.start(0, [new Batch('t', '0', partitionData(0, 0, 2, 5) as never)]);
    expect(group.requests).toEqual([]);
  });
});
