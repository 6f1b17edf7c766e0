/**
 * A crashed instance that comes back does not wait out its own ghost: after kill -9 and a restart on the same state
 * directory, with the default 30 s session timeout, the restarted process removes the member its previous
 * incarnation left in the group (the member id kept in the state directory) before it joins, so its tasks are back
 * and processing long before that member's session would have expired. Alone and next to a surviving instance.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

const CUSTOMERS = 200;
const SESSION_TIMEOUT_MS = 30_000;

/** Waits until orders 0..count-1 came out of both joins; resolves with the time that happened. */
async function waitForOrders(topics: EnrichmentTopics, count: number): Promise<number> {
  await waitUntil(
    async () => {
      const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
      return deliveryReport(global, count, CUSTOMERS).lost === 0 && deliveryReport(copart, count, CUSTOMERS).lost === 0;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: `orders 0..${count - 1} enriched on both paths` },
  );
  return Date.now();
}

/** Kills `victim`, produces orders while it is down, restarts it in place; the restart → ready/processing times. */
async function crashAndRestart(
  apps: AppProcessGroup,
  topics: EnrichmentTopics,
  victim: AppProcess,
  ordersBefore: number,
): Promise<{ restarted: AppProcess; readyMs: number; processingMs: number }> {
  await victim.kill();
  await produce(topics.orders, orderRecords(ordersBefore, 100, CUSTOMERS));
  const restarted = await startEnrichmentApp(apps, topics, {
    name: victim.name,
    stateDir: victim.stateDir,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
  });
  const spawnedAt = restarted.startedAt;
  const processing = waitForOrders(topics, ordersBefore + 100);
  await restarted.waitUntilReady(SESSION_TIMEOUT_MS * 2);
  const readyMs = Date.now() - spawnedAt;
  const processingMs = (await processing) - spawnedAt;
  return { restarted, readyMs, processingMs };
}

describe('an instance restarted after kill -9 on its state directory', () => {
  const apps = new AppProcessGroup('runtime-crash-restart');
  let failed = false;

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('gets its tasks back without waiting for the dead member’s 30 s session, alone and beside a survivor', async () => {
    const topics = await createEnrichmentTopics('crash-restart', 4);
    await produceCustomers(topics, customerIds(CUSTOMERS), 1);

    // Alone: the dead member is the group's only member.
    const alone = await startEnrichmentApp(apps, topics, { name: 'a', sessionTimeoutMs: SESSION_TIMEOUT_MS });
    await alone.waitUntilReady();
    await produce(topics.orders, orderRecords(0, 100, CUSTOMERS));
    await waitForOrders(topics, 100);
    expect(existsSync(join(alone.stateDir, topics.appId, 'member.tasks.id'))).toBe(true);
    const single = await crashAndRestart(apps, topics, alone, 100);

    // Beside a survivor: the coordinator would otherwise wait for the ghost before completing the rebalance.
    const survivor = await startEnrichmentApp(apps, topics, { name: 'b', sessionTimeoutMs: SESSION_TIMEOUT_MS });
    await survivor.waitUntilReady();
    await waitUntil(async () => (await single.restarted.request('/ready')).status === 200, {
      timeoutMs: 60_000,
      description: 'a ready again after b joined',
    });
    const pair = await crashAndRestart(apps, topics, single.restarted, 200);
    await waitUntil(async () => (await survivor.request('/ready')).status === 200, { timeoutMs: 60_000, description: 'b ready' });

    console.log(
      `[runtime crash-restart] session timeout ${SESSION_TIMEOUT_MS} ms; restart after kill -9 → ready / orders written ` +
        `while down processed on both joins: alone ${single.readyMs} / ${single.processingMs} ms; ` +
        `beside a survivor ${pair.readyMs} / ${pair.processingMs} ms`,
    );
    // The functional bound: well below the session timeout, i.e. nobody waited for the ghost to expire.
    expect(single.processingMs).toBeLessThan(SESSION_TIMEOUT_MS / 2);
    expect(pair.processingMs).toBeLessThan(SESSION_TIMEOUT_MS / 2);
    expect(single.restarted.logs()).toContain('removed the member a previous incarnation');
    expect(pair.restarted.logs()).toContain('removed the member a previous incarnation');

    await Promise.all([pair.restarted.stop(), survivor.stop()]);
    expect(pair.restarted.code).toBe(0);
    expect(survivor.code).toBe(0);
  });
});
