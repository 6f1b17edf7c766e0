/**
 * Scenarios 2 and 3 (run in order; they share one application and its three instances, all child processes):
 * 2. a second and a third instance join while orders flow: tasks spread (checked through /metadata), no order is
 *    lost, and after the rebalance every input partition is processed by exactly one instance (its owner);
 * 3. one instance is `kill -9`ed mid-stream: the others take over after the session timeout (6 s) and no order is
 *    lost (duplicates are allowed under at-least-once; both are counted and printed).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { OrderFlow, stableMetadata } from './group-scenario.js';
import { waitUntil } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  orderPartition,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
  type EnrichmentTopics,
} from './enrichment-fixture.js';

const PARTITIONS = 6;
const CUSTOMERS = 60;
/** Two sub-topologies (orders → global join + repartition; repartition + table → join), PARTITIONS tasks each. */
const TASKS = 2 * PARTITIONS;
/** Sub-topology reading the orders topic: 1 (sub-topology 0 starts at the co-partitioned table, declared first). */
const ORDERS_SUBTOPOLOGY = 1;

async function waitForAllOrders(topics: EnrichmentTopics, expected: number): Promise<void> {
  await waitUntil(
    async () => {
      const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
      return deliveryReport(global, expected, CUSTOMERS).lost === 0 && deliveryReport(copart, expected, CUSTOMERS).lost === 0;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `all ${expected} orders on both outputs` },
  );
}

describe('TributaryApp, instances joining and failing while orders flow', () => {
  const apps = new AppProcessGroup('runtime-multi');
  let topics: EnrichmentTopics;
  let flow: OrderFlow;
  const instances: AppProcess[] = [];
  let failed = false;

  beforeAll(async () => {
    topics = await createEnrichmentTopics('multi', PARTITIONS);
    await produceCustomers(topics, customerIds(CUSTOMERS), 1);
    flow = new OrderFlow(topics.orders, { customers: CUSTOMERS, batchSize: 25, intervalMs: 100 });
  });

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });

  afterAll(async () => {
    await flow.close();
    await apps.dispose({ printLogs: failed });
  });

  it('spreads tasks over joining instances without losing orders; one processor per partition after the rebalance', async () => {
    const a = await startEnrichmentApp(apps, topics, { name: 'a' });
    instances.push(a);
    await a.waitUntilReady();
    await flow.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const b = await startEnrichmentApp(apps, topics, { name: 'b' });
    instances.push(b);
    await b.waitUntilReady();
    const c = await startEnrichmentApp(apps, topics, { name: 'c' });
    instances.push(c);
    await c.waitUntilReady();

    const metadata = await stableMetadata(instances);
    const stableFromSeq = flow.produced;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await flow.pause();
    const total = flow.produced;
    await waitForAllOrders(topics, total);

    // Tasks spread: disjoint, complete, nobody idle (12 tasks over 3 instances: 4 each with the balanced assignor).
    const owned = metadata.instances.flatMap((m) => m.tasks);
    expect(new Set(owned).size).toBe(TASKS);
    expect(owned).toHaveLength(TASKS);
    for (const m of metadata.instances) expect(m.tasks.length).toBe(TASKS / 3);

    const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
    const globalReport = deliveryReport(global, total, CUSTOMERS);
    const copartReport = deliveryReport(copart, total, CUSTOMERS);

    // After the rebalance, each orders partition is processed by exactly one instance: the owner of task
    // ORDERS_SUBTOPOLOGY_p (sub-topologies are numbered by their first node; the fixture declares the table first).
    const ownerOfTask = new Map(metadata.instances.flatMap((m) => m.tasks.map((t) => [t, m.id] as const)));
    const processorsByPartition = new Map<number, Set<string>>();
    for (const order of global.filter((o) => o.seq >= stableFromSeq)) {
      const partition = orderPartition(order.orderId, PARTITIONS);
      const set = processorsByPartition.get(partition) ?? new Set<string>();
      set.add(order.processedBy);
      processorsByPartition.set(partition, set);
    }
    const firstRecord = await Promise.all([b, c].map((i) => i.metricSum('tributary_first_record_after_assignment_seconds')));
    const fromStart = await Promise.all([b, c].map((i) => i.metricSum('tributary_first_record_after_start_seconds')));
    console.log(
      `[runtime multi] ${total} orders (${total - stableFromSeq} after the group settled); global join ${JSON.stringify(globalReport)}; ` +
        `co-partitioned join ${JSON.stringify(copartReport)}; tasks ${JSON.stringify(Object.fromEntries(metadata.instances.map((m) => [m.id, m.tasks])))}; ` +
        `join (first assignment)→first processed record: b ${(firstRecord[0] * 1000).toFixed(0)} ms, c ${(firstRecord[1] * 1000).toFixed(0)} ms; ` +
        `start()→first processed record: b ${(fromStart[0] * 1000).toFixed(0)} ms, c ${(fromStart[1] * 1000).toFixed(0)} ms`,
    );
    expect(globalReport.lost).toBe(0);
    expect(copartReport.lost).toBe(0);
    expect(globalReport.wrongCustomer + copartReport.wrongCustomer).toBe(0);
    expect(processorsByPartition.size).toBe(PARTITIONS);
    for (const [partition, processors] of processorsByPartition) {
      expect([...processors], `orders partition ${partition}`).toEqual([ownerOfTask.get(`${ORDERS_SUBTOPOLOGY}_${partition}`)]);
    }
  });

  it('takes over the tasks of a kill -9ed instance after the session timeout without losing orders', async () => {
    expect(instances).toHaveLength(3);
    const before = flow.produced;
    await flow.resume();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const victim = instances[1];
    const killedAt = Date.now();
    await victim.kill();
    const survivors = instances.filter((i) => i !== victim);
    const metadata = await stableMetadata(survivors);
    const takeoverMs = Date.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await flow.pause();
    const total = flow.produced;
    await waitForAllOrders(topics, total);

    const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
    // Count only this phase's orders for duplicates (scenario 2's rebalances made their own).
    const phase = (orders: typeof global) => orders.filter((o) => o.seq >= before);
    const globalReport = deliveryReport(global, total, CUSTOMERS);
    const copartReport = deliveryReport(copart, total, CUSTOMERS);
    const phaseDuplicates = {
      global: phase(global).length - new Set(phase(global).map((o) => o.seq)).size,
      copart: phase(copart).length - new Set(phase(copart).map((o) => o.seq)).size,
    };
    console.log(
      `[runtime kill -9] ${total - before} orders in this phase; lost: global ${globalReport.lost}, co-partitioned ${copartReport.lost}; ` +
        `duplicates (at-least-once) after the kill: global ${phaseDuplicates.global}, co-partitioned ${phaseDuplicates.copart}; ` +
        `kill→survivors stable and ready ${takeoverMs} ms (session timeout 6000 ms); tasks now ${JSON.stringify(Object.fromEntries(metadata.instances.map((m) => [m.id, m.tasks.length])))}`,
    );
    expect(victim.signal).toBe('SIGKILL');
    expect(metadata.instances.flatMap((m) => m.tasks)).toHaveLength(TASKS);
    expect(globalReport.lost).toBe(0);
    expect(copartReport.lost).toBe(0);
    expect(globalReport.wrongCustomer + copartReport.wrongCustomer).toBe(0);

    await Promise.all(survivors.map((i) => i.stop()));
    for (const i of survivors) expect(i.code, `${i.name} exit code`).toBe(0);
  });
});
