import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { needsRestoring, processingStart, restoreRange } from './restore-range.js';

/** A log `[start, end)`, a checkpoint and a committed offset anywhere around it. */
const scenario = fc.record({ start: fc.nat(1000), length: fc.nat(1000) }).chain(({ start, length }) =>
  fc.record({
    log: fc.constant({ start, end: start + length }),
    checkpoint: fc.option(fc.nat(2100), { nil: undefined }),
    committed: fc.option(fc.nat(2100), { nil: undefined }),
  }),
);

describe('restoreRange', () => {
  it('always reads inside the log, never past the end, and takes over where the store and the group stand', () => {
    fc.assert(
      fc.property(scenario, ({ log, checkpoint, committed }) => {
        const range = restoreRange(checkpoint, log, committed);
        // Reading starts and stops inside the log: no out-of-range fetch, no wait for offsets that do not exist.
        expect(range.from).toBeGreaterThanOrEqual(log.start);
        expect(range.from).toBeLessThanOrEqual(log.end);
        expect(range.to).toBeGreaterThanOrEqual(log.start);
        expect(range.to).toBeLessThanOrEqual(log.end);
        // A checkpoint outside the log is never continued from: the store is rebuilt from the log start.
        const outside = checkpoint !== undefined && (checkpoint < log.start || checkpoint > log.end);
        expect(range.rebuild !== undefined).toBe(outside);
        if (checkpoint !== undefined && !outside) expect(range.from).toBe(checkpoint);
        if (checkpoint === undefined || outside) expect(range.from).toBe(log.start);
        // Without a valid committed offset everything up to the end is restored; with one, up to it.
        if (committed === undefined || committed > log.end) expect(range.to).toBe(log.end);
        else expect(range.to).toBe(Math.max(committed, log.start));
        // The task takes over at the later of the two, so nothing is applied twice by restoration and processing.
        expect(processingStart(range)).toBe(Math.max(range.from, range.to));
        expect(needsRestoring(range)).toBe(range.from < range.to);
      }),
    );
  });

  it('names the cases', () => {
    expect(restoreRange(undefined, { start: 0, end: 0 })).toEqual({ from: 0, to: 0, rebuild: undefined, committed: 'none' });
    // Emptied by retention or DeleteRecords: log start = log end > 0.
    expect(restoreRange(undefined, { start: 50, end: 50 })).toEqual({ from: 50, to: 50, rebuild: undefined, committed: 'none' });
    expect(restoreRange(20, { start: 50, end: 80 }, 60)).toEqual({
      from: 50,
      to: 60,
      rebuild: 'checkpoint-before-log-start',
      committed: 'in-range',
    });
    expect(restoreRange(90, { start: 0, end: 80 })).toMatchObject({ from: 0, to: 80, rebuild: 'checkpoint-past-log-end' });
    expect(restoreRange(60, { start: 50, end: 80 }, 10)).toMatchObject({ from: 60, to: 50, committed: 'before-log-start' });
    expect(restoreRange(60, { start: 50, end: 80 }, 99)).toMatchObject({ from: 60, to: 80, committed: 'past-log-end' });
  });
});
