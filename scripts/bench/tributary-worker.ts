/**
 * The Tributary side of `npm run bench -- --vs-kafka-streams`: one of four workloads over the benchmark's topics, in
 * its own process so the harness reads its CPU and peak RSS from /proc. The counterpart of
 * scripts/bench/kafka-streams/.../KafkaStreamsBench.java: same arguments, same JSON event lines on stdout
 *
 *   {"event":"starting"}  right before app.start() (the harness takes time and CPU from here)
 *   {"event":"running"}   app.start() resolved (RUNNING: global tables bootstrapped, group joined)
 *   {"event":"ready"}     global-table: RUNNING; table, both-joins: waitUntilReady() (every table partition restored)
 *   {"event":"error","message":...}   an error the app reported (a "failed" line follows when it is fatal)
 *   {"event":"failed","message":...}
 *   {"event":"stopped"}   after a graceful stop (SIGTERM)
 *   {"event":"state","to":...}, {"event":"assignment","tasks":[...],"added":[...],"removed":[...],"members":n}
 *                         the app's state changes and assignments (for harnesses that time rebalances)
 *   {"event":"memory","state":...,"rssMb":...}   with --memory-sample-ms: process.memoryUsage() every n ms (MiB), and
 *                         {"event":"memory-peaks",...} (the highest of each figure per app state) before "ready" and
 *                         on stop, so a harness sees where the memory goes per stage (bootstrap, running)
 *
 *   node --import tsx scripts/bench/tributary-worker.ts <workload> --brokers h:p --application-id id --state-dir dir
 *     --customers-topic t [--orders-topic t --output-topic t] [--commit-interval-ms 1000] [--instance-id a]
 *     [--memory-sample-ms 250] [--app-options '{"memory":{...}}'] (JSON merged into the TributaryApp options)
 *     [--heap-snapshot-after-ms n] (a V8 heap snapshot n ms after RUNNING, written to the working directory)
 *     [--threads n] (n instances of the workload in one process, each a TributaryApp on its own worker thread with
 *     instance id <id>-t<k> and state directory <dir>/t<k>: what two stream workers sharing one process would save
 *     against two processes; each thread prints its own event lines)
 *
 * Workloads: global-table, table, global-join, copartitioned-join, both-joins (the two joins in one instance, outputs to
 * --output-topic and --second-output-topic; no Kafka Streams counterpart: scripts/bench/two-joins-bench.ts). Serdes: string keys, Serdes.json() values (the same
 * bytes the Kafka Streams side reads and writes with Jackson). No query server (the Java side has none either).
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { Serdes, StreamsBuilder, type Topology } from '../../index.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import { enrich, type Customer, type EnrichedOrder, type Order } from '../../examples/order-enrichment.js';

export const WORKER_WORKLOADS = ['global-table', 'table', 'global-join', 'copartitioned-join', 'both-joins'] as const;
export type WorkerWorkload = (typeof WORKER_WORKLOADS)[number];

export const GLOBAL_STORE = 'customers-global';
export const TABLE_STORE = 'customers';
export const REPARTITION_NAME = 'orders-by-customer';

export interface WorkerTopics {
  readonly customers: string;
  readonly orders?: string;
  readonly output?: string;
  /** both-joins: the co-partitioned join's output (the global join writes to `output`). */
  readonly secondOutput?: string;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new Error(`--${flag} is required for this workload`);
  return value;
}

/** The same topology as KafkaStreamsBench#topology for `workload`. */
export function workerTopology(workload: WorkerWorkload, applicationId: string, topics: WorkerTopics): Topology {
  const builder = new StreamsBuilder();
  const customerSerdes = { key: Serdes.string(), value: Serdes.json<Customer>() };
  const orderSerdes = { key: Serdes.string(), value: Serdes.json<Order>() };
  switch (workload) {
    case 'global-table':
      builder.globalTable(topics.customers, { ...customerSerdes, store: GLOBAL_STORE });
      break;
    case 'table':
      builder.table(topics.customers, { ...customerSerdes, store: TABLE_STORE });
      break;
    case 'global-join': {
      const customers = builder.globalTable(topics.customers, { ...customerSerdes, store: GLOBAL_STORE });
      builder
        .stream(required(topics.orders, 'orders-topic'), orderSerdes)
        .join(
          customers,
          (_orderId, order) => order.customerId,
          (order, customer) => enrich(order, customer),
        )
        .to(required(topics.output, 'output-topic'), { value: Serdes.json<EnrichedOrder>() });
      break;
    }
    case 'copartitioned-join': {
      const customers = builder.table(topics.customers, { ...customerSerdes, store: TABLE_STORE });
      builder
        .stream(required(topics.orders, 'orders-topic'), orderSerdes)
        .selectKey((_orderId, order) => order.customerId, { key: Serdes.string() })
        .join(customers, (order, customer) => enrich(order, customer), { repartitionName: REPARTITION_NAME })
        .to(required(topics.output, 'output-topic'), { value: Serdes.json<EnrichedOrder>() });
      break;
    }
    case 'both-joins': {
      // Both joins in one instance, as the order-enrichment topology of `npm run bench` (one group, both sharing the CPU).
      const globalCustomers = builder.globalTable(topics.customers, { ...customerSerdes, store: GLOBAL_STORE });
      const customers = builder.table(topics.customers, { ...customerSerdes, store: TABLE_STORE });
      const orders = builder.stream(required(topics.orders, 'orders-topic'), orderSerdes);
      orders
        .join(
          globalCustomers,
          (_orderId, order) => order.customerId,
          (order, customer) => enrich(order, customer),
        )
        .to(required(topics.output, 'output-topic'), { value: Serdes.json<EnrichedOrder>() });
      orders
        .selectKey((_orderId, order) => order.customerId, { key: Serdes.string() })
        .join(customers, (order, customer) => enrich(order, customer), { repartitionName: REPARTITION_NAME })
        .to(required(topics.secondOutput, 'second-output-topic'), { value: Serdes.json<EnrichedOrder>() });
      break;
    }
  }
  return builder.build({ applicationId });
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const MEMORY_FIELDS = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const;
/** Linux: the resident set split into anonymous memory and mapped files (LevelDB maps the table files it reads). */
const PROC_FIELDS = ['RssAnon', 'RssFile'] as const;
type MemoryFigures = Record<(typeof MEMORY_FIELDS)[number] | (typeof PROC_FIELDS)[number], number>;

function memoryFigures(): MemoryFigures {
  const usage = process.memoryUsage();
  const figures: Record<string, number> = {};
  for (const field of MEMORY_FIELDS) figures[field] = Math.round((usage[field] / 1048576) * 10) / 10;
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux
  }
  for (const field of PROC_FIELDS) {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    figures[field] = match === null ? 0 : Math.round((Number(match[1]) / 1024) * 10) / 10;
  }
  return figures as MemoryFigures;
}

/** Samples process.memoryUsage() every `intervalMs`; keeps the peak of each figure per app state (MiB). */
class MemorySampler {
  private readonly peaks = new Map<string, MemoryFigures>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    intervalMs: number,
    private readonly state: () => string,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  sample(): void {
    const state = this.state();
    const figures = memoryFigures();
    const peak = this.peaks.get(state);
    const fields = Object.keys(figures) as (keyof MemoryFigures)[];
    this.peaks.set(
      state,
      peak === undefined ? figures : (Object.fromEntries(fields.map((f) => [f, Math.max(peak[f], figures[f])])) as MemoryFigures),
    );
    // V8's resident pages per space (MiB): what of the anonymous memory is V8's heap and which part of it.
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [
        space.space_name.replace(/_space$/, ''),
        Math.round((space.physical_space_size / 1048576) * 10) / 10,
      ]),
    );
    emit({ event: 'memory', state, ...figures, spaces });
  }

  /** The peaks so far; with node --expose-gc also the figures right after a full GC (what is live). */
  emitPeaks(): void {
    this.sample();
    const gc = (globalThis as { gc?: () => void }).gc;
    let afterGc: MemoryFigures | undefined;
    if (gc !== undefined) {
      gc();
      afterGc = memoryFigures();
    }
    emit({ event: 'memory-peaks', unit: 'MiB', peaks: Object.fromEntries(this.peaks), afterGc });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [workloadArg, ...rest] = argv;
  const workload = WORKER_WORKLOADS.find((w) => w === workloadArg);
  if (workload === undefined) throw new Error(`first argument must be one of ${WORKER_WORKLOADS.join(', ')}, got "${workloadArg}"`);
  const { values } = parseArgs({
    args: rest,
    options: {
      brokers: { type: 'string' },
      'application-id': { type: 'string' },
      'state-dir': { type: 'string' },
      'customers-topic': { type: 'string' },
      'orders-topic': { type: 'string' },
      'output-topic': { type: 'string' },
      'second-output-topic': { type: 'string' },
      'commit-interval-ms': { type: 'string' },
      'instance-id': { type: 'string' },
      'memory-sample-ms': { type: 'string' },
      'app-options': { type: 'string' },
      'heap-snapshot-after-ms': { type: 'string' },
      threads: { type: 'string' },
    },
    strict: true,
  });
  const threads = Number(values.threads ?? 1);
  if (threads > 1 && isMainThread) {
    await runThreads(threads, argv);
    return;
  }
  const applicationId = required(values['application-id'], 'application-id');
  const topology = workerTopology(workload, applicationId, {
    customers: required(values['customers-topic'], 'customers-topic'),
    orders: values['orders-topic'],
    output: values['output-topic'],
    secondOutput: values['second-output-topic'],
  });
  const extra = values['app-options'] === undefined ? {} : (JSON.parse(values['app-options']) as Record<string, unknown>);
  const app = new TributaryApp(topology, {
    ...extra,
    applicationId,
    brokers: required(values.brokers, 'brokers'),
    stateDir: required(values['state-dir'], 'state-dir'),
    instanceId: values['instance-id'],
    commitIntervalMs: Number(values['commit-interval-ms'] ?? 1000),
  });
  const sampleMs = values['memory-sample-ms'] === undefined ? undefined : Number(values['memory-sample-ms']);
  const sampler = sampleMs === undefined ? undefined : new MemorySampler(sampleMs, () => app.state);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (sampler?.emitPeaks(), sampler?.stop(), app.stop()).then(
      () => {
        emit({ event: 'stopped' });
        process.exit(0);
      },
      (error: unknown) => {
        emit({ event: 'failed', message: `stop: ${String(error)}` });
        process.exit(1);
      },
    ));
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  // On a worker thread (--threads) the main thread relays the process's SIGTERM.
  parentPort?.on('message', (message) => {
    if (message === 'stop') void stop();
  });
  app.on('error', (error) => emit({ event: 'error', message: `${error.code}: ${error.message}` }));
  // Stamped on arrival by the harness: when each instance got which tasks (two instances starting together).
  app.on('assignment', ({ epoch, tasks, added, removed, members }) => emit({ event: 'assignment', epoch, tasks, added, removed, members }));
  app.on('state', ({ to }) => {
    emit({ event: 'state', to });
    if (to === 'failed') emit({ event: 'failed', message: 'the app moved to state failed (see the error event before)' });
  });

  emit({ event: 'starting', workload, topology: topology.describe() });
  const started = performance.now();
  await app.start();
  const runningMs = Math.round(performance.now() - started);
  emit({ event: 'running', startToRunningMs: runningMs });
  if (values['heap-snapshot-after-ms'] !== undefined) {
    // A V8 heap snapshot this long after RUNNING (mid-join), into the working directory, for where the heap goes.
    setTimeout(() => emit({ event: 'heap-snapshot', file: writeHeapSnapshot() }), Number(values['heap-snapshot-after-ms'])).unref();
  }
  if (workload === 'global-table') {
    sampler?.emitPeaks();
    emit({ event: 'ready', startToReadyMs: runningMs });
  }
  if (workload === 'table' || workload === 'both-joins') {
    await app.waitUntilReady();
    sampler?.emitPeaks();
    emit({ event: 'ready', startToReadyMs: Math.round(performance.now() - started) });
  }
}

/** --threads n: the workload n times on worker threads of this process; SIGTERM stops them all, then the process. */
async function runThreads(threads: number, argv: readonly string[]): Promise<void> {
  const without = (args: readonly string[], flag: string): string[] => {
    const at = args.indexOf(`--${flag}`);
    return at < 0 ? [...args] : [...args.slice(0, at), ...args.slice(at + 2)];
  };
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(`--${flag}`);
    return at < 0 ? undefined : argv[at + 1];
  };
  const stateDir = required(value('state-dir'), 'state-dir');
  const instanceId = value('instance-id') ?? 'i';
  const base = without(without(without(argv, 'threads'), 'state-dir'), 'instance-id');
  const workers = Array.from(
    { length: threads },
    (_, k) =>
      new Worker(new URL(import.meta.url), {
        argv: [...base, '--state-dir', join(stateDir, `t${k}`), '--instance-id', `${instanceId}-t${k}`],
      }),
  );
  const exits = workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)));
  const stop = () => {
    for (const worker of workers) worker.postMessage('stop');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const codes = await Promise.all(exits);
  process.exit(codes.some((code) => code !== 0) ? 1 : 0);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  emit({ event: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
