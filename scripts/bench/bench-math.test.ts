import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../common/records.js';
import {
  customerValue,
  isDeletedCustomer,
  isUpdatedCustomer,
  joinableOrders,
  orderCustomerIndex,
  seedRecordCount,
} from '../../examples/data-generator.js';
import { outputLatency } from './kafka-measure.js';
import { percentile } from './stats.js';

function output(timestamp: number, createdAt: number | undefined): ConsumedRecord {
  return {
    topic: 'out',
    partition: 0,
    offset: 0,
    timestamp,
    key: Buffer.from('k'),
    value: Buffer.from(JSON.stringify(createdAt === undefined ? {} : { createdAt })),
    headers: {},
  };
}

describe('benchmark arithmetic', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(new Float64Array(0), 99)).toBe(0);
    expect(percentile([7], 50)).toBe(7);
  });

  it('measures latency as output append time minus the order creation time, skipping records without one', () => {
    const records = [output(1010, 1000), output(1050, 1000), output(2000, 1990), output(3000, undefined)];
    expect(outputLatency(records)).toEqual({ records: 3, p50Ms: 10, p99Ms: 50, maxMs: 50 });
  });

  it('counts the records a seed writes and the orders an inner join keeps', () => {
    // 40 customers: updated 0,4,...,36 (10); deleted 7 and 27 (2).
    expect(seedRecordCount(40)).toEqual({ updated: 10, deleted: 2, total: 52 });
    expect([...Array(40).keys()].filter((i) => isDeletedCustomer(i))).toEqual([7, 27]);
    expect(isUpdatedCustomer(8) && !isDeletedCustomer(8)).toBe(true);
    let joinable = 0;
    for (let i = 100; i < 1100; i++) if (!isDeletedCustomer(orderCustomerIndex(i, 40))) joinable++;
    expect(joinableOrders(100, 1000, 40)).toBe(joinable);
    expect(joinable).toBeGreaterThan(900);
    expect(joinable).toBeLessThan(1000);
  });

  it('spreads orders over every customer and makes ~200-byte customer values', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(orderCustomerIndex(i, 100));
    expect(seen.size).toBe(100);
    const size = Buffer.byteLength(JSON.stringify(customerValue(123_456, 1, 1_700_000_000_000)));
    expect(size).toBeGreaterThan(170);
    expect(size).toBeLessThan(230);
  });
});
