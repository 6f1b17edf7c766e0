/**
 * Shared by the restoration tests: topics for test/fixtures/restoration-topology.ts, ways to shape a table topic as
 * real ones get shaped (transactions, DeleteRecords/retention, compaction), the source of truth read back from the
 * topic, and checks of lookups and join outputs against it.
 */
import { defaultPartition } from '../../common/partitioner.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { TributaryApp } from '../../processor/runtime/app.js';
import {
  COPART_STORE,
  GLOBAL_STORE,
  type JoinedOrder,
  type RestorationOrder,
  type RestorationTopics,
} from '../fixtures/restoration-topology.js';
import { createTopics, produce, readTopic, testKafkaClient, uniqueName, waitUntil, withAdmin, type TestRecord } from '../helpers/kafka.js';

export interface CaseTopics extends RestorationTopics {
  readonly appId: string;
  readonly partitions: number;
}

export async function createCaseTopics(prefix: string, partitions: number, customerConfigs?: Record<string, string>): Promise<CaseTopics> {
  const topics: CaseTopics = {
    appId: uniqueName(`${prefix}-app`),
    orders: uniqueName(`${prefix}-orders`),
    customers: uniqueName(`${prefix}-customers`),
    customersGlobal: uniqueName(`${prefix}-customers-global`),
    out: uniqueName(`${prefix}-out`),
    partitions,
  };
  await createTopics([
    { topic: topics.orders, partitions },
    { topic: topics.customers, partitions, configs: customerConfigs },
    { topic: topics.customersGlobal, partitions, configs: customerConfigs },
    { topic: topics.out, partitions },
  ]);
  // Leaders can take a moment to be known everywhere after creation: list offsets until every topic answers.
  await waitUntil(
    () =>
      withAdmin(async (admin) => {
        for (const topic of [topics.orders, topics.customers, topics.customersGlobal, topics.out]) await admin.fetchOffsetRanges(topic);
        return true;
      }),
    { timeoutMs: 10_000, intervalMs: 100, description: 'offsets of the new topics' },
  );
  return topics;
}

export function fixtureEnv(topics: RestorationTopics): Record<string, string> {
  return {
    TOPIC_ORDERS: topics.orders,
    TOPIC_CUSTOMERS: topics.customers,
    TOPIC_CUSTOMERS_GLOBAL: topics.customersGlobal,
    TOPIC_OUT: topics.out,
  };
}

/** The same records into both customer topics (plain acks=all producer). */
export async function produceCustomers(topics: RestorationTopics, records: readonly TestRecord[]): Promise<void> {
  await Promise.all([produce(topics.customers, records), produce(topics.customersGlobal, records)]);
}

/**
 * One transaction per entry, each writing its records to both customer topics; `abort` ones are aborted. Resolves
 * once every transaction marker is written (the end offsets, last stable offsets, moved past them).
 */
export async function produceTransactions(
  topics: CaseTopics,
  transactions: readonly { readonly records: readonly TestRecord[]; readonly abort?: boolean }[],
): Promise<void> {
  const ends = async (): Promise<number[]> =>
    withAdmin(async (admin) => {
      const result: number[] = [];
      for (const topic of [topics.customers, topics.customersGlobal]) {
        const logs = await admin.fetchOffsetRanges(topic);
        for (let p = 0; p < topics.partitions; p++) result.push(logs.get(p)?.end ?? 0);
      }
      return result;
    });
  // Each transaction adds its records plus one marker to every partition it writes.
  const expected = await ends();
  for (const { records } of transactions) {
    const touched = new Map<number, number>();
    for (const r of records) {
      const p = defaultPartition(Buffer.from(r.key as string), topics.partitions);
      touched.set(p, (touched.get(p) ?? 0) + 1);
    }
    for (const [p, count] of touched) {
      expected[p] += count + 1;
      expected[topics.partitions + p] += count + 1;
    }
  }
  const producer = testKafkaClient().producer({ transactionalId: uniqueName('restoration-tx'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const { records, abort } of transactions) {
      const tx = await producer.transaction();
      for (const topic of [topics.customers, topics.customersGlobal]) {
        await tx.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
      }
      if (abort === true) await tx.abort();
      else await tx.commit();
    }
  } finally {
    await producer.disconnect();
  }
  await waitUntil(async () => JSON.stringify(await ends()) === JSON.stringify(expected), {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: `end offsets ${expected.join(',')} (transaction markers written)`,
  });
}

/**
 * DeleteRecords on both customer topics (what retention does): the log start of each partition in `partitions`
 * (default all) moves to its end, or `keepLast` offsets short of it.
 */
export async function deleteCustomerRecords(
  topics: RestorationTopics,
  options: { keepLast?: number; partitions?: readonly number[] } = {},
): Promise<void> {
  const client = testKafkaClient();
  const admin = client.admin();
  await admin.connect();
  try {
    for (const topic of [topics.customers, topics.customersGlobal]) {
      const offsets = (await admin.fetchTopicOffsets(topic)).filter((o) => options.partitions?.includes(o.partition) ?? true);
      await admin.deleteTopicRecords({
        topic,
        partitions: offsets.map((o) => ({
          partition: o.partition,
          offset: String(Math.max(Number(o.low), Number(o.high) - (options.keepLast ?? 0))),
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** The table a topic describes now (read-committed, from its log start): key → last value, tombstones applied. */
export async function tableOf(topic: string): Promise<Map<string, string>> {
  return fold(await readTopic(topic));
}

export function fold(records: readonly ConsumedRecord[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const record of records) {
    if (record.key === null) continue;
    const key = record.key.toString('utf8');
    if (record.value === null) table.delete(key);
    else table.set(key, record.value.toString('utf8'));
  }
  return table;
}

/** Produces filler records to both topics until compaction removed offsets from each (gaps), or times out. */
export async function compactCustomers(topics: RestorationTopics): Promise<void> {
  let filler = 0;
  await waitUntil(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await produceCustomers(topics, [{ key: `filler-${filler}`, value: `f${filler++}` }]);
      const [customers, global] = await Promise.all([readTopic(topics.customers), readTopic(topics.customersGlobal)]);
      return hasGaps(customers) && hasGaps(global);
    },
    { timeoutMs: 60_000, intervalMs: 0, description: 'compaction gaps in both customer topics' },
  );
}

function hasGaps(records: readonly ConsumedRecord[]): boolean {
  const byPartition = new Map<number, number[]>();
  for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
  for (const offsets of byPartition.values()) if (offsets.some((offset, i) => i > 0 && offset !== offsets[i - 1] + 1)) return true;
  return false;
}

export interface LookupReport {
  readonly checked: number;
  /** Keys whose served value differs from the truth (an older version, or a value for a deleted key). */
  readonly wrong: readonly string[];
}

/** Looks every key up in both stores the way the query server does (locate → local store) and compares. */
export async function checkLookups(app: TributaryApp, keys: Iterable<string>, truth: ReadonlyMap<string, string>): Promise<LookupReport> {
  const source = app.querySource();
  const wrong: string[] = [];
  let checked = 0;
  for (const key of keys) {
    for (const store of [COPART_STORE, GLOBAL_STORE]) {
      const location = source.locate(store, Buffer.from(key));
      if (location.kind !== 'local') throw new Error(`${store}/${key} is not served locally: ${JSON.stringify(location)}`);
      const value = await location.store.get(Buffer.from(key));
      checked++;
      if ((value ?? null) !== (truth.get(key) ?? null)) wrong.push(`${store}/${key}=${String(value)} (truth ${truth.get(key) ?? 'none'})`);
    }
  }
  return { checked, wrong };
}

/** Orders `fromSeq..` one per key; waits for every output and returns the ones that disagree with `truth`. */
export async function checkJoin(
  topics: RestorationTopics,
  keys: readonly string[],
  fromSeq: number,
  truth: ReadonlyMap<string, string>,
): Promise<string[]> {
  const orders: RestorationOrder[] = keys.map((customerId, i) => ({ seq: fromSeq + i, customerId }));
  await produce(
    topics.orders,
    orders.map((order) => ({ key: order.customerId, value: JSON.stringify(order) })),
  );
  let joined: JoinedOrder[] = [];
  await waitUntil(
    async () => {
      joined = (await readTopic(topics.out))
        .map((r) => JSON.parse((r.value as Buffer).toString('utf8')) as JoinedOrder)
        .filter((o) => o.seq >= fromSeq && o.seq < fromSeq + orders.length);
      return new Set(joined.map((o) => o.seq)).size === orders.length;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: `${orders.length} joined orders from ${fromSeq}` },
  );
  const wrong: string[] = [];
  for (const o of joined) {
    const expected = truth.get(o.customerId) ?? null;
    if (o.copart !== expected || o.global !== expected)
      wrong.push(`order ${o.seq} ${o.customerId}: copart ${o.copart}, global ${o.global}, truth ${expected}`);
  }
  return wrong;
}

/** Records restored per store since the app started. */
export function restoredRecords(app: TributaryApp): { readonly copart: number; readonly global: number } {
  const totals = app.stats().restoration;
  return { copart: totals[COPART_STORE]?.restoredRecords ?? 0, global: totals[GLOBAL_STORE]?.restoredRecords ?? 0 };
}
