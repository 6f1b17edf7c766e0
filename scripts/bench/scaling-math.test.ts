import { describe, expect, it } from 'vitest';
import {
  deliveryCount,
  metricValue,
  parsePrometheusText,
  pauseReading,
  rebalancePauseMs,
  sampleKeysByPartition,
  type PauseReading,
} from './scaling-math.js';

const exposition = `# HELP tributary_restored_records_total Records restored.
# TYPE tributary_restored_records_total counter
tributary_restored_records_total{store="customers",partition="0"} 120
tributary_restored_records_total{store="customers",partition="1"} 30
tributary_restored_records_total{store="customers-global",partition="0"} 999
tributary_unmoved_task_pause_seconds{stat="last"} 0.25
tributary_unmoved_task_pause_seconds{stat="max"} 1.5
tributary_unmoved_task_pauses_total 3
`;

describe('scaling bench metrics', () => {
  it('sums the samples whose labels match exactly, and says when none exists', () => {
    const samples = parsePrometheusText(exposition);
    expect(metricValue(samples, 'tributary_restored_records_total', { store: 'customers' })).toBe(150);
    expect(metricValue(samples, 'tributary_restored_records_total')).toBe(1149);
    expect(metricValue(samples, 'tributary_first_record_after_start_seconds')).toBeUndefined();
  });

  it('reads the unmoved-task pause gauges in ms', () => {
    expect(pauseReading(parsePrometheusText(exposition))).toEqual({ lastMs: 250, maxMs: 1500, pauses: 3 });
    expect(pauseReading(new Map())).toEqual({ lastMs: undefined, maxMs: undefined, pauses: 0 });
  });

  it('takes the worst last pause among the instances that measured one in this rebalance', () => {
    const r = (lastMs: number | undefined, pauses: number): PauseReading => ({ lastMs, maxMs: lastMs, pauses });
    const before = new Map([
      ['a', r(100, 1)],
      ['b', r(900, 1)],
    ]);
    // b's 900 ms is from an earlier rebalance (count unchanged); c is new.
    const after = new Map([
      ['a', r(300, 2)],
      ['b', r(900, 1)],
      ['c', r(5000, 1)],
    ]);
    expect(rebalancePauseMs(before, after)).toBe(300);
    expect(rebalancePauseMs(before, before)).toBeUndefined();
  });
});

describe('delivery count', () => {
  it('counts lost and duplicated orders, ignoring ids not expected', () => {
    const expected = new Set(['o1', 'o2', 'o3']);
    expect(deliveryCount(expected, ['o1', 'o1', 'o3', 'x'])).toEqual({ expected: 3, outputs: 4, distinct: 2, lost: 1, duplicates: 1 });
  });
});

describe('sample keys by partition', () => {
  it('takes the first keys of each wanted partition, at most perPartition each', () => {
    const samples = sampleKeysByPartition(
      (i) => `k${i}`,
      (key) => Number(key.slice(1)) % 4,
      [1, 3],
      2,
      100,
    );
    expect(samples).toEqual(
      new Map([
        [1, ['k1', 'k5']],
        [3, ['k3', 'k7']],
      ]),
    );
  });

  it('stops at keyCount even when a partition is short', () => {
    expect(
      sampleKeysByPartition(
        (i) => `k${i}`,
        () => 0,
        [0, 1],
        3,
        2,
      ).get(1),
    ).toEqual([]);
  });
});
