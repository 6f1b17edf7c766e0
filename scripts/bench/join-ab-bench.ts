/**
 * CPU and peak RSS of Tributary's global or co-partitioned join (scripts/bench/tributary-worker.ts, own process: CPU and
 * VmHWM from /proc), this checkout against another one (`--baseline-root`, e.g. main, with its node_modules), runs
 * alternating which goes first (ABBA), with the medians per checkout. Same data as `npm run bench -- --vs-kafka-streams` (customers with every 4th updated and every 100th
 * deleted, orders), without the Kafka Streams side: for before/after figures of a change. One JSON document on stdout.
 *
 *   node --import tsx scripts/bench/join-ab-bench.ts --baseline-root <dir> [--baseline-root <dir2> ...] [--customers 200000] [--orders 200000]
 *     [--rounds 2] [--cpu-prof <dir>] [--workload global-join|copartitioned-join]
 *     [--app-options '{"memory":{...}}'] [--baseline-app-options '{...}' ...] (TributaryApp options of this checkout's
 *     runs, and of the n-th baseline's (the last one given for the rest): with --baseline-root set to this checkout, an
 *     A/B of settings)
 *
 * Starts a broker from Maven jars unless KAFKA_BROKERS is set (run it under the shared broker lock).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { joinableOrders, produceOrders, seedCustomers } from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { openKafkaSession } from './kafka-session.js';
import { compiledScript } from './compiled-scripts.js';
import { MeasuredProcess } from './measured-process.js';
import { WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';
import { runBenchMain } from './bench-main.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string' },
    orders: { type: 'string' },
    rounds: { type: 'string' },
    'baseline-root': { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    workload: { type: 'string' },
    'app-options': { type: 'string' },
    'baseline-app-options': { type: 'string', multiple: true },
  },
});
const customers = Number(values.customers ?? 200_000);
const orders = Number(values.orders ?? 200_000);
const rounds = Number(values.rounds ?? 2);
const workload = values.workload ?? 'global-join';
if (workload !== 'global-join' && workload !== 'copartitioned-join')
  throw new Error(`--workload ${workload}: global-join or copartitioned-join`);
const PARTITIONS = 6;
const MIX = { updateEvery: 4, deleteEvery: 100 };
const roots: { name: string; root: string }[] = [{ name: 'branch', root: REPO_ROOT }];
// More than one --baseline-root: each runs in turn (ABC CBA), named baseline, baseline2, ...
for (const [i, root] of (values['baseline-root'] ?? []).entries()) roots.push({ name: i === 0 ? 'baseline' : `baseline${i + 1}`, root });
const note = (text: string) => process.stderr.write(`[join-ab] ${text}\n`);

interface Run {
  readonly checkout: string;
  readonly round: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly cpuUsPerOrder: number;
  readonly peakRssMb: number | undefined;
}

/** The worker's --app-options for a checkout's runs (none when not given): the n-th --baseline-app-options for the n-th baseline. */
function appOptions(checkout: string): string[] {
  const index = roots.findIndex((r) => r.name === checkout) - 1;
  const baselines = values['baseline-app-options'] ?? [];
  const json = index < 0 ? values['app-options'] : baselines[Math.min(index, baselines.length - 1)];
  return json === undefined ? [] : ['--app-options', json];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

async function main(): Promise<void> {
  const workDir = join(REPO_ROOT, '.state', 'join-ab', String(Date.now()));
  mkdirSync(workDir, { recursive: true });
  const kafka = await openKafkaSession({ logFile: join(workDir, 'broker.log'), onStarting: (v) => note(`starting Kafka ${v}`) });
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'join-ab-bench' });
  const admin = new KafkaAdmin(client);
  const prefix = `jab-${randomBytes(3).toString('hex')}`;
  const topics = { customers: `${prefix}-customers`, orders: `${prefix}-orders` };
  try {
    await admin.connect();
    await admin.ensureTopics([
      { topic: topics.customers, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } },
      { topic: topics.orders, partitions: PARTITIONS },
    ]);
    await seedCustomers(client, { topic: topics.customers, partitions: PARTITIONS, count: customers, ...MIX });
    await produceOrders(client, { topic: topics.orders, partitions: PARTITIONS, count: orders, customerCount: customers });
    const joinable = joinableOrders(0, orders, customers, MIX);
    note(`seeded ${customers} customers, ${orders} orders (${joinable} joinable)`);

    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? roots : [...roots].reverse();
      for (const { name, root } of order) {
        const applicationId = `${prefix}-${name}-${round}`;
        const outputTopic = `${applicationId}-output`;
        await admin.ensureTopics([{ topic: outputTopic, partitions: PARTITIONS, configs: { 'message.timestamp.type': 'LogAppendTime' } }]);
        const stateDir = join(workDir, 'state', applicationId);
        const child = MeasuredProcess.spawn({
          name: applicationId,
          command: process.execPath,
          args: [
            ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], applicationId)]),
            ...WORKER_NODE_FLAGS,
            compiledScript(root, 'scripts/bench/tributary-worker.ts'),
            workload,
            ...appOptions(name),
            ...workerTargetArgs({ brokers: kafka.brokers, applicationId, stateDir, customersTopic: topics.customers }),
            '--orders-topic',
            topics.orders,
            '--output-topic',
            outputTopic,
            '--commit-interval-ms',
            '1000',
            '--instance-id',
            'i0',
          ],
          cwd: root,
          logFile: join(workDir, 'logs', `${applicationId}.log`),
        });
        try {
          const starting = await child.waitFor('starting', 120_000);
          for (;;) {
            child.throwIfFailed();
            let seen = 0;
            for (const end of (await admin.fetchEndOffsets(outputTopic)).values()) seen += end;
            if (seen >= joinable) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const usage = child.usage();
          const cpuMs = (usage?.cpuMs ?? 0) - (starting.usage?.cpuMs ?? 0);
          const wallMs = performance.now() - starting.at;
          const run: Run = {
            checkout: name,
            round,
            cpuMs: Math.round(cpuMs),
            wallMs: Math.round(wallMs),
            cpuUsPerOrder: Math.round((cpuMs / orders) * 1000 * 100) / 100,
            peakRssMb: usage === undefined ? undefined : Math.round(usage.peakRssKb / 1024),
          };
          runs.push(run);
          note(JSON.stringify(run));
        } finally {
          await child.stop();
          rmSync(stateDir, { recursive: true, force: true });
        }
      }
    }
    const summary = roots.map(({ name }) => {
      const mine = runs.filter((r) => r.checkout === name);
      return {
        checkout: name,
        medianCpuMs: median(mine.map((r) => r.cpuMs)),
        medianPeakRssMb: median(mine.map((r) => r.peakRssMb ?? 0)),
      };
    });
    process.stdout.write(`${JSON.stringify({ workload, customers, orders, summary, runs }, null, 2)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

runBenchMain(main);
