/**
 * Exactly-once on the real broker: a zombie. Two instances of the enrichment app share the work while orders flow;
 * one is frozen (SIGSTOP) past its session timeout, the other takes its tasks over (its producers, with the same
 * transactional ids, fence the frozen one's), then the frozen one resumes (SIGCONT) with work in memory and a
 * transaction possibly open. Its writes are fenced: a read_committed reader still sees every order once.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { produce, waitUntil } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  orderRecords,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
} from '../runtime/enrichment-fixture.js';

const SESSION_TIMEOUT_MS = 3000;
const EOS = { PROCESSING_GUARANTEE: 'exactly-once' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('exactly-once with a zombie instance', () => {
  const apps = new AppProcessGroup('eos-zombie');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('a frozen instance that resumes after losing its tasks is fenced; every order still once', { timeout: 240_000 }, async () => {
    const topics = await createEnrichmentTopics('eos-zombie', 4);
    const customers = 100;
    await produceCustomers(topics, customerIds(customers), 1);
    const common = { commitIntervalMs: 100, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 1000, env: EOS };
    const zombie = await startEnrichmentApp(apps, topics, { name: 'zombie', ...common });
    await zombie.waitUntilReady(90_000);
    const survivor = await startEnrichmentApp(apps, topics, { name: 'survivor', ...common });
    await survivor.waitUntilReady(90_000);

    let orders = 0;
    let flowing = true;
    const traffic = (async () => {
      while (flowing) {
        await produce(topics.orders, orderRecords(orders, 50, customers));
        orders += 50;
        await sleep(100);
      }
    })();
    try {
      await sleep(2000);
      zombie.pause();
      // Past the session timeout the survivor is given every task (and fences the zombie's transactional ids).
      await sleep(SESSION_TIMEOUT_MS * 3);
      zombie.resume();
      await sleep(5000);
    } finally {
      flowing = false;
      await traffic;
    }
    await waitUntil(
      async () => {
        const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
        return deliveryReport(global, orders, customers).lost === 0 && deliveryReport(copart, orders, customers).lost === 0;
      },
      { timeoutMs: 90_000, intervalMs: 1000, description: `all ${orders} orders on both outputs` },
    );
    const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
    const globalReport = deliveryReport(global, orders, customers);
    const copartReport = deliveryReport(copart, orders, customers);
    const fencedLines = zombie
      .logs()
      .split('\n')
      .filter((line) => line.includes('task fenced by a newer owner')).length;
    const zombieAborted = zombie.running ? await zombie.metricSum('tributary_transactions_aborted_total') : undefined;
    console.log(
      `[eos zombie] ${JSON.stringify({ orders, global: globalReport, copart: copartReport, fencedLines, zombieAborted, zombieRunning: zombie.running })}`,
    );
    expect(globalReport).toMatchObject({ lost: 0, duplicates: 0 });
    expect(copartReport).toMatchObject({ lost: 0, duplicates: 0 });
    // The zombie went on (rejoined) rather than failing.
    expect(zombie.running).toBe(true);
    await Promise.all([zombie.stop(), survivor.stop()]);
  });
});
