/**
 * `npm run bench`: Tributary's benchmarks against a real local broker, one command, one JSON document.
 *
 *   npm run bench                      # 1,000,000 customers / 1,000,000 orders (a few minutes on 2 cores)
 *   npm run bench -- --quick           # 100,000 / 100,000
 *   npm run bench -- --customers 500000 --orders 200000 --json-out bench.json
 *   npm run bench -- --vs-kafka-streams [--quick]  # side by side with Kafka Streams: scripts/bench/vs-kafka-streams.ts
 *   npm run bench -- --scaling [--quick]           # rebalances, failover, restart: scripts/bench/scaling-bench.ts
 *   npm run bench -- --memory [--customers 250000]  # peak RSS of N vs 4N keys, A/B settings: scripts/bench/memory-bench.ts
 *
 * Starts a broker from Maven jars unless KAFKA_BROKERS is set (and stops it at the end). Phases:
 *   seed         customers (~200-byte JSON, every 4th updated, every 20th deleted) into a compacted topic
 *   ceiling      raw consume rate of that topic through the partition reader, no processing
 *   storeCeiling the topic read as a global bootstrap reads it, each record written into a fresh LevelDB with raw
 *                classic-level batches (the global store's options and batch size, no Tributary logic): how much of
 *                the gap to the ceiling is the store itself
 *   materialize  cold bootstrap of the topic into a global store through TributaryApp (own process: peak RSS)
 *   warm         the same app restarted on its state directory: start to ready
 *   join         one CLI instance of the order-enrichment topology restores both customer stores (cold start),
 *                stops, an orders backlog is produced, the instance restarts on its state (warm start) and
 *                processes it: global-table join and co-partitioned (repartitioned) join, outputs/s from the
 *                outputs' own append times
 *   latency      a paced order flow; produce time to the output's broker append time (LogAppendTime), p50/p99
 *   exactlyOnce  join throughput and latency again with --processing-guarantee exactly-once (eos-join.ts)
 *   lookups      HTTP point lookups (local, forwarded, global) and 100-entry scans against two CLI instances
 *   aggregations every order of the orders topic through groupBy(customerId).count() and through a windowed sum per
 *                customer per hour, one CLI instance each (scripts/bench/aggregation-bench.ts), records/s from the
 *                changelog's append times
 *   restore      scripts/bench/restore-bench.ts (restoreStore into LevelDB from a generated source, no Kafka)
 *   httpInProcess scripts/bench/http-load.ts (query server over LevelDB and in-memory stores, no Kafka): saturated
 *                rates against a fastify hello world, then `openLoop`, latency at half hello world's rate
 * The JSON goes to stdout (and --json-out); progress and a readable table go to stderr.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { ProgressDisplay } from '../../cli/progress.js';
import { customerKey, isDeletedCustomer, joinableOrders, OrderFlow, produceOrders, seedCustomers } from '../../examples/data-generator.js';
import { GLOBAL_STORE, PARTITIONED_STORE } from '../../examples/order-enrichment.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { benchTopics } from './bench-topology.js';
import type { BootstrapWorkerResult } from './bootstrap-worker.js';
import { CliInstance, freeLoopbackPorts } from './cli-instances.js';
import { compiledScript } from './compiled-scripts.js';
import { runHttpLoad } from './http-load.js';
import type { KafkaSession } from './kafka-session.js';
import {
  appendWindow,
  endOffsets,
  measureConsumeCeiling,
  measureStoreCeiling,
  outputLatency,
  readFrom,
  waitForTopicCounts,
} from './kafka-measure.js';
import { runLookupLoad } from './lookup-load.js';
import { createEosOutputTopics, eosOutputPrefix, runEosJoinBench } from './eos-join.js';
import { runAggregationBench } from './aggregation-bench.js';
import { runRestoreBench } from './restore-bench.js';
import { perSecond, round } from './stats.js';
import { comparisonMain } from './vs-kafka-streams.js';
import { nonNegativeIntOption, positiveIntOption, runBenchCommand } from './bench-command.js';
import { scalingMain } from './scaling-bench.js';
import { memoryMain } from './memory-bench.js';
import { WORKER_NODE_FLAGS } from './worker-flags.js';

const PARTITIONS = 4;
const PRODUCERS = 4;

interface BenchSettings {
  readonly mode: 'quick' | 'default' | 'custom';
  readonly customers: number;
  readonly orders: number;
  readonly pacedRatePerSecond: number;
  readonly pacedSeconds: number;
  /** Seconds of the paced flow before the latency window opens (the instance may still settle after the backlog). */
  readonly pacedSettleSeconds: number;
  readonly lookupRequests: number;
  readonly concurrency: number;
  readonly partitions: number;
  readonly producers: number;
  readonly jsonOut: string | undefined;
}

const usage = `Usage: npm run bench -- [options]

  --quick                 100,000 customers and orders (default 1,000,000 each)
  --customers <n>         Customers to seed
  --orders <n>            Orders in the throughput backlog
  --paced-rate <n>        Orders per second in the latency run (default 1000, quick 500)
  --paced-seconds <n>     Length of the latency window (default 30, quick 30)
  --paced-settle-seconds <n>  Paced seconds before the window opens, not counted (default 5)
  --lookup-requests <n>   Requests per lookup scenario (default 20000, quick 5000)
  --concurrency <n>       HTTP requests in flight (default 16)
  --json-out <file>       Also write the JSON document to this file
  --vs-kafka-streams      Compare with Kafka Streams instead (own options: npm run bench -- --vs-kafka-streams --help)
  --scaling               Rebalances, failover and restart instead (own options: npm run bench -- --scaling --help)
  --memory                Peak RSS of N vs 4N keys and A/B settings instead (options: scripts/bench/memory-bench.ts)
Env: KAFKA_BROKERS uses that broker instead of starting one; KAFKA_VERSION picks the local broker's version.`;

function parseSettings(argv: readonly string[]): BenchSettings | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      customers: { type: 'string' },
      orders: { type: 'string' },
      'paced-rate': { type: 'string' },
      'paced-seconds': { type: 'string' },
      'paced-settle-seconds': { type: 'string' },
      'lookup-requests': { type: 'string' },
      concurrency: { type: 'string' },
      'json-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const int = positiveIntOption;
  const customers = int('customers', values.customers, quick ? 100_000 : 1_000_000);
  const orders = int('orders', values.orders, quick ? 100_000 : 1_000_000);
  const custom = values.customers !== undefined || values.orders !== undefined;
  return {
    mode: custom ? 'custom' : quick ? 'quick' : 'default',
    customers,
    orders,
    pacedRatePerSecond: int('paced-rate', values['paced-rate'], quick ? 500 : 1000),
    pacedSeconds: int('paced-seconds', values['paced-seconds'], 30),
    pacedSettleSeconds: nonNegativeIntOption('paced-settle-seconds', values['paced-settle-seconds'], 5),
    lookupRequests: int('lookup-requests', values['lookup-requests'], quick ? 5_000 : 20_000),
    concurrency: int('concurrency', values.concurrency, 16),
    partitions: PARTITIONS,
    producers: PRODUCERS,
    jsonOut: values['json-out'],
  };
}

const display = new ProgressDisplay(process.stderr);
const note = (text: string): void => display.writeLine(text);

/** Runs the bootstrap worker (its own process) and returns its JSON line. */
function runBootstrapWorker(
  brokers: string,
  topic: string,
  stateDir: string,
  applicationId: string,
  logFile: string,
): Promise<BootstrapWorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...WORKER_NODE_FLAGS, compiledScript(REPO_ROOT, 'scripts/bench/bootstrap-worker.ts'), brokers, topic, stateDir, applicationId],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      writeFileSync(logFile, `${stdout}\n--- stderr ---\n${stderr}`);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`bootstrap worker exited with code ${code}:\n${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as BootstrapWorkerResult);
    });
  });
}

/** Waits until one instance's /metadata shows `count` instances together holding every store partition. */
async function waitForFullAssignment(url: string, count: number, partitions: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/metadata`, { signal: AbortSignal.timeout(5000) });
      last = await response.text();
      const metadata = JSON.parse(last) as { instances: { storePartitions: Record<string, number[]> }[] };
      const held = new Set(metadata.instances.flatMap((i) => i.storePartitions[PARTITIONED_STORE] ?? []));
      if (metadata.instances.length === count && held.size === partitions) return;
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`instances did not settle within ${timeoutMs} ms; last /metadata: ${last}`);
}

async function createBenchTopics(client: KafkaClient, topics: ReturnType<typeof benchTopics>): Promise<void> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    // Outputs stamp LogAppendTime: an output record's timestamp is when the broker appended it (latency end point).
    const appendTime = { 'message.timestamp.type': 'LogAppendTime' };
    await admin.ensureTopics([
      { topic: topics.customers, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } },
      { topic: topics.orders, partitions: PARTITIONS },
      { topic: topics.enriched, partitions: PARTITIONS, configs: appendTime },
      { topic: topics.byCustomer, partitions: PARTITIONS, configs: appendTime },
    ]);
  } finally {
    await admin.disconnect();
  }
}

type Row = readonly [string, string];

function printTable(result: BenchResult): void {
  const n = (value: number) => new Intl.NumberFormat('en-US').format(value);
  const rows: Row[] = [
    ['seed (produce)', `${n(result.seed.records)} records, ${n(result.seed.recordsPerSecond)} records/s`],
    ['consume ceiling', `${n(result.ceiling.recordsPerSecond)} records/s (${n(result.ceiling.records)} records)`],
    ['store ceiling', `${n(result.storeCeiling.recordsPerSecond)} records/s (raw LevelDB batch writes of the same records)`],
    [
      'materialize (cold)',
      `${n(result.materialize.recordsPerSecond)} records/s, ${result.materialize.ratioToCeiling} of ceiling, ${result.materialize.ratioToStoreCeiling} of store ceiling, peak RSS ${result.materialize.peakRssMb} MiB`,
    ],
    ['warm restart', `${n(result.warmRestart.startToReadyMs)} ms to ready (${n(result.warmRestart.restoredRecords)} records restored)`],
    [
      'app instance cold start',
      `${n(result.join.instanceColdReadyMs)} ms to ready (restores both customer stores), peak RSS ${result.join.restorePeakRssMb ?? '?'} MiB`,
    ],
    ['app instance warm start', `${n(result.join.instanceWarmReadyMs)} ms to ready`],
    ['join: global table', `${n(result.join.globalJoin.recordsPerSecond)} records/s (${n(result.join.globalJoin.outputs)} outputs)`],
    [
      'join: co-partitioned',
      `${n(result.join.coPartitionedJoin.recordsPerSecond)} records/s (${n(result.join.coPartitionedJoin.outputs)} outputs, via repartition)`,
    ],
    [
      'join: both (the backlog)',
      `${n(result.join.bothJoins.recordsPerSecond)} records/s (${n(result.join.bothJoins.outputs)} outputs in ${n(result.join.bothJoins.ms)} ms)`,
    ],
    [
      'latency: global',
      `p50 ${result.latency.globalJoin.p50Ms} ms, p99 ${result.latency.globalJoin.p99Ms} ms at ${n(result.latency.ratePerSecond)} orders/s`,
    ],
    ['latency: co-partitioned', `p50 ${result.latency.coPartitionedJoin.p50Ms} ms, p99 ${result.latency.coPartitionedJoin.p99Ms} ms`],
    [
      'exactly-once join: global',
      `${n(result.exactlyOnce.globalJoin.recordsPerSecond)} records/s (${n(result.exactlyOnce.globalJoin.outputs)} outputs)`,
    ],
    [
      'exactly-once join: co-partitioned',
      `${n(result.exactlyOnce.coPartitionedJoin.recordsPerSecond)} records/s (${n(result.exactlyOnce.coPartitionedJoin.outputs)} outputs)`,
    ],
    [
      'exactly-once latency',
      `global p50 ${result.exactlyOnce.latency.globalJoin.p50Ms} ms, p99 ${result.exactlyOnce.latency.globalJoin.p99Ms} ms; co-partitioned p50 ${result.exactlyOnce.latency.coPartitionedJoin.p50Ms} ms, p99 ${result.exactlyOnce.latency.coPartitionedJoin.p99Ms} ms`,
    ],
    ['lookup: local', `${n(result.lookups.local.rps)} req/s, p50 ${result.lookups.local.p50Ms} ms, p99 ${result.lookups.local.p99Ms} ms`],
    [
      'lookup: forwarded',
      `${n(result.lookups.forwarded.rps)} req/s, p50 ${result.lookups.forwarded.p50Ms} ms, p99 ${result.lookups.forwarded.p99Ms} ms`,
    ],
    [
      'lookup: global store',
      `${n(result.lookups.global.rps)} req/s, p50 ${result.lookups.global.p50Ms} ms, p99 ${result.lookups.global.p99Ms} ms`,
    ],
    [
      'scan 100 entries',
      `${n(result.lookups.scan100.rps)} req/s, p50 ${result.lookups.scan100.p50Ms} ms, p99 ${result.lookups.scan100.p99Ms} ms`,
    ],
    [
      'aggregation: count',
      `${n(result.aggregations.count.recordsPerSecond)} records/s (groupBy(customerId).count(), ${n(result.aggregations.count.orders)} orders)`,
    ],
    [
      'aggregation: windowed',
      `${n(result.aggregations.windowed.recordsPerSecond)} records/s (sum per customer per hour, ${n(result.aggregations.windowed.orders)} orders)`,
    ],
    [
      'restore bench (no Kafka)',
      `${n(result.restoreBench.recordsPerSecond)} records/s into LevelDB (${n(result.restoreBench.records)} records)`,
    ],
    ...(['local', 'global'] as const).map((name): [string, string] => {
      const { saturated } = result.httpInProcess[name];
      const ratio = result.httpInProcess.vsHelloWorld;
      return [
        `http in-process: ${name} lookups`,
        `${n(saturated.rps)} req/s (${name === 'local' ? ratio.localRate : ratio.globalRate}× hello world), ${saturated.cpuUsPerRequest} µs CPU/req`,
      ];
    }),
    [
      'http in-process: fastify hello world',
      `${n(result.httpInProcess.helloWorld.saturated.rps)} req/s, ${result.httpInProcess.helloWorld.saturated.cpuUsPerRequest} µs CPU/req`,
    ],
    ...(['helloWorld', 'local', 'global'] as const).map((name): [string, string] => {
      const { openLoop } = result.httpInProcess;
      const run = openLoop.summary[name];
      return [
        `http open loop: ${name === 'helloWorld' ? 'hello world' : `${name} lookups`}`,
        `at ${n(openLoop.rateRps)} req/s (half of hello world's ${n(openLoop.saturatedRps.helloWorld)}): p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms`,
      ];
    }),
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const header = `Tributary bench (${result.settings.mode}: ${n(result.settings.customers)} customers, ${n(result.settings.orders)} orders) on ${result.machine.cpus} CPUs, Kafka ${result.kafka.version}, ${result.durationSeconds} s`;
  process.stderr.write(
    `\n${header}\n${'-'.repeat(header.length)}\n${rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n')}\n\n`,
  );
}

type BenchResult = Awaited<ReturnType<typeof runBench>>;

async function runBench(settings: BenchSettings, kafka: KafkaSession, workDir: string) {
  const startedAt = new Date();
  const began = performance.now();
  const runId = randomBytes(3).toString('hex');
  const prefix = `bench-${runId}`;
  const topics = benchTopics(prefix);
  const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: `tributary-bench-${runId}` });
  const instances: CliInstance[] = [];
  await createBenchTopics(client, topics);

  try {
    // seed
    display.begin('seed customers');
    const seed = await seedCustomers(client, {
      topic: topics.customers,
      partitions: PARTITIONS,
      count: settings.customers,
      producers: settings.producers,
      onProgress: (sent, total) => display.update({ done: sent, total, unit: 'records' }),
    });
    display.finish();

    // ceiling
    display.begin('consume ceiling');
    const ceiling = await measureConsumeCeiling(client, topics.customers);
    display.finish(`${ceiling.recordsPerSecond} records/s`);
    display.begin('store ceiling');
    const storeCeiling = await measureStoreCeiling(client, topics.customers, workDir);
    display.finish(`${storeCeiling.recordsPerSecond} records/s`);

    // materialize (cold) and warm restart, in a worker process
    const bootstrapDir = join(workDir, 'bootstrap-state');
    display.begin('materialize (cold bootstrap)');
    const cold = await runBootstrapWorker(
      kafka.brokers,
      topics.customers,
      bootstrapDir,
      `${prefix}-bootstrap`,
      join(workDir, 'bootstrap-cold.log'),
    );
    const coldMs = cold.startToRestoredMs ?? cold.startToReadyMs;
    display.finish(`${cold.restoredRecords} records in ${coldMs} ms`);
    display.begin('warm restart');
    const warm = await runBootstrapWorker(
      kafka.brokers,
      topics.customers,
      bootstrapDir,
      `${prefix}-bootstrap`,
      join(workDir, 'bootstrap-warm.log'),
    );
    display.finish(`${warm.startToReadyMs} ms to ready`);
    rmSync(bootstrapDir, { recursive: true, force: true });

    // join throughput: instance A restores both stores (no orders yet) and stops; the backlog is produced; A
    // restarts on its state (warm) and works through the backlog alone, so restoration never shares the CPU.
    const applicationId = `${prefix}-app`;
    // Ports chosen up front (port 0 would hide the URL from this process).
    const [portA, portB] = await freeLoopbackPorts(2);
    const startInstance = (name: string, port: number, exactlyOnce = false) => {
      const instance = CliInstance.start({
        name,
        module: 'scripts/bench/bench-topology.ts',
        brokers: kafka.brokers,
        applicationId: exactlyOnce ? `${applicationId}-eos` : applicationId,
        stateDir: join(workDir, `${name}-state`),
        port,
        logFile: join(workDir, `${name}.log`),
        env: exactlyOnce ? { BENCH_TOPIC_PREFIX: prefix, BENCH_OUTPUT_PREFIX: eosOutputPrefix(prefix) } : { BENCH_TOPIC_PREFIX: prefix },
        extraArgs: ['--log-level', 'warn', ...(exactlyOnce ? ['--processing-guarantee', 'exactly-once'] : [])],
      });
      instances.push(instance);
      return instance;
    };
    display.begin('join: instance A restoring both stores');
    const firstA = startInstance('instance-a', portA);
    const coldReadyMs = Math.round(await firstA.waitUntilReady(30 * 60_000));
    const restorePeakRssMb = firstA.peakRssMb();
    await firstA.stop();
    display.finish(`ready in ${coldReadyMs} ms`);
    // The exactly-once instance restores its stores too before the backlog exists (measured later, warm, alone).
    const eosTopics = benchTopics(prefix, eosOutputPrefix(prefix));
    await createEosOutputTopics(client, eosTopics, PARTITIONS);
    display.begin('join (exactly-once): instance E restoring both stores');
    const firstE = startInstance('instance-eos', portA, true);
    await firstE.waitUntilReady(30 * 60_000);
    await firstE.stop();
    display.finish();

    display.begin('produce order backlog');
    const backlog = await produceOrders(client, {
      topic: topics.orders,
      partitions: PARTITIONS,
      count: settings.orders,
      customerCount: settings.customers,
      producers: settings.producers,
      onProgress: (sent, total) => display.update({ done: sent, total, unit: 'orders' }),
    });
    display.finish();
    const expectedBacklog = joinableOrders(0, settings.orders, settings.customers);

    display.begin('join: instance A restarting on its state');
    const a = startInstance('instance-a', portA);
    const warmReadyMs = Math.round(await a.waitUntilReady(30 * 60_000));
    display.finish(`ready in ${warmReadyMs} ms`);
    display.begin('join: processing the backlog');
    await waitForTopicCounts(
      client,
      new Map([
        [topics.enriched, expectedBacklog],
        [topics.byCustomer, expectedBacklog],
      ]),
      performance.now(),
      { timeoutMs: 30 * 60_000, stillAlive: () => a.running },
    );
    // Throughput from the outputs' own append times: tasks without stores start before the instance is "ready".
    const globalJoin = await appendWindow(client, topics.enriched);
    const coPartitionedJoin = await appendWindow(client, topics.byCustomer);
    // Each join's own window stretches when the two interleave more finely (smaller group fetches hand the consumer
    // fewer partitions per response): the backlog as a whole is the first output of either to the last of either.
    const bothJoinsMs = Math.max(
      1,
      Math.max(globalJoin.lastAppendMs, coPartitionedJoin.lastAppendMs) -
        Math.min(globalJoin.firstAppendMs, coPartitionedJoin.firstAppendMs),
    );
    display.finish(`global ${globalJoin.recordsPerSecond} outputs/s, co-partitioned ${coPartitionedJoin.recordsPerSecond} outputs/s`);
    const joinPeakRssMb = a.peakRssMb();

    // latency at a fixed rate
    display.begin(
      `latency: ${settings.pacedRatePerSecond} orders/s, ${settings.pacedSettleSeconds} s to settle, then ${settings.pacedSeconds} s measured`,
    );
    const fromEnriched = await endOffsets(client, topics.enriched);
    const fromByCustomer = await endOffsets(client, topics.byCustomer);
    const sum = (offsets: ReadonlyMap<number, number>) => [...offsets.values()].reduce((total, end) => total + end, 0);
    const enrichedBefore = sum(fromEnriched);
    const byCustomerBefore = sum(fromByCustomer);
    const flow = new OrderFlow(client, {
      topic: topics.orders,
      partitions: PARTITIONS,
      customerCount: settings.customers,
      ordersPerSecond: settings.pacedRatePerSecond,
      firstIndex: settings.orders,
    });
    await flow.start();
    // The first seconds after a backlog show whatever the instance still finishes (compactions, GCs, commits); a p99
    // over a short window moved with them from run to run, so the window opens after a settling time.
    await new Promise((resolve) => setTimeout(resolve, settings.pacedSettleSeconds * 1000));
    const windowEnriched = await endOffsets(client, topics.enriched);
    const windowByCustomer = await endOffsets(client, topics.byCustomer);
    await new Promise((resolve) => setTimeout(resolve, settings.pacedSeconds * 1000));
    await flow.stop();
    if (flow.failedSends > 0) note(`  latency run: ${flow.failedSends} orders failed to send`);
    const pacedJoinable = joinableOrders(settings.orders, flow.nextIndex - settings.orders, settings.customers);
    await waitForTopicCounts(
      client,
      new Map([
        [topics.enriched, enrichedBefore + pacedJoinable],
        [topics.byCustomer, byCustomerBefore + pacedJoinable],
      ]),
      performance.now(),
      { timeoutMs: 120_000, stillAlive: () => a.running },
    );
    const globalLatency = outputLatency(await readFrom(client, topics.enriched, windowEnriched));
    const coPartitionedLatency = outputLatency(await readFrom(client, topics.byCustomer, windowByCustomer));
    display.finish(`p99 global ${globalLatency.p99Ms} ms, co-partitioned ${coPartitionedLatency.p99Ms} ms`);

    // lookups against two instances
    display.begin('lookups: instance B joining');
    const b = startInstance('instance-b', portB);
    await b.waitUntilReady(30 * 60_000);
    await waitForFullAssignment(a.url, 2, PARTITIONS, 10 * 60_000);
    await Promise.all([a.waitUntilReady(10 * 60_000), b.waitUntilReady(10 * 60_000)]);
    display.finish();
    display.begin('lookups');
    const keys: string[] = [];
    const step = Math.max(1, Math.floor(settings.customers / 10_000));
    for (let i = 0; i < settings.customers && keys.length < 10_000; i += step) if (!isDeletedCustomer(i)) keys.push(customerKey(i));
    const lookups = await runLookupLoad({
      urls: [a.url, b.url],
      partitionedStore: PARTITIONED_STORE,
      globalStore: GLOBAL_STORE,
      partitions: PARTITIONS,
      keys,
      requests: settings.lookupRequests,
      concurrency: settings.concurrency,
    });
    display.finish(`local ${lookups.local.rps} req/s, forwarded ${lookups.forwarded.rps} req/s`);
    const instancePeakRssMb = { a: a.peakRssMb(), b: b.peakRssMb() };
    await Promise.all(instances.map((instance) => instance.stop()));

    display.begin('join (exactly-once): instance E over every order so far, then paced');
    const exactlyOnce = await runEosJoinBench({
      client,
      topics: eosTopics,
      partitions: PARTITIONS,
      customers: settings.customers,
      ordersSoFar: flow.nextIndex,
      pacedRatePerSecond: settings.pacedRatePerSecond,
      pacedSeconds: settings.pacedSeconds,
      start: async () => {
        const e = startInstance('instance-eos', portA, true);
        const readyMs = Math.round(await e.waitUntilReady(30 * 60_000));
        return { readyMs, running: () => e.running };
      },
    });
    await Promise.all(instances.map((instance) => instance.stop()));
    display.finish(
      `global ${exactlyOnce.globalJoin.recordsPerSecond} outputs/s, co-partitioned ${exactlyOnce.coPartitionedJoin.recordsPerSecond} outputs/s, p99 ${exactlyOnce.latency.globalJoin.p99Ms}/${exactlyOnce.latency.coPartitionedJoin.p99Ms} ms`,
    );

    display.begin('aggregations');
    const aggregations = await runAggregationBench({
      client,
      brokers: kafka.brokers,
      prefix,
      ordersTopic: topics.orders,
      partitions: PARTITIONS,
      port: portA,
      workDir,
      onStep: (text) => note(`  ${text}`),
    });
    display.finish(`count ${aggregations.count.recordsPerSecond} records/s, windowed ${aggregations.windowed.recordsPerSecond} records/s`);

    display.begin('restore bench (no Kafka)');
    const restoreBench = await runRestoreBench({ records: settings.customers });
    display.finish(`${restoreBench.recordsPerSecond} records/s`);
    display.begin('http in-process (no Kafka)');
    const httpInProcess = await runHttpLoad({ keys: 10_000, requests: settings.lookupRequests, concurrency: settings.concurrency });
    display.finish(`local ${httpInProcess.local.saturated.rps} req/s, global ${httpInProcess.global.saturated.rps} req/s`);

    const materializeRate = perSecond(cold.restoredRecords, coldMs);
    return {
      tool: 'tributary-bench',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - began) / 1000),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(totalmem() / 1024 ** 3, 1),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      kafka: {
        version: kafka.version,
        broker: kafka.broker ? 'local, started by the bench' : 'KAFKA_BROKERS',
        partitionsPerTopic: PARTITIONS,
      },
      settings: { ...settings, jsonOut: undefined, valueBytes: '~200 (JSON customer)', updateEvery: 4, deleteEvery: 20 },
      seed: {
        records: seed.records,
        seconds: round(seed.seconds, 2),
        recordsPerSecond: seed.recordsPerSecond,
        producers: settings.producers,
      },
      ceiling,
      storeCeiling,
      materialize: {
        records: cold.restoredRecords,
        ms: coldMs,
        recordsPerSecond: materializeRate,
        ratioToCeiling: ceiling.recordsPerSecond > 0 ? round(materializeRate / ceiling.recordsPerSecond, 2) : 0,
        ratioToStoreCeiling: storeCeiling.recordsPerSecond > 0 ? round(materializeRate / storeCeiling.recordsPerSecond, 2) : 0,
        startToReadyMs: cold.startToReadyMs,
        peakRssMb: cold.peakRssMb,
      },
      warmRestart: { startToReadyMs: warm.startToReadyMs, restoredRecords: warm.restoredRecords, peakRssMb: warm.peakRssMb },
      join: {
        orders: settings.orders,
        joinableOrders: expectedBacklog,
        produce: { seconds: round(backlog.seconds, 2), ordersPerSecond: perSecond(settings.orders, backlog.seconds * 1000) },
        instanceColdReadyMs: coldReadyMs,
        instanceWarmReadyMs: warmReadyMs,
        restorePeakRssMb,
        globalJoin: { outputs: globalJoin.records, ms: globalJoin.ms, recordsPerSecond: globalJoin.recordsPerSecond },
        coPartitionedJoin: {
          outputs: coPartitionedJoin.records,
          ms: coPartitionedJoin.ms,
          recordsPerSecond: coPartitionedJoin.recordsPerSecond,
        },
        bothJoins: {
          outputs: globalJoin.records + coPartitionedJoin.records,
          ms: bothJoinsMs,
          recordsPerSecond: perSecond(globalJoin.records + coPartitionedJoin.records, bothJoinsMs),
        },
        peakRssMb: joinPeakRssMb,
        measuredAs:
          'joined outputs per second between the first and the last output append (LogAppendTime) of the backlog, processed by one warm-started instance; both joins run in it at once, sharing its CPU (bothJoins: both outputs over the span from the first output of either to the last of either, the time the backlog took)',
      },
      latency: {
        ratePerSecond: settings.pacedRatePerSecond,
        seconds: settings.pacedSeconds,
        settleSeconds: settings.pacedSettleSeconds,
        ordersSent: flow.sent,
        globalJoin: globalLatency,
        coPartitionedJoin: coPartitionedLatency,
        measuredAs:
          'output LogAppendTime minus order produce time (same clock), for the outputs appended after the settling seconds (ordersSent counts the whole flow); includes the producer tick (50 ms batches)',
      },
      exactlyOnce,
      lookups: {
        target: 'two CLI instances (child processes) of the order-enrichment topology',
        keys: keys.length,
        ...lookups,
        instancePeakRssMb,
      },
      aggregations,
      restoreBench,
      httpInProcess,
    };
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
    await deleteBenchTopics(client, prefix).catch((error: unknown) => note(`could not delete the bench topics: ${String(error)}`));
  }
}

async function deleteBenchTopics(client: KafkaClient, prefix: string): Promise<void> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}-`));
    await admin.deleteTopics(topics);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--vs-kafka-streams')) return comparisonMain(argv.filter((arg) => arg !== '--vs-kafka-streams'));
  if (argv.includes('--scaling')) return scalingMain(argv.filter((arg) => arg !== '--scaling'));
  if (argv.includes('--memory')) return memoryMain(argv.filter((arg) => arg !== '--memory'));
  return runBenchCommand(
    {
      name: 'bench',
      usage,
      parse: parseSettings,
      run: runBench,
      printTable,
      note,
      cleanUp: (workDir) => {
        for (const name of [
          'instance-a-state',
          'instance-b-state',
          'bootstrap-state',
          'aggregation-count-state',
          'aggregation-windowed-state',
        ])
          rmSync(join(workDir, name), { recursive: true, force: true });
      },
    },
    argv,
  );
}

process.exitCode = await main();
