/**
 * The exactly-once kill -9 loop at the size (test/eos/kill-loop.test.ts runs three rounds): twenty rounds
 * of run 5–15 s / kill -9 / restart on the same state directory while orders and customer updates flow. A
 * read_committed reader sees every order exactly once on both outputs; the store ends at the latest customer versions.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runKillLoop } from '../eos/kill-loop.js';

describe('soak: exactly-once through twenty kill -9 restarts', () => {
  const apps = new AppProcessGroup('soak-eos-kill');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('every order exactly once on both outputs, stores equal the source of truth (20 rounds)', async () => {
    const report = await runKillLoop(apps, {
      rounds: 20,
      minRunMs: 5000,
      maxRunMs: 15_000,
      partitions: 6,
      customers: 1000,
      ordersPerTick: 20,
      updatesPerTick: 10,
    });
    console.log(`[soak eos kill -9] ${JSON.stringify(report)}`);
    expect(report.global).toMatchObject({ duplicates: 0, missing: 0 });
    expect(report.copart).toMatchObject({ duplicates: 0, missing: 0 });
    expect(report.storeMismatches).toBe(0);
    expect(report.transactionsCommittedInFinalLife).toBeGreaterThan(0);
  });
});
