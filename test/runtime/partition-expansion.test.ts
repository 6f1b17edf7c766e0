/**
 * Adding partitions while running (child processes, real broker): two instances of the enrichment fixture (a
 * global-table join and a re-keyed co-partitioned join) run on 3-partition topics; orders, customers and the global
 * customers topic grow to 6 partitions; customers are rewritten and orders keep coming with the default
 * partitioner, many into the new partitions before the instances notice. Afterwards:
 * - no instance crashed; /metadata lists the changes; the repartition topic was grown by Tributary;
 * - every order is in both outputs (those of new partitions too: new tasks start at the first offset);
 * - both stores answer the latest customer version on both instances;
 * - a fresh third instance starts (no CoPartitioningError) and both its stores answer the same: its global table's
 *   bootstrap meets a moved key's older record, starts over with record versions and keeps the latest (the running
 *   instances switched to versions in place when they noticed the expansion);
 * - co-partitioned keys that move (regrouping): customers written only before the expansion are joined and answered
 *   with that version by their new tasks, customers deleted before or after it stay deleted, on every instance.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { defaultPartition } from '../../common/partitioner.js';
import type { Order } from '../fixtures/enrichment-app.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { produce, readTopic, waitUntil, withAdmin } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  customerName,
  deliveryReport,
  orderPartition,
  orderRecords,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
  type EnrichmentTopics,
} from './enrichment-fixture.js';

const BEFORE = 3;
const AFTER = 6;
const CUSTOMERS = 40;
const FIRST_ORDERS = 150;
const LATER_ORDERS = 300;
const CHECK_MS = 1000;

// --- co-partitioned keys that move (regrouping): customers written only before the expansion, deleted before or after it.
const MOVED_KEPT = Array.from({ length: 40 }, (_, i) => `k${i}`);
const DELETED_BEFORE = Array.from({ length: 10 }, (_, i) => `x${i}`);
const DELETED_AFTER = Array.from({ length: 10 }, (_, i) => `y${i}`);
const KEPT_SEQ = 100_000;

/** Per instance, the co-partitioned store's answers for keys never written again after the expansion. */
async function movedKeyAnswers(instance: AppProcess): Promise<{ wrong: number; missing: number; resurrected: number }> {
  const counts = { wrong: 0, missing: 0, resurrected: 0 };
  for (const id of MOVED_KEPT) {
    const response = await instance.request(`/stores/customers/keys/${id}`);
    if (response.status === 404) counts.missing++;
    else if (response.status !== 200 || (JSON.parse(response.body) as { value: { name: string } }).value.name !== customerName(id, 1))
      counts.wrong++;
  }
  for (const id of [...DELETED_BEFORE, ...DELETED_AFTER]) {
    const response = await instance.request(`/stores/customers/keys/${id}`);
    if (response.status === 200) counts.resurrected++;
    else if (response.status !== 404) counts.wrong++;
  }
  return counts;
}
// --- end of co-partitioned keys that move

async function waitForOrders(topics: EnrichmentTopics, expected: number): Promise<void> {
  let missing = '';
  try {
    await waitUntil(
      async () => {
        const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
        const lost = (outputs: typeof global) => {
          const seen = new Set(outputs.map((o) => o.seq));
          return orderRecords(0, expected, CUSTOMERS)
            .map((r) => JSON.parse(r.value as string) as Order)
            .filter((o) => !seen.has(o.seq));
        };
        const describe = (orders: Order[]) =>
          `${orders.length} [${orders
            .slice(0, 20)
            .map(
              (o) => `${o.seq}@${orderPartition(o.orderId, AFTER)}/${o.customerId}@${defaultPartition(Buffer.from(o.customerId), AFTER)}`,
            )
            .join(' ')}]`;
        const [lostGlobal, lostCopart] = [lost(global), lost(copart)];
        missing = `global: ${describe(lostGlobal)}; co-partitioned: ${describe(lostCopart)}`;
        return lostGlobal.length === 0 && lostCopart.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: `all ${expected} orders on both outputs` },
    );
  } catch (error) {
    const repartition = await readTopic(`${topics.appId}-orders-by-customer-repartition`);
    const where = new Map<number, string>();
    for (const r of repartition) {
      const text = (r.value as Buffer).toString('utf8');
      const match = /"seq":(\d+)/.exec(text);
      if (match) where.set(Number(match[1]), `${where.get(Number(match[1])) ?? ''}p${r.partition}@${r.offset}/ts${r.timestamp} `);
    }
    const dlq = await readTopic(`${topics.appId}-dlq`);
    throw new Error(
      `${(error as Error).message}; missing (seq@orders partition/customer@customers partition): ${missing}; ` +
        `in repartition: ${[...missing.matchAll(/ (\d+)@/g)].map(([, seq]) => `${seq}:${where.get(Number(seq)) ?? 'absent'}`).join(', ')}; dlq ${dlq.length}`,
    );
  }
}

/** Every customer's name as `instance` answers it from `store` (the lookup is forwarded to the owner if needed). */
async function storeNames(instance: AppProcess, store: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const id of customerIds(CUSTOMERS)) {
    const response = await instance.request(`/stores/${store}/keys/${id}`);
    names.set(
      id,
      response.status === 200 ? (JSON.parse(response.body) as { value: { name: string } }).value.name : `HTTP ${response.status}`,
    );
  }
  return names;
}

describe('TributaryApp, partitions added to input topics while running', () => {
  const apps = new AppProcessGroup('partition-expansion');
  let failed = true;

  afterAll(async () => {
    await apps.dispose({ printLogs: failed });
  });

  it('processes the new partitions from their first offset, grows the repartition topic, and a fresh instance agrees', async () => {
    const topics = await createEnrichmentTopics('expand', BEFORE, { globalPartitions: BEFORE });
    // Every write below comes from a fresh producer (no stale metadata): new tasks need not wait to read the old partitions.
    const env = { PARTITION_CHECK_INTERVAL_MS: String(CHECK_MS), EXPANSION_GRACE_MS: '500' };
    await produceCustomers(topics, customerIds(CUSTOMERS), 1);
    // --- co-partitioned keys that move (regrouping)
    await produceCustomers(topics, [...MOVED_KEPT, ...DELETED_BEFORE, ...DELETED_AFTER], 1);
    await produce(
      topics.customers,
      DELETED_BEFORE.map((id) => ({ key: id, value: null })),
    );
    // --- end
    const a = await startEnrichmentApp(apps, topics, { name: 'a', env });
    const b = await startEnrichmentApp(apps, topics, { name: 'b', env });
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);
    await produce(topics.orders, orderRecords(0, FIRST_ORDERS, CUSTOMERS));
    await waitForOrders(topics, FIRST_ORDERS);

    // Expand, then write at once: records land in the new partitions before the instances notice.
    const expandedAt = Date.now();
    await withAdmin((admin) =>
      admin.addPartitions(
        new Map([
          [topics.orders, AFTER],
          [topics.customers, AFTER],
          [topics.customersGlobal, AFTER],
        ]),
      ),
    );
    await produceCustomers(topics, customerIds(CUSTOMERS), 2);
    await produce(topics.orders, orderRecords(FIRST_ORDERS, LATER_ORDERS, CUSTOMERS));
    // --- co-partitioned keys that move (regrouping): deletions after the expansion, orders of customers never rewritten.
    await produce(
      topics.customers,
      DELETED_AFTER.map((id) => ({ key: id, value: null })),
    );
    const keptOrders: Order[] = MOVED_KEPT.map((customerId, i) => ({ orderId: `ok${i}`, customerId, seq: KEPT_SEQ + i }));
    await produce(
      topics.orders,
      keptOrders.map((o) => ({ key: o.orderId, value: JSON.stringify(o) })),
    );
    // --- end
    const total = FIRST_ORDERS + LATER_ORDERS;
    await waitForOrders(topics, total);
    // --- co-partitioned keys that move (regrouping): every order of a customer never rewritten is joined, with version 1.
    let keptJoined: Map<number, number> = new Map();
    await waitUntil(
      async () => {
        const copart = await readEnriched(topics.outCopart);
        keptJoined = new Map(copart.filter((o) => o.seq >= KEPT_SEQ).map((o) => [o.seq, o.customerVersion]));
        return keptJoined.size === MOVED_KEPT.length;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'orders of customers never rewritten joined' },
    ).catch(() => undefined);
    const keptMissing = MOVED_KEPT.length - keptJoined.size;
    const keptWrongVersion = [...keptJoined.values()].filter((version) => version !== 1).length;
    // --- end
    const caughtUpMs = Date.now() - expandedAt;

    const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
    const report = (outputs: typeof global) => {
      const { lost, duplicates, distinct } = deliveryReport(outputs, total, CUSTOMERS);
      return { lost, duplicates, distinct };
    };
    const globalReport = report(global);
    const copartReport = report(copart);
    // Orders written to the new partitions were processed (not skipped to the end).
    const inNewPartitions = global.filter((o) => o.seq >= FIRST_ORDERS && orderPartition(o.orderId, AFTER) >= BEFORE);
    // Each order was joined with a version that existed (1 before the rewrite, 2 after), named consistently.
    const inconsistent = [...global, ...copart].filter(
      (o) => o.customerName !== customerName(o.customerId, o.customerVersion) || ![1, 2].includes(o.customerVersion),
    );

    // The repartition topic follows the co-partitioned customers topic.
    const counts = await withAdmin((admin) => admin.describeTopicPartitions([`${topics.appId}-orders-by-customer-repartition`]));
    const metadata = await a.json<ClusterMetadata>('/metadata');

    // Both stores answer version 2 for every customer, on both instances and on a fresh third one.
    const c = await startEnrichmentApp(apps, topics, { name: 'c', env });
    await c.waitUntilReady();
    await waitUntil(async () => (await c.json<ClusterMetadata>('/metadata')).instances.length === 3, {
      timeoutMs: 60_000,
      description: 'three instances in the group',
    });
    await Promise.all([a, b, c].map((i) => i.waitUntilReady()));
    const expected = new Map(customerIds(CUSTOMERS).map((id) => [id, customerName(id, 2)]));
    const answers: Record<string, { global: number; copart: number }> = {};
    for (const instance of [a, b, c]) {
      const [globalNames, copartNames] = await Promise.all([storeNames(instance, 'customers-global'), storeNames(instance, 'customers')]);
      const wrong = (names: Map<string, string>) => [...names].filter(([id, name]) => name !== expected.get(id)).length;
      answers[instance.name] = { global: wrong(globalNames), copart: wrong(copartNames) };
    }
    // --- co-partitioned keys that move (regrouping): answers for keys never rewritten or deleted, per instance.
    const moved: Record<string, { wrong: number; missing: number; resurrected: number }> = {};
    for (const instance of [a, b, c]) moved[instance.name] = await movedKeyAnswers(instance);
    console.log(
      `[partition expansion, moved keys] orders of customers never rewritten: ${keptMissing} of ${MOVED_KEPT.length} missing from the ` +
        `co-partitioned join, ${keptWrongVersion} with another version; co-partitioned store per instance ${JSON.stringify(moved)}`,
    );
    // --- end

    console.log(
      `[partition expansion] ${BEFORE} → ${AFTER} partitions, ${total} orders (${inNewPartitions.length} in new partitions); ` +
        `all processed ${caughtUpMs} ms after the expansion; global join ${JSON.stringify(globalReport)}; ` +
        `co-partitioned join ${JSON.stringify(copartReport)} (customer versions checked separately: ${inconsistent.length} inconsistent); wrong store answers per instance ${JSON.stringify(answers)}; ` +
        `metadata changes ${JSON.stringify(metadata.partitionCountChanges?.map((ch) => `${ch.topic}:${ch.before}->${ch.now}`))}`,
    );
    expect([a, b, c].map((i) => i.running)).toEqual([true, true, true]);
    expect(globalReport.lost).toBe(0);
    expect(copartReport.lost).toBe(0);
    expect(inNewPartitions.length).toBeGreaterThan(0);
    expect(inconsistent).toEqual([]);
    expect(counts.partitions.get(`${topics.appId}-orders-by-customer-repartition`)).toBe(AFTER);
    expect(metadata.partitionCountChanges?.map((ch) => [ch.topic, ch.before, ch.now])).toEqual(
      expect.arrayContaining([
        [topics.orders, BEFORE, AFTER],
        [topics.customers, BEFORE, AFTER],
        [topics.customersGlobal, BEFORE, AFTER],
      ]),
    );
    for (const instance of ['a', 'b', 'c']) expect(answers[instance], instance).toEqual({ global: 0, copart: 0 });
    // The paths taken: running instances switch in place, the fresh one starts its bootstrap over with versions.
    for (const instance of [a, b])
      expect(instance.logs()).toMatch(/global table customers-global keeps record versions from now on: its topic grew/);
    expect(c.logs()).toMatch(/global table customers-global keeps record versions from now on: .*murmur2.*; its bootstrap starts over/);
    expect(a.logs()).toMatch(/partition counts changed: /);
    // --- co-partitioned keys that move (regrouping)
    expect(keptMissing).toBe(0);
    expect(keptWrongVersion).toBe(0);
    for (const name of ['a', 'b', 'c']) expect(moved[name], name).toEqual({ wrong: 0, missing: 0, resurrected: 0 });
    // --- end
    failed = false;
  });
});
