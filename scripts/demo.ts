/**
 * `npm run demo`: the order-enrichment example end to end on this machine.
 *
 * Starts a local Kafka broker (unless KAFKA_BROKERS is set), creates and seeds the topics, keeps orders flowing,
 * runs two instances of examples/order-enrichment.ts through the CLI (the joins, plus orders per customer and revenue
 * per customer per hour), then prints curl commands against both instances (checked before they are shown), the web
 * console's URL and a few enriched orders. Ctrl-C stops everything it started, by
 * PID: the order flow, the instances, then the broker. `--duration <s>` stops by itself after that many seconds.
 * Logs and state live under .state/demo/ (a fresh state directory per run).
 */
import { rmSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafkaClient, type KafkaClient } from '../processor/kafka/client.js';
import { defaultPartition } from '../common/partitioner.js';
import { ProgressDisplay, formatCount } from '../cli/progress.js';
import {
  createExampleTopics,
  customerKey,
  isDeletedCustomer,
  isUpdatedCustomer,
  OrderFlow,
  seedCustomers,
} from '../examples/data-generator.js';
import {
  BY_CUSTOMER_TOPIC,
  CUSTOMERS_TOPIC,
  DEFAULT_APPLICATION_ID,
  ENRICHED_TOPIC,
  GLOBAL_STORE,
  ORDER_COUNT_STORE,
  ORDERS_TOPIC,
  PARTITIONED_STORE,
  REVENUE_STORE,
} from '../examples/order-enrichment.js';
import { CliInstance } from './bench/cli-instances.js';
import { openKafkaSession, type KafkaSession } from './bench/kafka-session.js';
import { readTopicTail } from './bench/topic-tail.js';
import { REPO_ROOT } from './kafka/broker.mjs';

const PARTITIONS = 4;
const READY_TIMEOUT_MS = 180_000;

const usage = `Usage: npm run demo -- [options]

Options:
  --duration <s>            Stop by itself after the instances ran this long (default: until Ctrl-C)
  --customers <n>           Customers to seed (default 10000; every 4th updated, every 20th deleted)
  --orders-per-second <n>   Steady order flow (default 20)
  --poison-every <n>        Every n-th order is not JSON, to see dead letters in the console (default 200; 0: none)
  --ports <p1,p2>           Query-server ports of the two instances (default 7071,7072)
  --application-id <id>     Application id (default ${DEFAULT_APPLICATION_ID})
  --state-root <dir>        Logs and state directories (default .state/demo)
  -h, --help                Show this help
Env: KAFKA_BROKERS=host:port uses that broker instead of starting one; KAFKA_VERSION picks the local broker's version.`;

interface DemoOptions {
  readonly durationSeconds: number | undefined;
  readonly customers: number;
  readonly ordersPerSecond: number;
  readonly poisonEvery: number;
  readonly ports: readonly [number, number];
  readonly applicationId: string;
  readonly stateRoot: string;
}

function parseOptions(argv: readonly string[]): DemoOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      customers: { type: 'string' },
      'orders-per-second': { type: 'string' },
      'poison-every': { type: 'string' },
      ports: { type: 'string' },
      'application-id': { type: 'string' },
      'state-root': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number, got "${text}"`);
    return value;
  };
  const ports = (values.ports ?? '7071,7072').split(',').map((p) => Number(p.trim()));
  if (ports.length !== 2 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65_535) || ports[0] === ports[1]) {
    throw new Error(`--ports needs two different ports like 7071,7072, got "${values.ports}"`);
  }
  return {
    durationSeconds: values.duration === undefined ? undefined : positive('duration', values.duration, 0),
    customers: Math.floor(positive('customers', values.customers, 10_000)),
    ordersPerSecond: positive('orders-per-second', values['orders-per-second'], 20),
    poisonEvery: values['poison-every'] === '0' ? 0 : Math.floor(positive('poison-every', values['poison-every'], 200)),
    ports: [ports[0], ports[1]],
    applicationId: values['application-id'] ?? DEFAULT_APPLICATION_ID,
    stateRoot: resolve(values['state-root'] ?? join(REPO_ROOT, '.state', 'demo')),
  };
}

const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Everything the demo started, stopped in reverse order (flow, instances, broker), each once. */
class DemoResources {
  kafka: KafkaSession | undefined;
  flow: OrderFlow | undefined;
  readonly instances: CliInstance[] = [];
  private stopping: Promise<void> | undefined;

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.flow?.stop().catch(() => undefined);
      if (this.instances.length > 0) {
        say(`Stopping instances (pids ${this.instances.map((i) => i.pid).join(', ')}) ...`);
        await Promise.all(this.instances.map((instance) => instance.stop()));
      }
      if (this.kafka?.broker) {
        say(`Stopping Kafka (pid ${this.kafka.broker.pid}) ...`);
        await this.kafka.stop();
      }
    })();
    return this.stopping;
  }

  killNow(): void {
    for (const instance of this.instances) instance.killNow();
  }
}

interface InstanceMetadata {
  readonly instances: readonly {
    readonly id: string;
    readonly url: string;
    readonly tasks: readonly string[];
    readonly storePartitions: Readonly<Record<string, readonly number[]>>;
  }[];
}

async function getJson<T>(url: string): Promise<{ status: number; body: T | string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as T };
  } catch {
    return { status: response.status, body: text };
  }
}

/** Waits until one instance's /metadata lists both instances with tasks (the group has settled). */
async function waitForTwoMembers(url: string, timeoutMs: number): Promise<InstanceMetadata> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const { status, body } = await getJson<InstanceMetadata>(`${url}/metadata`);
      last = body;
      if (status === 200 && typeof body === 'object' && body.instances.length === 2 && body.instances.every((i) => i.tasks.length > 0))
        return body;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`the two instances did not both get tasks within ${timeoutMs} ms; last /metadata: ${JSON.stringify(last)}`);
}

interface CurlExample {
  readonly url: string;
  readonly note: string;
  /** Status that shows the example works (404 for the deleted customer). */
  readonly expectedStatus: number;
}

function curlExamples(urls: readonly [string, string], owner: 0 | 1, key: string, deletedKey: string, partition: number): CurlExample[] {
  const other = owner === 0 ? 1 : 0;
  const name = (i: number) => `instance-${i + 1}`;
  return [
    {
      url: `${urls[0]}/stores/${GLOBAL_STORE}/keys/${key}`,
      note: `global store: every instance has all customers (${name(0)})`,
      expectedStatus: 200,
    },
    { url: `${urls[1]}/stores/${GLOBAL_STORE}/keys/${key}`, note: `global store, same answer from ${name(1)}`, expectedStatus: 200 },
    {
      url: `${urls[owner]}/stores/${PARTITIONED_STORE}/keys/${key}`,
      note: `partitioned store: partition ${partition} is local to ${name(owner)}`,
      expectedStatus: 200,
    },
    {
      url: `${urls[other]}/stores/${PARTITIONED_STORE}/keys/${key}`,
      note: `partitioned store via ${name(other)}: forwarded to ${name(owner)}`,
      expectedStatus: 200,
    },
    { url: `${urls[other]}/stores/${GLOBAL_STORE}/keys/${deletedKey}`, note: 'a deleted customer (tombstone): 404', expectedStatus: 404 },
    { url: `${urls[0]}/stores/${PARTITIONED_STORE}/entries?limit=3`, note: 'scan, merged across both instances', expectedStatus: 200 },
    { url: `${urls[0]}/metadata`, note: 'who holds which partitions', expectedStatus: 200 },
    { url: `${urls[1]}/metrics`, note: 'Prometheus metrics', expectedStatus: 200 },
  ];
}

/** A customer some orders were counted for (the first key of the count store), waiting up to `timeoutMs`. */
async function countedCustomer(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const { status, body } = await getJson<{ entries: { key: string }[] }>(`${url}/stores/${ORDER_COUNT_STORE}/entries?limit=1`).catch(
      (error: unknown) => ({ status: 0, body: String(error) }),
    );
    last = body;
    if (status === 200 && typeof body === 'object' && body.entries.length > 0) return body.entries[0].key;
    await sleep(250);
  }
  throw new Error(`no order was counted within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`);
}

/** The aggregations: a count (forwarded when the other instance owns it), a scan, one key's windows, all windows. */
function aggregationExamples(urls: readonly [string, string], owner: 0 | 1, customer: string): CurlExample[] {
  const other = owner === 0 ? 1 : 0;
  return [
    {
      url: `${urls[other]}/stores/${ORDER_COUNT_STORE}/keys/${customer}`,
      note: `orders of ${customer} so far (aggregation; forwarded to instance-${owner + 1})`,
      expectedStatus: 200,
    },
    { url: `${urls[0]}/stores/${ORDER_COUNT_STORE}/entries?limit=3`, note: 'orders per customer, merged scan', expectedStatus: 200 },
    {
      url: `${urls[1]}/stores/${REVENUE_STORE}/keys/${customer}/windows`,
      note: `revenue of ${customer} per hour (windowed aggregation)`,
      expectedStatus: 200,
    },
    {
      url: `${urls[0]}/stores/${REVENUE_STORE}/windows?limit=3`,
      note: "every customer's hourly windows, merged across instances",
      expectedStatus: 200,
    },
  ];
}

async function showEnrichedOrders(client: KafkaClient): Promise<void> {
  for (const topic of [ENRICHED_TOPIC, BY_CUSTOMER_TOPIC]) {
    let records = await readTopicTail(client, topic, 1);
    for (let attempt = 0; records.length === 0 && attempt < 40; attempt++) {
      await sleep(250);
      records = await readTopicTail(client, topic, 1);
    }
    say(
      `  ${topic} (${topic === ENRICHED_TOPIC ? 'global-table join, keyed by order' : 'co-partitioned join after repartitioning, keyed by customer'}):`,
    );
    if (records.length === 0) say('    (no records yet)');
    for (const record of records.slice(0, 3)) {
      say(`    p${record.partition}@${record.offset} ${record.key?.toString() ?? 'null'} -> ${record.value?.toString() ?? 'null'}`);
    }
  }
}

async function main(): Promise<number> {
  let options: DemoOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    return 2;
  }
  if (options === undefined) {
    say(usage);
    return 0;
  }
  const { stateRoot } = options;
  const rel = (path: string) => relative(process.cwd(), path) || '.';
  mkdirSync(stateRoot, { recursive: true });
  const resources = new DemoResources();
  let interrupted = 0;
  let finishing = false;
  let wakeUp: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted++;
    if (interrupted > 1) {
      say(`${signal} again: killing the instances now`);
      resources.killNow();
      return;
    }
    say(`\n${signal}: stopping everything the demo started (again to kill the instances at once)`);
    wakeUp?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    say('Tributary demo: order enrichment and orders per customer, with two instances\n');
    const kafka = await openKafkaSession({
      logFile: join(stateRoot, 'kafka.log'),
      onStarting: (version) =>
        say(`[1/5] Kafka: starting a local ${version} broker (jars are fetched on first use; log ${rel(join(stateRoot, 'kafka.log'))})`),
    });
    resources.kafka = kafka;
    say(
      kafka.broker
        ? `      ready at ${kafka.brokers} in ${(kafka.broker.startMillis / 1000).toFixed(1)} s (pid ${kafka.broker.pid})`
        : `[1/5] Kafka: using KAFKA_BROKERS=${kafka.brokers}`,
    );
    if (interrupted) return 130;

    const client = createKafkaClient({ brokers: kafka.brokers.split(','), clientId: 'tributary-demo' });
    await createExampleTopics(client, PARTITIONS);
    say(
      `[2/5] Topics: ${CUSTOMERS_TOPIC} (compacted), ${ORDERS_TOPIC}, ${ENRICHED_TOPIC}, ${BY_CUSTOMER_TOPIC}; ${PARTITIONS} partitions each`,
    );

    const display = new ProgressDisplay(process.stdout);
    display.begin('[3/5] Seeding customers');
    const seeded = await seedCustomers(client, {
      topic: CUSTOMERS_TOPIC,
      partitions: PARTITIONS,
      count: options.customers,
      recordsPerRound: 5_000,
      onProgress: (sent, total) => display.update({ done: sent, total, unit: 'records' }),
    });
    display.finish(
      `${formatCount(seeded.customers)} customers, ${formatCount(seeded.updated)} updates, ${formatCount(seeded.deleted)} deletions in ${seeded.seconds.toFixed(1)} s`,
    );
    if (interrupted) return 130;

    const flow = new OrderFlow(client, {
      topic: ORDERS_TOPIC,
      partitions: PARTITIONS,
      customerCount: options.customers,
      ordersPerSecond: options.ordersPerSecond,
      ...(options.poisonEvery > 0 ? { poisonEvery: options.poisonEvery } : {}),
      onError: (error) => say(`  order flow: a send failed: ${error instanceof Error ? error.message : String(error)}`),
    });
    resources.flow = flow;
    await flow.start();
    say(
      `[4/5] Orders: ${options.ordersPerSecond}/s into ${ORDERS_TOPIC}` +
        (options.poisonEvery > 0 ? `; every ${options.poisonEvery}th is not JSON (a poison record: see the console's Errors view)` : ''),
    );

    say('[5/5] Starting two instances of examples/order-enrichment.ts through the CLI:');
    for (const [index, port] of options.ports.entries()) {
      const name = `instance-${index + 1}`;
      const stateDir = join(stateRoot, name);
      rmSync(stateDir, { recursive: true, force: true });
      const instance = CliInstance.start({
        name,
        module: 'examples/order-enrichment.ts',
        brokers: kafka.brokers,
        applicationId: options.applicationId,
        stateDir,
        port,
        logFile: join(stateRoot, 'logs', `${name}.log`),
        extraArgs: ['--session-timeout-ms', '10000', '--commit-interval-ms', '500'],
      });
      resources.instances.push(instance);
      say(`      ${name}: pid ${instance.pid}, ${instance.url}, state ${rel(stateDir)}, log ${rel(instance.logFile)}`);
      say(`        console: ${instance.url}/ui/ (watch the bootstrap there while it runs)`);
      say(
        `        (= npx tsx cli/main.ts run examples/order-enrichment.ts --brokers ${kafka.brokers} --state-dir ${rel(stateDir)} --port ${port})`,
      );
    }
    const readyIn = await Promise.all(resources.instances.map((instance) => instance.waitUntilReady(READY_TIMEOUT_MS)));
    const urls: [string, string] = [resources.instances[0].url, resources.instances[1].url];
    const metadata = await waitForTwoMembers(urls[0], 60_000);
    say(
      `      both ready (${readyIn.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}); tasks: ${metadata.instances.map((i) => `${i.id} [${i.tasks.join(' ')}]`).join(', ')}`,
    );
    if (interrupted) return 130;

    // A customer that exists (updated to v2) and one that was deleted; find which instance holds the first.
    let index = 8;
    while (isDeletedCustomer(index) || !isUpdatedCustomer(index) || index >= options.customers)
      index = index >= options.customers ? 0 : index + 4;
    let deletedIndex = 7;
    while (!isDeletedCustomer(deletedIndex) && deletedIndex < options.customers) deletedIndex++;
    const key = customerKey(index);
    const partition = defaultPartition(Buffer.from(key), PARTITIONS);
    const ownerUrl = metadata.instances.find((i) => (i.storePartitions[PARTITIONED_STORE] ?? []).includes(partition))?.url;
    const owner: 0 | 1 = ownerUrl === urls[1] ? 1 : 0;
    const examples = curlExamples(urls, owner, key, customerKey(deletedIndex), partition);
    // The aggregation's partition count is the orders topic's (its repartition topic follows it).
    const counted = await countedCustomer(urls[0], 30_000);
    const countedPartition = defaultPartition(Buffer.from(counted), PARTITIONS);
    const countOwnerUrl = metadata.instances.find((i) => (i.storePartitions[ORDER_COUNT_STORE] ?? []).includes(countedPartition))?.url;
    examples.push(...aggregationExamples(urls, countOwnerUrl === urls[1] ? 1 : 0, counted));

    say(`\nTry it (${key} is in partition ${partition} of ${CUSTOMERS_TOPIC}):`);
    for (const example of examples) say(`  curl -s '${example.url}'    # ${example.note}`);
    say('\nChecked each of them just now:');
    let failures = 0;
    for (const example of examples) {
      const response = await fetch(example.url, { signal: AbortSignal.timeout(5000) });
      const text = (await response.text()).replace(/\s+/g, ' ').trim();
      const ok = response.status === example.expectedStatus;
      if (!ok) failures++;
      say(
        `  ${ok ? 'ok  ' : 'FAIL'} ${response.status} ${new URL(example.url).pathname}${new URL(example.url).search}: ${text.slice(0, 150)}${text.length > 150 ? ' ...' : ''}`,
      );
    }

    // The web console of each instance (same data from either; the first one is enough to look at everything).
    const consoleUrls = urls.map((url) => `${url}/ui/`);
    const consolePage = await fetch(consoleUrls[0], { signal: AbortSignal.timeout(5000) });
    if (consolePage.status !== 200) failures++;
    say(
      `\nWeb console (topology, cluster, progress and lag, store browser, dead letters)${consolePage.status === 200 ? '' : ` FAIL ${consolePage.status}`}:`,
    );
    say(`  open ${consoleUrls[0]}    # or ${consoleUrls[1]} on the other instance`);

    say('\nEnriched orders (the newest per partition):');
    await showEnrichedOrders(client);

    const runFor = options.durationSeconds;
    say(runFor === undefined ? '\nRunning. Press Ctrl-C to stop everything.' : `\nRunning for ${runFor} s, then stopping.`);
    const statusTimer = setInterval(() => say(`  ... ${formatCount(flow.sent)} orders sent so far`), 15_000);
    await new Promise<void>((resolveWait) => {
      wakeUp = resolveWait;
      if (runFor !== undefined) setTimeout(resolveWait, runFor * 1000).unref();
      for (const instance of resources.instances) {
        void instance.exited.then(({ code, signal }) => {
          if (finishing || interrupted) return;
          say(`${instance.name} exited (code ${code}, signal ${signal}); see ${rel(instance.logFile)}`);
          failures++;
          resolveWait();
        });
      }
    });
    finishing = true;
    clearInterval(statusTimer);
    return failures === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await resources.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    say('Demo stopped.');
  }
}

process.exitCode = await main();
