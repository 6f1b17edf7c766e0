/**
 * Aggregations on the real broker, instances as child processes (test/fixtures/aggregation-app.ts): orders grouped by
 * customer through a repartition topic, counted (`orders-per-customer`) and summed per hour (`revenue-per-hour`).
 *
 * What the guarantee is (at-least-once), and what each test checks:
 * - without a crash (and without a rebalance while records are in flight) every order counts once: two instances
 *   answer every key, counts and windows, exactly; after graceful stops an instance with an empty state directory
 *   restores the exact values from the changelog topics, and counts on from them;
 * - after kill -9, the records processed since the last offset commit are processed again, and their effects may
 *   already be in the changelog (changelog records are acknowledged before the offsets are committed): values may
 *   be higher than the truth, never lower, and what is served is exactly what the changelog says. A later restore
 *   from the changelog alone gives those same values back.
 * The full-size kill -9 variant is in test/soak/aggregations-kill.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { AppProcessGroup } from '../helpers/app-process.js';
import { waitUntil, withAdmin } from '../helpers/kafka.js';
import { COUNT_STORE, REVENUE_STORE } from '../fixtures/aggregation-topology.js';
import {
  changelogState,
  comparable,
  createAggregationCase,
  FIXTURE,
  foldOrders,
  makeOrders,
  produceOrders,
  restoredInto,
  served,
  waitUntilProcessed,
  wrongLookups,
} from './aggregation-data.js';
import { runAggregationKill } from './aggregation-kill.js';

const apps = new AppProcessGroup('aggregations');

afterEach(async ({ task }) => {
  await apps.cleanup({ printLogs: task.result?.state === 'fail' });
});

describe('aggregations on Kafka', () => {
  it('two instances answer every key, windowed too; an empty state directory restores the exact values from the changelogs', async () => {
    const c = await createAggregationCase('agg-two', 4);
    const options = { fixture: FIXTURE, appId: c.appId, commitIntervalMs: 200, env: c.env };
    const a = await apps.start({ ...options, name: 'a' });
    const b = await apps.start({ ...options, name: 'b' });
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);
    // Both hold tasks before any order arrives: no rebalance while records are in flight, so nothing counts twice.
    await waitUntil(
      async () => {
        const views = await Promise.all([a, b].map((app) => app.json<ClusterMetadata>('/metadata')));
        return views.every((view) => view.instances.length === 2 && view.instances.every((i) => i.tasks.length > 0));
      },
      { timeoutMs: 30_000, description: 'both instances with tasks' },
    );

    const orders = makeOrders(c.epoch, 0, 1500, 60, 4);
    await produceOrders(c, orders);
    await waitUntilProcessed(c);
    const truth = foldOrders(orders);
    for (const app of [a, b]) {
      expect(comparable(await served(app.url))).toEqual(comparable(truth));
      expect(await wrongLookups(app.url, truth)).toEqual([]);
    }
    // The changelog topics: created at start with one partition per task, compacted; they hold the same values.
    const topics = await withAdmin(async (admin) => ({
      counts: await admin.describeTopicPartitions([c.countChangelog, c.revenueChangelog]),
      configs: await admin.topicConfigs([c.countChangelog, c.revenueChangelog], ['cleanup.policy']),
    }));
    expect(topics.counts.partitions).toEqual(
      new Map([
        [c.countChangelog, 4],
        [c.revenueChangelog, 4],
      ]),
    );
    expect(topics.configs.get(c.countChangelog)).toEqual({ 'cleanup.policy': 'compact' });
    expect(topics.configs.get(c.revenueChangelog)).toEqual({ 'cleanup.policy': 'compact,delete' });
    expect(comparable(await changelogState(c))).toEqual(comparable(truth));

    await b.stop();
    await a.stop();
    expect([a.code, b.code]).toEqual([0, 0]);
    const fresh = await apps.start({ ...options, name: 'fresh' });
    await fresh.waitUntilReady();
    expect(await restoredInto(fresh, COUNT_STORE)).toBeGreaterThan(0);
    expect(await restoredInto(fresh, REVENUE_STORE)).toBeGreaterThan(0);
    expect(comparable(await served(fresh.url))).toEqual(comparable(truth));
    const more = makeOrders(c.epoch, 1500, 300, 60, 4);
    await produceOrders(c, more);
    await waitUntilProcessed(c);
    expect(comparable(await served(fresh.url))).toEqual(comparable(foldOrders([...orders, ...more])));
    await fresh.stop();
    expect(fresh.code).toBe(0);
  });

  it('after kill -9 serves what its changelog says, at least the truth for every key and window, and restores it exactly', async () => {
    const report = await runAggregationKill(apps, { partitions: 4, orders: 12_000, customers: 150, hours: 6, killAfterProcessed: 5_000 });
    console.log(`aggregation kill -9: ${JSON.stringify(report)}`);
  });
});
