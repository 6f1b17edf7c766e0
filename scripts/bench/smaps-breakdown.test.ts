import { describe, expect, it } from 'vitest';
import { parseSmaps } from './smaps-breakdown.js';

function mapping(range: string, path: string, rssKb: number): string {
  return [
    `${range} rw-p 00000000 00:00 0          ${path}`,
    `Size:               4096 kB`,
    `Rss:        ${rssKb} kB`,
    `Pss:        ${rssKb} kB`,
  ].join('\n');
}

describe('parseSmaps', () => {
  it('tells the main heap, 64 MiB-aligned arenas, other anonymous memory, state files and other files apart', () => {
    const text = [
      mapping('55d0a0000000-55d0a4000000', '[heap]', 2048),
      // 0x7f0c04000000 is a multiple of 64 MiB: a glibc arena; 0x7f0c04100000 is not.
      mapping('7f0c04000000-7f0c08000000', '', 1024),
      mapping('7f0c04100000-7f0c04200000', '', 512),
      mapping('7f0c10000000-7f0c10100000', '[stack]', 256),
      mapping('7f0c20000000-7f0c20200000', '/state/app/0_1/customers/000005.ldb', 768),
      mapping('7f0c30000000-7f0c30200000', '/usr/bin/node', 1280),
      mapping('7f0c34000000-7f0c38000000', '', 0),
    ].join('\n');
    expect(parseSmaps(text, '/state/app')).toEqual({
      rssMb: 5.8,
      mainHeapMb: 2,
      arenasMb: 1,
      arenas: 1,
      otherAnonMb: 0.8,
      stateFilesMb: 0.8,
      otherFilesMb: 1.3,
      largestOtherAnon: ['1024:512', '1024:256'],
    });
  });

  it('counts every file as another file without a state directory', () => {
    const text = mapping('7f0c20000000-7f0c20200000', '/state/app/0_1/customers/000005.ldb', 1024);
    expect(parseSmaps(text)).toMatchObject({ stateFilesMb: 0, otherFilesMb: 1 });
  });
});
