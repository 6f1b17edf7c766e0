/**
 * Peak memory of Tributary against table size and settings: the same workload of scripts/bench/tributary-worker.ts
 * (own process: CPU ms from /proc/<pid>/stat, peak RSS = VmHWM from /proc/<pid>/status, and the worker's own
 * process.memoryUsage() peaks per app state) over a table of N customers and one of `scale` x N, so a memory that
 * grows with the table shows as a ratio well above 1. Up to three variants (A: the defaults, B and C: other node
 * flags, app options and/or environment) alternate per round (ABC CBA), to decide a setting by CPU and RSS measured
 * side by side. One JSON document.
 *
 *   node --import tsx scripts/bench/memory-bench.ts [--customers 250000] [--scale 4] [--rounds 2]
 *     [--workload global-table|global-join|copartitioned-join] [--orders 200000] [--sample-ms 250]
 *     [--a-node-flags=...] [--b-node-flags=--max-semi-space-size=2] [--b-app-options '{"memory":{...}}']
 *     [--a-env 'NAME=value ...'] [--b-env 'MALLOC_ARENA_MAX=2'] (environment of the worker, on top of WORKER_ENV)
 *     [--c-node-flags ... / --c-app-options ... / --c-env ...] (a third variant; every variant takes all three)
 *     [--worker-args=--heap-snapshot-after-ms=3000] (more tributary-worker.ts arguments for every run)
 *   npm run bench -- --memory [same options]
 *
 * Variant A runs the defaults unless --a-* options say otherwise; B and C run when any of their options is given.
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
import { WORKER_ENV, WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';

const PARTITIONS = 6;
const MIX = { updateEvery: 4, deleteEvery: 100 };

const VARIANT_NAMES = ['A', 'B', 'C'] as const;

interface Variant {
  readonly name: (typeof VARIANT_NAMES)[number];
  readonly nodeFlags: readonly string[];
  readonly appOptions: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

interface Run {
  readonly customers: number;
  readonly variant: string;
  readonly round: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly peakRssMb: number | undefined;
  /** The worker's process.memoryUsage() peaks per app state, MiB. */
  readonly memoryPeaks: unknown;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

const words = (text: string | undefined): string[] => (text === undefined ? [] : text.split(/\s+/).filter((w) => w !== ''));

/** WORKER_ENV with `NAME=value NAME2=value2` on top (`NAME=` removes a variable of WORKER_ENV). */
function environment(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = { ...WORKER_ENV };
  for (const word of words(text)) {
    const at = word.indexOf('=');
    if (at <= 0) throw new Error(`--a-env / --b-env: "${word}" is not NAME=value`);
    const name = word.slice(0, at);
    const value = word.slice(at + 1);
    if (value === '') delete env[name];
    else env[name] = value;
  }
  return env;
}

export async function memoryMain(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      customers: { type: 'string' },
      scale: { type: 'string' },
      rounds: { type: 'string' },
      workload: { type: 'string' },
      orders: { type: 'string' },
      'sample-ms': { type: 'string' },
      'a-node-flags': { type: 'string' },
      'a-app-options': { type: 'string' },
      'a-env': { type: 'string' },
      'b-node-flags': { type: 'string' },
      'b-app-options': { type: 'string' },
      'b-env': { type: 'string' },
      'c-node-flags': { type: 'string' },
      'c-app-options': { type: 'string' },
      'c-env': { type: 'string' },
      'worker-args': { type: 'string' },
    },
    strict: true,
  });
  const customers = Number(values.customers ?? 250_000);
  const scale = Number(values.scale ?? 4);
  const rounds = Number(values.rounds ?? 2);
  const orders = Number(values.orders ?? 200_000);
  const sampleMs = Number(values['sample-ms'] ?? 250);
  const workload = values.workload ?? 'global-table';
  if (workload !== 'global-table' && workload !== 'global-join' && workload !== 'copartitioned-join')
    throw new Error('--workload: global-table, global-join or copartitioned-join');
  const joins = workload !== 'global-table';
  const variants: Variant[] = [];
  for (const name of VARIANT_NAMES) {
    const lower = name.toLowerCase() as Lowercase<typeof name>;
    const flags = values[`${lower}-node-flags`];
    const appOptions = values[`${lower}-app-options`];
    const env = values[`${lower}-env`];
    if (name !== 'A' && flags === undefined && appOptions === undefined && env === undefined) continue;
    variants.push({
      name,
      nodeFlags: words(flags ?? WORKER_NODE_FLAGS.join(' ')),
      appOptions,
      env: environment(env),
    });
  }
  const note = (text: string): void => void process.stderr.write(`[memory] ${text}\n`);

  const workDir = join(REPO_ROOT, '.state', 'memory-bench', String(Date.now()));
  mkdirSync(workDir, { recursive: true });
  const kafka = await openKafkaSession({ logFile: join(workDir, 'broker.log'), onStarting: (v) => note(`starting Kafka ${v}`) });
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'memory-bench' });
  const admin = new KafkaAdmin(client);
  const prefix = `mem-${randomBytes(3).toString('hex')}`;
  const sizes = scale === 1 ? [customers] : [customers, customers * scale];
  const topicOf = (size: number): string => `${prefix}-customers-${size}`;
  const ordersTopic = `${prefix}-orders`;
  try {
    await admin.connect();
    for (const size of sizes) {
      await admin.ensureTopics([{ topic: topicOf(size), partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } }]);
      const seeded = await seedCustomers(client, { topic: topicOf(size), count: size, partitions: PARTITIONS, ...MIX });
      note(`seeded ${seeded.records} records into ${topicOf(size)}`);
    }
    // Orders reference the first N customers, so they join the same way against both tables.
    const joinable = joinableOrders(0, orders, customers, MIX);
    if (joins) {
      await admin.ensureTopics([{ topic: ordersTopic, partitions: PARTITIONS }]);
      await produceOrders(client, { topic: ordersTopic, partitions: PARTITIONS, count: orders, customerCount: customers });
      note(`produced ${orders} orders (${joinable} joinable)`);
    }

    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const size of sizes) {
        const order = round % 2 === 0 ? variants : [...variants].reverse();
        for (const variant of order) {
          const applicationId = `${prefix}-${size}-${variant.name}-${round}`;
          const stateDir = join(workDir, 'state', applicationId);
          const outputTopic = `${applicationId}-output`;
          if (joins) await admin.ensureTopics([{ topic: outputTopic, partitions: PARTITIONS }]);
          const child = MeasuredProcess.spawn({
            name: applicationId,
            command: process.execPath,
            args: [
              ...variant.nodeFlags,
              compiledScript(REPO_ROOT, 'scripts/bench/tributary-worker.ts'),
              workload,
              ...workerTargetArgs({ brokers: kafka.brokers, applicationId, stateDir, customersTopic: topicOf(size) }),
              ...(joins ? ['--orders-topic', ordersTopic, '--output-topic', outputTopic] : []),
              '--memory-sample-ms',
              String(sampleMs),
              ...(variant.appOptions === undefined ? [] : ['--app-options', variant.appOptions]),
              ...words(values['worker-args']),
            ],
            cwd: REPO_ROOT,
            env: variant.env,
            logFile: join(workDir, 'logs', `${applicationId}.log`),
          });
          try {
            const starting = await child.waitFor('starting', 120_000);
            let endAt: number;
            let usage;
            if (workload === 'global-table') {
              const ready = await child.waitFor('ready', 1_800_000);
              endAt = ready.at;
              usage = ready.usage;
            } else {
              for (;;) {
                child.throwIfFailed();
                let seen = 0;
                for (const end of (await admin.fetchEndOffsets(outputTopic)).values()) seen += end;
                if (seen >= joinable) break;
                await new Promise((resolve) => setTimeout(resolve, 100));
              }
              endAt = performance.now();
              usage = child.usage();
            }
            await child.stop();
            const peaks = [...child.received()].reverse().find((e) => e.event === 'memory-peaks');
            const run: Run = {
              customers: size,
              variant: variant.name,
              round,
              cpuMs: Math.round((usage?.cpuMs ?? 0) - (starting.usage?.cpuMs ?? 0)),
              wallMs: Math.round(endAt - starting.at),
              peakRssMb: usage === undefined ? undefined : Math.round(usage.peakRssKb / 1024),
              memoryPeaks: peaks?.fields.peaks,
            };
            runs.push(run);
            note(JSON.stringify(run));
          } finally {
            await child.stop();
            rmSync(stateDir, { recursive: true, force: true });
          }
        }
      }
    }
    const summary = sizes.flatMap((size) =>
      variants.map((variant) => {
        const mine = runs.filter((r) => r.customers === size && r.variant === variant.name);
        return {
          customers: size,
          variant: variant.name,
          medianCpuMs: median(mine.map((r) => r.cpuMs)),
          medianPeakRssMb: median(mine.map((r) => r.peakRssMb ?? 0)),
        };
      }),
    );
    const growth = Object.fromEntries(
      variants.map((variant) => {
        const [small, big = small] = sizes.map(
          (size) => summary.find((s) => s.customers === size && s.variant === variant.name)?.medianPeakRssMb ?? 0,
        );
        return [variant.name, { peakRssRatio: Math.round((big / small) * 100) / 100, smallMb: small, bigMb: big }];
      }),
    );
    const result = { workload, customers: sizes, orders: joins ? orders : undefined, variants, summary, growth, runs };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  memoryMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
