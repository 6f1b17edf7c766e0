/**
 * Scenario 1: one instance of the enrichment fixture (child process) on the real broker: every order appears on
 * both outputs (global-table join, and re-keyed co-partitioned join through a repartition topic) with the right
 * customer.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { produce, waitUntil } from '../helpers/kafka.js';
import {
  createEnrichmentTopics,
  customerIds,
  deliveryReport,
  orderRecords,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
} from './enrichment-fixture.js';

const CUSTOMERS = 40;
const ORDERS = 400;

describe('TributaryApp, one instance', () => {
  const apps = new AppProcessGroup('runtime-single');

  afterEach(async ({ task }) => apps.cleanup({ printLogs: task.result?.state === 'fail' }));
  afterAll(async () => apps.dispose());

  it('enriches every order on both outputs with the right customer', async () => {
    const topics = await createEnrichmentTopics('single', 3);
    await produceCustomers(topics, customerIds(CUSTOMERS), 1);

    const app = await startEnrichmentApp(apps, topics);
    await app.waitUntilReady();
    const readyAt = Date.now();
    await produce(topics.orders, orderRecords(0, ORDERS, CUSTOMERS));

    let global = await readEnriched(topics.outGlobal);
    let copart = await readEnriched(topics.outCopart);
    await waitUntil(
      async () => {
        [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
        return global.length >= ORDERS && copart.length >= ORDERS;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: `${ORDERS} enriched orders on both outputs` },
    );
    const globalReport = deliveryReport(global, ORDERS, CUSTOMERS);
    const copartReport = deliveryReport(copart, ORDERS, CUSTOMERS);
    const firstRecordSeconds = await app.metricSum('tributary_first_record_after_assignment_seconds');
    console.log(
      `[runtime single] global join ${JSON.stringify(globalReport)}; co-partitioned join ${JSON.stringify(copartReport)}; ` +
        `ready→all outputs ${Date.now() - readyAt} ms; join→first record ${(firstRecordSeconds * 1000).toFixed(0)} ms (orders produced after ready)`,
    );
    expect(globalReport).toMatchObject({ lost: 0, duplicates: 0, wrongCustomer: 0 });
    expect(copartReport).toMatchObject({ lost: 0, duplicates: 0, wrongCustomer: 0 });

    // The app's own counters saw every order once, and the global store serves the customers.
    expect(await app.metricSum('tributary_records_processed_total', { topic: topics.orders })).toBe(ORDERS);
    const customer = await app.json<{ key: string; value: { name: string } }>('/stores/customers-global/keys/c7');
    expect(customer.value.name).toBe('name-c7-v1');

    await app.stop();
    expect(app.code).toBe(0);
  });
});
