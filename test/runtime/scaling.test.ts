/**
 * Scaling by instances while orders flow (all instances child processes on the real broker):
 * 1. a 4th instance joins 3: only its share of tasks moves; the tasks the others keep stay open through the
 *    rebalance (no store closed, reopened or restored: their restoration counters do not move), and the pause those
 *    unmoved tasks see (last record before → first after the rebalance) is measured and printed;
 * 2. a rolling restart of one instance (SIGTERM, same state directory and instance id) gets it as many tasks back,
 *    its table tasks all ones it has local state for, restoring from its checkpoints (not the whole table);
 * and no order is lost on either join path.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { OrderFlow, stableMetadata } from './group-scenario.js';
import { waitUntil } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
  type EnrichmentTopics,
} from './enrichment-fixture.js';

const PARTITIONS = 6;
const CUSTOMERS = 3000;
/** Two sub-topologies, PARTITIONS tasks each. */
const TASKS = 2 * PARTITIONS;

function tasksOf(metadata: ClusterMetadata, instance: AppProcess): string[] {
  return [...(metadata.instances.find((m) => m.url === instance.url)?.tasks ?? [])].sort();
}

/** Store partition restorations so far (with records, or skipped because already at target). */
async function restorations(instance: AppProcess): Promise<number> {
  return instance.metricSum('tributary_restorations_total');
}

describe('scaling by instances while orders flow', () => {
  const apps = new AppProcessGroup('runtime-scaling');
  let topics: EnrichmentTopics;
  let flow: OrderFlow;
  let failed = false;

  beforeAll(async () => {
    topics = await createEnrichmentTopics('scaling', PARTITIONS);
    await produceCustomers(topics, customerIds(CUSTOMERS), 1);
    flow = new OrderFlow(topics.orders, { customers: CUSTOMERS, batchSize: 20, intervalMs: 50 });
  });
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => {
    await flow.close();
    await apps.dispose({ printLogs: failed });
  });

  it('a 4th instance takes only its share without reopening kept tasks; a rolling restart gets its tasks back', async () => {
    const a = await startEnrichmentApp(apps, topics, { name: 'a' });
    await a.waitUntilReady();
    const b = await startEnrichmentApp(apps, topics, { name: 'b' });
    const c = await startEnrichmentApp(apps, topics, { name: 'c' });
    await flow.start();
    const three = await stableMetadata([a, b, c]);
    const before = await Promise.all([a, b, c].map(restorations));
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // 1. A 4th instance joins under load.
    const d = await startEnrichmentApp(apps, topics, { name: 'd' });
    const four = await stableMetadata([a, b, c, d]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await Promise.all([a, b, c].map(restorations));
    const pauses = await Promise.all([a, b, c].map((i) => i.metricSum('tributary_unmoved_task_pause_seconds', { stat: 'last' })));
    expect(four.instances.flatMap((m) => m.tasks)).toHaveLength(TASKS);
    for (const instance of [a, b, c]) {
      // Only lost tasks: nothing moved between the three.
      expect(tasksOf(three, instance)).toEqual(expect.arrayContaining(tasksOf(four, instance)));
    }
    // Kept tasks were neither reopened nor restored (a reopened task counts a restoration, skipped or not).
    expect(after).toEqual(before);

    // 2. Rolling restart of b: SIGTERM, then the same state directory and instance id.
    const bTasks = tasksOf(four, b);
    await b.stop();
    expect(b.code).toBe(0);
    // Read before the restart: the table tasks b has store directories for, from any earlier assignment.
    const hadState = new Set(
      readdirSync(join(b.stateDir, topics.appId, 'customers'))
        .filter((name) => /^\d+$/.test(name))
        .map((partition) => `0_${partition}`),
    );
    await stableMetadata([a, c, d]);
    const restartedAt = Date.now();
    const b2 = await startEnrichmentApp(apps, topics, { name: 'b', stateDir: b.stateDir });
    const back = await stableMetadata([a, b2, c, d]);
    const backMs = Date.now() - restartedAt;
    // Every table task it gets back is one it has local state for: nothing is rebuilt from the beginning. (Which of
    // them is a tie the assignor breaks by previous ownership.)
    const returned = tasksOf(back, b2);
    expect(returned.filter((id) => id.startsWith('0_') && !hadState.has(id))).toEqual([]);
    expect(returned).toHaveLength(bTasks.length);
    const restoredByB2 = await b2.metricSum('tributary_restored_records_total', { store: 'customers' });
    expect(restoredByB2).toBeLessThan(CUSTOMERS / 2);

    await flow.close();
    const total = flow.produced;
    await waitUntil(
      async () => {
        const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
        return deliveryReport(global, total, CUSTOMERS).lost === 0 && deliveryReport(copart, total, CUSTOMERS).lost === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: `all ${total} orders on both outputs` },
    );
    console.log(
      `[runtime scaling] ${total} orders, 0 lost; 4th instance joined 3 under load: pause of unmoved tasks (last record before → ` +
        `first after the rebalance) a ${(pauses[0] * 1000).toFixed(0)} ms, b ${(pauses[1] * 1000).toFixed(0)} ms, c ${(pauses[2] * 1000).toFixed(0)} ms; ` +
        `restorations on the 3 kept instances before/after ${JSON.stringify(before)}/${JSON.stringify(after)}; rolling restart of b: ` +
        `tasks before ${bTasks.join(',')}, after ${returned.join(',')} (all with local state), ${restoredByB2} of ${CUSTOMERS} table records restored, group stable ${backMs} ms after the restart`,
    );
    await Promise.all([a, b2, c, d].map((i) => i.stop()));
  });
});
