/**
 * Screenshots of every view of a running instance's web console, e.g. for the README:
 *
 *   npm run demo                                                     # in one terminal
 *   npx tsx scripts/browser/console-screenshots.ts http://127.0.0.1:7071 docs/console
 *
 * Installs Chromium first if it is missing (scripts/browser/ensure-chromium.mjs). The store browser shot looks up a
 * key of the first partitioned store that another instance holds (so the answer was forwarded); the errors shot opens
 * the newest dead letter, if there is one.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { ensureChromium } from './ensure-chromium.mjs';

export const CONSOLE_VIEWS = ['topology', 'cluster', 'progress', 'stores', 'errors'] as const;

interface Metadata {
  readonly instances: readonly { readonly self: boolean; readonly storePartitions: Readonly<Record<string, readonly number[]>> }[];
}

/** A key of a partitioned string-keyed store that is not held by the instance at `base` (empty when none). */
async function forwardedKey(base: string): Promise<{ store: string; key: string } | undefined> {
  const get = async <T>(path: string): Promise<T> => (await fetch(`${base}${path}`)).json() as Promise<T>;
  const { stores } = await get<{ stores: { name: string; kind: string; keySerde: string; localPartitions: number[] }[] }>('/stores');
  const store = stores.find((s) => s.kind === 'partitioned' && s.keySerde === 'string');
  if (store === undefined) return undefined;
  const { entries } = await get<{ entries: { key: string }[] }>(`/stores/${encodeURIComponent(store.name)}/entries?limit=200`);
  const metadata = await get<Metadata>('/metadata');
  const here = new Set(metadata.instances.find((i) => i.self)?.storePartitions[store.name] ?? []);
  const { stringKeyPartition } = await import('../../http-query/console/partition.js');
  const partitionCount = Math.max(1, ...metadata.instances.flatMap((i) => (i.storePartitions[store.name] ?? []).map((p) => p + 1)));
  const remote = entries.find((e) => !here.has(stringKeyPartition(e.key, partitionCount)));
  return remote === undefined ? undefined : { store: store.name, key: remote.key };
}

/** Opens each view and saves `<view>.png` into `outDir`: the topology whole, the others as the window shows them. */
export async function shootViews(page: Page, base: string, outDir: string, views: readonly string[] = CONSOLE_VIEWS): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const view of views) {
    await page.goto(`${base}/ui/#/${view}`);
    await page.waitForSelector(`[data-testid=view-${view}]`);
    await page.waitForTimeout(2500); // a couple of polls: charts and stats filled in
    if (view === 'stores') {
      const target = await forwardedKey(base);
      if (target !== undefined) {
        await page.click(`[data-testid=store-item][data-store="${target.store}"]`);
        await page.fill('[data-testid=lookup-key]', target.key);
        await page.click('[data-testid=lookup-submit]');
        await page.waitForSelector('[data-testid=lookup-result]');
        await page.selectOption('[data-testid=scan-card] select', '10');
        await page.click('[data-testid=scan-submit]');
        await page.waitForSelector('[data-testid=scan-result]');
      }
    }
    if (view === 'errors') {
      const first = page.locator('[data-testid=dead-letter] button').first();
      if ((await first.count()) > 0) await first.click();
    }
    const file = join(outDir, `${view}.png`);
    await page.screenshot({ path: file, fullPage: view === 'topology' });
    files.push(file);
  }
  return files;
}

async function main(): Promise<void> {
  const [base, out = 'docs/console', only] = process.argv.slice(2);
  if (base === undefined || !/^https?:\/\//.test(base)) {
    console.error(
      'Usage: npx tsx scripts/browser/console-screenshots.ts <instance base URL, e.g. http://127.0.0.1:7071> [out dir] [views, e.g. topology,cluster]',
    );
    process.exitCode = 2;
    return;
  }
  const { executablePath } = ensureChromium();
  const chromium = await launchChromium(executablePath);
  try {
    const context = await chromium.newContext({ width: 1440, height: 900 });
    const page = await context.newPage();
    const views = only === undefined ? CONSOLE_VIEWS : only.split(',');
    for (const file of await shootViews(page, base.replace(/\/+$/, ''), resolve(out), views)) console.log(file);
  } finally {
    await chromium.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
