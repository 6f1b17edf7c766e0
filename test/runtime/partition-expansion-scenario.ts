/**
 * The partition-expansion scenario (run small by test/runtime/partition-expansion.test.ts's sibling in test/soak):
 * two instances of the enrichment fixture read ONE compacted customers topic as a global table and as a
 * co-partitioned table (orders re-keyed by customer id). A writer keeps updating customers, updating and deleting
 * "churn" customers (no orders reference them) and writing orders, all with the default partitioner, while customers
 * and orders grow from `partitions` to `expandedPartitions`. Afterwards a checker counts crashes, orders missing from
 * each output, and every key's answer on every instance (wrong value, resurrected deletion, missing), then does the
 * same on a fresh third instance.
 */
import type { ClusterMetadata } from '../../http-query/query-source.js';
import type { Customer, Order } from '../fixtures/enrichment-app.js';
import { RecordProducer } from '../../processor/kafka/producer.js';
import type { AppProcess, AppProcessGroup } from '../helpers/app-process.js';
import { testKafkaClient, toProducedRecord, waitUntil, withAdmin } from '../helpers/kafka.js';
import { createEnrichmentTopics, customerName, readEnriched, startEnrichmentApp, type EnrichmentTopics } from './enrichment-fixture.js';

export interface ExpansionScenarioOptions {
  readonly partitions: number;
  readonly expandedPartitions: number;
  /** Customers orders reference: updated, never deleted. */
  readonly customers: number;
  /** Customers updated and deleted, never referenced by orders. */
  readonly churnCustomers: number;
  /** Writer rounds before and after the expansion; each writes one update, one churn write and `ordersPerRound` orders. */
  readonly roundsBefore: number;
  readonly roundsAfter: number;
  readonly ordersPerRound: number;
  readonly partitionCheckIntervalMs: number;
}

export interface StoreAnswers {
  readonly correct: number;
  /** Another version than the last one written. */
  readonly wrong: number;
  /** A deleted key answered with a value. */
  readonly resurrected: number;
  /** A present key answered 404. */
  readonly missing: number;
  /** Any other status (503 ...). */
  readonly unavailable: number;
}

export interface ExpansionScenarioReport {
  readonly orders: number;
  readonly customerWrites: number;
  readonly deletes: number;
  readonly crashed: string[];
  readonly missingFromGlobalJoin: number;
  readonly missingFromCopartitionedJoin: number;
  readonly inconsistentJoins: number;
  readonly repartitionPartitions: number | undefined;
  readonly stores: Record<string, { readonly global: StoreAnswers; readonly copartitioned: StoreAnswers }>;
  readonly elapsedMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deterministic pseudo-random numbers (a test run can be repeated). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

async function answers(instance: AppProcess, store: string, expected: ReadonlyMap<string, number | null>): Promise<StoreAnswers> {
  const counts = { correct: 0, wrong: 0, resurrected: 0, missing: 0, unavailable: 0 };
  const ids = [...expected.keys()];
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(
      ids.slice(i, i + 20).map(async (id) => {
        const version = expected.get(id) ?? null;
        const response = await instance.request(`/stores/${store}/keys/${id}`);
        if (response.status === 200) {
          const value = (JSON.parse(response.body) as { value: Customer }).value;
          if (version === null) counts.resurrected++;
          else if (value.version === version && value.name === customerName(id, version)) counts.correct++;
          else counts.wrong++;
        } else if (response.status === 404) {
          if (version === null) counts.correct++;
          else counts.missing++;
        } else counts.unavailable++;
      }),
    );
  }
  return counts;
}

export async function runExpansionScenario(apps: AppProcessGroup, options: ExpansionScenarioOptions): Promise<ExpansionScenarioReport> {
  const startedAt = Date.now();
  const created = await createEnrichmentTopics('expansion', options.partitions, { globalPartitions: options.partitions });
  // One customers topic behind both tables.
  const topics: EnrichmentTopics = { ...created, customersGlobal: created.customers };
  const env = {
    PARTITION_CHECK_INTERVAL_MS: String(options.partitionCheckIntervalMs),
    // --- co-partitioned tables (regrouping): new tasks read the old partitions once the writer (RecordProducer,
    // metadata refreshed every 5 s) writes moved keys to their new partitions.
    EXPANSION_GRACE_MS: '6000',
    // --- end
  };
  const next = random(42);
  const expected = new Map<string, number | null>();
  const producer = new RecordProducer(testKafkaClient());
  await producer.connect();
  let orders = 0;
  let version = 1;
  let customerWrites = 0;
  let deletes = 0;
  const writeCustomer = (id: string, version: number | null) => {
    expected.set(id, version);
    customerWrites++;
    if (version === null) deletes++;
    const value = version === null ? null : JSON.stringify({ id, name: customerName(id, version), version } satisfies Customer);
    return toProducedRecord(topics.customers, { key: id, value });
  };
  const orderIds = Array.from({ length: options.customers }, (_, i) => `c${i}`);
  const churnIds = Array.from({ length: options.churnCustomers }, (_, i) => `d${i}`);
  const round = async () => {
    const records = [];
    const id = orderIds[Math.floor(next() * orderIds.length)];
    records.push(writeCustomer(id, ++version));
    const churn = churnIds[Math.floor(next() * churnIds.length)];
    records.push(writeCustomer(churn, expected.get(churn) !== null && next() < 0.5 ? null : ++version));
    await producer.send(records);
    const batch = Array.from({ length: options.ordersPerRound }, () => {
      const order: Order = { orderId: `o${orders}`, customerId: orderIds[Math.floor(next() * orderIds.length)], seq: orders++ };
      return toProducedRecord(topics.orders, { key: order.orderId, value: JSON.stringify(order) });
    });
    await producer.send(batch);
  };

  try {
    await producer.send([...orderIds, ...churnIds].map((id) => writeCustomer(id, 1)));
    const a = await startEnrichmentApp(apps, topics, { name: 'a', env });
    const b = await startEnrichmentApp(apps, topics, { name: 'b', env });
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);

    for (let i = 0; i < options.roundsBefore; i++) {
      await round();
      await sleep(20);
    }
    const expansion = withAdmin((admin) =>
      admin.addPartitions(
        new Map([
          [topics.orders, options.expandedPartitions],
          [topics.customers, options.expandedPartitions],
        ]),
      ),
    );
    for (let i = 0; i < options.roundsAfter; i++) {
      await round();
      await sleep(20);
    }
    await expansion;

    // Every order on both outputs (or what is still missing after the wait).
    const missing = async () => {
      const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
      const count = (outputs: typeof global) => orders - new Set(outputs.map((o) => o.seq)).size;
      const inconsistent = [...global, ...copart].filter((o) => o.customerName !== customerName(o.customerId, o.customerVersion)).length;
      return { global: count(global), copart: count(copart), inconsistent };
    };
    let last = await missing();
    await waitUntil(
      async () => {
        last = await missing();
        return last.global === 0 && last.copart === 0;
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: 'every order on both outputs' },
    ).catch(() => undefined);
    await Promise.all([a, b].map((i) => i.waitUntilReady()));

    const stores: Record<string, { global: StoreAnswers; copartitioned: StoreAnswers }> = {};
    const check = async (instance: AppProcess) => {
      stores[instance.name] = {
        global: await answers(instance, 'customers-global', expected),
        copartitioned: await answers(instance, 'customers', expected),
      };
    };
    await check(a);
    await check(b);
    const c = await startEnrichmentApp(apps, topics, { name: 'c', env });
    await c.waitUntilReady();
    await waitUntil(async () => (await c.json<ClusterMetadata>('/metadata')).instances.length === 3, {
      timeoutMs: 60_000,
      description: 'three instances in the group',
    });
    await Promise.all([a, b, c].map((i) => i.waitUntilReady()));
    await check(c);
    const repartition = `${topics.appId}-orders-by-customer-repartition`;
    const counts = await withAdmin((admin) => admin.describeTopicPartitions([repartition]));
    return {
      orders,
      customerWrites,
      deletes,
      crashed: [a, b, c].filter((i) => !i.running).map((i) => i.name),
      missingFromGlobalJoin: last.global,
      missingFromCopartitionedJoin: last.copart,
      inconsistentJoins: last.inconsistent,
      repartitionPartitions: counts.partitions.get(repartition),
      stores,
      elapsedMs: Date.now() - startedAt,
    };
  } finally {
    await producer.disconnect();
  }
}
