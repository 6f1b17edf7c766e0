import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abbaOrder, abbaSchedule, derive, median, ratio, ratios, summarize, type DerivedFigures } from './comparison-math.js';

function figures(
  recordsPerSecond: number,
  cpuMs: number,
  peakRssMb: number,
  records = 1000,
  peakSideMemoryMb: number | null = peakRssMb,
): DerivedFigures {
  return derive({ records, ms: (records * 1000) / recordsPerSecond, cpuMs, peakRssMb, peakSideMemoryMb });
}

describe('ABBA run order', () => {
  it('runs Tributary first in even rounds and Kafka Streams first in odd ones', () => {
    expect(abbaOrder(0)).toEqual(['tributary', 'kafka-streams']);
    expect(abbaOrder(1)).toEqual(['kafka-streams', 'tributary']);
    expect(abbaOrder(2)).toEqual(['tributary', 'kafka-streams']);
    expect(() => abbaOrder(-1)).toThrow(RangeError);
    expect(() => abbaOrder(0.5)).toThrow(RangeError);
  });

  it('schedules A B B A over two rounds, per workload', () => {
    const schedule = abbaSchedule(2, ['w1', 'w2']).map((s) => `${s.round}:${s.workload}:${s.side === 'tributary' ? 'A' : 'B'}`);
    expect(schedule).toEqual(['0:w1:A', '0:w1:B', '0:w2:A', '0:w2:B', '1:w1:B', '1:w1:A', '1:w2:B', '1:w2:A']);
  });

  it('gives both sides every (round, workload) once and each side the first slot in half of the rounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), (rounds, count) => {
        const workloads = Array.from({ length: count }, (_, i) => i);
        const schedule = abbaSchedule(rounds, workloads);
        expect(schedule).toHaveLength(rounds * count * 2);
        const keys = new Set(schedule.map((s) => `${s.round}/${s.workload}/${s.side}`));
        expect(keys.size).toBe(schedule.length);
        const firsts = schedule.filter((_, i) => i % 2 === 0);
        const aFirst = firsts.filter((s) => s.side === 'tributary').length;
        expect(aFirst).toBe(Math.ceil(rounds / 2) * count);
      }),
    );
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('lies between min and max and ignores input order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (values) => {
        const m = median(values);
        expect(m).toBeGreaterThanOrEqual(Math.min(...values));
        expect(m).toBeLessThanOrEqual(Math.max(...values));
        // Numerically equal: with both 0 and -0 in the input, which of the two sorts first depends on the order.
        expect(median([...values].reverse()) === m).toBe(true);
      }),
    );
  });
});

describe('ratios', () => {
  it('divides Tributary by Kafka Streams, 2 decimals, null without a Kafka Streams figure', () => {
    expect(ratio(150, 100)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
  });

  it('derives records/s and CPU µs per record from time, CPU and record count', () => {
    const d = derive({ records: 500_000, ms: 10_000, cpuMs: 12_345.6, peakRssMb: 300.4, peakSideMemoryMb: 250.6 });
    expect(d.recordsPerSecond).toBe(50_000);
    expect(d.cpuUsPerRecord).toBe(24.69);
    expect(d.cpuMs).toBe(12_346);
    expect(d.peakRssMb).toBe(300);
    expect(d.peakSideMemoryMb).toBe(251);
    expect(derive({ records: 0, ms: 0, cpuMs: 0, peakRssMb: 0, peakSideMemoryMb: null })).toMatchObject({
      recordsPerSecond: 0,
      cpuUsPerRecord: 0,
    });
  });

  it('compares every figure of one run', () => {
    expect(ratios(figures(2000, 500, 200), figures(1000, 1000, 400))).toEqual({
      recordsPerSecond: 2,
      cpuMs: 0.5,
      cpuUsPerRecord: 0.5,
      peakRssMb: 0.5,
      peakSideMemoryMb: 0.5,
    });
    expect(ratios(figures(2000, 500, 200, 1000, null), figures(1000, 1000, 400)).peakSideMemoryMb).toBeNull();
  });

  it('summarizes rounds as per-side medians and the median of the paired per-round ratios', () => {
    const summary = summarize([
      { round: 1, tributary: figures(1000, 100, 100), kafkaStreams: figures(1000, 100, 200) },
      { round: 2, tributary: figures(3000, 300, 100), kafkaStreams: figures(1000, 100, 200) },
      { round: 3, tributary: figures(2000, 200, 100, 1000, 80), kafkaStreams: figures(4000, 400, 200) },
    ]);
    expect(summary.rounds).toBe(3);
    expect(summary.tributary.recordsPerSecond).toBe(2000);
    expect(summary.kafkaStreams.recordsPerSecond).toBe(1000);
    // per-round ratios 1, 3, 0.5 → median 1 (not 2000 / 1000 = 2: the rounds are paired)
    expect(summary.ratios.recordsPerSecond).toBe(1);
    expect(summary.ratios.cpuMs).toBe(1);
    expect(summary.ratios.peakRssMb).toBe(0.5);
    expect(summary.tributary.peakSideMemoryMb).toBe(100);
    // per-round side-memory ratios 0.5, 0.5, 0.4 → 0.5
    expect(summary.ratios.peakSideMemoryMb).toBe(0.5);
    const unsampled = summarize([{ round: 1, tributary: figures(1000, 100, 100, 1000, null), kafkaStreams: figures(1000, 100, 200) }]);
    expect(unsampled.tributary.peakSideMemoryMb).toBeNull();
    expect(unsampled.ratios.peakSideMemoryMb).toBeNull();
  });
});
