/**
 * Scenario 4: an instance restarted with its existing state directory restores far fewer records than the table
 * holds (it resumes from its local checkpoints), while a fresh instance (empty state directory) restores the whole
 * table. Asserted on the runtime's own restore counters (/metrics: tributary_restored_records_total).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { produce, waitUntil } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  orderRecords,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
  type EnrichmentTopics,
} from './enrichment-fixture.js';

const CUSTOMERS = 5000;
/** Customers updated while the instance is down. */
const UPDATED = 100;

interface RestoreCounts {
  readonly global: number;
  readonly table: number;
}

async function restoreCounts(app: AppProcess): Promise<RestoreCounts> {
  const metrics = await app.metrics();
  const value = (store: string): number => metrics.get(`tributary_restored_records_total{store="${store}"}`) ?? 0;
  return { global: value('customers-global'), table: value('customers') };
}

/** Orders `from..from+count-1` (customer `c<seq mod customers>`) enriched with customer `version` on both outputs. */
async function waitForOrders(topics: EnrichmentTopics, from: number, count: number, customers: number, version: number): Promise<void> {
  await waitUntil(
    async () => {
      const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
      const pick = (orders: typeof global) => orders.filter((o) => o.seq >= from && o.seq < from + count);
      const ok = (orders: typeof global) => {
        const report = deliveryReport(
          pick(orders).map((o) => ({ ...o, seq: o.seq - from })),
          count,
          customers,
          version,
        );
        return report.lost === 0 && report.wrongCustomer === 0;
      };
      return ok(global) && ok(copart);
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `orders ${from}..${from + count - 1} enriched with customer version ${version}` },
  );
}

describe('TributaryApp restarted with its state directory', () => {
  const apps = new AppProcessGroup('runtime-restart');
  let failed = false;

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('restores from its local checkpoints (few records), while a fresh instance restores everything', async () => {
    const topics = await createEnrichmentTopics('restart', 3);
    const ids = customerIds(CUSTOMERS);
    await produceCustomers(topics, ids, 1);
    const stateDir = apps.newDir('state-a');

    const first = await startEnrichmentApp(apps, topics, { name: 'a', stateDir });
    await first.waitUntilReady();
    const firstCounts = await restoreCounts(first);
    await produce(topics.orders, orderRecords(0, 200, 50));
    await waitForOrders(topics, 0, 200, 50, 1);
    await first.stop();
    expect(first.code).toBe(0);

    // While it is down: UPDATED customers change (both topics).
    await produceCustomers(topics, ids.slice(0, UPDATED), 2);

    const restarted = await startEnrichmentApp(apps, topics, { name: 'a', stateDir });
    await restarted.waitUntilReady();
    const restartCounts = await restoreCounts(restarted);
    // The restarted instance serves the updates: orders for updated customers get version 2 on both paths.
    await produce(topics.orders, orderRecords(1000, 200, UPDATED));
    await waitForOrders(topics, 1000, 200, UPDATED, 2);
    await restarted.stop();
    expect(restarted.code).toBe(0);

    const fresh = await startEnrichmentApp(apps, topics, { name: 'b' });
    await fresh.waitUntilReady();
    const freshCounts = await restoreCounts(fresh);
    await fresh.stop();

    console.log(
      `[runtime restart] table size ${CUSTOMERS} customers (+${UPDATED} updates while down); records restored — ` +
        `first start (empty dir): global ${firstCounts.global}, co-partitioned ${firstCounts.table}; ` +
        `restart WITH checkpoint: global ${restartCounts.global}, co-partitioned ${restartCounts.table}; ` +
        `fresh instance WITHOUT checkpoint: global ${freshCounts.global}, co-partitioned ${freshCounts.table}`,
    );
    expect(firstCounts).toEqual({ global: CUSTOMERS, table: CUSTOMERS });
    // With the checkpoint: only what was produced while it was down (global), nothing for the co-partitioned table
    // (its committed offset equals its checkpoint; the updates are then processed live).
    expect(restartCounts.global).toBe(UPDATED);
    expect(restartCounts.table).toBe(0);
    expect(freshCounts.global).toBeGreaterThanOrEqual(CUSTOMERS);
    expect(freshCounts.table).toBeGreaterThanOrEqual(CUSTOMERS);
  });
});
