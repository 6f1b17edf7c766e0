import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';
import { fromArray, mergeSorted, type MergeSource } from './merge.js';
import { InvalidQueryCursorError } from '../errors.js';

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 6 }).map((bytes) => Buffer.from(bytes));
const order = (reverse: boolean) => (a: Buffer, b: Buffer) => (reverse ? -1 : 1) * Buffer.compare(a, b);

describe('mergeSorted', () => {
  it('pages through sources exactly: every key once, in order, no empty trailing page', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { selector: (k) => k.toString('hex'), maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        async (keys, sourceIsPaged, limit, reverse) => {
          const sourceCount = sourceIsPaged.length;
          // Split keys over sources (like partitions), each sorted in scan order.
          const sources = Array.from({ length: sourceCount }, (_, r) => keys.filter((_, i) => i % sourceCount === r).sort(order(reverse)));
          const seen: Buffer[] = [];
          let after: Buffer | undefined;
          for (let page = 0; page < keys.length + 2; page++) {
            // A paged source arrives as one page of at most `limit` with a more-flag (a remote instance); the
            // others are streamed whole (a local partition).
            const inputs: MergeSource<{ key: Buffer }>[] = sources.map((source, r) => {
              const rest = source.filter((k) => after === undefined || order(reverse)(k, after) > 0);
              const entries = (sourceIsPaged[r] ? rest.slice(0, limit) : rest).map((key) => ({ key }));
              return { entries: fromArray(entries), moreAfterEnd: sourceIsPaged[r] && rest.length > limit };
            });
            const merged = await mergeSorted(inputs, limit, reverse);
            expect(merged.entries.length).toBeLessThanOrEqual(limit);
            seen.push(...merged.entries.map((e) => e.key));
            if (!merged.more) break;
            expect(merged.entries.length).toBe(limit);
            const cursor = encodeCursor({ reverse, lastKey: merged.entries[merged.entries.length - 1].key });
            after = decodeCursor(cursor, reverse, 4096).lastKey;
          }
          expect(seen.map((k) => k.toString('hex'))).toEqual([...keys].sort(order(reverse)).map((k) => k.toString('hex')));
        },
      ),
    );
  });

  it('reads about limit + k entries and closes every source', async () => {
    let pulled = 0;
    let closed = 0;
    async function* counting(prefix: string): AsyncGenerator<{ key: Buffer }> {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield { key: Buffer.from(`${prefix}${String(i).padStart(4, '0')}`) };
        }
      } finally {
        closed++;
      }
    }
    const page = await mergeSorted(
      ['a', 'b', 'c'].map((p) => ({ entries: counting(p) })),
      10,
      false,
    );
    expect(page.entries.map((e) => e.key.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `a${String(i).padStart(4, '0')}`));
    expect(page.more).toBe(true);
    expect(pulled).toBeLessThanOrEqual(10 + 3);
    expect(closed).toBe(3);
  });
});

describe('cursor', () => {
  it('round-trips any key in either direction', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, reverse) => {
        const lastKey = Buffer.from(bytes);
        const decoded = decodeCursor(encodeCursor({ reverse, lastKey }), reverse, 4096);
        expect(decoded.reverse).toBe(reverse);
        expect(decoded.lastKey.equals(lastKey)).toBe(true);
      }),
    );
  });

  it('rejects a cursor for the other direction, garbage and over-long keys', () => {
    const forward = encodeCursor({ reverse: false, lastKey: Buffer.from('k') });
    expect(() => decodeCursor(forward, true, 4096)).toThrow(InvalidQueryCursorError);
    for (const bad of ['', 'not base64!', 'AA', 'AgBr', Buffer.from([1, 7, 1]).toString('base64url'), `${forward}=`]) {
      expect(() => decodeCursor(bad, false, 4096)).toThrow(InvalidQueryCursorError);
    }
    const long = encodeCursor({ reverse: false, lastKey: Buffer.alloc(10) });
    expect(() => decodeCursor(long, false, 9)).toThrow(InvalidQueryCursorError);
  });

  it('never throws anything but InvalidQueryCursorError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.boolean(), (text, reverse) => {
        try {
          decodeCursor(text, reverse, 16);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidQueryCursorError);
        }
      }),
    );
  });
});
