import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { achievedRate, busyCores, dueAtMs, dueCount, parseMachineTicks, summarizeLatencies } from './http-open-loop-math.js';

describe('open-loop schedule', () => {
  it('spaces requests evenly at the rate', () => {
    expect(dueAtMs(0, 500)).toBe(0);
    expect(dueAtMs(1, 500)).toBe(2);
    expect(dueAtMs(250, 500)).toBe(500);
  });

  it('counts as due exactly the requests whose due time has passed, capped at the total', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 100_000, noNaN: true }),
        fc.double({ min: -10, max: 60_000, noNaN: true }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (rate, elapsedMs, total) => {
          const count = dueCount(elapsedMs, rate, total);
          expect(count).toBeGreaterThanOrEqual(0);
          expect(count).toBeLessThanOrEqual(total);
          if (count > 0) expect(dueAtMs(count - 1, rate)).toBeLessThanOrEqual(elapsedMs);
          if (count < total) expect(dueAtMs(count, rate)).toBeGreaterThan(elapsedMs);
        },
      ),
    );
  });

  it('never takes back a request once due', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 100_000, noNaN: true }),
        fc.double({ min: 0, max: 60_000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        (rate, elapsedMs, more) => {
          expect(dueCount(elapsedMs + more, rate, 1e9)).toBeGreaterThanOrEqual(dueCount(elapsedMs, rate, 1e9));
        },
      ),
    );
  });
});

describe('latency summary', () => {
  it('takes nearest-rank percentiles of unsorted input without changing it', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const summary = summarizeLatencies(values);
    expect(summary).toEqual({ count: 1000, p50Ms: 500, p90Ms: 900, p99Ms: 990, p999Ms: 999, maxMs: 1000, meanMs: 500.5 });
    expect(values[0]).toBe(1000);
  });

  it('is all zeros for no samples', () => {
    expect(summarizeLatencies([])).toEqual({ count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 });
  });

  it('orders its percentiles and bounds them by the samples', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 500 }), (values) => {
        const s = summarizeLatencies(values);
        const min = Math.min(...values);
        const max = Math.max(...values);
        expect(s.count).toBe(values.length);
        expect(s.p50Ms).toBeGreaterThanOrEqual(Math.round(min * 1000) / 1000);
        expect(s.p90Ms).toBeGreaterThanOrEqual(s.p50Ms);
        expect(s.p99Ms).toBeGreaterThanOrEqual(s.p90Ms);
        expect(s.p999Ms).toBeGreaterThanOrEqual(s.p99Ms);
        expect(s.maxMs).toBeGreaterThanOrEqual(s.p999Ms);
        expect(s.maxMs).toBe(Math.round(max * 1000) / 1000);
      }),
    );
  });
});

describe('achieved rate', () => {
  it('is answers per second over the window, 0 for an empty window', () => {
    expect(achievedRate(5000, 1000, 2000)).toBe(5000);
    expect(achievedRate(5000, 1000, 3000)).toBe(2500);
    expect(achievedRate(10, 1000, 1000)).toBe(0);
  });
});

describe('machine CPU from /proc/stat', () => {
  it('counts every tick but idle and iowait as busy', () => {
    const before = parseMachineTicks('cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 1 2 3 4\n');
    expect(before).toEqual({ busy: 155, total: 1165 });
    const after = parseMachineTicks('cpu  250 0 100 1100 10 0 5 0 0 0\n');
    expect(busyCores(before, after, 100, 1)).toBe(2);
    expect(busyCores(before, after, 100, 0)).toBe(0);
  });

  it('refuses another line', () => {
    expect(() => parseMachineTicks('intr 1 2 3')).toThrow(/cpu line/);
  });
});
