/**
 * After kill -9 with a backlog written while the instance was down, no lookup after /ready returns a value older
 * than the source of truth as of the restart (see restoration-kill.ts; `npm run test:soak` runs the full size).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runKillScenario } from './restoration-kill.js';

describe('a co-partitioned and a global table after kill -9 and a backlog', () => {
  const apps = new AppProcessGroup('restoration-kill');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('serves no stale value once /ready says 200', async () => {
    const report = await runKillScenario(apps, { partitions: 3, customers: 2000, updates: 3000, deletes: 200, sampledLookups: 200 });
    console.log(`[restoration kill -9] ${JSON.stringify(report)}`);
    expect(report.staleInScan).toBe(0);
    expect(report.staleInLookups).toBe(0);
  });
});
