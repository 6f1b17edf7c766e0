/**
 * Global-table bootstrap cost by mode (processor/engine/global-table-mode.ts): a cold bootstrap of N customers
 * (scripts/bench/tributary-worker.ts `global-table`, own process: CPU from /proc) from
 *   plain  a compacted topic that never grew (fast mode: blind writes), and
 *   grown  the same data written with 6 partitions, then grown to 12 and 10% of the customers re-written (a moved
 *          key's records in two partitions: the bootstrap meets a misplaced record, starts over with versions).
 * With `--baseline-root <dir>` (another checkout with its node_modules, e.g. main; may be given several times) each
 * run is paired with the same run of that checkout's worker, alternating which goes first (ABBA). One JSON document on stdout.
 *
 *   node --import tsx scripts/bench/global-modes-bench.ts [--customers 200000] [--rounds 2] [--baseline-root /work/main]
 *     [--ceilings]         (each round, before its runs: the consume ceiling and the store ceiling of each topic,
 *                          measured in this process as `npm run bench -- --vs-kafka-streams` does (kafka-measure.ts),
 *                          and each run's rate over both)
 *     [--cpu-prof <dir>]   (a V8 CPU profile of every worker: npx tsx scripts/bench/cpu-profile-summary.ts <file>)
 *     [--modes plain,grown] (which topics to bootstrap; default both)
 *     [--workload table]   (the worker's workload: global-table (default), or table: the same topic restored into a
 *                          co-partitioned table's stores, ready once every partition caught up)
 *     [--app-options '{"memory":{...}}'] [--baseline-app-options '...'] (TributaryApp options of each side's worker;
 *     with the same root twice, e.g. --baseline-root . , an A/B of two settings)
 *
 * Starts a broker from Maven jars unless KAFKA_BROKERS is set (run it under the shared broker lock).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { customerKey, customerValue, isDeletedCustomer, ParallelSender, seedCustomers } from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { openKafkaSession } from './kafka-session.js';
import { compiledScript } from './compiled-scripts.js';
import { MeasuredProcess } from './measured-process.js';
import { WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';
import { runBenchMain } from './bench-main.js';
import { measureConsumeCeiling, measureStoreCeiling, type CeilingResult } from './kafka-measure.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string' },
    rounds: { type: 'string' },
    'baseline-root': { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    ceilings: { type: 'boolean' },
    modes: { type: 'string' },
    workload: { type: 'string' },
    'app-options': { type: 'string' },
    'baseline-app-options': { type: 'string' },
  },
});
const customers = Number(values.customers ?? 200_000);
const rounds = Number(values.rounds ?? 2);
const workload = values.workload ?? 'global-table';
if (workload !== 'global-table' && workload !== 'table') throw new Error('--workload: global-table or table');
const modes = (values.modes ?? 'plain,grown').split(',').filter((m) => m !== '');
if (modes.length === 0 || modes.some((m) => m !== 'plain' && m !== 'grown')) throw new Error('--modes: a list of plain, grown');
const roots: { name: string; root: string; appOptions?: string }[] = [
  { name: 'branch', root: REPO_ROOT, appOptions: values['app-options'] },
];
// Several baselines (checkouts or snapshots of commits, each with its node_modules) are named baseline, baseline2, ...
for (const [i, root] of (values['baseline-root'] ?? []).entries())
  roots.push({ name: i === 0 ? 'baseline' : `baseline${i + 1}`, root, appOptions: values['baseline-app-options'] });
const note = (text: string) => process.stderr.write(`[global-modes] ${text}\n`);

interface Run {
  readonly topic: string;
  readonly checkout: string;
  readonly round: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly recordsPerSecond: number;
  readonly peakRssMb: number | undefined;
  /** CPU ms per thread group from `starting` to ready (main thread, libuv's LevelDB work, V8's GC helpers, ...). */
  readonly threadCpuMs: Record<string, number>;
  /** With --ceilings: the rate over the round's consume ceiling and store ceiling of the topic. */
  readonly ratioToCeiling?: number;
  readonly ratioToStoreCeiling?: number;
}

interface Ceilings {
  readonly topic: string;
  readonly round: number;
  readonly ceiling: CeilingResult;
  readonly storeCeiling: CeilingResult;
}

async function main(): Promise<void> {
  const workDir = join(REPO_ROOT, '.state', 'global-modes', String(Date.now()));
  mkdirSync(workDir, { recursive: true });
  const kafka = await openKafkaSession({ logFile: join(workDir, 'broker.log'), onStarting: (v) => note(`starting Kafka ${v}`) });
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'global-modes-bench' });
  const admin = new KafkaAdmin(client);
  const prefix = randomBytes(3).toString('hex');
  const topics = { plain: `gm-${prefix}-plain`, grown: `gm-${prefix}-grown` };
  const records = new Map<string, number>();
  try {
    await admin.connect();
    const compact = { 'cleanup.policy': 'compact' };
    const seeding = modes.map((m) => (m === 'plain' ? topics.plain : topics.grown));
    await admin.ensureTopics(seeding.map((topic) => ({ topic, partitions: 6, configs: compact })));
    for (const topic of seeding) {
      const seeded = await seedCustomers(client, { topic, count: customers, partitions: 6 });
      records.set(topic, seeded.records);
      note(`seeded ${seeded.records} records into ${topic}`);
    }
    if (modes.includes('grown')) {
      await admin.addPartitions(new Map([[topics.grown, 12]]));
      const sender = new ParallelSender(client, new Map([[topics.grown, 12]]));
      await sender.connect();
      const rewrites = [];
      for (let i = 3; i < customers; i += 10) {
        if (!isDeletedCustomer(i)) rewrites.push(sender.record(topics.grown, customerKey(i), customerValue(i, 3, Date.now()), Date.now()));
      }
      await sender.send(rewrites);
      await sender.disconnect();
      records.set(topics.grown, (records.get(topics.grown) as number) + rewrites.length);
      note(`grew ${topics.grown} to 12 partitions and re-wrote ${rewrites.length} customers`);
    }

    const runs: Run[] = [];
    const ceilings: Ceilings[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const topic of modes.map((m) => (m === 'plain' ? topics.plain : topics.grown))) {
        let measured: Ceilings | undefined;
        if (values.ceilings === true) {
          const ceiling = await measureConsumeCeiling(client, topic);
          const storeCeiling = await measureStoreCeiling(client, topic, join(workDir, 'store-ceiling'));
          measured = { topic: topic === topics.plain ? 'plain' : 'grown', round, ceiling, storeCeiling };
          ceilings.push(measured);
          note(JSON.stringify(measured));
        }
        const ratio = (rate: number, to: CeilingResult | undefined) =>
          to === undefined || to.recordsPerSecond === 0 ? undefined : Math.round((rate / to.recordsPerSecond) * 100) / 100;
        const order = round % 2 === 0 ? roots : [...roots].reverse();
        for (const { name, root, appOptions } of order) {
          const applicationId = `gm-${prefix}-${name}-${round}-${topic === topics.plain ? 'plain' : 'grown'}`;
          const stateDir = join(workDir, 'state', applicationId);
          const child = MeasuredProcess.spawn({
            name: applicationId,
            command: process.execPath,
            args: [
              ...WORKER_NODE_FLAGS,
              ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], applicationId)]),
              compiledScript(root, 'scripts/bench/tributary-worker.ts'),
              workload,
              ...workerTargetArgs({ brokers: kafka.brokers, applicationId, stateDir, customersTopic: topic }),
              ...(appOptions === undefined ? [] : ['--app-options', appOptions]),
            ],
            cwd: root,
            logFile: join(workDir, 'logs', `${applicationId}.log`),
          });
          const starting = await child.waitFor('starting', 120_000);
          const threadsAtStart = new Map(child.threadCpu().map((t) => [t.group, t.cpuMs]));
          const ready = await child.waitFor('ready', 600_000);
          const threads = child.threadCpu();
          await child.stop();
          rmSync(stateDir, { recursive: true, force: true });
          const cpuMs = (ready.usage?.cpuMs ?? 0) - (starting.usage?.cpuMs ?? 0);
          const wallMs = ready.at - starting.at;
          const recordsPerSecond = Math.round(((records.get(topic) as number) / wallMs) * 1000);
          const run: Run = {
            topic: topic === topics.plain ? 'plain' : 'grown',
            checkout: name,
            round,
            cpuMs: Math.round(cpuMs),
            wallMs: Math.round(wallMs),
            recordsPerSecond,
            ratioToCeiling: ratio(recordsPerSecond, measured?.ceiling),
            ratioToStoreCeiling: ratio(recordsPerSecond, measured?.storeCeiling),
            peakRssMb: ready.usage === undefined ? undefined : Math.round(ready.usage.peakRssKb / 1024),
            threadCpuMs: Object.fromEntries(
              threads.filter((t) => t.cpuMs > 0).map((t) => [t.group, t.cpuMs - (threadsAtStart.get(t.group) ?? 0)]),
            ),
          };
          runs.push(run);
          note(JSON.stringify(run));
        }
      }
    }
    process.stdout.write(`${JSON.stringify({ customers, records: Object.fromEntries(records), ceilings, runs }, null, 2)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

runBenchMain(main);
