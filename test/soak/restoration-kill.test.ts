/**
 * The kill -9 restoration scenario at the size (test/runtime/restoration-kill.test.ts runs a small one):
 * 10,000 customers on 6 partitions, 5,000 updates and 200 deletes while the instance is down; from the moment /ready
 * answers 200, no value older than the topic's table as of the restart.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runKillScenario } from '../runtime/restoration-kill.js';

describe('soak: a co-partitioned and a global table after kill -9 and a backlog', () => {
  const apps = new AppProcessGroup('soak-restoration-kill');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('serves no stale value once /ready says 200 (issue size)', async () => {
    const report = await runKillScenario(apps, { partitions: 6, customers: 10_000, updates: 5000, deletes: 200, sampledLookups: 500 });
    console.log(`[soak restoration kill -9] ${JSON.stringify(report)}`);
    expect(report.staleInScan).toBe(0);
    expect(report.staleInLookups).toBe(0);
  });
});
