/**
 * Exactly-once on the real broker, short: three kill -9 rounds of the enrichment app while orders and customer
 * updates flow (kill-loop.ts; `npm run test:soak` runs twenty). A read_committed reader sees every order once on
 * both outputs, and the co-partitioned store ends at the customers' latest versions.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { runKillLoop } from './kill-loop.js';

describe('exactly-once through kill -9 restarts', () => {
  const apps = new AppProcessGroup('eos-kill');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('every order exactly once on both outputs, stores equal the source of truth', { timeout: 300_000 }, async () => {
    const report = await runKillLoop(apps, {
      rounds: 3,
      minRunMs: 2000,
      maxRunMs: 5000,
      partitions: 3,
      customers: 200,
      ordersPerTick: 20,
      updatesPerTick: 5,
    });
    console.log(`[eos kill -9] ${JSON.stringify(report)}`);
    expect(report.orders).toBeGreaterThan(0);
    expect(report.global).toMatchObject({ duplicates: 0, missing: 0 });
    expect(report.copart).toMatchObject({ duplicates: 0, missing: 0 });
    expect(report.storeMismatches).toBe(0);
    expect(report.transactionsCommittedInFinalLife).toBeGreaterThan(0);
  });
});
