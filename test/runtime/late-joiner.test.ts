/**
 * Scenario 5: a global table of 100k customers with updates and tombstones, compacted in the topic. An instance
 * running from the start applies everything through the continuous global updater; a late joiner with an empty
 * state directory builds the table from the compacted topic (bootstrap restoration). Both global stores must equal
 * the latest value per key with every tombstoned key absent: checked over HTTP, by a full scan (count + every
 * value) and by sampled key lookups.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Customer } from '../fixtures/enrichment-app.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { FAST_COMPACTION_CONFIGS, produce, readTopic, waitUntil, type TestRecord } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  customerName,
  customerRecords,
  produceCustomers,
  startEnrichmentApp,
} from './enrichment-fixture.js';

const CUSTOMERS = 100_000;
const UPDATED = 30_000; // c0..c29999 → version 2
const TOMBSTONED = { from: 70_000, to: 90_000 }; // c70000..c89999 deleted
const STORE = 'customers-global';

/** Latest version per key (undefined = deleted), after the final roll record (c1 → version 3). */
function expectedVersion(index: number): number | undefined {
  if (index === 1) return 3;
  if (index >= TOMBSTONED.from && index < TOMBSTONED.to) return undefined;
  return index < UPDATED ? 2 : 1;
}

interface ScanPage {
  readonly entries: readonly { readonly key: string; readonly value: Customer }[];
  readonly nextCursor: string | null;
}

interface StoreCheck {
  readonly entries: number;
  readonly wrong: number;
  readonly tombstonedPresent: number;
  readonly sampledLookups: number;
}

/** Full scan over HTTP (every value compared) plus sampled lookups of live and tombstoned keys. */
async function checkGlobalStore(app: AppProcess): Promise<StoreCheck> {
  let entries = 0;
  let wrong = 0;
  let tombstonedPresent = 0;
  let cursor: string | null = null;
  do {
    const query: string = `/stores/${STORE}/entries?limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: ScanPage = await app.json<ScanPage>(query);
    for (const { key, value } of page.entries) {
      entries++;
      const version = expectedVersion(Number(key.slice(1)));
      if (version === undefined) tombstonedPresent++;
      else if (value.version !== version || value.name !== customerName(key, version)) wrong++;
    }
    cursor = page.nextCursor;
  } while (cursor !== null);

  let sampledLookups = 0;
  for (let index = 7; index < CUSTOMERS; index += 499) {
    const { status, body } = await app.request(`/stores/${STORE}/keys/c${index}`);
    const version = expectedVersion(index);
    if (version === undefined) {
      if (status !== 404) wrong++;
    } else if (status !== 200 || (JSON.parse(body) as { value: Customer }).value.version !== version) {
      wrong++;
    }
    sampledLookups++;
  }
  return { entries, wrong, tombstonedPresent, sampledLookups };
}

describe('TributaryApp global table: late joiner on a compacted topic', () => {
  const apps = new AppProcessGroup('runtime-late-joiner');
  let failed = false;

  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('builds the latest value per key, tombstoned keys absent, on a running and on a late-joining instance', async () => {
    const topics = await createEnrichmentTopics('late', 2, { globalConfigs: FAST_COMPACTION_CONFIGS, globalPartitions: 2 });
    await produceCustomers(topics, customerIds(100), 1); // small co-partitioned table; the global one grows below

    const early = await startEnrichmentApp(apps, topics, { name: 'early' });
    await early.waitUntilReady();

    const ids = customerIds(CUSTOMERS);
    const produceStarted = Date.now();
    await produce(topics.customersGlobal, customerRecords(ids, 1));
    await produce(topics.customersGlobal, customerRecords(ids.slice(0, UPDATED), 2));
    const tombstones: TestRecord[] = ids.slice(TOMBSTONED.from, TOMBSTONED.to).map((id) => ({ key: id, value: null }));
    await produce(topics.customersGlobal, tombstones);
    const produceMs = Date.now() - produceStarted;
    const produced = CUSTOMERS + UPDATED + tombstones.length + 1;
    // The active segment is never cleaned: let segment.ms pass, then roll it with one more record.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await produce(topics.customersGlobal, customerRecords(['c1'], 3));

    let inTopic = produced;
    await waitUntil(
      async () => {
        inTopic = (await readTopic(topics.customersGlobal)).length;
        return inTopic < produced - UPDATED / 2;
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: 'the broker to compact the global customers topic' },
    );

    const joinedAt = Date.now();
    const late = await startEnrichmentApp(apps, topics, { name: 'late' });
    await late.waitUntilReady(120_000);
    const readyMs = Date.now() - joinedAt;
    const restored = await late.metricSum('tributary_restored_records_total', { store: STORE });

    // The late joiner bootstrapped to the end offsets taken at its start; the running instance applies the same
    // records through its continuous updater, which a loaded machine may still be working through: compare once it
    // holds the last record produced (c1 at version 3), not before.
    await waitUntil(
      async () => {
        const { status, body } = await early.request(`/stores/${STORE}/keys/c1`);
        return status === 200 && (JSON.parse(body) as { value: Customer }).value.version === 3;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the running instance to apply the last global record' },
    );
    const [earlyCheck, lateCheck] = await Promise.all([checkGlobalStore(early), checkGlobalStore(late)]);
    const live = CUSTOMERS - (TOMBSTONED.to - TOMBSTONED.from);
    console.log(
      `[runtime late joiner] produced ${produced} global records in ${produceMs} ms; ${inTopic} left after compaction; ` +
        `late joiner restored ${restored} records and was ready in ${readyMs} ms; ` +
        `store checks (expected ${live} live keys): running instance ${JSON.stringify(earlyCheck)}, late joiner ${JSON.stringify(lateCheck)}`,
    );
    for (const check of [earlyCheck, lateCheck]) {
      expect(check).toMatchObject({ entries: live, wrong: 0, tombstonedPresent: 0 });
    }
    expect(restored).toBeLessThanOrEqual(inTopic); // compaction may go on meanwhile: never more than was there
    await Promise.all([early.stop(), late.stop()]);
    expect([early.code, late.code]).toEqual([0, 0]);
  });
});
