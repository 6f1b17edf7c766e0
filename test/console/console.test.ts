/**
 * The web console in a real browser (headless Chromium, installed by scripts/browser/ensure-chromium.mjs and driven
 * by playwright-core) against two real instances of the order-enrichment fixture on the real broker, run in order:
 * 1. the first instance's bootstrap shows on the Progress view while it runs and ends at 100%;
 * 2. the Topology view draws every node GET /topology has;
 * 3. the Cluster view's task map is the one GET /metadata gives, and the second instance's arrival shows as a rebalance;
 * 4. the store browser shows what the API answers for a local key, a forwarded key and a missing key (404);
 * 5. the Errors view counts the dead letters of poison orders and lists them with their headers;
 * 6. the Progress view has lag and rate charts for every input partition, with the instance owning it;
 * 7. the store browser on a window store: one key's windows and every key's windows in a range (an in-process server
 *    over the fake source);
 * 8. with auth on, the page asks for the token and then loads (an in-process server over the fake source).
 * No page error and no Content-Security-Policy violation is allowed anywhere. Screenshots of every view are saved in
 * test-artifacts/console/ (ignored by git). Without a browser that can be installed, the tests skip and say why.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { defaultPartition } from '../../common/partitioner.js';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { createQueryServer } from '../../http-query/server.js';
import { FakeClusterData, FakeQuerySource } from '../../http-query/testing/fake-query-source.js';
import type { TopologyGraph } from '../../topology/graph.js';
import { launchChromium, type RunningChromium } from '../../scripts/browser/chromium.js';
import { BrowserUnavailableError, ensureChromium } from '../../scripts/browser/ensure-chromium.mjs';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { createTopics, produce, uniqueName, waitUntil } from '../helpers/kafka.js';

const ARTIFACTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const PARTITIONS = 4;
/** Enough for the global table's bootstrap to last a few seconds, so the Progress view sees it under way. */
const GLOBAL_CUSTOMERS = 300_000;
const CUSTOMERS = 400;
const POISON_ORDERS = 3;

const customerKey = (i: number): string => `c-${i}`;
const customer = (i: number) => ({ id: customerKey(i), name: `Customer ${i}`, version: 1 });

interface RestorationSample {
  readonly store: string;
  readonly partition: string;
  readonly done: string;
  readonly percent: number;
}

/**
 * Runs in the page (a string: the test project has no DOM types): every 100 ms it records what the restoration table
 * shows, so no render goes unseen between the test's own looks.
 */
const RECORD_RESTORATION_ROWS = `
  window.__restorationSamples = [];
  setInterval(() => {
    for (const row of document.querySelectorAll('[data-testid=restoration-row]')) {
      const bar = row.querySelector('[role=progressbar]');
      window.__restorationSamples.push({
        store: row.dataset.store ?? '',
        partition: row.dataset.partition ?? '',
        done: row.dataset.done ?? '',
        percent: Number(bar?.getAttribute('aria-valuenow') ?? -1),
      });
    }
  }, 100);
`;

describe('web console in a browser, against two instances on the real broker', () => {
  const apps = new AppProcessGroup('console');
  const appId = uniqueName('console');
  const env = {
    TOPIC_ORDERS: `${appId}-orders`,
    TOPIC_CUSTOMERS_GLOBAL: `${appId}-customers-global`,
    TOPIC_CUSTOMERS: `${appId}-customers`,
    TOPIC_OUT_GLOBAL: `${appId}-out-global`,
    TOPIC_OUT_COPART: `${appId}-out-copart`,
  };
  const start = (name: string): Promise<AppProcess> =>
    apps.start({ fixture: 'test/fixtures/enrichment-app.ts', appId, name, env, commitIntervalMs: 500 });
  let browserPath: string | undefined;
  let unavailable = '';
  let chromium: RunningChromium | undefined;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let a: AppProcess;
  let b: AppProcess;
  let failed = false;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    try {
      browserPath = ensureChromium().executablePath;
    } catch (error) {
      if (!(error instanceof BrowserUnavailableError)) throw error;
      unavailable = error.message;
      return;
    }
    await createTopics([
      { topic: env.TOPIC_ORDERS, partitions: PARTITIONS },
      { topic: env.TOPIC_CUSTOMERS_GLOBAL, partitions: 2 },
      { topic: env.TOPIC_CUSTOMERS, partitions: PARTITIONS },
      { topic: env.TOPIC_OUT_GLOBAL, partitions: PARTITIONS },
      { topic: env.TOPIC_OUT_COPART, partitions: PARTITIONS },
    ]);
    await produce(
      env.TOPIC_CUSTOMERS_GLOBAL,
      Array.from({ length: GLOBAL_CUSTOMERS }, (_, i) => ({ key: customerKey(i), value: JSON.stringify(customer(i)) })),
    );
    await produce(
      env.TOPIC_CUSTOMERS,
      Array.from({ length: CUSTOMERS }, (_, i) => ({ key: customerKey(i), value: JSON.stringify(customer(i)) })),
    );
    await produce(env.TOPIC_ORDERS, [
      ...Array.from({ length: 20 }, (_, i) => ({
        key: `o-${i}`,
        value: JSON.stringify({ orderId: `o-${i}`, customerId: customerKey(i), seq: i }),
      })),
      // Not JSON: dead-lettered at deserialization, and shown on the Errors view.
      ...Array.from({ length: POISON_ORDERS }, (_, i) => ({ key: `poison-${i}`, value: `{"orderId":"poison-${i}"` })),
    ]);
    chromium = await launchChromium(browserPath);
    context = await chromium.newContext({ width: 1440, height: 900 });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console error: ${message.text()}`);
      if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
  });

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });

  afterAll(async () => {
    await chromium?.close();
    await apps.dispose({ printLogs: failed });
  });

  /** The browser, or a skip that says why there is none. */
  function requireBrowser(skip: (note: string) => void): void {
    if (browserPath === undefined) skip(`no Chromium and it cannot be installed here: ${unavailable}`);
  }

  async function show(view: string): Promise<void> {
    await page.goto(`${a.url}/ui/#/${view}`);
    await page.waitForSelector(`[data-testid=view-${view}]`);
  }

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  function expectNoPageProblems(): void {
    expect(problems).toEqual([]);
  }

  it('shows the first instance restoring its global table while it bootstraps, ending at 100%', async ({ skip }) => {
    requireBrowser(skip);
    await page.addInitScript({ content: RECORD_RESTORATION_ROWS });
    a = await start('a');
    // The query server comes up before the bootstrap: open the console as soon as it answers.
    await waitUntil(async () => (await a.request('/health')).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: 'a /health',
    });
    await show('progress');
    await a.waitUntilReady();
    await waitUntil(
      async () =>
        (await page.locator('[data-testid=restoration-row][data-store=customers-global]').getAttribute('data-done')) === 'true' &&
        (await page.locator('[data-testid=restoration-row][data-done=false]').count()) === 0,
      { timeoutMs: 15_000, description: 'the console showing every restoration done' },
    );
    const recorded = (await page.evaluate('window.__restorationSamples ?? []')) as RestorationSample[];
    const underWay = recorded.filter((s) => s.store === 'customers-global' && s.done === 'false');
    expect(underWay.length, 'the bootstrap was seen under way').toBeGreaterThan(0);
    expect(Math.min(...underWay.map((s) => s.percent))).toBeLessThan(100);
    // And now, done: 100%.
    const row = page.locator('[data-testid=restoration-row][data-store=customers-global]');
    expect(await row.getAttribute('data-partition')).toBe('global');
    expect(await row.locator('[role=progressbar]').getAttribute('aria-valuenow')).toBe('100');
    expect(await row.innerText()).toContain('100%');
    await screenshot('progress');
    expectNoPageProblems();
    console.log(
      `console: saw the global bootstrap under way in ${underWay.length} samples (from ${Math.min(...underWay.map((s) => s.percent))}%), then 100%`,
    );
  });

  it('draws every node of the topology', async ({ skip }) => {
    requireBrowser(skip);
    b = await start('b'); // joins while we look at the topology
    await show('topology');
    await page.waitForSelector('[data-testid=topology-node]');
    const graph = await a.json<TopologyGraph>('/topology');
    const drawn = await page
      .locator('[data-testid=topology-node]')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node-id')));
    expect([...drawn].sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    const kinds = new Set(graph.nodes.map((n) => n.kind));
    for (const kind of [
      'source',
      'table-source',
      'global-table',
      'transform',
      'stream-table-join',
      'stream-global-join',
      'sink',
      'topic',
      'store',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    const groups = await page.locator('[data-testid=topology-group]').evaluateAll((g) => g.map((n) => n.getAttribute('data-group-id')));
    expect([...groups].sort()).toEqual(graph.groups.map((g) => g.id).sort());
    // Node details on click.
    await page.click(`[data-testid=topology-node][data-kind=repartition-source]`);
    expect(await page.locator('[data-testid=node-details]').innerText()).toContain('repartition');
    await screenshot('topology');
    expectNoPageProblems();
  });

  it('shows the task map of /metadata, and the second instance joining as a rebalance', async ({ skip }) => {
    requireBrowser(skip);
    await show('cluster');
    await b.waitUntilReady();
    let expected = new Map<string, string>();
    let shown = new Map<string, string>();
    await waitUntil(
      async () => {
        const metadata = await a.json<ClusterMetadata>('/metadata');
        expected = new Map(metadata.instances.flatMap((i) => i.tasks.map((t) => [t, i.id] as const)));
        const holders = await page
          .locator('[data-testid=task-cell] [data-role=active]')
          .evaluateAll((els) =>
            els.map((el) => [el.closest('td')?.getAttribute('data-task') ?? '', el.getAttribute('data-instance') ?? '']),
          );
        shown = new Map(holders.map(([task, instance]) => [task, instance]));
        return metadata.instances.length === 2 && JSON.stringify([...shown].sort()) === JSON.stringify([...expected].sort());
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the task map showing both instances as /metadata does' },
    );
    expect(new Set(expected.values())).toEqual(new Set(['a', 'b']));
    expect(await page.locator('[data-testid=instance-card]').count()).toBe(2);
    // The page was open on a before b joined: the change of assignment is in the rebalance log.
    const log = await page.locator('[data-testid=rebalance-log] tbody tr').allInnerTexts();
    expect(log.length).toBeGreaterThan(0);
    await screenshot('cluster');
    expectNoPageProblems();
  });

  it('store browser: shows what the API answers for a local key, a forwarded key and a missing key', async ({ skip }) => {
    requireBrowser(skip);
    const metadata = await a.json<ClusterMetadata>('/metadata');
    const key = customerKey(7);
    const partition = defaultPartition(Buffer.from(key), PARTITIONS);
    const ownerId = metadata.instances.find((i) => (i.storePartitions.customers ?? []).includes(partition))?.id;
    expect(ownerId).toBeDefined();
    const [owner, other] = ownerId === 'a' ? [a, b] : [b, a];
    const api = await a.json<{ value: unknown }>(`/stores/customers/keys/${encodeURIComponent(key)}`);

    /** Looks `text` up in `instance`'s console; returns the result panel once it shows that key. */
    const lookUp = async (instance: AppProcess, text: string) => {
      await page.fill('[data-testid=lookup-key]', text);
      await page.click('[data-testid=lookup-submit]');
      await page.waitForSelector(`[data-testid=lookup-result] code:text-is("${text}")`);
      return page.locator('[data-testid=lookup-result]');
    };
    const openStores = async (instance: AppProcess) => {
      await page.goto(`${instance.url}/ui/#/stores`);
      await page.waitForSelector('[data-testid=store-item][data-store=customers]');
      await page.click('[data-testid=store-item][data-store=customers]');
    };
    // On the owner's console the key is local; on the other's the lookup is forwarded. The value is the API's.
    for (const [instance, forwarded] of [
      [owner, 'false'],
      [other, 'true'],
    ] as const) {
      await openStores(instance);
      const result = await lookUp(instance, key);
      expect(await result.getAttribute('data-status')).toBe('200');
      expect(JSON.parse(await result.locator('[data-testid=json-view]').innerText())).toEqual(api.value);
      expect(await result.locator('[data-testid=lookup-routing]').getAttribute('data-forwarded')).toBe(forwarded);
      expect(await result.locator('[data-testid=lookup-routing]').getAttribute('data-owner')).toBe(owner.name);
    }
    await screenshot('stores-forwarded');
    const missing = await lookUp(other, 'c-missing');
    expect(await missing.getAttribute('data-status')).toBe('404');
    expect(await missing.innerText()).toContain('TRIBUTARY_QUERY_KEY_NOT_FOUND');
    // A prefix scan, merged across both instances: the first page as the API gives it.
    await page.fill('[data-testid=scan-prefix]', 'c-1');
    await page.click('[data-testid=scan-submit]');
    await page.waitForSelector('[data-testid=scan-result][data-status="200"]');
    const shownKeys = await page.locator('[data-testid=scan-entry] td.key').allInnerTexts();
    const apiPage = await other.json<{ entries: { key: string }[] }>('/stores/customers/entries?prefix=c-1&limit=25');
    expect(shownKeys).toEqual(apiPage.entries.map((e) => e.key));
    await screenshot('stores');
    expectNoPageProblems();
  });

  it('errors: counts the poison orders per stage and source and lists the dead letters with their headers', async ({ skip }) => {
    requireBrowser(skip);
    await show('errors');
    await waitUntil(async () => (await page.locator('[data-testid=dead-letter]').count()) >= POISON_ORDERS, {
      timeoutMs: 20_000,
      intervalMs: 500,
      description: 'the poison orders on the Errors view',
    });
    const counted = page.locator(`[data-testid=dead-letter-count][data-stage=deserialization][data-source="${env.TOPIC_ORDERS}"]`);
    await waitUntil(async () => (await counted.count()) === 1, { timeoutMs: 10_000, description: 'the dead-letter counts' });
    expect(await counted.innerText()).toContain(String(POISON_ORDERS));
    await page.locator('[data-testid=dead-letter] button').first().click();
    const opened = await page.locator('[data-testid=dead-letter].open').innerText();
    expect(opened).toContain('tributary.source.topic');
    expect(opened).toContain(env.TOPIC_ORDERS);
    expect(opened).toContain('{"orderId":"poison-');
    await screenshot('errors');
    expectNoPageProblems();
  });

  it('progress: lag and rate charts for every input partition, each with the instance that owns it', async ({ skip }) => {
    requireBrowser(skip);
    await show('progress');
    const graph = await a.json<TopologyGraph>('/topology');
    const inputs = [...new Set(graph.groups.flatMap((g) => (g.kind === 'subtopology' ? g.sourceTopics : [])))];
    await waitUntil(async () => (await page.locator('[data-testid=lag-card]').count()) === inputs.length * PARTITIONS, {
      timeoutMs: 20_000,
      intervalMs: 500,
      description: `a lag card for each of the ${inputs.length * PARTITIONS} input partitions`,
    });
    const metadata = await a.json<ClusterMetadata>('/metadata');
    const ownerOf = (topic: string, partition: number): string | undefined => {
      const sub = graph.groups.find((g) => g.kind === 'subtopology' && g.sourceTopics.includes(topic))?.subtopology;
      return metadata.instances.find((i) => i.tasks.includes(`${sub}_${partition}`))?.id;
    };
    for (const card of await page.locator('[data-testid=lag-card]').all()) {
      const topic = (await card.getAttribute('data-topic')) as string;
      const partition = Number(await card.getAttribute('data-partition'));
      expect(inputs).toContain(topic);
      expect(await card.locator('.instance-chip').innerText()).toContain(ownerOf(topic, partition) as string);
      expect(await card.locator('canvas').count()).toBe(2); // lag and records/s
    }
    await screenshot('progress-lag');
    expectNoPageProblems();
  });

  it("store browser on a window store: one key's windows and every key's windows in a range, as the window routes answer", async ({
    skip,
  }) => {
    requireBrowser(skip);
    const HOUR = 3_600_000;
    const base = Date.UTC(2026, 11, 6);
    const data = new FakeClusterData();
    data.addStore('revenue-per-hour', 'windowed', 2, { windowSizeMs: HOUR, retentionMs: 48 * HOUR, segmentIntervalMs: 24 * HOUR });
    data.loadWindows(
      'revenue-per-hour',
      ['c-1', 'c-2', 'c-3'].flatMap((key, k) => [0, 1, 2].map((h) => [key, base + h * HOUR, 10 * (k + 1) + h] as const)),
    );
    const source = new FakeQuerySource(data, 'windows');
    const server = createQueryServer({ source, ui: true });
    const url = await server.listen();
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    try {
      await tab.goto(`${url}/ui/#/stores`);
      await tab.click('[data-testid=store-item][data-store=revenue-per-hour]');
      // One key, windows starting from the second hour (typed as an ISO date-time, read as UTC).
      await tab.fill('[data-testid=window-key]', 'c-2');
      await tab.fill('[data-testid=window-from]', '2026-12-06T01:00');
      await tab.click('[data-testid=window-lookup-submit]');
      await tab.waitForSelector('[data-testid=window-lookup-result][data-status="200"]');
      const starts = await tab.locator('[data-testid=window-row]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-start')));
      expect(starts).toEqual([String(base + HOUR), String(base + 2 * HOUR)]);
      expect(await tab.locator('[data-testid=window-row]').first().innerText()).toContain('2026-12-06 01:00:00Z');
      // Every key's windows up to the second hour, as the API pages them.
      await tab.fill('[data-testid=window-scan-to]', String(base + HOUR));
      await tab.click('[data-testid=window-scan-submit]');
      await tab.waitForSelector('[data-testid=window-scan-result][data-status="200"]');
      const shown = await tab.locator('[data-testid=window-scan-entry]').allInnerTexts();
      const api = (await (await fetch(`${url}/stores/revenue-per-hour/windows?to=${base + HOUR}&limit=25`)).json()) as {
        entries: { key: string; value: number }[];
      };
      expect(api.entries).toHaveLength(6);
      expect(shown.map((row) => row.split(/\s+/)[0])).toEqual(api.entries.map((e) => e.key));
      expect(shown.map((row) => Number(row.trim().split(/\s+/).at(-1)))).toEqual(api.entries.map((e) => e.value));
      await tab.screenshot({ path: join(ARTIFACTS, 'stores-windows.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
      await server.close();
    }
  });

  it('with auth on, the page asks for the bearer token, keeps it for the tab and then loads', async ({ skip }) => {
    requireBrowser(skip);
    const data = new FakeClusterData();
    data.addStore('counts', 'partitioned', 2);
    const source = new FakeQuerySource(data, 'secured');
    const server = createQueryServer({ source, ui: true, authToken: 's3cret' });
    const url = await server.listen();
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    try {
      await tab.goto(`${url}/ui/#/cluster`);
      await tab.waitForSelector('[data-testid=token-dialog]');
      await tab.fill('[data-testid=token-input]', 's3cret');
      await tab.click('[data-testid=token-save]');
      await tab.waitForSelector('[data-testid=instance-card][data-instance=secured]');
      expect(await tab.evaluate("window.sessionStorage.getItem('tributary.console.token')")).toBe('s3cret');
      await tab.screenshot({ path: join(ARTIFACTS, 'auth.png') });
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
      await server.close();
    }
  });
});
