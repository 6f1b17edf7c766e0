/**
 * Both joins in one instance working through an orders backlog (the `join` phase of `npm run bench -- --quick`, without
 * the other phases), with two or more sets of TributaryApp options in alternating runs (ABAB...): for settings that
 * change how the two joins share one group consumer (e.g. the group fetch sizes). One JSON document on stdout.
 *
 *   node --import tsx scripts/bench/two-joins-bench.ts [--customers 100000] [--orders 100000] [--rounds 2]
 *     --variant 'a={"memory":{}}' --variant 'b={"memory":{"fetchMaxBytes":1048576,"fetchMaxBytesPerPartition":1048576}}'
 *
 * Per run (scripts/bench/tributary-worker.ts `both-joins`, own process): a fresh application restores both customer
 * stores while its orders topic is empty and stops; the backlog is produced; the application restarts on its state and
 * processes it. Reported per run: the second process's CPU and wall time from start until every joined output of both
 * joins is written, its peak RSS, and each join's first-to-last output append window (LogAppendTime).
 *
 * Starts a broker from Maven jars unless KAFKA_BROKERS is set (run it under the shared broker lock).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { joinableOrders, produceOrders, seedCustomers } from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { compiledScript } from './compiled-scripts.js';
import { appendWindow } from './kafka-measure.js';
import { openKafkaSession } from './kafka-session.js';
import { MeasuredProcess } from './measured-process.js';
import { WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';
import { readProcUsage } from './proc-usage.js';
import { runBenchMain } from './bench-main.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string' },
    orders: { type: 'string' },
    rounds: { type: 'string' },
    variant: { type: 'string', multiple: true },
    'worker-env': { type: 'string' },
  },
});
const customers = Number(values.customers ?? 100_000);
const orders = Number(values.orders ?? 100_000);
const rounds = Number(values.rounds ?? 2);
const PARTITIONS = 4;
const variants = (values.variant ?? ['default={}']).map((spec) => {
  const at = spec.indexOf('=');
  if (at <= 0) throw new Error(`--variant ${spec}: name={json app options}`);
  return { name: spec.slice(0, at), appOptions: spec.slice(at + 1) };
});
const workerEnv = values['worker-env'] === undefined ? {} : (JSON.parse(values['worker-env']) as Record<string, string>);
const note = (text: string) => process.stderr.write(`[two-joins] ${text}\n`);

interface Run {
  readonly variant: string;
  readonly round: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly peakRssMb: number | undefined;
  /** The broker's CPU over the same span (a broker this bench started). */
  readonly brokerCpuMs: number | undefined;
  /** The worker's CPU per thread group at the end (since each thread started). */
  readonly threadCpuMs: Readonly<Record<string, number>>;
  readonly globalOutputsPerSecond: number;
  readonly coPartitionedOutputsPerSecond: number;
  /** First output append of either join to the last one of either. */
  readonly bothWindowMs: number;
}

function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

async function outputsSeen(admin: KafkaAdmin, topics: readonly string[]): Promise<number> {
  let seen = 0;
  for (const topic of topics) for (const end of (await admin.fetchEndOffsets(topic)).values()) seen += end;
  return seen;
}

async function main(): Promise<void> {
  const workDir = join(REPO_ROOT, '.state', 'two-joins', String(Date.now()));
  mkdirSync(workDir, { recursive: true });
  const kafka = await openKafkaSession({ logFile: join(workDir, 'broker.log'), onStarting: (v) => note(`starting Kafka ${v}`) });
  const client: KafkaClient = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'two-joins-bench' });
  const admin = new KafkaAdmin(client);
  const prefix = `tjb-${randomBytes(3).toString('hex')}`;
  const customersTopic = `${prefix}-customers`;
  const script = compiledScript(REPO_ROOT, 'scripts/bench/tributary-worker.ts');
  try {
    await admin.connect();
    await admin.ensureTopics([{ topic: customersTopic, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } }]);
    await seedCustomers(client, { topic: customersTopic, partitions: PARTITIONS, count: customers });
    const joinable = joinableOrders(0, orders, customers);
    note(`seeded ${customers} customers; ${orders} orders per run (${joinable} joinable)`);
    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const { name, appOptions } of order) {
        const applicationId = `${prefix}-${name}-${round}`;
        const ordersTopic = `${applicationId}-orders`;
        const enriched = `${applicationId}-enriched`;
        const byCustomer = `${applicationId}-by-customer`;
        await admin.ensureTopics([
          { topic: ordersTopic, partitions: PARTITIONS },
          ...[enriched, byCustomer].map((topic) => ({
            topic,
            partitions: PARTITIONS,
            configs: { 'message.timestamp.type': 'LogAppendTime' },
          })),
        ]);
        const stateDir = join(workDir, 'state', applicationId);
        const start = (phase: string) =>
          MeasuredProcess.spawn({
            name: `${applicationId}-${phase}`,
            command: process.execPath,
            args: [
              ...WORKER_NODE_FLAGS,
              script,
              'both-joins',
              '--app-options',
              appOptions,
              ...workerTargetArgs({ brokers: kafka.brokers, applicationId, stateDir, customersTopic }),
              '--orders-topic',
              ordersTopic,
              '--output-topic',
              enriched,
              '--second-output-topic',
              byCustomer,
              '--commit-interval-ms',
              '1000',
              '--instance-id',
              'i0',
            ],
            cwd: REPO_ROOT,
            logFile: join(workDir, 'logs', `${applicationId}-${phase}.log`),
            // `{run}` in a --worker-env value: this process's name (e.g. one trace file per process).
            env: Object.fromEntries(Object.entries(workerEnv).map(([k, v]) => [k, v.replaceAll('{run}', `${applicationId}-${phase}`)])),
          });
        const cold = start('cold');
        try {
          await cold.waitFor('ready', 600_000);
        } finally {
          await cold.stop();
        }
        await produceOrders(client, { topic: ordersTopic, partitions: PARTITIONS, count: orders, customerCount: customers });
        const warm = start('warm');
        try {
          const starting = await warm.waitFor('starting', 120_000);
          const brokerPid = kafka.broker?.pid;
          const brokerCpu = () => (brokerPid === undefined ? undefined : readProcUsage(brokerPid)?.cpuMs);
          const brokerBefore = brokerCpu();
          while ((await outputsSeen(admin, [enriched, byCustomer])) < 2 * joinable) {
            warm.throwIfFailed();
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          const usage = warm.usage();
          const brokerAfter = brokerCpu();
          const threads = warm.threadCpu();
          const wallMs = performance.now() - starting.at;
          const globalWindow = await appendWindow(client, enriched);
          const coWindow = await appendWindow(client, byCustomer);
          const run: Run = {
            variant: name,
            round,
            cpuMs: Math.round((usage?.cpuMs ?? 0) - (starting.usage?.cpuMs ?? 0)),
            wallMs: Math.round(wallMs),
            peakRssMb: usage === undefined ? undefined : Math.round(usage.peakRssKb / 1024),
            brokerCpuMs: brokerBefore === undefined || brokerAfter === undefined ? undefined : Math.round(brokerAfter - brokerBefore),
            threadCpuMs: Object.fromEntries(threads.map((t) => [t.group, Math.round(t.cpuMs)])),
            globalOutputsPerSecond: globalWindow.recordsPerSecond,
            coPartitionedOutputsPerSecond: coWindow.recordsPerSecond,
            bothWindowMs:
              Math.max(globalWindow.lastAppendMs, coWindow.lastAppendMs) - Math.min(globalWindow.firstAppendMs, coWindow.firstAppendMs),
          };
          runs.push(run);
          note(JSON.stringify(run));
        } finally {
          await warm.stop();
          rmSync(stateDir, { recursive: true, force: true });
        }
      }
    }
    const summary = variants.map(({ name }) => {
      const mine = runs.filter((r) => r.variant === name);
      return {
        variant: name,
        medianCpuMs: median(mine.map((r) => r.cpuMs)),
        medianWallMs: median(mine.map((r) => r.wallMs)),
        medianBothWindowMs: median(mine.map((r) => r.bothWindowMs)),
        medianPeakRssMb: median(mine.map((r) => r.peakRssMb ?? 0)),
        medianBrokerCpuMs: median(mine.map((r) => r.brokerCpuMs ?? 0)),
      };
    });
    process.stdout.write(`${JSON.stringify({ customers, orders, summary, runs }, null, 2)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

runBenchMain(main);
