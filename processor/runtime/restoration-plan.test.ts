import { describe, expect, it } from 'vitest';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import { RestorationPlan } from './restoration-plan.js';
import { RestorationTracker } from './restoration-tracker.js';

const builder = new StreamsBuilder();
const customers = builder.table('customers', { key: Serdes.string(), value: Serdes.json<{ name: string }>(), store: 'customers' });
builder
  .stream('orders', { key: Serdes.string(), value: Serdes.string() })
  .join(customers, (order, customer) => `${order}@${customer.name}`)
  .to('out', { value: Serdes.string() });
const topology = builder.build({ applicationId: 'plan' });
const spec = topology.subtopologies[0].tableSources[0];
const TP = topicPartitionId('customers', 3);

const rec = (offset: number, key: string, value: string | null): ConsumedRecord => ({
  topic: 'customers',
  partition: 3,
  offset,
  timestamp: offset,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: {},
});
const named = (name: string) => JSON.stringify({ name });

interface Setup {
  readonly checkpoint?: number;
  readonly committed?: number;
  readonly end: number;
}

async function plan({ checkpoint, committed, end }: Setup) {
  const store = new MemoryKeyValueStore<unknown>('customers', 3);
  if (checkpoint !== undefined) await store.write([], new Map([[TP, checkpoint]]));
  const deadLetters: ProducedRecord[] = [];
  const deadLetterFlags: boolean[] = [];
  const tracker = new RestorationTracker(() => {});
  const restoration = new RestorationPlan({
    partition: 3,
    tableSources: [spec],
    stores: new Map([['customers', store]]),
    committed: committed === undefined ? new Map() : new Map([[TP, committed]]),
    ends: new Map([[TP, end]]),
    tracker,
    decoder: (source, deadLetterBadRecords) => {
      deadLetterFlags.push(deadLetterBadRecords);
      return createTableRecordDecoder(source, {
        applicationId: 'plan',
        deadLetters: deadLetterBadRecords ? async (letters) => void deadLetters.push(...letters) : undefined,
      });
    },
  });
  return { restoration, store, tracker, deadLetters, deadLetterFlags };
}

describe('RestorationPlan', () => {
  it('starts at the store checkpoint and restores up to the committed offset', async () => {
    const { restoration, store, tracker } = await plan({ checkpoint: 1, committed: 3, end: 5 });
    expect(restoration.starts).toEqual([{ tp: TP, topic: 'customers', partition: 3, offset: 1, end: 5 }]);
    expect(restoration.restoring).toBe(true);
    expect(restoration.isRestoring(TP)).toBe(true);
    expect(restoration.floors().size).toBe(0);

    const first = await restoration.apply(TP, [rec(1, 'a', named('Ada'))], 5);
    expect(first).toEqual({ rest: [], finished: false });
    const second = await restoration.apply(TP, [rec(2, 'b', named('Bob')), rec(3, 'a', named('Ann')), rec(4, 'c', named('Cy'))], 5);
    // Offsets from the committed one on were never restored: the task processes them.
    expect(second.finished).toBe(true);
    expect(second.rest.map((r) => r.offset)).toEqual([3, 4]);
    expect(await store.get(Buffer.from('a'))).toEqual({ name: 'Ada' });
    expect(store.checkpoints().get(TP)).toBe(3);
    expect(restoration.restoring).toBe(false);
    expect(restoration.floors()).toEqual(new Map([[TP, 3]]));
    expect(tracker.progress()).toMatchObject([{ store: 'customers', partition: 3, restoredOffset: 3, endOffset: 3, done: true }]);
    expect(tracker.totalsByStore().customers).toEqual({ restoredRecords: 2, restorations: 1, skipped: 0 });
  });

  it('restores a partition never committed up to its end at assignment, dead-lettering its bad records', async () => {
    const { restoration, store, deadLetters, deadLetterFlags } = await plan({ end: 2 });
    expect(restoration.starts[0].offset).toBe(0);
    expect(deadLetterFlags).toEqual([true]);
    const result = await restoration.apply(TP, [rec(0, 'a', named('Ada')), rec(1, 'b', '{not json')], 2);
    expect(result).toEqual({ rest: [], finished: true });
    expect(await store.get(Buffer.from('a'))).toEqual({ name: 'Ada' });
    expect(deadLetters.map((letter) => letter.topic)).toEqual(['plan-dlq']);
    expect(restoration.floors()).toEqual(new Map([[TP, 2]]));
  });

  it('skips bad records below a committed offset without dead-lettering them again', async () => {
    const { restoration, deadLetters, deadLetterFlags } = await plan({ committed: 2, end: 2 });
    expect(deadLetterFlags).toEqual([false]);
    expect((await restoration.apply(TP, [rec(0, 'a', named('Ada')), rec(1, 'b', '{not json')], 2)).finished).toBe(true);
    expect(deadLetters).toEqual([]);
  });

  it('finishes when the log ends below the target (compaction or transaction markers)', async () => {
    const { restoration } = await plan({ committed: 10, end: 10 });
    expect(await restoration.apply(TP, [rec(4, 'a', named('Ada'))], 10)).toEqual({ rest: [], finished: false });
    expect(await restoration.apply(TP, [rec(7, 'b', named('Bob'))], 8)).toEqual({ rest: [], finished: true });
    expect(restoration.floors()).toEqual(new Map([[TP, 8]]));
  });

  it('has nothing to restore when the store is at its target; the checkpoint is the committable floor', async () => {
    const { restoration, tracker } = await plan({ checkpoint: 4, committed: 4, end: 6 });
    expect(restoration.restoring).toBe(false);
    expect(restoration.isTablePartition(TP)).toBe(true);
    expect(restoration.isTablePartition(topicPartitionId('orders', 3))).toBe(false);
    expect(restoration.floors()).toEqual(new Map([[TP, 4]]));
    expect(tracker.totalsByStore().customers).toEqual({ restoredRecords: 0, restorations: 0, skipped: 1 });
  });

  it('passes batches of partitions it does not restore through untouched', async () => {
    const { restoration } = await plan({ end: 0 });
    const batch = [rec(0, 'a', named('Ada'))];
    expect(await restoration.apply(TP, batch, 1)).toEqual({ rest: batch, finished: false });
    expect(restoration.floors().size).toBe(0); // no checkpoint, nothing restored: nothing to commit for it yet
  });
});
