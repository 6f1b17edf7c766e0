/**
 * Start to ready of a global-table instance (scripts/bench/tributary-worker.ts `global-table`, own process), cold and
 * warm, over a small topic so start-up (state dir, connections, cluster layout, dead-letter topic and group, store
 * opening) is most of it:
 *   cold  a new application id and an empty state directory: creates the dead-letter topic, bootstraps the table
 *   warm  the same application started again on that state directory (nothing to restore)
 * With `--baseline-root <dir>` (another checkout with its node_modules, e.g. main) each round runs both checkouts,
 * alternating which goes first (ABBA). Times are the worker's own, from right before `app.start()` to RUNNING. One
 * JSON document on stdout (every run and the medians per checkout).
 *
 *   node --import tsx scripts/bench/start-bench.ts [--customers 2000] [--rounds 3] [--baseline-root /work/main]
 *
 * Starts a broker from Maven jars unless KAFKA_BROKERS is set (run it under the shared broker lock).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedCustomers } from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { openKafkaSession } from './kafka-session.js';
import { median } from './comparison-math.js';
import { compiledScript } from './compiled-scripts.js';
import { MeasuredProcess } from './measured-process.js';
import { WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';
import { runBenchMain } from './bench-main.js';

const { values } = parseArgs({
  options: {
    customers: { type: 'string' },
    rounds: { type: 'string' },
    'baseline-root': { type: 'string' },
  },
});
const customers = Number(values.customers ?? 2_000);
const rounds = Number(values.rounds ?? 3);
const roots: { name: string; root: string }[] = [{ name: 'branch', root: REPO_ROOT }];
if (values['baseline-root'] !== undefined) roots.push({ name: 'baseline', root: values['baseline-root'] });
const note = (text: string) => process.stderr.write(`[start-bench] ${text}\n`);

interface Run {
  readonly checkout: string;
  readonly round: number;
  readonly coldMs: number;
  readonly warmMs: number;
}

async function startToReady(root: string, target: Parameters<typeof workerTargetArgs>[0], logFile: string): Promise<number> {
  const child = MeasuredProcess.spawn({
    name: target.applicationId,
    command: process.execPath,
    args: [...WORKER_NODE_FLAGS, compiledScript(root, 'scripts/bench/tributary-worker.ts'), 'global-table', ...workerTargetArgs(target)],
    cwd: root,
    logFile,
  });
  try {
    const ready = await child.waitFor('ready', 120_000);
    return Number(ready.fields.startToReadyMs);
  } finally {
    await child.stop();
  }
}

async function main(): Promise<void> {
  const workDir = join(REPO_ROOT, '.state', 'start-bench', String(Date.now()));
  mkdirSync(workDir, { recursive: true });
  const kafka = await openKafkaSession({ logFile: join(workDir, 'broker.log'), onStarting: (v) => note(`starting Kafka ${v}`) });
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'start-bench' });
  const admin = new KafkaAdmin(client);
  const prefix = randomBytes(3).toString('hex');
  const topic = `sb-${prefix}-customers`;
  try {
    await admin.connect();
    await admin.ensureTopics([{ topic, partitions: 4, configs: { 'cleanup.policy': 'compact' } }]);
    const seeded = await seedCustomers(client, { topic, count: customers, partitions: 4 });
    note(`seeded ${seeded.records} records into ${topic}`);
    // One unmeasured start first: the broker's first group and topic creations are slower than later ones.
    const warmup = `sb-${prefix}-warmup`;
    await startToReady(
      REPO_ROOT,
      { brokers: kafka.brokers, applicationId: warmup, stateDir: join(workDir, 'state', warmup), customersTopic: topic },
      join(workDir, 'logs', `${warmup}.log`),
    );

    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? roots : [...roots].reverse();
      for (const { name, root } of order) {
        const applicationId = `sb-${prefix}-${name}-${round}`;
        const target = { brokers: kafka.brokers, applicationId, stateDir: join(workDir, 'state', applicationId), customersTopic: topic };
        const coldMs = await startToReady(root, target, join(workDir, 'logs', `${applicationId}-cold.log`));
        const warmMs = await startToReady(root, target, join(workDir, 'logs', `${applicationId}-warm.log`));
        const run: Run = { checkout: name, round, coldMs, warmMs };
        runs.push(run);
        note(JSON.stringify(run));
      }
    }
    const medians = Object.fromEntries(
      roots.map(({ name }) => {
        const mine = runs.filter((run) => run.checkout === name);
        return [name, { coldMs: Math.round(median(mine.map((r) => r.coldMs))), warmMs: Math.round(median(mine.map((r) => r.warmMs))) }];
      }),
    );
    process.stdout.write(`${JSON.stringify({ customers, records: seeded.records, runs, medians }, null, 2)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

runBenchMain(main);
