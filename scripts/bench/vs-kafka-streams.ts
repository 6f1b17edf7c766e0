/**
 * `npm run bench -- --vs-kafka-streams`: the same workloads on Tributary and on Kafka Streams, side by side, against
 * one broker and one data set, and the ratios Tributary / Kafka Streams. One JSON document on stdout.
 *
 *   npm run bench -- --vs-kafka-streams                      # 500,000 customers, 500,000 orders, 2 rounds (A B B A)
 *   npm run bench -- --vs-kafka-streams --quick              # 50,000 / 50,000, 1 round (a few minutes)
 *   npm run bench -- --vs-kafka-streams --rounds 4 --workloads global-join,copartitioned-join --json-out ks.json
 *
 * Data (seeded once, read by every run): customers on a compacted topic (first versions, every 4th updated, every
 * 100th deleted: 500,000 + 125,000 + 5,000 records at full size) and orders (~100-byte JSON) keyed by order id.
 * Every run gets a fresh application id, state directory and output topic; both sides use string keys and JSON
 * values, at-least-once, acks=all and the same commit interval.
 *
 * Workloads (A = Tributary: scripts/bench/tributary-worker.ts on Node; B = Kafka Streams: scripts/bench/kafka-streams/):
 *   global-table            materialize the customers as a global table: start → bootstrapped (ready)
 *   table                   materialize them as a partitioned table (KTable): start → every partition caught up
 *   global-join             orders ⋈ global table, incl. bootstrap: start → the output holds every joined order
 *   copartitioned-join      orders re-keyed by customer (repartition) ⋈ table, incl. restore: same end condition
 *   global-join-x2          global-join on two Tributary instances vs one Kafka Streams instance with 2 threads
 *   copartitioned-join-x2   copartitioned-join, likewise
 * Per run: time from the child's "starting" line (right before start()) to the end condition; CPU = user + system of
 * the child processes over that window from /proc/<pid>/stat; peak RSS = VmHWM from /proc/<pid>/status.
 * Rounds alternate which side goes first (ABBA). Progress goes to stderr, the JSON to stdout (and --json-out).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProgressDisplay } from '../../cli/progress.js';
import {
  customerKey,
  customerValue,
  joinableOrders,
  orderKey,
  orderValue,
  produceOrders,
  seedCustomers,
  type CustomerMix,
} from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import {
  abbaOrder,
  derive,
  ratios,
  summarize,
  type DerivedFigures,
  type MedianSummary,
  type PairedRun,
  type Ratios,
  type Side,
} from './comparison-math.js';
import { checkEnrichedOutputs, type EnrichedCheck } from './enriched-check.js';
import { appendWindow, endOffsets, measureConsumeCeiling, measureStoreCeiling, readFrom, type CeilingResult } from './kafka-measure.js';
import type { KafkaSession } from './kafka-session.js';
import { positiveIntOption, runBenchCommand } from './bench-command.js';
import { DEFAULT_KAFKA_STREAMS_VERSION, kafkaStreamsCommand, prepareKafkaStreamsApp, type KafkaStreamsApp } from './kafka-streams-app.js';
import { compiledScript } from './compiled-scripts.js';
import { MeasuredProcess, type ChildEvent } from './measured-process.js';
import { SideMemorySampler, type SideMemoryPeak } from './side-memory.js';
import type { ProcUsage } from './proc-usage.js';
import type { WorkerWorkload } from './tributary-worker.js';
import { WORKER_NODE_FLAGS, workerTargetArgs } from './worker-flags.js';

export const COMPARISON_WORKLOADS = [
  'global-table',
  'table',
  'global-join',
  'copartitioned-join',
  'global-join-x2',
  'copartitioned-join-x2',
] as const;
export type ComparisonWorkload = (typeof COMPARISON_WORKLOADS)[number];

interface WorkloadSpec {
  readonly worker: WorkerWorkload;
  /** Tributary instances (processes) and Kafka Streams stream threads (one process). */
  readonly scale: 1 | 2;
  readonly title: string;
  readonly measures: string;
}

const WORKLOADS: Readonly<Record<ComparisonWorkload, WorkloadSpec>> = {
  'global-table': {
    worker: 'global-table',
    scale: 1,
    title: 'materialize global table',
    measures: 'customer records / (start → global store bootstrapped: Tributary start() resolved, Kafka Streams state RUNNING)',
  },
  table: {
    worker: 'table',
    scale: 1,
    title: 'materialize co-partitioned table',
    measures:
      'customer records / (start → every partition caught up: Tributary waitUntilReady(), Kafka Streams IQv2 store position at the last offset of every partition)',
  },
  'global-join': {
    worker: 'global-join',
    scale: 1,
    title: 'join orders x global table (incl. bootstrap)',
    measures: 'orders / (start → the output topic holds every joinable order), global-table bootstrap included',
  },
  'copartitioned-join': {
    worker: 'copartitioned-join',
    scale: 1,
    title: 'join orders x co-partitioned table (incl. restore)',
    measures: 'orders / (start → the output topic holds every joinable order), via a repartition topic; table restore included',
  },
  'global-join-x2': {
    worker: 'global-join',
    scale: 2,
    title: 'global join: 2 Tributary instances vs 2 stream threads',
    measures: 'as global-join; Tributary runs two processes (CPU and RSS summed), Kafka Streams one process with num.stream.threads=2',
  },
  'copartitioned-join-x2': {
    worker: 'copartitioned-join',
    scale: 2,
    title: 'co-partitioned join: 2 Tributary instances vs 2 stream threads',
    measures:
      'as copartitioned-join; Tributary runs two processes (CPU and RSS summed), Kafka Streams one process with num.stream.threads=2',
  },
};

const MIX: Required<CustomerMix> = { updateEvery: 4, deleteEvery: 100 };

export interface ComparisonSettings {
  readonly mode: 'full' | 'quick' | 'custom';
  readonly customers: number;
  readonly orders: number;
  readonly rounds: number;
  readonly partitions: number;
  readonly workloads: readonly ComparisonWorkload[];
  readonly commitIntervalMs: number;
  readonly kafkaStreamsVersion: string;
  readonly verify: boolean;
  readonly tributaryCpuProfDir: string | undefined;
  readonly runTimeoutMs: number;
  readonly retries: number;
  readonly jsonOut: string | undefined;
  /** How often the side's memory is sampled from /proc/<pid>/smaps (side-memory.ts). */
  readonly memorySampleMs: number;
}

export const comparisonUsage = `Usage: npm run bench -- --vs-kafka-streams [options]

  --quick                    50,000 customers, 50,000 orders, 1 round
  --customers <n>            Customers (default 500,000; every 4th updated, every 100th deleted)
  --orders <n>               Orders (default 500,000)
  --rounds <n>               Rounds; sides alternate who goes first (ABBA). Default 2 (quick 1)
  --partitions <n>           Partitions of every topic (default 6)
  --workloads <a,b,...>      Subset of ${COMPARISON_WORKLOADS.join(', ')}
  --commit-interval-ms <n>   Commit interval of both sides (default 1000)
  --kafka-streams-version <v> Kafka Streams from Maven Central (default ${DEFAULT_KAFKA_STREAMS_VERSION})
  --verify                   Read every join output and check it record by record (default with --quick)
  --tributary-cpu-prof <dir> Write a V8 CPU profile of every Tributary process into <dir> (slows Tributary down)
  --run-timeout-minutes <n>  Give up on a run after this long (default 30)
  --retries <n>              Retry a failed run this often with a fresh application id (default 2; listed in the JSON)
  --json-out <file>          Also write the JSON document to this file
  --memory-sample-ms <n>     Sample each side's memory from /proc/<pid>/smaps this often (default 200): the "mem"
                             columns, file pages shared by a side's processes counted once
Env: KAFKA_BROKERS uses that broker instead of starting one; KAFKA_VERSION picks the local broker's version.`;

export function parseComparisonSettings(argv: readonly string[]): ComparisonSettings | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      customers: { type: 'string' },
      orders: { type: 'string' },
      rounds: { type: 'string' },
      partitions: { type: 'string' },
      workloads: { type: 'string' },
      'commit-interval-ms': { type: 'string' },
      'kafka-streams-version': { type: 'string' },
      verify: { type: 'boolean' },
      'tributary-cpu-prof': { type: 'string' },
      'run-timeout-minutes': { type: 'string' },
      retries: { type: 'string' },
      'json-out': { type: 'string' },
      'memory-sample-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const int = positiveIntOption;
  const workloads = (values.workloads ?? COMPARISON_WORKLOADS.join(','))
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const unknown = workloads.filter((w) => !(COMPARISON_WORKLOADS as readonly string[]).includes(w));
  if (unknown.length > 0) throw new Error(`--workloads: unknown ${unknown.join(', ')}; pick from ${COMPARISON_WORKLOADS.join(', ')}`);
  if (workloads.length === 0) throw new Error('--workloads: name at least one workload');
  const custom = values.customers !== undefined || values.orders !== undefined || values.rounds !== undefined;
  return {
    mode: custom ? 'custom' : quick ? 'quick' : 'full',
    customers: int('customers', values.customers, quick ? 50_000 : 500_000),
    orders: int('orders', values.orders, quick ? 50_000 : 500_000),
    rounds: int('rounds', values.rounds, quick ? 1 : 2),
    partitions: int('partitions', values.partitions, 6),
    workloads: workloads as ComparisonWorkload[],
    commitIntervalMs: int('commit-interval-ms', values['commit-interval-ms'], 1000),
    kafkaStreamsVersion: values['kafka-streams-version'] ?? process.env.KAFKA_STREAMS_VERSION ?? DEFAULT_KAFKA_STREAMS_VERSION,
    verify: values.verify === true || quick,
    tributaryCpuProfDir: values['tributary-cpu-prof'],
    runTimeoutMs: int('run-timeout-minutes', values['run-timeout-minutes'], 30) * 60_000,
    retries: values.retries === '0' ? 0 : int('retries', values.retries, 2),
    jsonOut: values['json-out'],
    memorySampleMs: int('memory-sample-ms', values['memory-sample-ms'], 200),
  };
}

/** What one side measured in one run, beyond the figures the ratios use. */
export interface SideRun extends DerivedFigures {
  readonly side: Side;
  readonly processes: number;
  readonly threads: number;
  readonly applicationId: string;
  /** CPU the processes used before their "starting" line (runtime boot, module/class loading), summed. */
  readonly bootCpuMs: number;
  /**
   * Start → RUNNING (the "running" line: global tables bootstrapped and the group joined; for two processes the later
   * one) and the CPU up to it: the start-up share of `ms` and `cpuMs`. Task restoration and processing come after.
   */
  readonly toRunning: { readonly ms: number; readonly cpuMs: number };
  readonly peakRssMbPerProcess: readonly number[];
  /**
   * The side's memory sampled every `intervalMs` from spawn to the end condition: the peak with file pages its
   * processes share counted once (`peakSideMemoryMb`), and the peak of the processes' RSS summed at one moment.
   */
  readonly sideMemory: SideMemoryPeak | undefined;
  /**
   * CPU ms per thread group (names from /proc/<pid>/task/<tid>/comm, numbers stripped), summed over the processes,
   * since each thread started (so boot included), read at the end condition: where the CPU went (JIT, GC, I/O pool).
   */
  readonly threadCpuMs: Readonly<Record<string, number>>;
  /** Joins: joinable orders, records in the output after the processes stopped, and duplicates beyond the expected. */
  readonly expectedOutputs?: number;
  readonly outputs?: number;
  /** Joins: outputs/s between the first and the last output append (LogAppendTime): the join rate without start-up. */
  readonly outputAppendWindow?: { readonly ms: number; readonly recordsPerSecond: number };
  readonly verification?: EnrichedCheck;
  readonly logFiles: readonly string[];
  /** Attempts of this run that failed before the measured one (each run is retried up to --retries times). */
  readonly failedAttempts: readonly string[];
}

export interface WorkloadResult {
  readonly id: ComparisonWorkload;
  readonly title: string;
  readonly measures: string;
  readonly tributaryProcesses: number;
  readonly kafkaStreamsThreads: number;
  readonly runs: readonly {
    readonly round: number;
    readonly order: readonly [Side, Side];
    readonly tributary: SideRun;
    readonly kafkaStreams: SideRun;
    readonly ratios: Ratios;
  }[];
  readonly median: MedianSummary;
}

interface RunContext {
  readonly settings: ComparisonSettings;
  readonly kafka: KafkaSession;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  readonly ksApp: KafkaStreamsApp;
  readonly prefix: string;
  readonly topics: { readonly customers: string; readonly orders: string };
  readonly workDir: string;
  readonly customerRecords: number;
  readonly joinable: number;
  readonly note: (text: string) => void;
}

const mb = (kb: number): number => Math.round(kb / 1024);

function windowOf(start: ChildEvent, end: ProcUsage | undefined, name: string): { cpuMs: number; bootCpuMs: number; peakRssKb: number } {
  if (start.usage === undefined || end === undefined) throw new Error(`${name}: could not read /proc for CPU and RSS (Linux only)`);
  return { cpuMs: end.cpuMs - start.usage.cpuMs, bootCpuMs: start.usage.cpuMs, peakRssKb: end.peakRssKb };
}

/**
 * Retries an admin call a few times: right after topics were deleted, kafkajs's createTopics (waitForLeaders) can
 * fail with a transient UNKNOWN_TOPIC_OR_PARTITION while the broker's metadata settles.
 */
async function withRetries<T>(call: () => Promise<T>, what: string, note: (text: string) => void, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts) throw error;
      note(`bench: ${what} failed (${error instanceof Error ? error.message : String(error)}), retrying`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** Sums thread-group CPU over processes; the 12 biggest groups, the rest as "others". */
function mergeThreadCpu(perProcess: readonly (readonly { group: string; cpuMs: number }[])[]): Record<string, number> {
  const total = new Map<string, number>();
  for (const groups of perProcess) for (const { group, cpuMs } of groups) total.set(group, (total.get(group) ?? 0) + cpuMs);
  const sorted = [...total].sort((a, b) => b[1] - a[1]);
  const result: Record<string, number> = Object.fromEntries(sorted.slice(0, 12));
  const rest = sorted.slice(12).reduce((sum, [, ms]) => sum + ms, 0);
  if (rest > 0) result.others = rest;
  return result;
}

async function sumEnds(admin: KafkaAdmin, topic: string): Promise<number> {
  let total = 0;
  for (const end of (await admin.fetchEndOffsets(topic)).values()) total += end;
  return total;
}

/** Starts one side's processes for `workload`, waits for its end condition, measures, stops and cleans up. */
async function runSide(
  ctx: RunContext,
  workload: ComparisonWorkload,
  side: Side,
  round: number,
  attempt: number,
): Promise<Omit<SideRun, 'failedAttempts'>> {
  const spec = WORKLOADS[workload];
  const { settings } = ctx;
  const short = side === 'tributary' ? 't' : 'ks';
  const applicationId = `${ctx.prefix}-${workload}-${short}-r${round + 1}${attempt > 0 ? `-a${attempt + 1}` : ''}`;
  const isJoin = spec.worker === 'global-join' || spec.worker === 'copartitioned-join';
  const outputTopic = `${applicationId}-output`;
  if (isJoin) {
    const output = { topic: outputTopic, partitions: settings.partitions, configs: { 'message.timestamp.type': 'LogAppendTime' } };
    await withRetries(() => ctx.admin.ensureTopics([output]), `create ${outputTopic}`, ctx.note);
  }
  const common = (stateDir: string): string[] => [
    ...workerTargetArgs({ brokers: ctx.kafka.brokers, applicationId, stateDir, customersTopic: ctx.topics.customers }),
    '--orders-topic',
    ctx.topics.orders,
    '--output-topic',
    outputTopic,
    '--commit-interval-ms',
    String(settings.commitIntervalMs),
  ];
  const processes: MeasuredProcess[] = [];
  const stateDirs: string[] = [];
  let sampler: SideMemorySampler | undefined;
  try {
    if (side === 'tributary') {
      for (let i = 0; i < spec.scale; i++) {
        const stateDir = join(ctx.workDir, 'state', `${applicationId}-${i}`);
        stateDirs.push(stateDir);
        const profile =
          settings.tributaryCpuProfDir === undefined
            ? []
            : ['--cpu-prof', `--cpu-prof-dir=${settings.tributaryCpuProfDir}`, `--cpu-prof-name=${applicationId}-${i}.cpuprofile`];
        processes.push(
          MeasuredProcess.spawn({
            name: `tributary ${workload} #${i + 1}`,
            command: process.execPath,
            args: [
              ...WORKER_NODE_FLAGS,
              ...profile,
              compiledScript(REPO_ROOT, 'scripts/bench/tributary-worker.ts'),
              spec.worker,
              ...common(stateDir),
              '--instance-id',
              `i${i}`,
            ],
            cwd: REPO_ROOT,
            logFile: join(ctx.workDir, 'logs', `${applicationId}-${i}.log`),
          }),
        );
      }
    } else {
      const stateDir = join(ctx.workDir, 'state', applicationId);
      stateDirs.push(stateDir);
      const { command, args } = kafkaStreamsCommand(ctx.ksApp, spec.worker, [...common(stateDir), '--threads', String(spec.scale)]);
      processes.push(
        MeasuredProcess.spawn({
          name: `kafka-streams ${workload}`,
          command,
          args,
          cwd: REPO_ROOT,
          logFile: join(ctx.workDir, 'logs', `${applicationId}.log`),
        }),
      );
    }

    // From spawn: a side's memory counts from the runtime's start, as VmHWM does.
    sampler = new SideMemorySampler(() => processes.map((p) => p.pid), settings.memorySampleMs);
    const starts = await Promise.all(processes.map((p) => p.waitFor('starting', 180_000)));
    const t0 = Math.min(...starts.map((s) => s.at));
    let endAt: number;
    let ends: (ProcUsage | undefined)[];
    let records: number;
    let sideMemory: SideMemoryPeak | undefined;
    if (!isJoin) {
      // Materialization: one process, its own "ready" line (stamped with /proc on arrival).
      const ready = await processes[0].waitFor('ready', settings.runTimeoutMs);
      endAt = ready.at;
      ends = [ready.usage];
      sideMemory = sampler.stop();
      records = ctx.customerRecords;
    } else {
      const deadline = performance.now() + settings.runTimeoutMs;
      let seen = 0;
      for (;;) {
        for (const p of processes) p.throwIfFailed();
        seen = await sumEnds(ctx.admin, outputTopic);
        if (seen >= ctx.joinable) break;
        if (performance.now() > deadline)
          throw new Error(`${workload} on ${side}: the output holds ${seen} of ${ctx.joinable} records after ${settings.runTimeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      endAt = performance.now();
      ends = processes.map((p) => p.usage());
      sideMemory = sampler.stop();
      records = settings.orders;
    }
    const windows = processes.map((p, i) => windowOf(starts[i], ends[i], p.name));
    const running = processes.map((p) => p.received().find((e) => e.event === 'running'));
    const toRunning = {
      ms: Math.round(Math.max(...running.map((e) => (e === undefined ? endAt : e.at))) - t0),
      cpuMs: Math.round(
        running.reduce((sum, e, i) => sum + (e?.usage === undefined ? windows[i].cpuMs : e.usage.cpuMs - (starts[i].usage?.cpuMs ?? 0)), 0),
      ),
    };
    const threadCpuMs = mergeThreadCpu(processes.map((p) => p.threadCpu()));
    await Promise.all(processes.map((p) => p.stop()));

    let joinFields: Pick<SideRun, 'expectedOutputs' | 'outputs' | 'outputAppendWindow' | 'verification'> = {};
    if (isJoin) {
      const outputs = await sumEnds(ctx.admin, outputTopic);
      const window = await appendWindow(ctx.client, outputTopic);
      let verification: EnrichedCheck | undefined;
      if (settings.verify) {
        const read = await readFrom(ctx.client, outputTopic, new Map());
        verification = checkEnrichedOutputs(
          read.map((r) => r.value),
          { orders: settings.orders, customers: settings.customers, ...MIX },
        );
      }
      joinFields = {
        expectedOutputs: ctx.joinable,
        outputs,
        outputAppendWindow: { ms: window.ms, recordsPerSecond: window.recordsPerSecond },
        verification,
      };
    }
    const figures = derive({
      records,
      ms: endAt - t0,
      cpuMs: windows.reduce((sum, w) => sum + w.cpuMs, 0),
      peakRssMb: windows.reduce((sum, w) => sum + w.peakRssKb, 0) / 1024,
      peakSideMemoryMb: sideMemory?.sharedOnceMb ?? null,
    });
    return {
      side,
      ...figures,
      processes: processes.length,
      threads: side === 'tributary' ? 1 : spec.scale,
      applicationId,
      bootCpuMs: Math.round(windows.reduce((sum, w) => sum + w.bootCpuMs, 0)),
      toRunning,
      peakRssMbPerProcess: windows.map((w) => mb(w.peakRssKb)),
      sideMemory,
      threadCpuMs,
      ...joinFields,
      logFiles: processes.map((p) => p.logFile),
    };
  } finally {
    sampler?.stop();
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
    const leftovers = (await ctx.admin.listTopics()).filter((topic) => topic.startsWith(`${applicationId}-`));
    if (leftovers.length > 0)
      await ctx.admin.deleteTopics(leftovers).catch((error: unknown) => ctx.note(`could not delete ${leftovers}: ${String(error)}`));
  }
}

function averageJsonBytes(count: number, make: (i: number) => unknown): number {
  const n = Math.min(count, 10_000);
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += Buffer.byteLength(JSON.stringify(make(i)));
  return n === 0 ? 0 : Math.round(bytes / n);
}

/** First line of `java -version` (it writes to stderr). */
function javaVersionLine(): string {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  return `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n')[0] || 'unknown';
}

export type ComparisonResult = Awaited<ReturnType<typeof runComparison>>;

export async function runComparison(
  settings: ComparisonSettings,
  kafka: KafkaSession,
  ksApp: KafkaStreamsApp,
  workDir: string,
  display: ProgressDisplay,
) {
  const note = (text: string): void => display.writeLine(text);
  const startedAt = new Date();
  const began = performance.now();
  const prefix = `vsks-${randomBytes(3).toString('hex')}`;
  const topics = { customers: `${prefix}-customers`, orders: `${prefix}-orders` };
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: `tributary-vs-ks-${prefix}` });
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    await admin.ensureTopics([
      { topic: topics.customers, partitions: settings.partitions, configs: { 'cleanup.policy': 'compact' } },
      { topic: topics.orders, partitions: settings.partitions },
    ]);
    display.begin('seed customers');
    const seed = await seedCustomers(client, {
      topic: topics.customers,
      partitions: settings.partitions,
      count: settings.customers,
      ...MIX,
      onProgress: (sent, total) => display.update({ done: sent, total, unit: 'records' }),
    });
    display.finish(`${seed.records} records`);
    display.begin('produce orders');
    const ordersSeed = await produceOrders(client, {
      topic: topics.orders,
      partitions: settings.partitions,
      count: settings.orders,
      customerCount: settings.customers,
      onProgress: (sent, total) => display.update({ done: sent, total, unit: 'orders' }),
    });
    display.finish(`${ordersSeed.records} orders`);
    const customerRecords = [...(await endOffsets(client, topics.customers)).values()].reduce((a, b) => a + b, 0);
    if (customerRecords !== seed.records)
      throw new Error(`customers topic holds ${customerRecords} records, the seed wrote ${seed.records}`);
    const joinable = joinableOrders(0, settings.orders, settings.customers, MIX);

    display.begin('consume ceiling (partition reader: fetch and decode, no processing)');
    const ceiling: CeilingResult = await measureConsumeCeiling(client, topics.customers);
    display.finish(`${ceiling.recordsPerSecond} records/s`);
    display.begin('store ceiling (the read of a global bootstrap, raw LevelDB batch writes, no Tributary logic)');
    const storeCeiling: CeilingResult = await measureStoreCeiling(client, topics.customers, workDir);
    display.finish(`${storeCeiling.recordsPerSecond} records/s`);

    const ctx: RunContext = { settings, kafka, client, admin, ksApp, prefix, topics, workDir, customerRecords, joinable, note };
    const results: WorkloadResult[] = [];
    const runsByWorkload = new Map<ComparisonWorkload, WorkloadResult['runs'][number][]>();
    for (let round = 0; round < settings.rounds; round++) {
      const order = abbaOrder(round);
      for (const workload of settings.workloads) {
        const measured: Partial<Record<Side, SideRun>> = {};
        for (const side of order) {
          display.begin(`round ${round + 1}/${settings.rounds} ${workload}: ${side}`);
          const failedAttempts: string[] = [];
          let run: SideRun | undefined;
          while (run === undefined) {
            try {
              run = { ...(await runSide(ctx, workload, side, round, failedAttempts.length)), failedAttempts };
            } catch (error) {
              const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
              failedAttempts.push(message);
              if (failedAttempts.length > settings.retries) throw error;
              display.finish(`attempt ${failedAttempts.length} failed, retrying with a fresh application id: ${message.split('\n')[0]}`);
              display.begin(`round ${round + 1}/${settings.rounds} ${workload}: ${side} (attempt ${failedAttempts.length + 1})`);
            }
          }
          measured[side] = run;
          display.finish(`${run.recordsPerSecond} records/s, ${run.cpuMs} ms CPU, peak RSS ${run.peakRssMb} MiB`);
        }
        const tributary = measured.tributary!;
        const kafkaStreams = measured['kafka-streams']!;
        const list = runsByWorkload.get(workload) ?? [];
        list.push({ round: round + 1, order, tributary, kafkaStreams, ratios: ratios(tributary, kafkaStreams) });
        runsByWorkload.set(workload, list);
      }
    }
    for (const workload of settings.workloads) {
      const runs = runsByWorkload.get(workload) ?? [];
      const spec = WORKLOADS[workload];
      const paired: PairedRun[] = runs.map((r) => ({ round: r.round, tributary: r.tributary, kafkaStreams: r.kafkaStreams }));
      results.push({
        id: workload,
        title: spec.title,
        measures: spec.measures,
        tributaryProcesses: spec.scale,
        kafkaStreamsThreads: spec.scale,
        runs,
        median: summarize(paired),
      });
    }
    // The global-table bootstrap's median rate of each side against both ceilings.
    const globalTable = results.find((w) => w.id === 'global-table');
    const toCeilings = (recordsPerSecond: number) => ({
      ratioToCeiling: ceiling.recordsPerSecond > 0 ? Math.round((recordsPerSecond / ceiling.recordsPerSecond) * 100) / 100 : 0,
      ratioToStoreCeiling:
        storeCeiling.recordsPerSecond > 0 ? Math.round((recordsPerSecond / storeCeiling.recordsPerSecond) * 100) / 100 : 0,
    });
    const materializeVsCeilings =
      globalTable === undefined
        ? undefined
        : {
            tributary: toCeilings(globalTable.median.tributary.recordsPerSecond),
            kafkaStreams: toCeilings(globalTable.median.kafkaStreams.recordsPerSecond),
          };

    return {
      tool: 'tributary-bench',
      mode: 'vs-kafka-streams',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - began) / 1000),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
        platform: `${process.platform}-${process.arch}`,
        note: 'the broker, both sides and this harness share the machine; compare CPU per record rather than wall time when it is busy',
      },
      kafka: {
        version: kafka.version,
        broker: kafka.broker ? 'local, started by the bench' : 'KAFKA_BROKERS',
        partitionsPerTopic: settings.partitions,
      },
      settings: {
        mode: settings.mode,
        customers: settings.customers,
        orders: settings.orders,
        rounds: settings.rounds,
        workloads: settings.workloads,
        commitIntervalMs: settings.commitIntervalMs,
        acks: 'all',
        processingGuarantee: 'at-least-once',
        verify: settings.verify,
        tributaryCpuProfile: settings.tributaryCpuProfDir !== undefined,
        order: 'ABBA: round 1 Tributary first, round 2 Kafka Streams first, ...',
      },
      sides: {
        tributary: {
          process: 'node --import tsx scripts/bench/tributary-worker.ts <workload> (TributaryApp, no query server)',
          node: process.version,
          nodeFlags: [...WORKER_NODE_FLAGS, ...(settings.tributaryCpuProfDir === undefined ? [] : ['--cpu-prof'])],
          serdes: 'keys Serdes.string(), values Serdes.json() (JSON.parse / JSON.stringify); store values msgpack',
        },
        kafkaStreams: {
          version: ksApp.version,
          process: `java ${ksApp.jvmFlags.filter((f) => !f.startsWith('-Dlog4j')).join(' ')} ... dev.tributary.bench.KafkaStreamsBench <workload>`,
          jvm: javaVersionLine(),
          jvmFlags: ksApp.jvmFlags.filter((f) => !f.startsWith('-Dlog4j')),
          serdes:
            "keys Serdes.String(), values Jackson JsonNode (ObjectMapper.readTree / writeValueAsBytes); store values are the serde's bytes in RocksDB",
          config: {
            'processing.guarantee': 'at_least_once',
            'commit.interval.ms': settings.commitIntervalMs,
            'producer.acks': 'all',
            'topology.optimization': 'all (tables use their source topic as changelog, as Tributary does)',
            'statestore.cache.max.bytes': 'default (10 MiB)',
          },
        },
      },
      data: {
        customers: settings.customers,
        customerRecords,
        updated: seed.updated,
        deleted: seed.deleted,
        orders: settings.orders,
        joinableOrders: joinable,
        avgCustomerValueBytes: averageJsonBytes(settings.customers, (i) => customerValue(i, 1, Date.now())),
        avgCustomerKeyBytes: averageJsonBytes(settings.customers, (i) => customerKey(i)) - 2,
        avgOrderValueBytes: averageJsonBytes(settings.orders, (i) => orderValue(i, settings.customers, Date.now())),
        avgOrderKeyBytes: averageJsonBytes(settings.orders, (i) => orderKey(i)) - 2,
        seedSeconds: Math.round((seed.seconds + ordersSeed.seconds) * 10) / 10,
      },
      ceiling: {
        ...ceiling,
        measuredAs: 'raw consume rate of the customers topic through kafkajs (PartitionReader), no processing, in the harness process',
      },
      storeCeiling: {
        ...storeCeiling,
        measuredAs:
          'the customers topic read as a global bootstrap reads it (PartitionReader, default restorationFetch sizes), each record written into a fresh LevelDB with raw classic-level chained batches (the global store options, memory.globalRestoreBatchRecords per batch, one write in flight), no decoding or Tributary store logic, in the harness process',
      },
      /** The global-table workload's median records/s of each side over `ceiling` and `storeCeiling` (absent without that workload). */
      materializeVsCeilings,
      workloads: results,
      measuredAs: {
        time: 'from the child\'s "starting" line (written right before start()) to the end condition, on the harness\'s clock',
        recordsPerSecond: 'input records / time (customer records for the materializations, orders for the joins)',
        cpu: 'user + system time of the child processes (/proc/<pid>/stat utime + stime, all threads) over the same window; bootCpuMs is what they used before (runtime start, module and class loading)',
        peakRss: 'VmHWM from /proc/<pid>/status at the end condition, summed over the side’s processes',
        peakSideMemory:
          'the highest of the side’s memory sampled every memorySampleMs from /proc/<pid>/smaps, spawn to end condition: anonymous pages summed over its processes, each file mapping (the node binary, libraries, table files) counted once at the largest resident size a process maps; for one process its RSS',
        ratios:
          'Tributary / Kafka Streams: recordsPerSecond > 1 means Tributary is faster; cpu and peakRss > 1 mean Tributary uses more. Medians: each side’s median figure, and the median of the per-round ratios',
      },
    };
  } finally {
    await admin
      .deleteTopics([topics.customers, topics.orders])
      .catch((error: unknown) => note(`could not delete the input topics: ${String(error)}`));
    await admin.disconnect();
  }
}

function printComparisonTable(result: ComparisonResult): void {
  const n = (value: number | null | undefined): string =>
    value === null || value === undefined ? '-' : new Intl.NumberFormat('en-US').format(value);
  const header = [
    'workload',
    'T rec/s',
    'KS rec/s',
    'T/KS',
    'CPU ms T',
    'CPU ms KS',
    'T/KS',
    'CPU us/rec T',
    'KS',
    'RSS MiB T',
    'KS',
    'T/KS',
    'mem MiB T',
    'KS',
    'T/KS',
  ];
  const rows = result.workloads.map((w) => [
    w.id,
    n(w.median.tributary.recordsPerSecond),
    n(w.median.kafkaStreams.recordsPerSecond),
    n(w.median.ratios.recordsPerSecond),
    n(w.median.tributary.cpuMs),
    n(w.median.kafkaStreams.cpuMs),
    n(w.median.ratios.cpuMs),
    n(w.median.tributary.cpuUsPerRecord),
    n(w.median.kafkaStreams.cpuUsPerRecord),
    n(w.median.tributary.peakRssMb),
    n(w.median.kafkaStreams.peakRssMb),
    n(w.median.ratios.peakRssMb),
    n(w.median.tributary.peakSideMemoryMb),
    n(w.median.kafkaStreams.peakSideMemoryMb),
    n(w.median.ratios.peakSideMemoryMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const title = `Tributary vs Kafka Streams ${result.sides.kafkaStreams.version} (${n(result.data.customers)} customers, ${n(result.data.orders)} orders, ${result.settings.rounds} round(s), medians) on ${result.machine.cpus} CPUs, Kafka ${result.kafka.version}, ${result.durationSeconds} s`;
  const retried = result.workloads.flatMap((w) =>
    w.runs.flatMap((run) =>
      [run.tributary, run.kafkaStreams]
        .filter((side) => side.failedAttempts.length > 0)
        .map((side) => `  ${w.id} round ${run.round} ${side.side}: ${side.failedAttempts.map((m) => m.split('\n')[0]).join(' | ')}`),
    ),
  );
  const vs = result.materializeVsCeilings;
  const materialize =
    vs === undefined
      ? ''
      : `; global-table / ceiling: T ${vs.tributary.ratioToCeiling}, KS ${vs.kafkaStreams.ratioToCeiling}; / store ceiling: T ${vs.tributary.ratioToStoreCeiling}, KS ${vs.kafkaStreams.ratioToStoreCeiling}`;
  const retriedText =
    retried.length === 0 ? '' : `runs that failed and were retried (see failedAttempts in the JSON):\n${retried.join('\n')}\n\n`;
  process.stderr.write(
    `\n${title}\nceiling (partition reader: fetch and decode, no processing): ${n(result.ceiling.recordsPerSecond)} records/s; store ceiling (raw LevelDB batch writes): ${n(result.storeCeiling.recordsPerSecond)} records/s${materialize}; JVM: ${result.sides.kafkaStreams.jvmFlags.join(' ')}\n\n${line(header)}\n${rows.map(line).join('\n')}\n\n${retriedText}`,
  );
}

/** Entry point of `npm run bench -- --vs-kafka-streams ...` (argv without that flag); returns the exit code. */
export function comparisonMain(argv: readonly string[]): Promise<number> {
  const display = new ProgressDisplay(process.stderr);
  const note = (text: string): void => display.writeLine(text);
  let ksApp: KafkaStreamsApp | undefined;
  return runBenchCommand(
    {
      name: 'bench-vs-kafka-streams',
      usage: comparisonUsage,
      parse: parseComparisonSettings,
      note,
      // Before the broker starts: a missing Java or Maven fails here, with nothing to stop.
      before: async (settings) => {
        if (settings.tributaryCpuProfDir !== undefined) mkdirSync(settings.tributaryCpuProfDir, { recursive: true });
        ksApp = await prepareKafkaStreamsApp(settings.kafkaStreamsVersion, (message) => note(`bench: ${message}`));
      },
      run: (settings, kafka, workDir) => runComparison(settings, kafka, ksApp as KafkaStreamsApp, workDir, display),
      printTable: printComparisonTable,
      cleanUp: (workDir) => rmSync(join(workDir, 'state'), { recursive: true, force: true }),
    },
    argv,
  );
}
