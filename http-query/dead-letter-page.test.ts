import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assemblePage, tailRange, type PartitionBounds, type PartitionTail } from './dead-letter-page.js';
import type { DeadLetterEntry, DeadLetterPage } from './query-source.js';

interface FakePartition extends PartitionBounds {
  readonly records: readonly DeadLetterEntry[];
}

const entry = (partition: number, offset: number, timestamp: number): DeadLetterEntry => ({
  partition,
  offset,
  timestamp,
  key: null,
  value: null,
  headers: {},
});

/** Reads one page the way the runtime does: a tail range per partition, then assemble. */
function readPage(partitions: readonly FakePartition[], limit: number, before?: ReadonlyMap<number, number>): DeadLetterPage {
  const tails: PartitionTail[] = partitions.map((p) => {
    const { from, upper } = tailRange(p, before?.get(p.partition), limit);
    return { ...p, from, upper, records: p.records.filter((r) => r.offset >= from && r.offset < upper) };
  });
  return assemblePage('dlq', tails, limit);
}

function readAll(partitions: readonly FakePartition[], limit: number): DeadLetterPage[] {
  const pages: DeadLetterPage[] = [];
  let before: ReadonlyMap<number, number> | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = readPage(partitions, limit, before);
    pages.push(page);
    if (page.next === null) return pages;
    before = page.next;
  }
  throw new Error('paging did not end');
}

describe('dead-letter pages', () => {
  it('pages one partition newest first and ends with next = null', () => {
    const records = Array.from({ length: 7 }, (_, i) => entry(0, 10 + i, 1000 + i));
    const partitions = [{ partition: 0, earliest: 10, end: 17, records }];
    const pages = readAll(partitions, 3);
    expect(pages.map((p) => p.entries.map((e) => e.offset))).toEqual([[16, 15, 14], [13, 12, 11], [10]]);
    expect(pages[0].next).toEqual(new Map([[0, 14]]));
    expect(pages[2].next).toBeNull();
    expect(pages[0].partitions).toEqual([{ partition: 0, earliest: 10, end: 17 }]);
  });

  it('an empty topic is one empty page', () => {
    expect(readPage([{ partition: 0, earliest: 5, end: 5, records: [] }], 20)).toMatchObject({ entries: [], next: null });
  });

  it('merges partitions by timestamp and reads at most `limit` per partition', () => {
    const partitions = [
      { partition: 0, earliest: 0, end: 3, records: [entry(0, 0, 1), entry(0, 1, 5), entry(0, 2, 9)] },
      { partition: 1, earliest: 0, end: 2, records: [entry(1, 0, 4), entry(1, 1, 8)] },
    ];
    const page = readPage(partitions, 3);
    expect(page.entries.map((e) => `${e.partition}@${e.offset}`)).toEqual(['0@2', '1@1', '0@1']);
    expect(page.next).toEqual(
      new Map([
        [0, 1],
        [1, 1],
      ]),
    );
  });

  it('every record is on exactly one page, in offset order per partition, whatever the gaps', () => {
    const partition = (p: number) =>
      fc
        .record({
          earliest: fc.nat({ max: 50 }),
          offsets: fc.uniqueArray(fc.nat({ max: 60 }), { maxLength: 40 }),
          gapAtEnd: fc.nat({ max: 5 }),
        })
        .map(({ earliest, offsets, gapAtEnd }) => {
          const kept = offsets.filter((o) => o >= earliest).sort((a, b) => a - b);
          const end = (kept.length === 0 ? earliest : (kept[kept.length - 1] as number) + 1) + gapAtEnd;
          return { partition: p, earliest, end, records: kept.map((o) => entry(p, o, (o * 7919 + p) % 100)) };
        });
    fc.assert(
      fc.property(
        fc.array(partition(0), { minLength: 1, maxLength: 1 }),
        partition(1),
        fc.integer({ min: 1, max: 10 }),
        (first, second, limit) => {
          const partitions = [...first, second];
          const pages = readAll(partitions, limit);
          const seen = pages.flatMap((page) => page.entries.map((e) => `${e.partition}@${e.offset}`));
          const all = partitions.flatMap((p) => p.records.map((e) => `${e.partition}@${e.offset}`));
          expect([...seen].sort()).toEqual([...all].sort());
          expect(new Set(seen).size).toBe(seen.length);
          for (const p of partitions) {
            const order = pages.flatMap((page) => page.entries.filter((e) => e.partition === p.partition).map((e) => e.offset));
            expect(order).toEqual([...order].sort((a, b) => b - a));
          }
          for (const page of pages) expect(page.entries.length).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});
