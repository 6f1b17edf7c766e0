/**
 * CPU and peak RSS of Tributary's global or co-partitioned join (scripts/bench/tributary-worker.ts, own process: CPU and
 * VmHWM from /proc), this checkout against another one (`--baseline-root`, e.g. main, with its node_modules), runs
 * alternating which goes first (ABBA), with the medians per checkout. Same data as `npm run bench -- --vs-kafka-streams` (customers with every 4th updated and every 100th
 * deleted, orders), without the Kafka Streams side: for before/after figures of a change. One JSON document on stdout.
 *
 *   node --import tsx scripts/bench/join-ab-bench.ts --baseline-root <dir> [--baseline-root <dir2> ...] [--customers 200000] [--orders 200000]
 *     [--rounds 2] [--cpu-prof <dir>] [--workload global-join|copartitioned-join]
 *     [--instances 1] (worker processes per run, started together as in the -x2 workloads of --vs-kafka-streams;
 *     CPU and peak RSS are summed over them, and each one's is reported with its assignments in time)
 *     [--threads n] (this checkout's runs: each worker process runs n instances on worker threads, tributary-worker.ts
 *     --threads; the baselines run instances x n processes instead: one process with two threads against two)
 *     [--node-flags='--a --b'] [--env 'NAME=value ...'] (this checkout's workers; --baseline-node-flags and
 *     --baseline-env the baselines': with --baseline-root set to this checkout, an A/B of flags or environment)
 *     [--sample-ms n] (every n ms: /proc/<pid>/smaps of each worker split by scripts/bench/smaps-breakdown.ts and
 *     the worker's process.memoryUsage(); each worker's breakdown at its highest sampled RSS is reported)
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
import { readSmapsBreakdown, type SmapsBreakdown } from './smaps-breakdown.js';

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
    instances: { type: 'string' },
    threads: { type: 'string' },
    'node-flags': { type: 'string' },
    env: { type: 'string' },
    'baseline-node-flags': { type: 'string' },
    'baseline-env': { type: 'string' },
    'sample-ms': { type: 'string' },
  },
});
const instances = Number(values.instances ?? 1);
const threads = Number(values.threads ?? 1);
const sampleMs = values['sample-ms'] === undefined ? undefined : Number(values['sample-ms']);
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
  /** Per worker process, with --instances > 1 or --sample-ms. */
  readonly processes?: readonly ProcessFigures[];
}

interface ProcessFigures {
  readonly cpuMs: number;
  readonly peakRssMb: number | undefined;
  /** ms after the first worker's "starting": each assignment's tasks, and state changes. */
  readonly timeline: readonly string[];
  /** The smaps breakdown at the highest sampled RSS, when (ms), and the worker's memoryUsage() just before it. */
  readonly atPeak?: { readonly atMs: number; readonly smaps: SmapsBreakdown; readonly worker?: Record<string, unknown> };
  /** Every ~2 s: ms, RSS, main heap, arenas, other anonymous, state files, V8 heapTotal (MiB). */
  readonly series?: readonly string[];
}

/** Samples smaps of a worker every `ms`; keeps the sample with the highest RSS. */
class PeakSampler {
  private peak: { atMs: number; smaps: SmapsBreakdown; worker?: Record<string, unknown> } | undefined;
  private readonly timer: NodeJS.Timeout;
  private lastSeriesAt = -Infinity;
  readonly series: string[] = [];
  constructor(child: MeasuredProcess, stateDir: string, t0: () => number, ms: number) {
    this.timer = setInterval(() => {
      const smaps = readSmapsBreakdown(child.pid, stateDir);
      if (smaps === undefined) return;
      const atMs = Math.round(performance.now() - t0());
      const memory = child.received().findLast((e) => e.event === 'memory');
      if (atMs - this.lastSeriesAt >= 2000) {
        this.lastSeriesAt = atMs;
        const s = smaps;
        this.series.push(
          `${atMs} ${s.rssMb} ${s.mainHeapMb} ${s.arenasMb} ${s.otherAnonMb} ${s.stateFilesMb} ${String(memory?.fields.heapTotal)}`,
        );
      }
      if (this.peak !== undefined && this.peak.smaps.rssMb >= smaps.rssMb) return;
      this.peak = { atMs, smaps, worker: memory?.fields };
    }, ms);
  }
  stop(): ProcessFigures['atPeak'] {
    clearInterval(this.timer);
    return this.peak;
  }
}

/** The worker's --app-options for a checkout's runs (none when not given): the n-th --baseline-app-options for the n-th baseline. */
function appOptions(checkout: string): string[] {
  const index = roots.findIndex((r) => r.name === checkout) - 1;
  const baselines = values['baseline-app-options'] ?? [];
  const json = index < 0 ? values['app-options'] : baselines[Math.min(index, baselines.length - 1)];
  return json === undefined ? [] : ['--app-options', json];
}

/** Node flags and environment of a checkout's workers (WORKER_NODE_FLAGS and nothing more unless given). */
function workerSetup(checkout: string): { flags: string[]; env: Record<string, string> } {
  const baseline = checkout !== 'branch';
  const flags = values[baseline ? 'baseline-node-flags' : 'node-flags'];
  const env = values[baseline ? 'baseline-env' : 'env'];
  return {
    flags: flags === undefined ? [...WORKER_NODE_FLAGS] : flags.split(/\s+/).filter((f) => f !== ''),
    env: Object.fromEntries(
      (env ?? '')
        .split(/\s+/)
        .filter((pair) => pair.includes('='))
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  };
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
        const processCount = name === 'branch' ? instances : instances * threads;
        const stateDirs = Array.from({ length: processCount }, (_, i) => join(workDir, 'state', `${applicationId}-${i}`));
        const children = stateDirs.map((stateDir, i) =>
          MeasuredProcess.spawn({
            name: `${applicationId}-${i}`,
            command: process.execPath,
            args: [
              ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], applicationId)]),
              ...workerSetup(name).flags,
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
              `i${i}`,
              ...(sampleMs === undefined ? [] : ['--memory-sample-ms', String(sampleMs)]),
              ...(name === 'branch' && threads > 1 ? ['--threads', String(threads)] : []),
            ],
            cwd: root,
            env: workerSetup(name).env,
            logFile: join(workDir, 'logs', `${applicationId}-${i}.log`),
          }),
        );
        let t0 = performance.now();
        const samplers = sampleMs === undefined ? [] : children.map((c, i) => new PeakSampler(c, stateDirs[i], () => t0, sampleMs));
        try {
          const startings = await Promise.all(children.map((c) => c.waitFor('starting', 120_000)));
          t0 = Math.min(...startings.map((s) => s.at));
          for (;;) {
            for (const child of children) child.throwIfFailed();
            let seen = 0;
            for (const end of (await admin.fetchEndOffsets(outputTopic)).values()) seen += end;
            if (seen >= joinable) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const wallMs = performance.now() - t0;
          const peaks = samplers.map((s) => s.stop());
          const processes: ProcessFigures[] = children.map((child, i) => {
            const usage = child.usage();
            return {
              cpuMs: Math.round((usage?.cpuMs ?? 0) - (startings[i].usage?.cpuMs ?? 0)),
              peakRssMb: usage === undefined ? undefined : Math.round(usage.peakRssKb / 1024),
              timeline: child
                .received()
                .filter((e) => e.event === 'assignment' || e.event === 'state' || e.event === 'running')
                .map((e) => {
                  const at = Math.round(e.at - t0);
                  if (e.event === 'assignment') return `${at} tasks ${(e.fields.tasks as string[]).join(',')}`;
                  return `${at} ${e.event === 'state' ? String(e.fields.to) : e.event} rss ${Math.round((e.usage?.peakRssKb ?? 0) / 1024)}`;
                }),
              atPeak: peaks[i],
              ...(samplers.length > 0 ? { series: samplers[i].series } : {}),
            };
          });
          const cpuMs = processes.reduce((sum, p) => sum + p.cpuMs, 0);
          const peakRss = processes.every((p) => p.peakRssMb !== undefined)
            ? processes.reduce((sum, p) => sum + (p.peakRssMb ?? 0), 0)
            : undefined;
          const run: Run = {
            checkout: name,
            round,
            cpuMs,
            wallMs: Math.round(wallMs),
            cpuUsPerOrder: Math.round((cpuMs / orders) * 1000 * 100) / 100,
            peakRssMb: peakRss,
            ...(processCount > 1 || threads > 1 || sampleMs !== undefined ? { processes } : {}),
          };
          runs.push(run);
          note(JSON.stringify(run));
        } finally {
          for (const sampler of samplers) sampler.stop();
          await Promise.all(children.map((c) => c.stop()));
          for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
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
    process.stdout.write(`${JSON.stringify({ workload, instances, threads, customers, orders, summary, runs }, null, 2)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
  }
}

runBenchMain(main);
