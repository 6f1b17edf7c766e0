import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPartition } from '../../common/partitioner.js';
import { ancestorPartitions, historyWith, ownsKey, regroupMarker } from './key-regrouping.js';

const keys = Array.from({ length: 40 }, (_, i) => Buffer.from(`customer-${i}`));

/** Partition-count histories Tributary regroups exactly: growths by multiples, or one growth to any count. */
const exactHistory = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 2, max: 3 }), { minLength: 1, maxLength: 3 }))
    .map(([first, factors]) => factors.reduce((counts, f) => [...counts, counts[counts.length - 1] * f], [first])),
  fc
    .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }))
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
);
/** Any ascending history. */
const anyHistory = fc.uniqueArray(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 5 }).map((c) => [...c].sort((a, b) => a - b));

interface Write {
  readonly key: number;
  readonly value: number | null;
  /** Index of the count in force when it was written (non-decreasing in time). */
  readonly era: number;
}

/** Writes in time order, each era's after the previous era's. */
const writes = (eras: number) =>
  fc
    .array(
      fc.record({ key: fc.integer({ min: 0, max: keys.length - 1 }), value: fc.option(fc.nat(), { nil: null }), era: fc.nat(eras - 1) }),
      {
        maxLength: 120,
      },
    )
    .map((ws) => [...ws].sort((a, b) => a.era - b.era) as Write[]);

/** The partition logs those writes produce: each record where the default partitioner of its era put it. */
function logsOf(history: readonly number[], ws: readonly Write[]): Map<number, Write[]> {
  const logs = new Map<number, Write[]>();
  for (const w of ws) {
    const partition = defaultPartition(keys[w.key], history[w.era]);
    logs.set(partition, [...(logs.get(partition) ?? []), w]);
  }
  return logs;
}

/** The latest value per key (deleted keys absent). */
function latest(ws: readonly Write[]): Map<number, number> {
  const state = new Map<number, number>();
  for (const w of ws) {
    if (w.value === null) state.delete(w.key);
    else state.set(w.key, w.value);
  }
  return state;
}

/** What a fresh task p restores: the earlier partitions in order, then its own, keeping its keys only. */
function restoreTask(partition: number, history: readonly number[], logs: Map<number, Write[]>): Map<number, number> {
  const count = history[history.length - 1];
  const read = [...ancestorPartitions(partition, history), partition].flatMap((p) => logs.get(p) ?? []);
  return latest(read.filter((w) => ownsKey(keys[w.key], partition, count)));
}

describe('key regrouping after partitions were added', () => {
  it('every key lands in exactly one task after any sequence of growths, and its task reads every partition the key was written to', () => {
    fc.assert(
      fc.property(anyHistory, fc.integer({ min: 0, max: keys.length - 1 }), (history, k) => {
        const count = history[history.length - 1];
        const owners = Array.from({ length: count }, (_, p) => p).filter((p) => ownsKey(keys[k], p, count));
        expect(owners).toHaveLength(1);
        const sources = new Set([...ancestorPartitions(owners[0], history), owners[0]]);
        for (const c of history) expect(sources.has(defaultPartition(keys[k], c))).toBe(true);
      }),
    );
  });

  it('earlier partitions: never the own one, each once, only partitions that existed, only p mod c after a growth by a multiple', () => {
    fc.assert(
      fc.property(anyHistory, fc.nat(100), (history, seed) => {
        const count = history[history.length - 1];
        const partition = seed % count;
        const ancestors = ancestorPartitions(partition, history);
        expect(ancestors).not.toContain(partition);
        expect(new Set(ancestors).size).toBe(ancestors.length);
        for (const q of ancestors) expect(q).toBeLessThan(Math.max(...history.slice(0, -1)));
        if (history.slice(0, -1).every((c) => count % c === 0))
          expect(new Set(ancestors)).toEqual(
            new Set(
              history
                .slice(0, -1)
                .map((c) => partition % c)
                .filter((q) => q !== partition),
            ),
          );
      }),
    );
    expect(ancestorPartitions(7, [6, 12])).toEqual([1]);
    expect(ancestorPartitions(3, [6, 12])).toEqual([]);
    expect(ancestorPartitions(11, [3, 6, 12])).toEqual([2, 5]);
    expect(ancestorPartitions(4, [4, 6])).toEqual([0, 1, 2, 3]);
    expect(ancestorPartitions(2, [4, 6])).toEqual([0, 1, 3]);
    expect(ancestorPartitions(0, [6])).toEqual([]);
  });

  it('a fresh task holds exactly its keys with their latest values, deleted keys absent (growths by multiples, or one growth)', () => {
    fc.assert(
      fc.property(
        exactHistory.chain((history) => fc.tuple(fc.constant(history), writes(history.length))),
        ([history, ws]) => {
          const count = history[history.length - 1];
          const logs = logsOf(history, ws);
          const expected = latest(ws);
          const union = new Map<number, number>();
          for (let p = 0; p < count; p++) {
            const store = restoreTask(p, history, logs);
            for (const [key, value] of store) {
              expect(union.has(key), `key ${key} in two tasks`).toBe(false);
              union.set(key, value);
            }
          }
          expect(union).toEqual(expected);
        },
      ),
    );
  });

  it('a running task of an old partition that drops the keys that moved, then goes on reading its partition, holds exactly its keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 2, max: 3 }), writes(2), (before, factor, ws) => {
        const history = [before, before * factor];
        const logs = logsOf(history, ws);
        for (let p = 0; p < before; p++) {
          expect(ancestorPartitions(p, history)).toEqual([]);
          // The store as it stood before the growth: every era-0 record of its partition.
          const own = logs.get(p) ?? [];
          const state = latest(own.filter((w) => w.era === 0));
          for (const key of [...state.keys()]) if (!ownsKey(keys[key], p, history[1])) state.delete(key);
          const after = latest([...[...state].map(([key, value]) => ({ key, value, era: 0 })), ...own.filter((w) => w.era === 1)]);
          expect(after).toEqual(restoreTask(p, history, logs));
        }
      }),
    );
  });

  it('markers are no partition of a topic; histories end with the current count', () => {
    expect(regroupMarker('customers', 12)).toBe('customers#regrouped:12');
    expect(historyWith(undefined, 6)).toEqual([6]);
    expect(historyWith([3, 6], 12)).toEqual([3, 6, 12]);
    expect(historyWith([3, 6, 12], 6)).toEqual([3, 6]);
  });
});
