/**
 * Parked reads must never change results: a task processing a batch of records, where records park on cache misses
 * and later records overtake them unless they share state, must produce exactly the outputs and the stores of the
 * same task taking one record at a time (each fully resolved before the next). Checked over random inputs for a
 * topology mixing every stateful node: a table source forwarding changes, a stream–table join, aggregations (plain,
 * windowed, over a re-grouped table) and a table–table join, with caches from none to tiny.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { TimeWindows } from '../../topology/windows.js';
import { StreamTask } from './stream-task.js';

const str = Serdes.string();
const num = Serdes.json<number>();

function topology(): Topology {
  const b = new StreamsBuilder();
  const factors = b.table('factors', { key: str, value: num, store: 'factors' });
  const events = b.stream('events', { key: str, value: num });
  const scaled = events.leftJoin(factors, (n, factor) => n * (factor ?? 1));
  const lists = scaled.groupByKey().aggregate(
    (): number[] => [],
    (_k, n, list) => [...list, n],
    { store: 'lists' },
  );
  lists.toStream().to('lists-out');
  events
    .groupByKey()
    .windowedBy(TimeWindows.ofSize(10).advanceBy(5).grace(3))
    .reduce((a, n) => a * 31 + n, { store: 'windows', value: num, retentionMs: 40 })
    .toStream()
    .to('windows-out');
  factors
    .filter((_k, f) => f % 3 !== 0)
    .join(lists, (f, list) => f * list.length, { store: 'joined', value: num })
    .toStream()
    .to('joined-out');
  return b.build({ applicationId: 'order' });
}

interface Input {
  readonly topic: 'factors' | 'events';
  readonly key: string;
  readonly value: number | null;
  readonly timestamp: number;
}

const input = fc.record({
  topic: fc.constantFrom<'factors' | 'events'>('factors', 'events'),
  key: fc.constantFrom('a', 'b', 'c', 'd'),
  value: fc.option(fc.integer({ min: 1, max: 9 }), { freq: 6 }),
  timestamp: fc.integer({ min: 0, max: 60 }),
});

function consumed(inputs: readonly Input[]): ConsumedRecord[] {
  const offsets = { factors: 0, events: 0 };
  return inputs.map((i) => ({
    topic: i.topic,
    partition: 0,
    offset: offsets[i.topic]++,
    timestamp: i.timestamp,
    key: Buffer.from(i.key),
    value: i.value === null ? null : num.serialize(i.value),
    headers: {},
  }));
}

async function run(t: Topology, records: readonly ConsumedRecord[], batches: readonly number[], cacheSize: number, oneByOne: boolean) {
  const sub = t.subtopologies.find((s) => s.stores.includes('lists'));
  if (sub === undefined) throw new Error('no sub-topology');
  const stores = new Map(sub.stores.map((name) => [name, new MemoryKeyValueStore<unknown>(name, 0)]));
  const task = new StreamTask({ topology: t, subtopologyId: sub.id, partition: 0, stores, cacheSize });
  const outputs: ProducedRecord[] = [];
  let next = 0;
  for (const size of [...batches, records.length]) {
    task.addRecords(records.slice(next, next + size));
    next += size;
    for (;;) {
      const result = await task.process({ maxRecords: oneByOne ? 1 : undefined });
      outputs.push(...result.outputs);
      if (result.processed === 0) break;
    }
    await task.commit();
  }
  const contents: Record<string, [string, unknown][]> = {};
  for (const [name, store] of stores) {
    contents[name] = [];
    for await (const entry of store.range()) contents[name].push([entry.key.toString('hex'), entry.value]);
  }
  const rendered = outputs.map((o) => `${o.topic}:${o.partition ?? '-'}:${o.key?.toString('hex')}=${o.value?.toString('hex') ?? 'null'}`);
  return { rendered, contents };
}

describe('parked reads keep results independent of batching (property)', () => {
  it('a batch with parked records yields the outputs and stores of one record at a time', async () => {
    const t = topology();
    await fc.assert(
      fc.asyncProperty(
        fc.array(input, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 5 }),
        fc.integer({ min: 0, max: 3 }),
        async (inputs, batches, cacheSize) => {
          const records = consumed(inputs);
          const batched = await run(t, records, batches, cacheSize, false);
          const single = await run(t, records, batches, cacheSize, true);
          expect(batched.rendered).toEqual(single.rendered);
          expect(batched.contents).toEqual(single.contents);
        },
      ),
      { numRuns: 300 },
    );
  });
});
