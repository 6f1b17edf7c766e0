import { describe, expect, it } from 'vitest';
import { parseResidentMappings, sideResidentKb } from './side-memory.js';

const smaps = (mappings: readonly { header: string; rssKb: number }[]): string =>
  mappings.map((m) => `${m.header}\nSize:               1024 kB\nRss:             ${m.rssKb} kB\nPss:                 1 kB\n`).join('');

const NODE_TEXT = '55d0c0000000-55d0c4000000 r-xp 00a00000 08:01 1234567                    /usr/bin/node';
const NODE_DATA = '55d0c4000000-55d0c4100000 r--p 04a00000 08:01 1234567                    /usr/bin/node';
const HEAP = '55d0c5000000-55d0c6000000 rw-p 00000000 00:00 0                          [heap]';
const ANON = '7f0000000000-7f0004000000 rw-p 00000000 00:00 0 ';
const TABLE = '7f1000000000-7f1000200000 r--s 00000000 08:01 7654321                    /tmp/state/000005.ldb';

describe('parseResidentMappings', () => {
  it('keys file mappings by path and offset, and leaves [heap] and anonymous memory without a file', () => {
    const parsed = parseResidentMappings(
      smaps([
        { header: NODE_TEXT, rssKb: 40_000 },
        { header: NODE_DATA, rssKb: 500 },
        { header: HEAP, rssKb: 20_000 },
        { header: ANON, rssKb: 30_000 },
        { header: TABLE, rssKb: 1_000 },
      ]),
    );
    expect(parsed).toEqual([
      { file: '/usr/bin/node@00a00000', rssKb: 40_000 },
      { file: '/usr/bin/node@04a00000', rssKb: 500 },
      { file: undefined, rssKb: 20_000 },
      { file: undefined, rssKb: 30_000 },
      { file: '/tmp/state/000005.ldb@00000000', rssKb: 1_000 },
    ]);
  });

  it('does not take Rss-like fields of other sections (Pss, SwapPss) for a mapping', () => {
    const text = `${NODE_TEXT}\nPss:              7 kB\nRss:              9 kB\nSwapPss:           3 kB\n`;
    expect(parseResidentMappings(text)).toEqual([{ file: '/usr/bin/node@00a00000', rssKb: 9 }]);
  });
});

describe('sideResidentKb', () => {
  it('is the plain RSS for one process', () => {
    const one = parseResidentMappings(
      smaps([
        { header: NODE_TEXT, rssKb: 40_000 },
        { header: ANON, rssKb: 30_000 },
      ]),
    );
    expect(sideResidentKb([one])).toEqual({ sharedOnceKb: 70_000, summedKb: 70_000 });
  });

  it('counts a file two processes map once, at the larger resident size, and sums anonymous memory', () => {
    const a = parseResidentMappings(
      smaps([
        { header: NODE_TEXT, rssKb: 40_000 },
        { header: HEAP, rssKb: 20_000 },
        { header: TABLE, rssKb: 1_000 },
      ]),
    );
    const b = parseResidentMappings(
      smaps([
        { header: NODE_TEXT, rssKb: 42_000 },
        { header: HEAP, rssKb: 25_000 },
      ]),
    );
    expect(sideResidentKb([a, b])).toEqual({ sharedOnceKb: 42_000 + 45_000 + 1_000, summedKb: 128_000 });
  });
});
