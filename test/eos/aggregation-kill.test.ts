/**
 * Exactly-once on the real broker with aggregation stores (counts and hourly windows, restored from changelogs
 * written in the transactions): killed twice with SIGKILL while processing a backlog, restarted on its state
 * directory; every count and window equals the truth exactly (at-least-once may count twice: test/runtime/).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runAggregationKill } from '../runtime/aggregation-kill.js';

const apps = new AppProcessGroup('eos-aggregations');

afterEach(async ({ task }) => {
  await apps.cleanup({ printLogs: task.result?.state === 'fail' });
});

describe('exactly-once aggregations through kill -9', () => {
  it('counts and windows equal the truth after two kills (nothing counted twice), and a fresh instance restores the same', async () => {
    const report = await runAggregationKill(apps, {
      partitions: 4,
      orders: 12_000,
      customers: 150,
      hours: 6,
      killAfterProcessed: [3_000, 3_000],
      exactlyOnce: true,
    });
    console.log(`[eos aggregation kill -9] ${JSON.stringify(report)}`);
    expect(report.duplicateCounts).toBe(0);
    expect(report.duplicateRevenue).toBeCloseTo(0, 6);
  });
});
