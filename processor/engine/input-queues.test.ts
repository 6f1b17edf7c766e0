import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ConsumedRecord } from '../../common/records.js';
import { taskId } from '../../common/task-id.js';
import { TaskStateError } from '../../errors.js';
import { InputQueues } from './input-queues.js';

function queues(options: { maxTaskIdleMs?: number; maxFetchWaitMs?: number } = {}): InputQueues {
  return new InputQueues({
    taskId: taskId(0, 0),
    partition: 0,
    topics: ['orders', 'audit', 'customers'],
    tableSources: [{ topic: 'customers', store: 'customers' }],
    maxTaskIdleMs: options.maxTaskIdleMs ?? 0,
    maxFetchWaitMs: options.maxFetchWaitMs ?? 1000,
  });
}

const rec = (topic: string, offset: number, timestamp: number): ConsumedRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp,
  key: null,
  value: null,
  headers: {},
});

/** Takes everything `next` hands out at `nowMs`, as `topic@offset`. */
function drain(inputs: InputQueues, nowMs = 0): string[] {
  const taken: string[] = [];
  for (let queue = inputs.next(nowMs); queue; queue = inputs.next(nowMs)) {
    const record = queue.take();
    taken.push(`${record.topic}@${record.offset}`);
  }
  return taken;
}

describe('InputQueues', () => {
  it('lists its partitions table sources first, then by topic name', () => {
    expect(queues().partitions).toEqual(['customers:0', 'audit:0', 'orders:0']);
    expect(queues().next(0)).toBeUndefined();
  });

  it('takes the smallest head timestamp; equal timestamps: table source first, then topic name', () => {
    const inputs = queues();
    inputs.add([rec('orders', 0, 5), rec('orders', 1, 9), rec('audit', 0, 5), rec('customers', 0, 5), rec('customers', 1, 7)]);
    expect(inputs.next(0)?.tableStore).toBe('customers');
    expect(drain(inputs)).toEqual(['customers@0', 'audit@0', 'orders@0', 'customers@1', 'orders@1']);
    expect(inputs.bufferedCount()).toBe(0);
  });

  it('orders by head only: a partition keeps its offset order even when its timestamps go back', () => {
    const inputs = queues();
    inputs.add([rec('orders', 0, 10), rec('orders', 1, 1), rec('audit', 0, 5), rec('customers', 0, 20)]);
    expect(drain(inputs)).toEqual(['audit@0', 'orders@0', 'orders@1', 'customers@0']);
  });

  it('merges partitions in timestamp order whatever the arrival interleaving (timestamps ascending per partition)', () => {
    const perTopic = fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }).map((ts) => ts.sort((a, b) => a - b));
    fc.assert(
      fc.property(perTopic, perTopic, perTopic, fc.array(fc.nat(2)), (orders, audit, customers, picks) => {
        const byTopic: Record<string, number[]> = { orders, audit, customers };
        const rank: Record<string, number> = { customers: 0, audit: 1, orders: 2 };
        const pending = Object.entries(byTopic).map(([topic, ts]) => ts.map((t, offset) => rec(topic, offset, t)));
        const inputs = queues();
        // Add in an arbitrary interleaving of small batches (offsets stay ascending within each partition).
        for (const pick of picks) if (pending[pick].length > 0) inputs.add(pending[pick].splice(0, 2));
        for (const rest of pending) inputs.add(rest);
        const taken: ConsumedRecord[] = [];
        for (let queue = inputs.next(0); queue; queue = inputs.next(0)) taken.push(queue.take());
        const expected = Object.values(byTopic).reduce((n, ts) => n + ts.length, 0);
        expect(taken).toHaveLength(expected);
        for (let i = 1; i < taken.length; i++) {
          const [a, b] = [taken[i - 1], taken[i]];
          expect(a.timestamp < b.timestamp || (a.timestamp === b.timestamp && rank[a.topic] <= rank[b.topic])).toBe(true);
        }
      }),
    );
  });

  it('idle rule: while an input is empty, waits maxTaskIdleMs before taking the others', () => {
    const inputs = queues({ maxTaskIdleMs: 100 });
    inputs.add([rec('orders', 0, 1), rec('audit', 0, 2), rec('customers', 0, 3)]);
    expect(inputs.next(1_000)?.topic).toBe('orders'); // nothing is empty: no wait
    inputs.next(1_000)?.take();
    expect(inputs.next(1_000)).toBeUndefined(); // orders is empty now: the clock starts
    expect(inputs.next(1_099)).toBeUndefined();
    expect(inputs.next(1_100)?.topic).toBe('audit');
  });

  it('an empty input known to hold unfetched records holds the others back up to maxFetchWaitMs, even at idle 0', () => {
    const inputs = queues({ maxFetchWaitMs: 500 });
    inputs.noteFetchPosition('customers:0', 0, 2); // two table records wait in Kafka
    inputs.add([rec('orders', 0, 20), rec('audit', 0, 20)]);
    expect(inputs.next(1_000)).toBeUndefined();
    expect(inputs.next(1_499)).toBeUndefined();

    // One table record arrives: nothing is empty now, so it is taken at once (oldest first) and the wait ends.
    inputs.add([rec('customers', 0, 10)]);
    expect(inputs.next(1_499)?.topic).toBe('customers');
    inputs.next(1_499)?.take();
    // The table input is empty again with one more record known to wait in Kafka: a new wait starts.
    expect(inputs.next(1_499)).toBeUndefined();
    expect(inputs.next(1_998)).toBeUndefined();
    expect(inputs.next(1_999)?.topic).toBe('audit'); // bounded: a trailing marker may never be delivered
  });

  it('a caught-up empty input does not hold the others back; delivered records advance the fetch position', () => {
    const inputs = queues();
    inputs.noteFetchPosition('customers:0', 5, 5);
    inputs.add([rec('orders', 0, 1)]);
    expect(inputs.next(0)?.topic).toBe('orders');

    const waiting = queues({ maxFetchWaitMs: 60_000 });
    waiting.noteFetchPosition('customers:0', 3, 5);
    waiting.add([rec('orders', 0, 1), rec('customers', 3, 0), rec('customers', 4, 0)]);
    // Delivering offsets 3 and 4 brings the table input to its end: once they are taken it holds nothing back.
    expect(drain(waiting)).toEqual(['customers@3', 'customers@4', 'orders@0']);
    waiting.add([rec('orders', 1, 2)]);
    expect(waiting.next(0)?.topic).toBe('orders');
  });

  it('keeps order across many records (the consumed prefix is dropped as it goes)', () => {
    const inputs = queues();
    inputs.add(Array.from({ length: 5_000 }, (_, i) => rec('orders', i, i)));
    const offsets: number[] = [];
    for (let i = 0; i < 3_000; i++) offsets.push((inputs.next(0)?.take() as ConsumedRecord).offset);
    inputs.add(Array.from({ length: 1_000 }, (_, i) => rec('orders', 5_000 + i, 5_000 + i)));
    for (let queue = inputs.next(0); queue; queue = inputs.next(0)) offsets.push(queue.take().offset);
    expect(offsets).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
  });

  it('holds no record it handed out once emptied, and none beyond half its array while draining', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 4_000 })), { maxLength: 8 }), (steps) => {
        const inputs = queues();
        const taken: number[] = [];
        let added = 0;
        for (const [add, take] of steps) {
          inputs.add(Array.from({ length: add }, (_, i) => rec('orders', added + i, added + i)));
          added += add;
          for (let i = 0; i < take; i++) {
            const queue = inputs.next(0);
            if (queue === undefined) break;
            taken.push(queue.take().offset);
            // Every record still referenced is buffered, or part of a consumed prefix no longer than 1024 or
            // than what is buffered.
            expect(queue.records.length - queue.size).toBeLessThanOrEqual(Math.max(1024, queue.size));
            if (queue.isEmpty) expect(queue.records).toHaveLength(0);
          }
        }
        expect(taken).toEqual(Array.from({ length: taken.length }, (_, i) => i));
        expect(inputs.bufferedCount()).toBe(added - taken.length);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects records and fetch positions of partitions it does not own; clear() drops what is buffered', () => {
    const inputs = queues();
    expect(() => inputs.add([{ ...rec('orders', 0, 1), partition: 1 }])).toThrow(TaskStateError);
    expect(() => inputs.noteFetchPosition('payments:0', 0, 1)).toThrow(/payments:0, which is not one of its inputs/);
    inputs.add([rec('orders', 0, 1), rec('audit', 0, 1)]);
    inputs.clear();
    expect(inputs.bufferedCount()).toBe(0);
    expect(inputs.next(0)).toBeUndefined();
  });
});
