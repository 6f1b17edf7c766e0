/**
 * Standby replicas on the real broker (instances as child processes): with `numStandbyReplicas: 1` two instances each
 * keep a warm copy of the other's table partitions. kill -9 the instance holding the most tasks: the survivor takes
 * its tasks over restoring only what its standby had not read (nothing here, the table is quiet), while without
 * standbys it restores the whole of those partitions. Printed: records restored and the time from the kill until
 * every key is answered again (the session timeout, 6 s here, is most of it).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { waitUntil } from '../helpers/kafka.js';
import { defaultPartition } from '../../common/partitioner.js';
import { createEnrichmentTopics, customerIds, produceCustomers, startEnrichmentApp } from './enrichment-fixture.js';

const PARTITIONS = 6;
const CUSTOMERS = 20_000;
const TASKS = 2 * PARTITIONS;

interface Failover {
  readonly restored: number;
  readonly answeredMs: number;
  /** With a standby: time from the kill to the first answer of `?staleness=` for a key of the victim's partitions. */
  readonly staleAnsweredMs: number | undefined;
  readonly victimTasks: number;
}

async function owners(instance: AppProcess): Promise<ClusterMetadata> {
  return instance.json<ClusterMetadata>('/metadata');
}

async function failover(apps: AppProcessGroup, standbyReplicas: number): Promise<Failover> {
  const topics = await createEnrichmentTopics(`standby-${standbyReplicas}`, PARTITIONS);
  const ids = customerIds(CUSTOMERS);
  await produceCustomers(topics, ids, 1);
  const env = { NUM_STANDBY_REPLICAS: String(standbyReplicas) };
  const a = await startEnrichmentApp(apps, topics, { name: 'a', env });
  await a.waitUntilReady();
  const b = await startEnrichmentApp(apps, topics, { name: 'b', env });
  await waitUntil(
    async () => {
      const views = await Promise.all([a, b].map(owners));
      const ready = await Promise.all([a, b].map(async (i) => (await i.request('/ready')).status === 200));
      return views.every((v) => v.instances.length === 2 && v.instances.every((m) => m.tasks.length > 0)) && ready.every(Boolean);
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'two ready instances sharing the tasks' },
  );
  // Let the standbys read their partitions (20,000 small records: well under a second on this box).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const metadata = await owners(a);
  const taskCount = (i: AppProcess) => metadata.instances.find((m) => m.url === i.url)?.tasks.length ?? 0;
  const [victim, survivor] = taskCount(b) > taskCount(a) ? [b, a] : [a, b];
  const before = await survivor.metricSum('tributary_restored_records_total', { store: 'customers' });
  // A key of a partition the victim owns (the table's sub-topology is 0: it is declared first).
  const victimTasks = new Set(metadata.instances.find((m) => m.url === victim.url)?.tasks ?? []);
  const victimKey = ids.find((id) => victimTasks.has(`0_${defaultPartition(Buffer.from(id), PARTITIONS)}`)) as string;
  const killedAt = Date.now();
  await victim.kill();
  let staleAnsweredMs: number | undefined;
  if (standbyReplicas > 0) {
    // Before the group notices (session timeout), the owner is gone: a plain lookup fails, a stale one is answered.
    expect((await survivor.request(`/stores/customers/keys/${victimKey}`)).status).toBe(503);
    await waitUntil(async () => (await survivor.request(`/stores/customers/keys/${victimKey}?staleness=1000`)).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 50,
      description: 'a stale answer from the standby',
    });
    staleAnsweredMs = Date.now() - killedAt;
  }
  await waitUntil(
    async () => {
      const view = await owners(survivor);
      return view.instances.length === 1 && view.instances[0]?.tasks.length === TASKS && (await survivor.request('/ready')).status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: 'the survivor owns and serves every task' },
  );
  const answeredMs = Date.now() - killedAt;
  // Every key answers (a sample spread over all partitions; /ready already says every partition is caught up).
  for (const id of ids.filter((_, i) => i % 100 === 0)) {
    const { status } = await survivor.request(`/stores/customers/keys/${encodeURIComponent(id)}`);
    expect(status, `customer ${id}`).toBe(200);
  }
  const restored = (await survivor.metricSum('tributary_restored_records_total', { store: 'customers' })) - before;
  await survivor.stop();
  return { restored, answeredMs, staleAnsweredMs, victimTasks: taskCount(victim) };
}

describe('standby replicas', () => {
  const apps = new AppProcessGroup('runtime-standby');
  let failed = false;
  afterEach(({ task }) => {
    failed ||= task.result?.state === 'fail';
  });
  afterAll(async () => apps.dispose({ printLogs: failed }));

  it('a failover restores only the standby’s lag, against the whole partitions without standbys', async () => {
    const withStandby = await failover(apps, 1);
    const without = await failover(apps, 0);
    console.log(
      `[runtime standby] ${CUSTOMERS} customers over ${PARTITIONS} partitions, kill -9 of the instance with the most tasks; ` +
        `numStandbyReplicas 1: ${withStandby.restored} records restored, every key answered ${withStandby.answeredMs} ms after the kill ` +
        `(with ?staleness: ${withStandby.staleAnsweredMs} ms); ` +
        `numStandbyReplicas 0: ${without.restored} records restored, ${without.answeredMs} ms (session timeout 6000 ms)`,
    );
    expect(withStandby.restored).toBe(0);
    expect(withStandby.staleAnsweredMs).toBeLessThan(withStandby.answeredMs);
    expect(without.restored).toBeGreaterThan(0);
  });
});
