/**
 * count() and aggregate() over random streams equal a naive in-memory fold, whatever the partition count and the
 * order of records within a partition: the final stores, and per key the sequence of emitted aggregates (each the
 * fold of that key's records so far, in the order they were piped).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { TimeWindows, windowStartsFor } from '../../topology/windows.js';
import { TopologyTestDriver } from './topology-test-driver.js';

const str = Serdes.string();
const num = Serdes.json<number>();

interface Event {
  readonly id: string;
  readonly user: string;
  readonly amount: number;
  readonly timestamp: number;
}

const event = fc.record({
  id: fc.constantFrom('e1', 'e2', 'e3', 'e4', 'e5', 'e6'),
  user: fc.constantFrom('ada', 'bob', 'cy', 'dee'),
  amount: fc.integer({ min: -5, max: 20 }),
  timestamp: fc.integer({ min: 0, max: 100 }),
});

function topology() {
  const b = new StreamsBuilder();
  // Keyed by event id on the input, re-keyed by user: every partition count re-partitions differently.
  const byUser = b.stream('events', { key: str, value: Serdes.json<Event>() }).groupBy((_id, e) => e.user, { key: str });
  byUser.count({ store: 'counts' }).toStream().to('counts-out', { value: num });
  byUser
    .aggregate(
      (): string[] => [],
      (_user, e, seen) => [...seen, `${e.id}:${e.amount}`],
      { store: 'histories' },
    )
    .toStream()
    .to('histories-out');
  // Grace longer than any timestamp: no record is late, every window is a plain fold.
  byUser
    .windowedBy(TimeWindows.ofSize(20).advanceBy(10).grace(1_000))
    .aggregate(
      () => 0,
      (_user, e, sum) => sum + e.amount,
      { store: 'sums', value: num },
    )
    .toStream()
    .to('sums-out', { value: num });
  return b.build({ applicationId: 'fold' });
}

describe('aggregations equal a naive fold (property)', () => {
  it('count, aggregate and windowed aggregate, at 1 to 4 partitions', async () => {
    const t = topology();
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (events, partitions) => {
        const driver = new TopologyTestDriver(t, { partitions });
        try {
          const input = driver.inputTopic('events', str, Serdes.json<Event>());
          for (const e of events) await input.pipe(e.id, e, { timestamp: e.timestamp });

          const counts = new Map<string, number>();
          const histories = new Map<string, string[]>();
          const sums = new Map<string, number>();
          const emittedCounts: Record<string, number[]> = {};
          const emittedHistories: Record<string, string[][]> = {};
          for (const e of events) {
            counts.set(e.user, (counts.get(e.user) ?? 0) + 1);
            histories.set(e.user, [...(histories.get(e.user) ?? []), `${e.id}:${e.amount}`]);
            (emittedCounts[e.user] ??= []).push(counts.get(e.user) as number);
            (emittedHistories[e.user] ??= []).push(histories.get(e.user) as string[]);
            for (const start of windowStartsFor({ sizeMs: 20, advanceMs: 10, graceMs: 1_000 }, e.timestamp)) {
              const window = `${e.user}@${start}`;
              sums.set(window, (sums.get(window) ?? 0) + e.amount);
            }
          }
          const perKey = <V>(records: readonly { key: string | null; value: V }[]) => {
            const out: Record<string, V[]> = {};
            for (const r of records) (out[String(r.key)] ??= []).push(r.value);
            return out;
          };
          expect(perKey(driver.outputTopic('counts-out', str, num).readKeyValues())).toEqual(emittedCounts);
          expect(perKey(driver.outputTopic('histories-out', str, Serdes.json<string[]>()).readKeyValues())).toEqual(emittedHistories);
          expect(new Map((await driver.store<string, number>('counts').all()).map((e) => [e.key, e.value]))).toEqual(counts);
          expect(new Map((await driver.store<string, string[]>('histories').all()).map((e) => [e.key, e.value]))).toEqual(histories);
          const windows = await driver.windowStore<string, number>('sums').fetchAll();
          expect(new Map(windows.map((w) => [`${w.key.key}@${w.key.window.start}`, w.value]))).toEqual(sums);
        } finally {
          await driver.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
