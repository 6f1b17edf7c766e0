import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList, parseTasksetList, pinnedCommand, splitCpus } from './cpu-pinning.js';

describe('cpu lists', () => {
  it('reads single cpus and ranges, in ascending order without repeats', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0,1')).toEqual([0, 1]);
    expect(parseCpuList('4-6,1,5')).toEqual([1, 4, 5, 6]);
    expect(parseCpuList(' 0-1 \n')).toEqual([0, 1]);
  });

  it('refuses what is not a cpu list', () => {
    for (const text of ['', 'a', '1-', '3-1', '1,,2', '0x3']) expect(() => parseCpuList(text)).toThrow(/not a cpu list/);
  });

  it('reads back what it formats', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 511 }), { minLength: 1, maxLength: 64 }), (cpus) => {
        const sorted = [...cpus].sort((a, b) => a - b);
        expect(parseCpuList(formatCpuList(sorted))).toEqual(sorted);
      }),
    );
  });

  it("takes the list out of taskset's answer", () => {
    expect(parseTasksetList("pid 2125's current affinity list: 0,1\n")).toEqual([0, 1]);
    expect(parseTasksetList("pid 7's current affinity list: 0-3,8")).toEqual([0, 1, 2, 3, 8]);
    expect(() => parseTasksetList("pid 7's current affinity mask: 3")).toThrow(/unexpected taskset output/);
  });
});

describe('splitting cores between server and load', () => {
  it('gives the server the first half, rounded up, and the load the rest', () => {
    expect(splitCpus([0, 1])).toEqual({ server: [0], client: [1] });
    expect(splitCpus([3, 1, 2])).toEqual({ server: [1, 2], client: [3] });
    expect(splitCpus([0, 1, 2, 3])).toEqual({ server: [0, 1], client: [2, 3] });
  });

  it('has nothing to split on one core', () => {
    expect(splitCpus([])).toBeUndefined();
    expect(splitCpus([2])).toBeUndefined();
    expect(splitCpus([2, 2])).toBeUndefined();
  });

  it('never gives a core to both sides nor leaves one out', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 2, maxLength: 64 }), (cpus) => {
        const split = splitCpus(cpus);
        expect(split).toBeDefined();
        if (split === undefined) return;
        expect(split.server.length).toBeGreaterThan(0);
        expect(split.client.length).toBeGreaterThan(0);
        expect(split.server.length - split.client.length).toBeGreaterThanOrEqual(0);
        expect(split.server.length - split.client.length).toBeLessThanOrEqual(1);
        expect([...split.server, ...split.client].sort((a, b) => a - b)).toEqual([...cpus].sort((a, b) => a - b));
      }),
    );
  });

  it('runs a command through taskset only when given cores', () => {
    expect(pinnedCommand(undefined, 'node', ['a.js'])).toEqual(['node', ['a.js']]);
    expect(pinnedCommand([0, 2], 'node', ['a.js'])).toEqual(['taskset', ['-c', '0,2', 'node', 'a.js']]);
  });
});
