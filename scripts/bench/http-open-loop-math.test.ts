import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  achievedRate,
  busyCores,
  dueAtMs,
  dueCount,
  median,
  parseMachineTicks,
  QUIET_OTHER_CORES,
  summarizeLatencies,
  summarizeRuns,
  type RunFigures,
} from './http-open-loop-math.js';

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

describe('summary over runs', () => {
  const run = (p50Ms: number, p99Ms: number, otherBusyCores: number, maxMs = p99Ms * 2): RunFigures => ({
    latency: { count: 100, p50Ms, p90Ms: p50Ms, p99Ms, p999Ms: p99Ms + 1, maxMs, meanMs: p50Ms },
    sendLag: { count: 100, p50Ms: 0, p90Ms: 0, p99Ms: p99Ms / 10, p999Ms: 0, maxMs: 0, meanMs: 0 },
    achievedRps: 1000,
    otherBusyCores,
  });

  it('takes medians over all runs and over the quiet ones apart', () => {
    const summary = summarizeRuns([run(0.1, 2, 0), run(0.3, 400, 0.9, 900), run(0.2, 3, QUIET_OTHER_CORES), run(0.4, 6, 0.05)]);
    expect(summary).toMatchObject({ p50Ms: 0.25, p99Ms: 4.5, p999Ms: 5.5, worstP99Ms: 400, maxMs: 900 });
    expect(summary.sendLagP99Ms).toBeCloseTo(0.45, 9);
    expect(summary).toMatchObject({ quietRuns: 3, quietP50Ms: 0.2, quietP99Ms: 3, quietP999Ms: 4 });
  });

  it('has no quiet figures without a quiet run, and zeros without runs', () => {
    expect(summarizeRuns([run(1, 50, 1)])).toMatchObject({ quietRuns: 0, quietP99Ms: null, p99Ms: 50 });
    expect(summarizeRuns([])).toMatchObject({ quietRuns: 0, quietP50Ms: null, p50Ms: 0, p99Ms: 0, worstP99Ms: 0, maxMs: 0 });
  });

  it('median: the middle value, or the mean of the two middle ones', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (values) => {
        const m = median(values);
        expect(values.filter((v) => v < m).length).toBeLessThanOrEqual(values.length / 2);
        expect(values.filter((v) => v > m).length).toBeLessThanOrEqual(values.length / 2);
      }),
    );
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
