import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lagSeries } from './lag-series.js';

describe('lagSeries', () => {
  it('computes lag per sample and the committed rate between samples', () => {
    const series = lagSeries({
      groupId: 'g',
      intervalMs: 5000,
      times: [0, 5000, 10_000, 15_000],
      partitions: [
        { topic: 'orders', partition: 0, committed: [null, 100, 600, 500], end: [50, 700, 700, 900] },
        { topic: 'orders', partition: 1, committed: [10, null, 20, 20], end: [10, null, 20, 20] },
      ],
    });
    expect(series.partitions[0]).toEqual({
      topic: 'orders',
      partition: 0,
      lag: [50, 600, 100, 400],
      // 100 → 600 in 5 s; the drop to 500 (an offset reset) has no rate
      rate: [null, null, 100, null],
      committed: 500,
      end: 900,
    });
    expect(series.partitions[1]).toMatchObject({ lag: [0, null, 0, 0], rate: [null, null, null, 0], committed: 20, end: 20 });
  });

  it('never reports negative lag or rate, and keeps every series aligned with the sample times', () => {
    const offset = fc.option(fc.nat({ max: 1_000_000 }), { nil: null });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 60_000 }), offset, offset), { maxLength: 30 }), (samples) => {
        let time = 0;
        const times = samples.map(([step]) => (time += step));
        const series = lagSeries({
          groupId: 'g',
          intervalMs: 1000,
          times,
          partitions: [{ topic: 't', partition: 0, committed: samples.map((s) => s[1]), end: samples.map((s) => s[2]) }],
        });
        const [p] = series.partitions;
        expect(p.lag).toHaveLength(times.length);
        expect(p.rate).toHaveLength(times.length);
        for (const value of [...p.lag, ...p.rate]) if (value !== null) expect(value).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
