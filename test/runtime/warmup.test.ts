/**
 * Warm-up before moving (Kafka Streams' KIP-441) on the real broker, instances as child processes: one instance owns
 * a co-partitioned table of 20,000 customers while orders flow; a second joins. Restoring a table partition from
 * scratch (5,000 records) is above `acceptableRecoveryLag` (100 here), so the table tasks the balanced assignment
 * gives the newcomer stay with the first instance, which keeps processing and answering them, while the newcomer
 * warms them up (standbys); the stateless tasks move at once. The first probing rebalance (every 5 s here) finds the
 * warm-ups caught up and the tasks move; the newcomer restores ~0 records at hand-over. No order is lost.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { defaultPartition } from '../../common/partitioner.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { waitUntil } from '../helpers/kafka.js';
import { OrderFlow, stableMetadata } from './group-scenario.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
} from './enrichment-fixture.js';

const PARTITIONS = 4;
const CUSTOMERS = 20_000;
const PROBING_MS = 5000;

const tablePartitions = (metadata: ClusterMetadata, instance: AppProcess): number[] =>
  [...(metadata.instances.find((m) => m.url === instance.url)?.storePartitions.customers ?? [])].sort((x, y) => x - y);

describe('warm-up before moving', () => {
  const apps = new AppProcessGroup('runtime-warmup');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('a joining instance warms the table tasks up while the owner keeps serving them; they move at the probing rebalance', async () => {
    const topics = await createEnrichmentTopics('warmup', PARTITIONS);
    const ids = customerIds(CUSTOMERS);
    await produceCustomers(topics, ids, 1);
    const env = { ACCEPTABLE_RECOVERY_LAG: '100', MAX_WARMUP_REPLICAS: '2', PROBING_REBALANCE_INTERVAL_MS: String(PROBING_MS) };
    const flow = new OrderFlow(topics.orders, { customers: CUSTOMERS, batchSize: 20, intervalMs: 50 });
    try {
      const a = await startEnrichmentApp(apps, topics, { name: 'a', env });
      await a.waitUntilReady();
      await flow.start();
      const joinedAt = Date.now();
      const b = await startEnrichmentApp(apps, topics, { name: 'b', env });

      // 1. Warming up: b runs only stateless tasks, a keeps every table partition and answers all of its keys.
      const warming = await stableMetadata([a, b]);
      expect(tablePartitions(warming, a)).toEqual([0, 1, 2, 3]);
      expect(tablePartitions(warming, b)).toEqual([]);
      expect(warming.instances.find((m) => m.url === b.url)?.tasks.length).toBeGreaterThan(0);
      for (const id of ids.filter((_, i) => i % 500 === 0)) {
        expect((await a.request(`/stores/customers/keys/${id}`)).status, `customer ${id} on a`).toBe(200);
      }

      // 2. A probing rebalance finds the warm-ups caught up: two table partitions move to b.
      let moved: ClusterMetadata | undefined;
      await waitUntil(
        async () => {
          moved = await stableMetadata([a, b]);
          return tablePartitions(moved, b).length === PARTITIONS / 2;
        },
        { timeoutMs: 30_000, intervalMs: 250, description: 'the warmed-up table tasks on b' },
      );
      const movedMs = Date.now() - joinedAt;
      const bPartitions = tablePartitions(moved as ClusterMetadata, b);
      const restoredByB = await b.metricSum('tributary_restored_records_total', { store: 'customers' });
      // Its keys answer on b, the new owner.
      for (const id of ids.filter((_, i) => i % 200 === 0)) {
        if (!bPartitions.includes(defaultPartition(Buffer.from(id), PARTITIONS))) continue;
        expect((await b.request(`/stores/customers/keys/${id}`)).status, `customer ${id} on b`).toBe(200);
      }
      // Restored at hand-over: only what the warm-ups had not read (nothing: the table is quiet), against 10,000
      // records for two partitions from scratch.
      expect(restoredByB).toBeLessThan(100);

      await flow.close();
      const total = flow.produced;
      await waitUntil(async () => deliveryReport(await readEnriched(topics.outCopart), total, CUSTOMERS).lost === 0, {
        timeoutMs: 60_000,
        intervalMs: 500,
        description: `all ${total} orders enriched`,
      });
      console.log(
        `[runtime warmup] ${CUSTOMERS} customers over ${PARTITIONS} partitions; b joined a under load: table tasks kept on a ` +
          `while b warmed up, moved ${movedMs} ms after b started (probing every ${PROBING_MS} ms), ` +
          `partitions ${bPartitions.join(',')} to b restoring ${restoredByB} records at hand-over; ${total} orders, 0 lost`,
      );
      await Promise.all([a, b].map((i) => i.stop()));
    } finally {
      await flow.close().catch(() => undefined);
    }
  });
});
