/**
 * The kill -9 scenario of the aggregation tests, sized by the caller (aggregations.test.ts runs a small one,
 * test/soak/ a larger one): an instance is killed with SIGKILL while it processes a backlog of orders, restarts with
 * its state directory (its stores restore the changelog tail past their checkpoints) and processes everything.
 *
 * At-least-once: orders processed after the last offset commit are processed again, and their effects may already
 * be in the changelog. So the check is: every count and window is at least the truth (never lower: nothing lost),
 * what the instance serves equals the latest changelog record of every key (the store and its changelog agree),
 * and an instance restoring from the changelogs alone (an empty state directory) serves exactly the same.
 * Exactly-once (`exactlyOnce`): the same run, and the caller expects no duplicate at all.
 */
import { expect } from 'vitest';
import type { AppProcessGroup } from '../helpers/app-process.js';
import { waitUntil } from '../helpers/kafka.js';
import { COUNT_STORE, REVENUE_STORE } from '../fixtures/aggregation-topology.js';
import {
  changelogState,
  comparable,
  createAggregationCase,
  differences,
  FIXTURE,
  foldOrders,
  makeOrders,
  produceOrders,
  restoredInto,
  served,
  waitUntilProcessed,
} from './aggregation-data.js';

export interface AggregationKillScenario {
  readonly partitions: number;
  readonly orders: number;
  readonly customers: number;
  readonly hours: number;
  /**
   * The instance is killed once it processed at least this many orders (per life: each kill restarts it with its
   * state directory, and the next count is of the restarted instance).
   */
  readonly killAfterProcessed: number | readonly number[];
  /** Run under `processingGuarantee: 'exactly-once'` (commit interval 100 ms): then nothing may count twice. */
  readonly exactlyOnce?: boolean;
}

export interface AggregationKillReport {
  /** Orders each killed instance had processed. */
  readonly processedBeforeKill: readonly number[];
  /** Records the restarted instance read from the changelogs (the tail past its stores' checkpoints). */
  readonly restoredAfterKill: { readonly counts: number; readonly windows: number };
  /** Orders counted twice (sum of count - truth), and revenue counted twice (sum over windows). */
  readonly duplicateCounts: number;
  readonly duplicateRevenue: number;
  readonly restoredFromEmpty: { readonly counts: number; readonly windows: number };
}

export async function runAggregationKill(apps: AppProcessGroup, scenario: AggregationKillScenario): Promise<AggregationKillReport> {
  const c = await createAggregationCase('agg-kill', scenario.partitions);
  const options = {
    fixture: FIXTURE,
    appId: c.appId,
    name: 'kill',
    stateDir: apps.newDir('state-kill'),
    commitIntervalMs: scenario.exactlyOnce === true ? 100 : 300,
    env: scenario.exactlyOnce === true ? { ...c.env, PROCESSING_GUARANTEE: 'exactly-once' } : c.env,
  };
  let instance = await apps.start(options);
  await instance.waitUntilReady();
  const orders = makeOrders(c.epoch, 0, scenario.orders, scenario.customers, scenario.hours);
  const producing = produceOrders(c, orders);
  const processedBeforeKill: number[] = [];
  for (const killAt of typeof scenario.killAfterProcessed === 'number' ? [scenario.killAfterProcessed] : scenario.killAfterProcessed) {
    const running = instance;
    let processed = 0;
    await waitUntil(
      async () => {
        processed = await running.metricSum('tributary_records_processed_total', { topic: c.orders });
        return processed >= killAt;
      },
      { timeoutMs: 120_000, intervalMs: 50, description: `${killAt} orders processed` },
    );
    await running.kill();
    processedBeforeKill.push(processed);
    // Restarted with its state directory: its stores restore the changelog tail past their checkpoints.
    instance = await apps.start(options);
    await instance.waitUntilReady(120_000);
  }
  await producing;
  const restarted = instance;
  await waitUntilProcessed(c, 300_000);
  const truth = foldOrders(orders);
  const after = await served(restarted.url);
  // Nothing lost: every key and window at least the truth (duplicates are the at-least-once part).
  const countDiff = differences(after.counts, truth.counts);
  const revenueDiff = differences(after.revenue, truth.revenue);
  expect([...countDiff].filter(([, d]) => d < 0)).toEqual([]);
  expect([...revenueDiff].filter(([, d]) => d < 0)).toEqual([]);
  expect([...after.counts.keys()].sort()).toEqual([...truth.counts.keys()].sort());
  expect([...after.revenue.keys()].sort()).toEqual([...truth.revenue.keys()].sort());
  // The stores and their changelogs agree: what a restore would bring back is what is served.
  expect(comparable(await changelogState(c))).toEqual(comparable(after));
  const restoredAfterKill = {
    counts: await restoredInto(restarted, COUNT_STORE),
    windows: await restoredInto(restarted, REVENUE_STORE),
  };
  await restarted.stop();
  expect(restarted.code).toBe(0);

  const fresh = await apps.start({ ...options, name: 'kill-fresh', stateDir: apps.newDir('state-kill-fresh') });
  await fresh.waitUntilReady();
  expect(comparable(await served(fresh.url))).toEqual(comparable(after));
  const restoredFromEmpty = { counts: await restoredInto(fresh, COUNT_STORE), windows: await restoredInto(fresh, REVENUE_STORE) };
  await fresh.stop();
  expect(fresh.code).toBe(0);
  const sum = (diff: ReadonlyMap<string, number>): number => [...diff.values()].reduce((a, b) => a + b, 0);
  return {
    processedBeforeKill,
    restoredAfterKill,
    duplicateCounts: sum(countDiff),
    duplicateRevenue: sum(revenueDiff),
    restoredFromEmpty,
  };
}
