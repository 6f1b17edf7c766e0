/**
 * Interactive queries across instances on the real broker, child processes via the harness, run in order
 * (they share one application):
 * 1. two instances, a partitioned `customers` table (6 partitions) and a global `regions` table: every key answered
 *    correctly by BOTH instances (one of them forwards), scans complete and in key order through cursors, /metadata
 *    identical on both;
 * 2. a third instance joins, then one is stopped, while keys are queried and the store is scanned continuously: only
 *    correct 200s or 503s with Retry-After, never a wrong answer, and every scan complete or ended by a 503;
 * 3. a bounded load loop (fixed concurrency and count): lookups/s and p50/p99, local and forwarded — printed only.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { defaultPartition } from '../../common/partitioner.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { createTopics, produce, uniqueName, waitUntil } from '../helpers/kafka.js';
import type { QueryCustomer, QueryRegion } from '../fixtures/query-app.js';
import { checkAnswer, comparableMetadata, get, keyUrl, loadLoop, QueryPoller, scanAll, ScanPoller } from './query-client.js';

const PARTITIONS = 6;
const CUSTOMERS = 300;
const REGIONS = 20;
const LOAD_REQUESTS = 2000;
const LOAD_CONCURRENCY = 8;

const customerKey = (i: number): string => `cust-${String(i).padStart(3, '0')}`;
const regionKey = (i: number): string => `r-${String(i).padStart(2, '0')}`;
const partitionOf = (key: string): number => defaultPartition(Buffer.from(key), PARTITIONS);

const customers = new Map<string, QueryCustomer>(
  Array.from({ length: CUSTOMERS }, (_, i) => [
    customerKey(i),
    { id: customerKey(i), name: `Customer ${i}`, region: regionKey(i % REGIONS) },
  ]),
);
const regions = new Map<string, QueryRegion>(
  Array.from({ length: REGIONS }, (_, i) => [regionKey(i), { code: regionKey(i), label: `Region ${i}` }]),
);

/** Waits until every instance reports the same task map with `instances.length` members and all are ready. */
async function agreedMetadata(instances: readonly AppProcess[]): Promise<ClusterMetadata> {
  let views: ClusterMetadata[] = [];
  let ready: number[] = [];
  try {
    await waitUntil(
      async () => {
        views = await Promise.all(instances.map((i) => i.json<ClusterMetadata>('/metadata')));
        ready = await Promise.all(instances.map(async (i) => (await i.request('/ready')).status));
        const comparable = views.map(comparableMetadata);
        const partitions = views[0].instances.flatMap((i) => i.storePartitions.customers ?? []).sort((x, y) => x - y);
        return (
          views[0].instances.length === instances.length &&
          comparable.every((c) => c === comparable[0]) &&
          JSON.stringify(partitions) === JSON.stringify([...Array(PARTITIONS).keys()]) &&
          ready.every((status) => status === 200)
        );
      },
      { timeoutMs: 60_000, intervalMs: 250, description: `${instances.length} ready instances agreeing on /metadata` },
    );
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; last /ready statuses ${JSON.stringify(ready)}, /metadata views:\n${views.map((v) => JSON.stringify(v)).join('\n')}`,
      { cause: error },
    );
  }
  return views[0];
}

function ownerUrl(metadata: ClusterMetadata, key: string): string {
  const partition = partitionOf(key);
  const owner = metadata.instances.find((i) => (i.storePartitions.customers ?? []).includes(partition));
  if (owner === undefined) throw new Error(`no owner of customers partition ${partition} in ${JSON.stringify(metadata)}`);
  return owner.url;
}

/** Every key of `expected` on `instance`, strictly (only correct 200s). Returns how many were local there. */
async function checkEveryKey(
  instance: AppProcess,
  store: string,
  expected: ReadonlyMap<string, unknown>,
  isLocal: (key: string) => boolean,
): Promise<{ local: number; forwarded: number }> {
  const problems: string[] = [];
  let local = 0;
  const keys = [...expected.keys()];
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map(async (key) => {
        const problem = checkAnswer(await get(keyUrl(instance.url, store, key)), key, expected.get(key), false);
        if (problem !== undefined) problems.push(problem);
        if (isLocal(key)) local++;
      }),
    );
  }
  expect(problems).toEqual([]);
  return { local, forwarded: keys.length - local };
}

async function expectCompleteScan(
  instance: AppProcess,
  store: string,
  expected: ReadonlyMap<string, unknown>,
  limit: number,
  reverse = false,
): Promise<number> {
  const { entries, pages } = await scanAll(instance.url, store, limit, reverse);
  const keys = [...expected.keys()].sort();
  if (reverse) keys.reverse();
  expect(entries.map((e) => e.key)).toEqual(keys);
  for (const entry of entries) expect(entry.value).toEqual(expected.get(entry.key as string));
  return pages;
}

describe('HTTP queries across two instances on the real broker', () => {
  const apps = new AppProcessGroup('http-query');
  const appId = uniqueName('query');
  const env = { TOPIC_CUSTOMERS: `${appId}-customers`, TOPIC_REGIONS: `${appId}-regions` };
  const start = (name: string): Promise<AppProcess> =>
    apps.start({ fixture: 'test/fixtures/query-app.ts', appId, name, env, commitIntervalMs: 500 });
  let a: AppProcess;
  let b: AppProcess;
  let c: AppProcess;
  let failed = false;

  beforeAll(async () => {
    await createTopics([
      { topic: env.TOPIC_CUSTOMERS, partitions: PARTITIONS },
      { topic: env.TOPIC_REGIONS, partitions: 2 },
    ]);
    await produce(
      env.TOPIC_CUSTOMERS,
      [...customers].map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    );
    await produce(
      env.TOPIC_REGIONS,
      [...regions].map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    );
  });

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });

  afterAll(async () => {
    await apps.dispose({ printLogs: failed });
  });

  it('both instances answer every key (one forwards), scan everything in key order, and agree on /metadata', async () => {
    a = await start('a');
    b = await start('b');
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);
    const metadata = await agreedMetadata([a, b]);

    const onA = await checkEveryKey(a, 'customers', customers, (key) => ownerUrl(metadata, key) === a.url);
    const onB = await checkEveryKey(b, 'customers', customers, (key) => ownerUrl(metadata, key) === b.url);
    expect(onA.local + onB.local).toBe(CUSTOMERS); // each key is local on exactly one of them
    expect(onA.forwarded).toBeGreaterThan(0);
    expect(onB.forwarded).toBeGreaterThan(0);
    await checkEveryKey(a, 'regions', regions, () => true);
    await checkEveryKey(b, 'regions', regions, () => true);
    for (const instance of [a, b]) {
      const missing = await get(keyUrl(instance.url, 'customers', 'cust-999'));
      expect([missing.status, (JSON.parse(missing.body) as { error: { code: string } }).error.code]).toEqual([
        404,
        'TRIBUTARY_QUERY_KEY_NOT_FOUND',
      ]);
    }

    const pages = await expectCompleteScan(a, 'customers', customers, 37);
    await expectCompleteScan(b, 'customers', customers, 37);
    await expectCompleteScan(b, 'customers', customers, 50, true);
    await expectCompleteScan(a, 'regions', regions, 7);
    expect(pages).toBe(Math.ceil(CUSTOMERS / 37));

    const views = await Promise.all([a, b].map((i) => i.json<ClusterMetadata>('/metadata')));
    expect(comparableMetadata(views[0])).toBe(comparableMetadata(views[1]));
    expect(views.map((v) => v.instances.find((i) => i.self)?.url)).toEqual([a.url, b.url]);
    console.log(
      `two instances: a local ${onA.local} / forwarded ${onA.forwarded}, b local ${onB.local} / forwarded ${onB.forwarded}; scan pages (limit 37): ${pages}; ` +
        `partitions: ${JSON.stringify(metadata.instances.map((i) => [i.id, i.storePartitions.customers]))}`,
    );
  });

  it('while a third instance joins and then one stops, every answer is a correct 200 or a 503 with Retry-After', async () => {
    let targets = [a.url, b.url];
    const poller = new QueryPoller(() => targets, 'customers', customers, 4).start();
    const scans = new ScanPoller(() => targets, 'customers', customers, 50).start();

    c = await start('c');
    await c.waitUntilReady();
    targets = [a.url, b.url, c.url];
    const joined = await agreedMetadata([a, b, c]);
    const duringJoin = { ok: poller.stats.ok, unavailable: poller.stats.unavailable };

    // Stop b: nobody queries it directly any more (it goes away), a and c forward to it until they learn it left.
    targets = [a.url, c.url];
    await b.stop();
    const afterStop = await agreedMetadata([a, c]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stats = await poller.stop();
    await scans.stop();

    console.log(
      `rebalance polling: ${stats.ok} correct 200s, ${stats.unavailable} 503s ${JSON.stringify(Object.fromEntries(stats.byCode))}, ` +
        `${stats.wrong.length} wrong, ${stats.transportErrors.length} transport errors; during the join: ${JSON.stringify(duringJoin)}; ` +
        `full scans: ${scans.complete} complete, ${scans.unavailable} ended on a 503, ${scans.wrong.length} wrong; ` +
        `assignment as seen by a: ${joined.assignmentId} → ${afterStop.assignmentId}`,
    );
    expect(stats.wrong).toEqual([]);
    expect(stats.transportErrors).toEqual([]);
    expect(stats.ok).toBeGreaterThan(0);
    expect(scans.wrong).toEqual([]);
    expect(scans.complete).toBeGreaterThan(0);
    expect(joined.instances).toHaveLength(3);
    expect(afterStop.instances.map((i) => i.url).sort()).toEqual([a.url, c.url].sort());

    await checkEveryKey(a, 'customers', customers, () => false);
    await checkEveryKey(c, 'customers', customers, () => false);
    await expectCompleteScan(c, 'customers', customers, 64);
  });

  it('measures lookups/s and p50/p99, local and forwarded (printed, not asserted)', async () => {
    const metadata = await agreedMetadata([a, c]);
    const keys = [...customers.keys()];
    const localKeys = keys.filter((key) => ownerUrl(metadata, key) === a.url);
    const remoteKeys = keys.filter((key) => ownerUrl(metadata, key) === c.url);
    expect(localKeys.length).toBeGreaterThan(0);
    expect(remoteKeys.length).toBeGreaterThan(0);

    await loadLoop(a.url, 'customers', keys, customers, 200, LOAD_CONCURRENCY); // warm-up (JIT, keep-alive pools)
    const local = await loadLoop(a.url, 'customers', localKeys, customers, LOAD_REQUESTS, LOAD_CONCURRENCY);
    const forwarded = await loadLoop(a.url, 'customers', remoteKeys, customers, LOAD_REQUESTS, LOAD_CONCURRENCY);
    const global = await loadLoop(a.url, 'regions', [...regions.keys()], regions, LOAD_REQUESTS, LOAD_CONCURRENCY);
    console.log(`HTTP lookups on 127.0.0.1 (2 cores, broker + 2 app processes + test runner on the same machine):`);
    for (const [name, r] of Object.entries({ local, forwarded, global })) {
      console.log(
        `  ${name.padEnd(9)} ${r.requests} requests, concurrency ${r.concurrency}: ${r.perSecond}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
      );
    }
    expect([local.failures, forwarded.failures, global.failures]).toEqual([0, 0, 0]);
  });
});
