/**
 * Runtime hot-path measurement: ONE in-process TributaryApp running the order-enrichment topology (global join +
 * selectKey → repartition → co-partitioned join) over pre-seeded input topics. Prints one JSON object:
 * end-to-end orders/s (start → both outputs hold every order), CPU ms per 1k orders (this process only: the broker
 * is another process, so the figure is much less sensitive to other load on the machine), global-table bootstrap
 * records/s and peak RSS.
 *
 *   npx tsx scripts/bench/runtime-profile.ts [--customers 50000] [--orders 200000] [--partitions 4] [--prefix rp]
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx scripts/bench/runtime-profile.ts      # reuse a broker
 *   node --cpu-prof --import tsx scripts/bench/runtime-profile.ts              # CPU profile of the same run
 *
 * Inputs are seeded once per prefix and reused by later runs on the same broker (their end offsets are checked);
 * every run gets its own application id, output topics and state directory, so runs are comparable.
 * `runRuntimeProfile()` is the entry point for other harnesses (e.g. `npm run bench`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { buildOrderEnrichment, type OrderEnrichmentTopics } from '../../examples/order-enrichment.js';
import { produceOrders, seedCustomers } from '../../examples/data-generator.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../../processor/kafka/client.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import { openKafkaSession, type KafkaSession } from './kafka-session.js';

export interface RuntimeProfileOptions {
  /** Bootstrap brokers; when absent a broker is started (or KAFKA_BROKERS used) and stopped again. */
  readonly brokers?: string;
  readonly customers?: number;
  readonly orders?: number;
  readonly partitions?: number;
  /** Input topic prefix; inputs with this prefix and the right sizes are reused. */
  readonly prefix?: string;
  /** Give up waiting for the outputs after this long. Default 180000. */
  readonly timeoutMs?: number;
  readonly onProgress?: (message: string) => void;
}

export interface RuntimeProfileResult {
  readonly customers: number;
  readonly orders: number;
  readonly partitions: number;
  /** Input seeding (0 when reused). */
  readonly seedSeconds: number;
  /** app.start() → both outputs hold `orders` records. */
  readonly endToEndMs: number;
  readonly ordersPerSecond: number;
  /** First record processed → both outputs full (excludes bootstrap and group join). */
  readonly processingMs: number;
  readonly processingOrdersPerSecond: number;
  /** User + system CPU of this process over the end-to-end window, per 1000 orders. */
  readonly cpuMsPerKOrders: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Garbage-collection pauses in this process over the same window (count and total ms). */
  readonly gc: { readonly count: number; readonly ms: number; readonly msPerKOrders: number };
  readonly globalBootstrap: { readonly records: number; readonly ms: number; readonly recordsPerSecond: number };
  readonly peakRssMb: number;
  readonly recordsSent: number;
  readonly commits: number;
  readonly node: string;
}

const APP_PREFIX = 'rtprof';

export async function runRuntimeProfile(options: RuntimeProfileOptions = {}): Promise<RuntimeProfileResult> {
  const customers = options.customers ?? 50_000;
  const orders = options.orders ?? 200_000;
  const partitions = options.partitions ?? 4;
  const prefix = options.prefix ?? `rp-${customers}-${orders}-${partitions}`;
  const progress = options.onProgress ?? (() => {});
  let session: KafkaSession | undefined;
  const brokers =
    options.brokers ??
    (session = await openKafkaSession({ logFile: join(tmpdir(), `tributary-runtime-profile-broker-${Date.now()}.log`) })).brokers;
  const client = createKafkaClient({ brokers: brokers.split(','), clientId: 'runtime-profile' });
  const stateDir = await mkdtemp(join(tmpdir(), 'tributary-runtime-profile-'));
  const runId = randomBytes(3).toString('hex');
  const topics: OrderEnrichmentTopics = {
    customers: `${prefix}-customers`,
    orders: `${prefix}-orders`,
    enriched: `${prefix}-enriched-${runId}`,
    byCustomer: `${prefix}-by-customer-${runId}`,
  };
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    const seedSeconds = await seedInputs(client, admin, topics, { customers, orders, partitions }, progress);
    await admin.ensureTopics([
      { topic: topics.enriched, partitions },
      { topic: topics.byCustomer, partitions },
    ]);

    const applicationId = `${APP_PREFIX}-${runId}`;
    const app = new TributaryApp(buildOrderEnrichment(applicationId, topics), { brokers, stateDir, commitIntervalMs: 1000 });
    let bootstrapStart: number | undefined;
    let bootstrapEnd: number | undefined;
    let bootstrapRecords = 0;
    app.on('restoration', (event) => {
      if (event.partition !== 'global') return;
      bootstrapStart ??= performance.now();
      bootstrapRecords = event.restoredRecords;
      if (event.done) bootstrapEnd = performance.now();
    });
    let peakRss = process.memoryUsage.rss();
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 100);
    progress(`running ${applicationId} over ${orders} orders`);
    const gc = { count: 0, ms: 0 };
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gc.count++;
        gc.ms += entry.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const startedAt = Date.now();
    try {
      await app.start();
      await waitForOutputs(admin, [topics.enriched, topics.byCustomer], orders, options.timeoutMs ?? 180_000, () => app.state !== 'failed');
      const endToEndMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      gcObserver.disconnect();
      const stats = app.stats();
      const firstProcessed = stats.timings.firstRecordProcessedAt ?? startedAt;
      const processingMs = Math.max(1, Date.now() - firstProcessed);
      const bootstrapMs = bootstrapStart !== undefined && bootstrapEnd !== undefined ? bootstrapEnd - bootstrapStart : 0;
      return {
        customers,
        orders,
        partitions,
        seedSeconds: round(seedSeconds, 1),
        endToEndMs: Math.round(endToEndMs),
        ordersPerSecond: Math.round((orders * 1000) / endToEndMs),
        processingMs,
        processingOrdersPerSecond: Math.round((orders * 1000) / processingMs),
        cpuMsPerKOrders: round((cpu.user + cpu.system) / 1000 / (orders / 1000), 2),
        cpuUserMs: Math.round(cpu.user / 1000),
        cpuSystemMs: Math.round(cpu.system / 1000),
        gc: { count: gc.count, ms: Math.round(gc.ms), msPerKOrders: round(gc.ms / (orders / 1000), 2) },
        globalBootstrap: {
          records: bootstrapRecords,
          ms: Math.round(bootstrapMs),
          recordsPerSecond: bootstrapMs > 0 ? Math.round((bootstrapRecords * 1000) / bootstrapMs) : 0,
        },
        peakRssMb: Math.round(Math.max(peakRss, process.memoryUsage.rss()) / 1024 / 1024),
        recordsSent: stats.recordsSent,
        commits: stats.commits,
        node: process.version,
      };
    } finally {
      clearInterval(rssTimer);
      gcObserver.disconnect();
      await app.stop().catch(() => undefined);
      await admin.deleteTopics([topics.enriched, topics.byCustomer]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
    await rm(stateDir, { recursive: true, force: true });
    await session?.stop();
  }
}

async function seedInputs(
  client: KafkaClient,
  admin: KafkaAdmin,
  topics: OrderEnrichmentTopics,
  sizes: { customers: number; orders: number; partitions: number },
  progress: (message: string) => void,
): Promise<number> {
  const existing = new Set(await admin.listTopics());
  if (existing.has(topics.customers) && existing.has(topics.orders)) {
    if ((await totalEnd(admin, topics.orders)) === sizes.orders) return 0;
    throw new Error(`topics with prefix of ${topics.orders} exist with other sizes; pass another --prefix`);
  }
  await admin.ensureTopics([
    { topic: topics.customers, partitions: sizes.partitions, configs: { 'cleanup.policy': 'compact' } },
    { topic: topics.orders, partitions: sizes.partitions },
  ]);
  const started = performance.now();
  progress(`seeding ${sizes.customers} customers and ${sizes.orders} orders`);
  // No tombstones: every order joins, so both outputs end with exactly `orders` records.
  await seedCustomers(client, { topic: topics.customers, partitions: sizes.partitions, count: sizes.customers, deleteEvery: 0 });
  await produceOrders(client, { topic: topics.orders, partitions: sizes.partitions, count: sizes.orders, customerCount: sizes.customers });
  return (performance.now() - started) / 1000;
}

async function totalEnd(admin: KafkaAdmin, topic: string): Promise<number> {
  let total = 0;
  for (const end of (await admin.fetchEndOffsets(topic)).values()) total += end;
  return total;
}

async function waitForOutputs(
  admin: KafkaAdmin,
  outputs: readonly string[],
  target: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(outputs.map((topic) => totalEnd(admin, topic)));
    if (counts.every((count) => count >= target)) return;
    if (!alive()) throw new Error('the application failed before its outputs were complete');
    if (Date.now() > deadline)
      throw new Error(`outputs incomplete after ${timeoutMs} ms: ${outputs.map((t, i) => `${t}=${counts[i]}`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      customers: { type: 'string' },
      orders: { type: 'string' },
      partitions: { type: 'string' },
      prefix: { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const result = await runRuntimeProfile({
    brokers: values.brokers ?? (process.env.KAFKA_BROKERS?.trim() || undefined),
    customers: num(values.customers),
    orders: num(values.orders),
    partitions: num(values.partitions),
    prefix: values.prefix,
    onProgress: (message) => process.stderr.write(`[runtime-profile] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
