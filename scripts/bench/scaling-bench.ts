/**
 * `npm run bench -- --scaling [--quick] [--keys N] [--json-out f]`: scaling and failover on the real local broker,
 * with CLI instances (child processes) of the order-enrichment topology (scripts/bench/bench-topology.ts).
 *
 *   rebalances  a steady order flow; instances 1 → 2 → 3 → 4 → 3 → 2 (joins start a process, leaves stop one
 *               gracefully). Per rebalance: the pause of the tasks kept through it (tributary_unmoved_task_pause_seconds,
 *               last/max per instance), restored records per instance (tributary_restored_records_total of the
 *               partitioned store), and at the end orders in vs joined orders out (lost must be 0).
 *   failover    a table of N keys, 2 instances, kill -9 of the one with the most tasks: time from the kill until sample
 *               keys of every one of its partitions answer again on the survivor, plain and with ?staleness=, and the
 *               records the survivor restored; once with numStandbyReplicas 1, once with 0.
 *   warmup      a table of max(N, 120,000) keys (over 10,000 per partition, the default acceptable recovery lag)
 *               under load, 1 instance, a 2nd joins: how long lookups of the table partitions that move were
 *               unanswered (GET through the first instance, which answers or forwards), with warm-ups
 *               (--max-warmup-replicas 2, probing every 5 s) and without (0: the tasks move at once and the newcomer
 *               restores them first), and what the newcomer restored.
 *   restart     kill -9 and restart on the same state directory with the default 30 s session timeout (the restarted
 *               process evicts its ghost member): spawn → ready and spawn → first record processed, alone and beside
 *               a surviving instance.
 * The JSON goes to stdout (and --json-out); progress and a readable table go to stderr.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProgressDisplay } from '../../cli/progress.js';
import { defaultPartition } from '../../common/partitioner.js';
import {
  createExampleTopics,
  customerKey,
  isDeletedCustomer,
  orderCustomerIndex,
  orderKey,
  OrderFlow,
  seedCustomers,
} from '../../examples/data-generator.js';
import { PARTITIONED_STORE } from '../../examples/order-enrichment.js';
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { benchTopics } from './bench-topology.js';
import { CliInstance, freeLoopbackPorts } from './cli-instances.js';
import { positiveIntOption, runBenchCommand } from './bench-command.js';
import type { KafkaSession } from './kafka-session.js';
import { endOffsets, readFrom } from './kafka-measure.js';
import {
  deliveryCount,
  metricValue,
  parsePrometheusText,
  pauseReading,
  rebalancePauseMs,
  sampleKeysByPartition,
  type DeliveryCount,
  type PauseReading,
} from './scaling-math.js';

const TOPOLOGY = 'scripts/bench/bench-topology.ts';
const RESTORED = 'tributary_restored_records_total';
const SAMPLE_KEYS_PER_PARTITION = 10;
/** Staleness a stale read allows in the failover (records): any standby copy qualifies. */
const ANY_STALENESS = 1_000_000_000;

interface ScalingSettings {
  readonly mode: 'quick' | 'default' | 'custom';
  readonly keys: number;
  readonly loadCustomers: number;
  readonly ordersPerSecond: number;
  readonly partitions: number;
  readonly failoverSessionTimeoutMs: number;
  readonly jsonOut: string | undefined;
}

export const scalingUsage = `Usage: npm run bench -- --scaling [options]

  --quick                     20,000 table keys, a shorter run (~2 minutes)
  --keys <n>                  Keys of the failover table (default 200,000; 1,000,000 works, slower)
  --rate <n>                  Orders per second of the steady load (default 300, quick 200)
  --partitions <n>            Partitions of every topic (default 6)
  --session-timeout-ms <n>    Session timeout of the failover instances (default 10000; the restart uses 30000)
  --json-out <file>           Also write the JSON document to this file
Env: KAFKA_BROKERS uses that broker instead of starting one; KAFKA_VERSION picks the local broker's version.`;

function parseScalingSettings(argv: readonly string[]): ScalingSettings | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      keys: { type: 'string' },
      rate: { type: 'string' },
      partitions: { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'json-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const int = positiveIntOption;
  return {
    mode: values.keys !== undefined ? 'custom' : quick ? 'quick' : 'default',
    keys: int('keys', values.keys, quick ? 20_000 : 200_000),
    loadCustomers: quick ? 2_000 : 10_000,
    ordersPerSecond: int('rate', values.rate, quick ? 200 : 300),
    partitions: int('partitions', values.partitions, 6),
    failoverSessionTimeoutMs: int('session-timeout-ms', values['session-timeout-ms'], 10_000),
    jsonOut: values['json-out'],
  };
}

const display = new ProgressDisplay(process.stderr);
const note = (text: string): void => display.writeLine(text);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getText(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

async function metrics(instance: CliInstance): Promise<Map<string, number>> {
  const { status, body } = await getText(`${instance.url}/metrics`);
  if (status !== 200) throw new Error(`${instance.name} GET /metrics answered ${status}`);
  return parsePrometheusText(body);
}

async function restoredRecords(instance: CliInstance): Promise<number> {
  return metricValue(await metrics(instance), RESTORED, { store: PARTITIONED_STORE }) ?? 0;
}

async function metadata(instance: CliInstance): Promise<ClusterMetadata | undefined> {
  const { status, body } = await getText(`${instance.url}/metadata`);
  return status === 200 ? (JSON.parse(body) as ClusterMetadata) : undefined;
}

/** Until every instance is ready and sees the same assignment of all `instances` members covering every partition. */
async function waitForSettled(instances: readonly CliInstance[], partitions: number, timeoutMs = 180_000): Promise<ClusterMetadata> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    for (const instance of instances) if (!instance.running) throw new Error(`${instance.name} exited:\n${instance.logTail()}`);
    const views = await Promise.all(instances.map(metadata));
    const ready = await Promise.all(instances.map(async (i) => (await getText(`${i.url}/ready`)).status === 200));
    const first = views[0];
    last = JSON.stringify(first?.instances.map((i) => [i.id, i.tasks.length]));
    if (
      first !== undefined &&
      ready.every(Boolean) &&
      views.every((v) => v !== undefined && v.assignmentId !== null && v.assignmentId === first.assignmentId) &&
      first.instances.length === instances.length &&
      new Set(first.instances.flatMap((i) => i.storePartitions[PARTITIONED_STORE] ?? [])).size === partitions
    ) {
      return first;
    }
    await sleep(200);
  }
  throw new Error(`instances did not settle within ${timeoutMs} ms; last view ${last}`);
}

interface Cluster {
  readonly brokers: string;
  readonly workDir: string;
  readonly prefix: string;
  readonly applicationId: string;
}

async function startInstance(cluster: Cluster, name: string, extraArgs: readonly string[], stateDir?: string): Promise<CliInstance> {
  const [port] = await freeLoopbackPorts(1);
  return CliInstance.start({
    name,
    module: TOPOLOGY,
    brokers: cluster.brokers,
    applicationId: cluster.applicationId,
    stateDir: stateDir ?? join(cluster.workDir, `${cluster.applicationId}-${name}-state`),
    port,
    logFile: join(cluster.workDir, `${cluster.applicationId}-${name}.log`),
    extraArgs: ['--log-level', 'warn', '--commit-interval-ms', '200', ...extraArgs],
    env: { BENCH_TOPIC_PREFIX: cluster.prefix },
  });
}

function createTopics(client: KafkaClient, prefix: string, partitions: number): Promise<void> {
  return createExampleTopics(client, partitions, benchTopics(prefix));
}

async function deleteTopics(client: KafkaClient, prefix: string): Promise<void> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    await admin.deleteTopics((await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}-`)));
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// rebalances

interface RebalanceStep {
  readonly step: string;
  /** Start (join) or SIGTERM (leave) → all instances ready on one assignment covering every partition. */
  readonly settledMs: number;
  /** Largest `last` pause among the instances that kept tasks through this rebalance (undefined: none measured). */
  readonly unmovedTaskPauseMs: number | undefined;
  readonly perInstance: Record<string, { lastMs?: number; maxMs?: number; pauses: number; tasks: number; restoredRecords: number }>;
  /** Restored records of the partitioned store during this rebalance, by instances that ran before it. */
  readonly restoredByExisting: number;
  /** ... by the instance that joined (its whole share: it starts without state). */
  readonly restoredByNewcomer: number;
  /**
   * Whether an instance that ran before this rebalance restored at least a whole partition's worth (what a task
   * starting from scratch does); the newcomer always does (it starts without state) and is not counted.
   */
  readonly existingRestoredFromBeginning: boolean;
}

async function readings(instances: readonly CliInstance[]): Promise<Map<string, PauseReading & { restored: number }>> {
  const entries = await Promise.all(
    instances.map(async (i) => {
      const samples = await metrics(i);
      return [i.name, { ...pauseReading(samples), restored: metricValue(samples, RESTORED, { store: PARTITIONED_STORE }) ?? 0 }] as const;
    }),
  );
  return new Map(entries);
}

function expectedOrderIds(first: number, count: number, customers: number): Set<string> {
  const ids = new Set<string>();
  for (let i = first; i < first + count; i++) if (!isDeletedCustomer(orderCustomerIndex(i, customers))) ids.add(orderKey(i));
  return ids;
}

async function outputOrderIds(client: KafkaClient, topic: string): Promise<string[]> {
  const records = await readFrom(client, topic, new Map());
  return records.flatMap((r) => (r.value === null ? [] : [(JSON.parse(r.value.toString()) as { orderId: string }).orderId]));
}

async function runRebalances(client: KafkaClient, settings: ScalingSettings, brokers: string, workDir: string, runId: string) {
  const prefix = `bench-scaling-${runId}-load`;
  const cluster: Cluster = { brokers, workDir, prefix, applicationId: `${prefix}-app` };
  const topics = benchTopics(prefix);
  await createTopics(client, prefix, settings.partitions);
  await seedCustomers(client, { topic: topics.customers, partitions: settings.partitions, count: settings.loadCustomers, producers: 2 });
  const partitionRecords = Math.min(...(await endOffsets(client, topics.customers)).values());
  const flow = new OrderFlow(client, {
    topic: topics.orders,
    partitions: settings.partitions,
    customerCount: settings.loadCustomers,
    ordersPerSecond: settings.ordersPerSecond,
    onError: (error) => note(`scaling: an order send failed: ${String(error)}`),
  });
  const running: CliInstance[] = [];
  const all: CliInstance[] = [];
  const steps: RebalanceStep[] = [];
  const holdMs = settings.mode === 'quick' ? 4000 : 8000;
  try {
    const first = await startInstance(cluster, 'i1', []);
    running.push(first);
    all.push(first);
    await waitForSettled(running, settings.partitions);
    await flow.start();
    await sleep(holdMs);
    const plan: { join?: string; leave?: string }[] = [{ join: 'i2' }, { join: 'i3' }, { join: 'i4' }, { leave: 'i4' }, { leave: 'i3' }];
    for (const change of plan) {
      const before = await readings(running);
      const from = running.length;
      const started = performance.now();
      let newcomer: string | undefined;
      if (change.join !== undefined) {
        const instance = await startInstance(cluster, change.join, []);
        running.push(instance);
        all.push(instance);
        newcomer = instance.name;
      } else {
        const leaving = running.find((i) => i.name === change.leave);
        if (leaving === undefined) throw new Error(`no instance ${change.leave}`);
        running.splice(running.indexOf(leaving), 1);
        await leaving.stop();
      }
      note(`scaling: ${from} → ${running.length} instances`);
      const view = await waitForSettled(running, settings.partitions);
      const settledMs = Math.round(performance.now() - started);
      // The kept tasks' pause is measured at their first record after the rebalance: let the flow reach them.
      const keepers = running.filter((i) => before.has(i.name));
      const waitUntil = Date.now() + 15_000;
      let after = await readings(running);
      while (Date.now() < waitUntil && keepers.some((i) => (after.get(i.name)?.pauses ?? 0) <= (before.get(i.name)?.pauses ?? 0))) {
        await sleep(250);
        after = await readings(running);
      }
      await sleep(holdMs);
      after = await readings(running);
      const perInstance: RebalanceStep['perInstance'] = {};
      let restoredByExisting = 0;
      let restoredByNewcomer = 0;
      let existingRestoredFromBeginning = false;
      for (const [name, reading] of after) {
        const restored = reading.restored - (before.get(name)?.restored ?? 0);
        if (name === newcomer) restoredByNewcomer += restored;
        else restoredByExisting += restored;
        if (name !== newcomer && restored >= partitionRecords) existingRestoredFromBeginning = true;
        const tasks = view.instances.find((m) => m.url === running.find((i) => i.name === name)?.url);
        perInstance[name] = {
          ...(reading.lastMs === undefined ? {} : { lastMs: reading.lastMs }),
          ...(reading.maxMs === undefined ? {} : { maxMs: reading.maxMs }),
          pauses: reading.pauses,
          tasks: tasks?.tasks.length ?? 0,
          restoredRecords: restored,
        };
      }
      steps.push({
        step: `${from}→${running.length}`,
        settledMs,
        unmovedTaskPauseMs: rebalancePauseMs(before, after),
        perInstance,
        restoredByExisting,
        restoredByNewcomer,
        existingRestoredFromBeginning,
      });
    }
    await flow.stop();
    const expected = expectedOrderIds(0, flow.sent + flow.failedSends, settings.loadCustomers);
    const delivery = async (): Promise<{ globalJoin: DeliveryCount; coPartitionedJoin: DeliveryCount }> => ({
      globalJoin: deliveryCount(expected, await outputOrderIds(client, topics.enriched)),
      coPartitionedJoin: deliveryCount(expected, await outputOrderIds(client, topics.byCustomer)),
    });
    let outputs = await delivery();
    const deadline = Date.now() + 120_000;
    while ((outputs.globalJoin.lost > 0 || outputs.coPartitionedJoin.lost > 0) && Date.now() < deadline) {
      await sleep(2000);
      outputs = await delivery();
    }
    return {
      instancesPath: '1→2→3→4→3→2 (joins start a process, leaves stop one with SIGTERM)',
      loadCustomers: settings.loadCustomers,
      partitions: settings.partitions,
      ordersPerSecond: settings.ordersPerSecond,
      ordersSent: flow.sent,
      failedSends: flow.failedSends,
      customerPartitionRecords: partitionRecords,
      steps,
      fourthJoinsThree: steps.find((s) => s.step === '3→4'),
      outputs,
      lost: outputs.globalJoin.lost + outputs.coPartitionedJoin.lost,
    };
  } finally {
    await flow.stop().catch(() => {});
    await Promise.all(all.map((i) => i.stop()));
    for (const instance of all) rmSync(instance.stateDir, { recursive: true, force: true });
    await deleteTopics(client, prefix).catch((error: unknown) => note(`could not delete the topics: ${String(error)}`));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// failover

/** Ms after `since` when every key answered 200 at least once from `url` (each key asked until it did). */
async function answeredAllMs(url: string, keys: readonly string[], query: string, since: number, timeoutMs: number): Promise<number> {
  const pending = new Set(keys);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    if (Date.now() > deadline)
      throw new Error(`${pending.size} of ${keys.length} keys not answered (${query || 'plain'}) within ${timeoutMs} ms`);
    await Promise.all(
      [...pending].map(async (key) => {
        const { status } = await getText(`${url}/stores/${PARTITIONED_STORE}/keys/${encodeURIComponent(key)}${query}`);
        if (status === 200) pending.delete(key);
      }),
    );
    if (pending.size > 0) await sleep(50);
  }
  return Math.round(performance.now() - since);
}

async function runFailover(client: KafkaClient, settings: ScalingSettings, brokers: string, workDir: string, runId: string) {
  const prefix = `bench-scaling-${runId}-table`;
  const topics = benchTopics(prefix);
  await createTopics(client, prefix, settings.partitions);
  const seedStarted = performance.now();
  display.begin('seed table');
  await seedCustomers(client, {
    topic: topics.customers,
    partitions: settings.partitions,
    count: settings.keys,
    producers: 2,
    updateEvery: 0,
    deleteEvery: 0,
    onProgress: (sent, total) => display.update({ done: sent, total, unit: 'records' }),
  });
  display.finish(`${settings.keys} keys in ${Math.round(performance.now() - seedStarted)} ms`);
  const runs = [];
  try {
    for (const standbys of [1, 0]) {
      const cluster: Cluster = { brokers, workDir, prefix, applicationId: `${prefix}-standby${standbys}` };
      const args = ['--num-standby-replicas', String(standbys), '--session-timeout-ms', String(settings.failoverSessionTimeoutMs)];
      const instances: CliInstance[] = [];
      try {
        const startedAt = performance.now();
        // a first, alone: it restores everything; b joins with an empty state directory. So b never held a's
        // partitions (no old copy on its disk to catch up from) and, killed, a is replaced only by b's standbys.
        const a = await startInstance(cluster, 'a', args);
        instances.push(a);
        await a.waitUntilReady(600_000);
        const b = await startInstance(cluster, 'b', args);
        instances.push(b);
        const view = await waitForSettled(instances, settings.partitions, 600_000);
        const bothReadyMs = Math.round(performance.now() - startedAt);
        // Standbys read the whole table too; give them time to catch up (the table is quiet after the seed).
        await sleep(standbys > 0 ? Math.max(3000, settings.keys / 20) : 1000);
        const info = (i: CliInstance) => view.instances.find((m) => m.url === i.url);
        // The instance with the most tasks; a on a tie (the usual 6 / 6), for the reason above.
        const [victim, survivor] = (info(b)?.tasks.length ?? 0) > (info(a)?.tasks.length ?? 0) ? [b, a] : [a, b];
        const victimPartitions = [...(info(victim)?.storePartitions[PARTITIONED_STORE] ?? [])].sort((x, y) => x - y);
        // The first and the last keys written to each partition: a store being restored holds the first ones early.
        const partitionOf = (key: string) => defaultPartition(Buffer.from(key), settings.partitions);
        const half = SAMPLE_KEYS_PER_PARTITION / 2;
        const keys = [
          ...sampleKeysByPartition(customerKey, partitionOf, victimPartitions, half, settings.keys).values(),
          ...sampleKeysByPartition((i) => customerKey(settings.keys - 1 - i), partitionOf, victimPartitions, half, settings.keys).values(),
        ].flat();
        const restoredBefore = await restoredRecords(survivor);
        note(
          `failover (standbys ${standbys}): kill -9 ${victim.name} (${info(victim)?.tasks.length} tasks, partitions ${victimPartitions.join(',')})`,
        );
        const killedAt = performance.now();
        victim.killNow();
        await victim.exited;
        const timeoutMs = settings.failoverSessionTimeoutMs + 600_000;
        const [plainMs, staleMs] = await Promise.all([
          answeredAllMs(survivor.url, keys, '', killedAt, timeoutMs),
          answeredAllMs(survivor.url, keys, `?staleness=${ANY_STALENESS}`, killedAt, timeoutMs),
        ]);
        await waitForSettled([survivor], settings.partitions, 600_000);
        const readyMs = Math.round(performance.now() - killedAt);
        runs.push({
          numStandbyReplicas: standbys,
          twoInstancesReadyMs: bothReadyMs,
          victimTasks: info(victim)?.tasks.length ?? 0,
          victimPartitions,
          sampleKeys: keys.length,
          answeredMs: plainMs,
          answeredWithStalenessMs: staleMs,
          survivorReadyMs: readyMs,
          restoredRecordsOnSurvivor: (await restoredRecords(survivor)) - restoredBefore,
          survivorPeakRssMb: survivor.peakRssMb(),
        });
      } finally {
        await Promise.all(instances.map((i) => i.stop()));
        for (const instance of instances) rmSync(instance.stateDir, { recursive: true, force: true });
      }
    }
  } finally {
    await deleteTopics(client, prefix).catch((error: unknown) => note(`could not delete the topics: ${String(error)}`));
  }
  return {
    keys: settings.keys,
    partitions: settings.partitions,
    sessionTimeoutMs: settings.failoverSessionTimeoutMs,
    sampleKeysPerPartition: SAMPLE_KEYS_PER_PARTITION,
    runs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// warm-up before moving

const WARMUP_PROBING_MS = 5000;
/** Keys of the warm-up table at least: 20,000 per partition of 6, above the default acceptable recovery lag. */
const WARMUP_MIN_KEYS = 120_000;

/**
 * Polls one sample key per partition through `url` every 50 ms until `done()`: per partition, the total time its key
 * was not answered (each miss counts the time since the previous poll round).
 */
async function unansweredMs(url: string, keyByPartition: ReadonlyMap<number, string>, done: () => boolean): Promise<Map<number, number>> {
  const missing = new Map([...keyByPartition.keys()].map((p) => [p, 0]));
  let last = performance.now();
  while (!done()) {
    const statuses = await Promise.all(
      [...keyByPartition].map(
        async ([p, key]) => [p, (await getText(`${url}/stores/${PARTITIONED_STORE}/keys/${encodeURIComponent(key)}`)).status] as const,
      ),
    );
    const now = performance.now();
    for (const [p, status] of statuses) if (status !== 200) missing.set(p, (missing.get(p) ?? 0) + (now - last));
    last = now;
    await sleep(50);
  }
  return new Map([...missing].map(([p, ms]) => [p, Math.round(ms)]));
}

async function runWarmup(client: KafkaClient, settings: ScalingSettings, brokers: string, workDir: string, runId: string) {
  const prefix = `bench-scaling-${runId}-warmup`;
  const keys = Math.max(settings.keys, WARMUP_MIN_KEYS);
  const topics = benchTopics(prefix);
  await createTopics(client, prefix, settings.partitions);
  display.begin('seed table');
  await seedCustomers(client, {
    topic: topics.customers,
    partitions: settings.partitions,
    count: keys,
    producers: 2,
    updateEvery: 0,
    deleteEvery: 0,
    onProgress: (sent, total) => display.update({ done: sent, total, unit: 'records' }),
  });
  display.finish(`${keys} keys`);
  const partitionOf = (key: string) => defaultPartition(Buffer.from(key), settings.partitions);
  const all = Array.from({ length: settings.partitions }, (_, p) => p);
  const keyByPartition = new Map(
    [...sampleKeysByPartition(customerKey, partitionOf, all, 1, keys)].map(([p, keys]) => [p, keys[0] as string]),
  );
  const runs = [];
  try {
    for (const warmups of [2, 0]) {
      const cluster: Cluster = { brokers, workDir, prefix, applicationId: `${prefix}-w${warmups}` };
      const args = ['--max-warmup-replicas', String(warmups), '--probing-rebalance-interval-ms', String(WARMUP_PROBING_MS)];
      const instances: CliInstance[] = [];
      const flow = new OrderFlow(client, {
        topic: topics.orders,
        partitions: settings.partitions,
        customerCount: keys,
        ordersPerSecond: settings.ordersPerSecond,
        onError: (error) => note(`warmup: an order send failed: ${String(error)}`),
      });
      try {
        const a = await startInstance(cluster, 'a', args);
        instances.push(a);
        await a.waitUntilReady(600_000);
        await flow.start();
        await sleep(2000);
        note(`warmup (max ${warmups} warm-ups): b joins`);
        const joinedAt = performance.now();
        // Polled until 3 s after the table partitions balanced (the hand-over's unavailability ends after that view).
        let stopAt = Number.POSITIVE_INFINITY;
        const polling = unansweredMs(a.url, keyByPartition, () => Date.now() > stopAt);
        const b = await startInstance(cluster, 'b', args);
        instances.push(b);
        // Balanced: b holds its half of the table partitions (with warm-ups only after a probing rebalance).
        let balanced: ClusterMetadata | undefined;
        const deadline = Date.now() + 600_000;
        while (balanced === undefined && Date.now() < deadline) {
          const view = await waitForSettled(instances, settings.partitions, 600_000);
          const onB = view.instances.find((m) => m.url === b.url)?.storePartitions[PARTITIONED_STORE] ?? [];
          if (onB.length === Math.floor(settings.partitions / 2)) balanced = view;
          else await sleep(250);
        }
        stopAt = Date.now() + 3000;
        if (balanced === undefined) throw new Error('warmup: the table partitions never balanced');
        const balancedMs = Math.round(performance.now() - joinedAt);
        const missing = await polling;
        await flow.stop();
        const moved = [...(balanced.instances.find((m) => m.url === b.url)?.storePartitions[PARTITIONED_STORE] ?? [])].sort(
          (x, y) => x - y,
        );
        const unanswered = (p: number) => missing.get(p) ?? 0;
        runs.push({
          maxWarmupReplicas: warmups,
          balancedMs,
          movedPartitions: moved,
          movedUnansweredMs: Math.max(0, ...moved.map(unanswered)),
          keptUnansweredMs: Math.max(0, ...all.filter((p) => !moved.includes(p)).map(unanswered)),
          restoredByNewcomer: await restoredRecords(b),
        });
      } finally {
        await flow.stop().catch(() => undefined);
        await Promise.all(instances.map((i) => i.stop()));
        for (const instance of instances) rmSync(instance.stateDir, { recursive: true, force: true });
      }
    }
  } finally {
    await deleteTopics(client, prefix).catch((error: unknown) => note(`could not delete the topics: ${String(error)}`));
  }
  return {
    keys,
    partitions: settings.partitions,
    acceptableRecoveryLag: 10_000,
    probingRebalanceIntervalMs: WARMUP_PROBING_MS,
    runs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// restart after kill -9

async function firstRecordMs(instance: CliInstance, since: number, timeoutMs: number): Promise<{ observedMs: number; metricMs: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!instance.running) throw new Error(`${instance.name} exited:\n${instance.logTail()}`);
    const { status, body } = await getText(`${instance.url}/metrics`);
    const seconds = status === 200 ? metricValue(parsePrometheusText(body), 'tributary_first_record_after_start_seconds') : undefined;
    if (seconds !== undefined) return { observedMs: Math.round(performance.now() - since), metricMs: Math.round(seconds * 1000) };
    await sleep(100);
  }
  throw new Error(`${instance.name} processed no record within ${timeoutMs} ms`);
}

async function runRestart(client: KafkaClient, settings: ScalingSettings, brokers: string, workDir: string, runId: string) {
  const prefix = `bench-scaling-${runId}-restart`;
  const topics = benchTopics(prefix);
  await createTopics(client, prefix, settings.partitions);
  await seedCustomers(client, { topic: topics.customers, partitions: settings.partitions, count: settings.loadCustomers, producers: 2 });
  const cluster: Cluster = { brokers, workDir, prefix, applicationId: `${prefix}-app` };
  const flow = new OrderFlow(client, {
    topic: topics.orders,
    partitions: settings.partitions,
    customerCount: settings.loadCustomers,
    ordersPerSecond: settings.ordersPerSecond,
  });
  const all: CliInstance[] = [];
  const start = async (name: string, stateDir?: string) => {
    const instance = await startInstance(cluster, name, [], stateDir);
    all.push(instance);
    return instance;
  };
  const crashAndRestart = async (victim: CliInstance, others: readonly CliInstance[]) => {
    victim.killNow();
    await victim.exited;
    await sleep(1000);
    const spawnedAt = performance.now();
    const restarted = await start(victim.name, victim.stateDir);
    const first = firstRecordMs(restarted, spawnedAt, 120_000);
    const readyMs = Math.round(await restarted.waitUntilReady(120_000));
    const { observedMs, metricMs } = await first;
    await waitForSettled([restarted, ...others], settings.partitions);
    return { restarted, result: { spawnToReadyMs: readyMs, spawnToFirstRecordMs: observedMs, firstRecordAfterStartMetricMs: metricMs } };
  };
  try {
    await flow.start();
    const alone = await start('r1');
    await alone.waitUntilReady(120_000);
    await firstRecordMs(alone, performance.now(), 120_000);
    note('restart: kill -9 of the only instance, restart on its state directory');
    const single = await crashAndRestart(alone, []);
    const survivor = await start('r2');
    await waitForSettled([single.restarted, survivor], settings.partitions);
    await sleep(2000);
    note('restart: kill -9 of one of two instances, restart on its state directory');
    const pair = await crashAndRestart(single.restarted, [survivor]);
    return {
      sessionTimeoutMs: 30_000,
      measuredAs:
        'spawn of the new process → GET /ready 200, and → first record processed (polled /metrics; the metric is tributary_first_record_after_start_seconds of the new process)',
      alone: single.result,
      besideSurvivor: pair.result,
    };
  } finally {
    await flow.stop().catch(() => {});
    await Promise.all(all.map((i) => i.stop()));
    for (const instance of all) rmSync(instance.stateDir, { recursive: true, force: true });
    await deleteTopics(client, prefix).catch((error: unknown) => note(`could not delete the topics: ${String(error)}`));
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function runScaling(settings: ScalingSettings, kafka: KafkaSession, workDir: string) {
  const runId = randomBytes(3).toString('hex');
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: `tributary-scaling-bench-${runId}` });
  const started = performance.now();
  note('scaling: rebalances under load');
  const rebalances = await runRebalances(client, settings, kafka.brokers, workDir, runId);
  note('scaling: failover');
  const failover = await runFailover(client, settings, kafka.brokers, workDir, runId);
  note('scaling: warm-up before moving');
  const warmup = await runWarmup(client, settings, kafka.brokers, workDir, runId);
  note('scaling: restart after kill -9');
  const restart = await runRestart(client, settings, kafka.brokers, workDir, runId);
  return {
    bench: 'scaling',
    machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    kafka: kafka.version,
    mode: settings.mode,
    totalSeconds: Math.round((performance.now() - started) / 1000),
    rebalances,
    failover,
    warmup,
    restart,
  };
}

type ScalingResult = Awaited<ReturnType<typeof runScaling>>;

function printTable(result: ScalingResult): void {
  const ms = (value: number | undefined) => (value === undefined ? '-' : `${value} ms`);
  const lines = [`scaling bench (${result.mode}, ${result.machine.cpus} cpus, Kafka ${result.kafka}, ${result.totalSeconds} s)`];
  lines.push(`rebalances under ${result.rebalances.ordersPerSecond} orders/s, ${result.rebalances.partitions} partitions:`);
  for (const step of result.rebalances.steps) {
    const each = Object.entries(step.perInstance)
      .map(([name, i]) => `${name} ${i.tasks}t last ${ms(i.lastMs)} max ${ms(i.maxMs)} restored ${i.restoredRecords}`)
      .join('; ');
    lines.push(`  ${step.step.padEnd(5)} settled ${ms(step.settledMs)}, unmoved-task pause ${ms(step.unmovedTaskPauseMs)} | ${each}`);
  }
  lines.push(`  orders ${result.rebalances.ordersSent}, lost ${result.rebalances.lost}`);
  lines.push(`failover, ${result.failover.keys} keys, session timeout ${result.failover.sessionTimeoutMs} ms:`);
  for (const run of result.failover.runs) {
    lines.push(
      `  standbys ${run.numStandbyReplicas}: answered ${ms(run.answeredMs)}, with ?staleness ${ms(run.answeredWithStalenessMs)}, ` +
        `restored ${run.restoredRecordsOnSurvivor} records`,
    );
  }
  lines.push(
    `warm-up, ${result.warmup.keys} keys, a 2nd instance joins under load (acceptable lag ${result.warmup.acceptableRecoveryLag}, probing every ${result.warmup.probingRebalanceIntervalMs} ms):`,
  );
  for (const run of result.warmup.runs) {
    lines.push(
      `  max ${run.maxWarmupReplicas} warm-ups: moved partitions ${run.movedPartitions.join(',')} unanswered ${ms(run.movedUnansweredMs)} ` +
        `(kept ${ms(run.keptUnansweredMs)}), balanced ${ms(run.balancedMs)} after the join, newcomer restored ${run.restoredByNewcomer} records`,
    );
  }
  lines.push(`restart after kill -9 (session timeout ${result.restart.sessionTimeoutMs} ms):`);
  for (const [name, r] of [
    ['alone', result.restart.alone],
    ['beside a survivor', result.restart.besideSurvivor],
  ] as const) {
    lines.push(`  ${name}: spawn → ready ${ms(r.spawnToReadyMs)}, → first record ${ms(r.spawnToFirstRecordMs)}`);
  }
  process.stderr.write(`\n${lines.join('\n')}\n`);
}

export function scalingMain(argv: readonly string[]): Promise<number> {
  return runBenchCommand(
    { name: 'bench-scaling', usage: scalingUsage, parse: parseScalingSettings, run: runScaling, printTable, note },
    argv,
  );
}
