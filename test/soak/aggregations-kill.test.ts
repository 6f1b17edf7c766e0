/**
 * The aggregation kill -9 scenario at a larger size (test/runtime/aggregations.test.ts runs a small one): 300,000
 * orders over 1,000 customers and 24 hours on 6 partitions, the instance killed with SIGKILL three times while it
 * works through them. Every count and window must be at least the truth and equal to what the changelogs say, and an
 * instance restoring from the changelogs alone must serve exactly the same (at-least-once: see aggregation-kill.ts).
 */
import { afterAll, afterEach, describe, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runAggregationKill } from '../runtime/aggregation-kill.js';

describe('soak: aggregations after kill -9', () => {
  const apps = new AppProcessGroup('soak-aggregations-kill');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('keeps every count and window at least the truth and equal to its changelog, killed three times under load', async () => {
    const report = await runAggregationKill(apps, {
      partitions: 6,
      orders: 300_000,
      customers: 1_000,
      hours: 24,
      killAfterProcessed: [40_000, 60_000, 60_000], // per life: each restart processes from the last commit
    });
    console.log(`[soak aggregations kill -9] ${JSON.stringify(report)}`);
  });
});
