/**
 * StreamTask driven directly, the way the Kafka runtime drives it: addRecords → process → send → commit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { TaskStateError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Topology } from '../../topology/topology.js';
import { Serdes } from '../../topology/serdes.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { ConsumedRecord } from '../../common/records.js';
import { StreamTask } from './stream-task.js';

const str = Serdes.string();

function joinTopology(): Topology {
  const b = new StreamsBuilder();
  const table = b.table('customers', { key: str, value: str, store: 'customers' });
  b.stream('orders', { key: str, value: str })
    .leftJoin(table, (order, name) => `${order}@${name ?? 'none'}`)
    .to('out', { value: str });
  return b.build({ applicationId: 'task' });
}

function rec(topic: string, offset: number, timestamp: number, key: string | null, value: string | null): ConsumedRecord {
  return {
    topic,
    partition: 0,
    offset,
    timestamp,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: {},
  };
}

/** Counts round trips to the store, to check lookups are batched. */
class CountingStore extends MemoryKeyValueStore<unknown> {
  getManyCalls = 0;
  keysRequested = 0;
  override async getMany(keys: readonly Uint8Array[]): Promise<(unknown | undefined)[]> {
    this.getManyCalls++;
    this.keysRequested += keys.length;
    return super.getMany(keys);
  }
}

function newTask(
  topology: Topology,
  store: KeyValueStore<unknown>,
  options: { maxTaskIdleMs?: number; maxFetchWaitMs?: number } = {},
): StreamTask {
  return new StreamTask({ topology, subtopologyId: 0, partition: 0, stores: new Map([['customers', store]]), ...options });
}

const outputValues = (outputs: readonly { value: Buffer | null }[]): string[] => outputs.map((o) => o.value?.toString() ?? 'null');

describe('StreamTask waits for partitions known to hold unfetched records', () => {
  // The runtime reports each input's next offset and log end. An order must not be joined while an older table
  // update is known to wait in Kafka, even though the two partitions' fetches arrive separately.
  it('does not process an order while the table partition has unfetched records; then joins in timestamp order', async () => {
    const task = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0), { maxFetchWaitMs: 60_000 });
    task.noteFetchPosition('customers:0', 0, 1); // one table record waits in Kafka
    task.noteFetchPosition('orders:0', 0, 1);
    task.addRecords([rec('orders', 0, 20, 'c1', 'o1')]);
    expect(task.readyToProcess(1_000)).toBe(false);
    expect((await task.process({ nowMs: 1_000 })).outputs).toEqual([]);
    task.addRecords([rec('customers', 0, 10, 'c1', 'Ada')]); // the table fetch arrives
    expect(task.readyToProcess(1_001)).toBe(true);
    expect(outputValues((await task.process({ nowMs: 1_001 })).outputs)).toEqual(['o1@Ada']);
  });

  it('processes at once when the empty partition is caught up, and after maxFetchWaitMs when it never arrives', async () => {
    const caughtUp = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0));
    caughtUp.noteFetchPosition('customers:0', 5, 5);
    caughtUp.addRecords([rec('orders', 0, 20, 'c1', 'o1')]);
    expect(caughtUp.readyToProcess(0)).toBe(true);

    const stuck = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0), { maxFetchWaitMs: 500 });
    stuck.noteFetchPosition('customers:0', 4, 5); // e.g. a trailing transaction marker the consumer never delivers
    stuck.addRecords([rec('orders', 0, 20, 'c1', 'o1')]);
    expect(stuck.readyToProcess(1_000)).toBe(false);
    expect(stuck.readyToProcess(1_499)).toBe(false);
    expect(stuck.readyToProcess(1_500)).toBe(true);
    expect(outputValues((await stuck.process({ nowMs: 1_500 })).outputs)).toEqual(['o1@none']);
  });

  it('moves its position past offsets the consumer skipped once the records before them are processed', async () => {
    const store = new MemoryKeyValueStore('customers', 0);
    const task = newTask(joinTopology(), store);
    task.noteFetchPosition('customers:0', 0, 4);
    task.addRecords([rec('customers', 0, 1, 'c1', 'Ada'), rec('customers', 1, 2, 'c2', 'Bob')]);
    // Offsets 2 and 3 are a commit marker and an aborted record: the consumer moved past them without records.
    task.advancePosition('customers:0', 4);
    expect(task.position('customers:0')).toBeUndefined(); // the two records are still buffered
    expect(task.readyToProcess(0)).toBe(true); // the skip is a fetch position too: nothing left to wait for
    await task.process({ nowMs: 0 });
    expect(task.position('customers:0')).toBe(4);
    expect(await task.commit()).toEqual(new Map([['customers:0', 4]]));
    expect(store.checkpoints().get('customers:0')).toBe(4);
    // A later record moves it on as usual; an older skip does not move it back.
    task.addRecords([rec('customers', 4, 3, 'c3', 'Cy')]);
    task.advancePosition('customers:0', 2);
    await task.process({ nowMs: 0 });
    expect(task.committableOffsets().get('customers:0')).toBe(5);
  });

  it('never waits when the runtime reports nothing (the test driver)', () => {
    const task = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0));
    task.addRecords([rec('orders', 0, 20, 'c1', 'o1')]);
    expect(task.readyToProcess(0)).toBe(true);
  });
});

describe('StreamTask', () => {
  it('resolves all join lookups of a chunk with one getMany and keeps input order', async () => {
    const store = new CountingStore('customers', 0);
    await store.write([
      { type: 'put', key: Buffer.from('c1'), value: 'Ada' },
      { type: 'put', key: Buffer.from('c3'), value: 'Grace' },
    ]);
    const task = newTask(joinTopology(), store);
    task.addRecords(Array.from({ length: 50 }, (_, i) => rec('orders', i, i, `c${i % 5}`, `o${i}`)));
    const { processed, outputs } = await task.process();
    expect(processed).toBe(50);
    expect(store.getManyCalls).toBe(1);
    expect(store.keysRequested).toBe(5); // distinct keys only
    const names = ['none', 'Ada', 'none', 'Grace', 'none'];
    expect(outputValues(outputs)).toEqual(Array.from({ length: 50 }, (_, i) => `o${i}@${names[i % 5]}`));

    // Looked-up keys are cached: the next chunk needs no store round trip.
    task.addRecords([rec('orders', 50, 50, 'c1', 'again')]);
    expect(outputValues((await task.process()).outputs)).toEqual(['again@Ada']);
    expect(store.getManyCalls).toBe(1);
  });

  it('a table update waits for parked lookups: earlier orders see the old value, later ones the new', async () => {
    const store = new CountingStore('customers', 0);
    const task = newTask(joinTopology(), store);
    task.addRecords([rec('orders', 0, 1, 'c1', 'first'), rec('orders', 1, 3, 'c1', 'third')]);
    task.addRecords([rec('customers', 0, 2, 'c1', 'Ada')]);
    expect(outputValues((await task.process()).outputs)).toEqual(['first@none', 'third@Ada']);
  });

  it('timestamp order across input partitions decides join results, whatever the arrival interleaving', async () => {
    const topology = joinTopology();
    const customers = [
      rec('customers', 0, 5, 'c1', 'Ada'),
      rec('customers', 1, 15, 'c1', 'Ada Lovelace'),
      rec('customers', 2, 25, 'c1', null),
      rec('customers', 3, 35, 'c2', 'Grace'),
    ];
    const orders = Array.from({ length: 8 }, (_, i) => rec('orders', i, i * 5 + 2, i % 2 === 0 ? 'c1' : 'c2', `o${i}`));
    const expected = ['o0@none', 'o1@none', 'o2@Ada', 'o3@none', 'o4@Ada Lovelace', 'o5@none', 'o6@none', 'o7@Grace'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), fc.integer({ min: 1, max: 12 }), async (picks, chunk) => {
        // Arrival: an arbitrary interleaving of the two partitions (each in offset order), added in chunks.
        const arrival: ConsumedRecord[] = [];
        let c = 0;
        let o = 0;
        for (const pickCustomer of picks) {
          if ((pickCustomer && c < customers.length) || o >= orders.length) arrival.push(customers[c++]);
          else arrival.push(orders[o++]);
        }
        const task = newTask(topology, new MemoryKeyValueStore('customers', 0));
        for (let i = 0; i < arrival.length; i += chunk) task.addRecords(arrival.slice(i, i + chunk));
        expect(outputValues((await task.process()).outputs)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps table writes in memory until commit, then writes them with the checkpoint atomically', async () => {
    const store = new MemoryKeyValueStore<unknown>('customers', 0);
    const task = newTask(joinTopology(), store);
    task.addRecords([rec('customers', 7, 1, 'c1', 'Ada'), rec('orders', 3, 2, 'c1', 'o')]);
    expect(outputValues((await task.process()).outputs)).toEqual(['o@Ada']); // read-your-writes
    expect(await store.get(Buffer.from('c1'))).toBeUndefined();
    const offsets = await task.commit();
    expect([...offsets]).toEqual([
      ['customers:0', 8],
      ['orders:0', 4],
    ]);
    expect(await store.get(Buffer.from('c1'))).toBe('Ada');
    expect([...store.checkpoints()]).toEqual([['customers:0', 8]]);
  });

  it('works on a real LevelDB store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-task-'));
    const store = await LevelKeyValueStore.open<unknown>({ location: join(dir, 'customers-0'), name: 'customers', partition: 0 });
    try {
      const task = newTask(joinTopology(), store);
      task.addRecords([rec('customers', 0, 1, 'c1', 'Ada'), rec('orders', 0, 2, 'c1', 'o1'), rec('orders', 1, 3, 'c2', 'o2')]);
      expect(outputValues((await task.process()).outputs)).toEqual(['o1@Ada', 'o2@none']);
      await task.commit();
      expect(await store.get(Buffer.from('c1'))).toBe('Ada');
      expect(store.checkpoints().get('customers:0')).toBe(1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('waits up to maxTaskIdleMs for an empty input partition before processing the others', async () => {
    const task = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0), { maxTaskIdleMs: 100 });
    task.addRecords([rec('orders', 0, 1, 'c1', 'o')]);
    expect(task.readyToProcess(1_000)).toBe(false);
    expect((await task.process({ nowMs: 1_050 })).processed).toBe(0);
    expect(task.readyToProcess(1_100)).toBe(true);
    expect((await task.process({ nowMs: 1_100 })).processed).toBe(1);
  });

  it('honours maxRecords and rejects records of partitions it does not own', async () => {
    const task = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0));
    task.addRecords([rec('orders', 0, 1, 'a', '1'), rec('orders', 1, 2, 'b', '2'), rec('orders', 2, 3, 'c', '3')]);
    expect((await task.process({ maxRecords: 2 })).processed).toBe(2);
    expect(task.bufferedCount()).toBe(1);
    expect([...task.committableOffsets()]).toEqual([['orders:0', 2]]);
    expect(() => task.addRecords([{ ...rec('orders', 0, 1, 'a', '1'), partition: 1 }])).toThrow(TaskStateError);
  });

  it('resolves source and sink topics when it is built, not per record', async () => {
    const topicOf = vi.spyOn(Topology.prototype, 'topicOf');
    try {
      const task = newTask(joinTopology(), new MemoryKeyValueStore('customers', 0));
      topicOf.mockClear();
      task.addRecords(Array.from({ length: 20 }, (_, i) => rec('orders', i, i, 'c1', `o${i}`)));
      expect((await task.process()).outputs).toHaveLength(20);
      expect(topicOf).not.toHaveBeenCalled();
    } finally {
      topicOf.mockRestore();
    }
  });

  it('after a fail-policy error the task refuses further work', async () => {
    const b = new StreamsBuilder();
    b.stream('orders', { key: str, value: Serdes.json() }).to('out');
    const task = new StreamTask({
      topology: b.build({ applicationId: 'f' }),
      subtopologyId: 0,
      partition: 0,
      stores: new Map(),
      errorPolicy: { deserialization: 'fail' },
    });
    task.addRecords([rec('orders', 0, 1, 'k', '{}'), rec('orders', 1, 2, 'k', '{oops')]);
    await expect(task.process()).rejects.toMatchObject({ code: 'TRIBUTARY_DESERIALIZATION', offset: 1 });
    expect(task.failed).toBe(true);
    expect(() => task.committableOffsets()).toThrow(TaskStateError);
    await expect(task.commit()).rejects.toBeInstanceOf(TaskStateError);
  });
});
