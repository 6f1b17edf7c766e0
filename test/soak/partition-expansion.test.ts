/**
 * The partition-expansion scenario at the shape (test/runtime/partition-expansion.test.ts runs a short,
 * guaranteed-only version): customers and orders grow 6 → 12 while two instances run a global-table join and a
 * co-partitioned join and a writer keeps updating, deleting and ordering with the default partitioner; a checker
 * queries every key on both instances and on a fresh third one.
 *
 * Asserted: no crash, no order missing from the global join nor from the co-partitioned join, the repartition topic
 * grown, every instance's global table right (no wrong, resurrected or missing key; the fresh instance's bootstrap
 * meets a moved key's older record and starts over with record versions), and the co-partitioned table right on every
 * instance, the fresh one included (its tasks regroup their keys). Printed: everything.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runExpansionScenario } from '../runtime/partition-expansion-scenario.js';

describe('soak: partitions added while two instances run', () => {
  const apps = new AppProcessGroup('soak-partition-expansion');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('expands customers and orders 6 → 12 under writes, updates and deletes', async () => {
    const report = await runExpansionScenario(apps, {
      partitions: 6,
      expandedPartitions: 12,
      customers: Number(process.env.EXPANSION_CUSTOMERS ?? 2000),
      churnCustomers: Number(process.env.EXPANSION_CHURN ?? 500),
      roundsBefore: Number(process.env.EXPANSION_ROUNDS_BEFORE ?? 300),
      roundsAfter: Number(process.env.EXPANSION_ROUNDS_AFTER ?? 600),
      ordersPerRound: 10,
      partitionCheckIntervalMs: 5000,
    });
    console.log(`[soak partition expansion] ${JSON.stringify(report)}`);
    expect(report.crashed).toEqual([]);
    expect(report.missingFromGlobalJoin).toBe(0);
    expect(report.inconsistentJoins).toBe(0);
    expect(report.repartitionPartitions).toBe(12);
    for (const name of ['a', 'b', 'c']) {
      const global = report.stores[name].global;
      expect(global.wrong + global.resurrected + global.missing + global.unavailable, `${name} global table`).toBe(0);
    }
    // --- co-partitioned table (regrouping): no order missing from its join, every key right on every instance.
    expect(report.missingFromCopartitionedJoin).toBe(0);
    for (const name of ['a', 'b', 'c']) {
      const copart = report.stores[name].copartitioned;
      expect(copart.wrong + copart.resurrected + copart.missing + copart.unavailable, `${name} co-partitioned table`).toBe(0);
    }
    // --- end
  });
});
