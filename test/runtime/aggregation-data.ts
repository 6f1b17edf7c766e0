/**
 * Data and checks of the aggregation tests on the real broker (aggregations.test.ts, test/soak/): deterministic
 * orders, their fold (the truth), what instances serve (counts by scan and lookup, windows by both window routes),
 * what the changelog topics hold (the latest record per key), and the wait until the group processed everything.
 */
import { expect } from 'vitest';
import { parseWindowedChangelogKey } from '../../processor/engine/changelog.js';
import type { AppProcess } from '../helpers/app-process.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';
import { get, keyUrl, scanAll } from '../http/query-client.js';
import { aggregationTopology, COUNT_STORE, HOUR, REVENUE_STORE, type AggregationOrder } from '../fixtures/aggregation-topology.js';

export const FIXTURE = 'test/fixtures/aggregation-app.ts';

export interface AggregationCase {
  readonly appId: string;
  readonly orders: string;
  readonly partitions: number;
  /** Topics the group reads (orders and the repartition topic). */
  readonly inputs: readonly string[];
  readonly countChangelog: string;
  readonly revenueChangelog: string;
  readonly env: Record<string, string>;
  /**
   * Start of the orders' time range: a whole hour some hours before now. Window changelogs are `compact,delete`
   * with the store's retention + a day, which the broker applies to record timestamps: 1970 ones would be deleted.
   */
  readonly epoch: number;
}

export async function createAggregationCase(prefix: string, partitions: number): Promise<AggregationCase> {
  const appId = uniqueName(prefix);
  const orders = `${appId}-orders`;
  await createTopics([{ topic: orders, partitions }]);
  const topology = aggregationTopology(appId, orders);
  const [countChangelog, revenueChangelog] = [COUNT_STORE, REVENUE_STORE].map((store) => `${appId}-${store}-changelog`);
  return {
    appId,
    orders,
    partitions,
    inputs: [orders, ...topology.internalTopics()],
    countChangelog,
    revenueChangelog,
    env: { TOPIC_ORDERS: orders },
    epoch: (Math.floor(Date.now() / HOUR) - 24) * HOUR,
  };
}

export interface Order extends AggregationOrder {
  readonly id: string;
  readonly timestamp: number;
}

/** `count` orders over `customers` customers and `hours` hours from `epoch`, numbered from `first` (deterministic). */
export function makeOrders(epoch: number, first: number, count: number, customers: number, hours: number): Order[] {
  return Array.from({ length: count }, (_, n) => {
    const i = first + n;
    return {
      id: `o-${i}`,
      customerId: `c-${String((i * 7) % customers).padStart(3, '0')}`,
      total: 1 + (i % 17),
      timestamp: epoch + ((i * 7919) % (hours * 60)) * 60_000 + 1,
    };
  });
}

export async function produceOrders(c: AggregationCase, orders: readonly Order[]): Promise<void> {
  for (let i = 0; i < orders.length; i += 2000) {
    await produce(
      c.orders,
      orders.slice(i, i + 2000).map((o) => ({
        key: o.id,
        value: JSON.stringify({ customerId: o.customerId, total: o.total }),
        timestamp: o.timestamp,
      })),
    );
  }
}

/** Window key of the served and folded windows: `<customer>@<start>`. */
const windowKey = (customer: string, start: number): string => `${customer}@${start}`;

export interface Aggregates {
  readonly counts: Map<string, number>;
  readonly revenue: Map<string, number>;
}

/** What the topology computes from `orders`, each counted once. */
export function foldOrders(orders: readonly Order[]): Aggregates {
  const counts = new Map<string, number>();
  const revenue = new Map<string, number>();
  for (const o of orders) {
    counts.set(o.customerId, (counts.get(o.customerId) ?? 0) + 1);
    const key = windowKey(o.customerId, Math.floor(o.timestamp / HOUR) * HOUR);
    revenue.set(key, (revenue.get(key) ?? 0) + o.total);
  }
  return { counts, revenue };
}

/** Every window of every key, through `GET /stores/revenue-per-hour/windows` (merged across instances, paged). */
export async function servedWindows(url: string): Promise<Map<string, number>> {
  const windows = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ from: '0', limit: '1000' });
    if (cursor !== null) params.set('cursor', cursor);
    const answer = await get(`${url}/stores/${REVENUE_STORE}/windows?${params.toString()}`);
    if (answer.status !== 200) throw new Error(`windows of ${REVENUE_STORE} at ${url}: ${answer.status} ${answer.body.slice(0, 300)}`);
    const page = JSON.parse(answer.body) as {
      entries: { key: string; start: number; end: number; value: number }[];
      nextCursor: string | null;
    };
    for (const entry of page.entries) {
      expect(entry.end - entry.start).toBe(HOUR);
      windows.set(windowKey(entry.key, entry.start), entry.value);
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return windows;
}

/** Counts (full scan) and windows (merged window scan) as `url` serves them. */
export async function served(url: string): Promise<Aggregates> {
  const { entries } = await scanAll(url, COUNT_STORE, 1000);
  return { counts: new Map(entries.map((e) => [String(e.key), e.value as number])), revenue: await servedWindows(url) };
}

/**
 * Every customer's count (key lookup) and windows (one key's window route) on `url`, compared with `expected`;
 * returns the keys answered wrongly. Keys of partitions `url` does not own are forwarded to their owner.
 */
export async function wrongLookups(url: string, expected: Aggregates): Promise<string[]> {
  const wrong: string[] = [];
  const customers = [...expected.counts.keys()];
  for (let i = 0; i < customers.length; i += 16) {
    await Promise.all(
      customers.slice(i, i + 16).map(async (customer) => {
        const count = await get(keyUrl(url, COUNT_STORE, customer));
        const countValue = count.status === 200 ? (JSON.parse(count.body) as { value: unknown }).value : `${count.status}`;
        if (countValue !== expected.counts.get(customer)) wrong.push(`${customer}: count ${String(countValue)}`);
        const windows = await get(`${url}/stores/${REVENUE_STORE}/keys/${encodeURIComponent(customer)}/windows?from=0&limit=1000`);
        if (windows.status !== 200) {
          wrong.push(`${customer}: windows ${windows.status}`);
          return;
        }
        const body = JSON.parse(windows.body) as { windows: { start: number; value: number }[] };
        const mine = [...expected.revenue].filter(([key]) => key.startsWith(`${customer}@`));
        const got = new Map(body.windows.map((w) => [windowKey(customer, w.start), w.value]));
        if (JSON.stringify([...got].sort()) !== JSON.stringify(mine.sort()))
          wrong.push(`${customer}: windows ${JSON.stringify(body.windows)}`);
      }),
    );
  }
  return wrong;
}

/** The latest value per key of both changelog topics, read from the beginning to their end. */
export async function changelogState(c: AggregationCase): Promise<Aggregates> {
  const counts = new Map<string, number>();
  for (const record of await readTopic(c.countChangelog)) {
    const key = record.key?.toString() ?? '';
    if (record.value === null) counts.delete(key);
    else counts.set(key, JSON.parse(record.value.toString()) as number);
  }
  const revenue = new Map<string, number>();
  for (const record of await readTopic(c.revenueChangelog)) {
    const { key, start } = parseWindowedChangelogKey(record.key ?? Buffer.alloc(0));
    const id = windowKey(key.toString(), start);
    if (record.value === null) revenue.delete(id);
    else revenue.set(id, JSON.parse(record.value.toString()) as number);
  }
  return { counts, revenue };
}

/** Waits until the group committed the end offset of every input partition (orders and the repartition topic). */
export async function waitUntilProcessed(c: AggregationCase, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    () =>
      withAdmin(async (admin) => {
        const committed = await admin.fetchCommittedOffsets(c.appId, c.inputs);
        for (const topic of c.inputs) {
          for (const [partition, end] of await admin.fetchEndOffsets(topic)) {
            if ((committed.get(`${topic}:${partition}`) ?? 0) < end) return false;
          }
        }
        return true;
      }),
    { timeoutMs, intervalMs: 250, description: `group ${c.appId} committed the end of ${c.inputs.join(', ')}` },
  );
}

/** Aggregates as plain objects in key order: comparable with toEqual, and readable in a failure's diff. */
export function comparable(aggregates: Aggregates): { counts: Record<string, number>; revenue: Record<string, number> } {
  const sorted = (map: ReadonlyMap<string, number>): Record<string, number> =>
    Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { counts: sorted(aggregates.counts), revenue: sorted(aggregates.revenue) };
}

/** Per key, `actual - truth` where it differs; a key missing on one side counts as 0 there. */
export function differences(actual: ReadonlyMap<string, number>, truth: ReadonlyMap<string, number>): Map<string, number> {
  const diff = new Map<string, number>();
  for (const key of new Set([...actual.keys(), ...truth.keys()])) {
    const d = (actual.get(key) ?? 0) - (truth.get(key) ?? 0);
    if (d !== 0) diff.set(key, d);
  }
  return diff;
}

/** The instance's metric sum, e.g. records restored into a store. */
export function restoredInto(app: AppProcess, store: string): Promise<number> {
  return app.metricSum('tributary_restored_records_total', { store });
}
