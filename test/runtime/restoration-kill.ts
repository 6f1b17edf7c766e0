/**
 * The kill -9 scenario of the restoration tests, sized by the caller (restoration-kill.test.ts runs a small one,
 * test/soak/ the full size): an instance restores its tables and is killed with SIGKILL; while it is down
 * the customers change (updates and deletes, both topics); it restarts with its state directory. From the moment
 * /ready answers 200, no lookup may return a value older than the topic's table as of the restart: every key
 * written meanwhile is checked with a full scan of both stores and single-key lookups.
 */
import { expect } from 'vitest';
import { COPART_STORE, GLOBAL_STORE } from '../fixtures/restoration-topology.js';
import type { AppProcess, AppProcessGroup } from '../helpers/app-process.js';
import { waitUntil, withAdmin } from '../helpers/kafka.js';
import { get, keyUrl, scanAll } from '../http/query-client.js';
import { createCaseTopics, fixtureEnv, produceCustomers, tableOf, type CaseTopics } from './restoration-data.js';

export interface KillScenario {
  readonly partitions: number;
  readonly customers: number;
  /** Updates written while the instance is down (round-robin over the customers). */
  readonly updates: number;
  /** Customers deleted while it is down. */
  readonly deletes: number;
  /** Single-key lookups per store right after ready (keys written while down). */
  readonly sampledLookups: number;
}

export interface KillReport {
  readonly readyMs: number;
  readonly restoredGlobal: number;
  readonly restoredCopart: number;
  readonly processedWhileCatchingUp: number;
  /** Values older than the table at restart, deleted keys still served, or keys missing: per check kind. */
  readonly staleInScan: number;
  readonly staleInLookups: number;
  readonly lookups: number;
}

const FIXTURE = 'test/fixtures/restoration-app.ts';

async function metric(app: AppProcess, name: string, store: string): Promise<number> {
  return app.metricSum(name, { store });
}

/** Runs the scenario; returns what happened at the moment the restarted instance was ready. */
export async function runKillScenario(apps: AppProcessGroup, scenario: KillScenario): Promise<KillReport> {
  const topics: CaseTopics = await createCaseTopics('restore-kill', scenario.partitions, { 'cleanup.policy': 'compact' });
  const ids = Array.from({ length: scenario.customers }, (_, i) => `c${i}`);
  await produceCustomers(
    topics,
    ids.map((key) => ({ key, value: `${key}-v1` })),
  );
  const stateDir = apps.newDir('state-kill');
  const options = { fixture: FIXTURE, appId: topics.appId, name: 'kill', stateDir, commitIntervalMs: 200, env: fixtureEnv(topics) };

  const first = await apps.start(options);
  await first.waitUntilReady();
  // The group's committed offsets for the table reach its end: the restart restores nothing, and catches up the
  // records written while it was down by processing them (the path that served stale values).
  await waitUntil(
    async () =>
      withAdmin(async (admin) => {
        const committed = await admin.fetchCommittedOffsets(topics.appId, [topics.customers]);
        const ends = await admin.fetchEndOffsets(topics.customers);
        return [...ends].every(([p, end]) => committed.get(`${topics.customers}:${p}`) === end);
      }),
    { timeoutMs: 20_000, description: 'the table offsets committed' },
  );
  await first.kill();

  // While down: updates (several per key for some) and deletes.
  const updates = Array.from({ length: scenario.updates }, (_, i) => {
    const key = ids[(i * 7919) % ids.length];
    return { key, value: `${key}-u${i}` };
  });
  const deleted = ids.slice(0, scenario.deletes);
  await produceCustomers(topics, [...updates, ...deleted.map((key) => ({ key, value: null }))]);
  const truth = await tableOf(topics.customers);
  const written = [...new Set([...updates.map((u) => u.key), ...deleted])];

  const startedAt = performance.now();
  const restarted = await apps.start(options);
  // Poll /ready tightly: the check must happen at the moment it turns 200.
  await waitUntil(async () => restarted.running && (await restarted.request('/ready')).status === 200, {
    timeoutMs: 60_000,
    intervalMs: 10,
    description: 'the restarted instance ready',
  });
  const readyMs = Math.round(performance.now() - startedAt);

  let staleInScan = 0;
  for (const store of [COPART_STORE, GLOBAL_STORE]) {
    const { entries } = await scanAll(restarted.url, store, 1000);
    const served = new Map(entries.map((e) => [String(e.key), e.value]));
    for (const key of written) if ((served.get(key) ?? null) !== (truth.get(key) ?? null)) staleInScan++;
  }
  let staleInLookups = 0;
  let lookups = 0;
  const sample = written.filter((_, i) => i % Math.max(1, Math.floor(written.length / scenario.sampledLookups)) === 0);
  for (const store of [COPART_STORE, GLOBAL_STORE]) {
    for (let i = 0; i < sample.length; i += 16) {
      const answers = await Promise.all(
        sample.slice(i, i + 16).map(async (key) => ({ key, answer: await get(keyUrl(restarted.url, store, key)) })),
      );
      for (const { key, answer } of answers) {
        lookups++;
        const value =
          answer.status === 200 ? (JSON.parse(answer.body) as { value: unknown }).value : answer.status === 404 ? null : 'unavailable';
        if (value !== (truth.get(key) ?? null)) staleInLookups++;
      }
    }
  }
  const report: KillReport = {
    readyMs,
    restoredGlobal: await metric(restarted, 'tributary_restored_records_total', GLOBAL_STORE),
    restoredCopart: await metric(restarted, 'tributary_restored_records_total', COPART_STORE),
    processedWhileCatchingUp: await restarted.metricSum('tributary_records_processed_total', { topic: topics.customers }),
    staleInScan,
    staleInLookups,
    lookups,
  };
  await restarted.stop();
  expect(restarted.code).toBe(0);
  return report;
}
