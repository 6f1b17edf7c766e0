/**
 * Test data for the order-enrichment example: customers (with updates and deletions, for a compacted topic) and
 * orders, produced fast (several producers in parallel, each owning a share of the partitions so per-key order
 * holds) or as a steady paced flow. Used by the demo and the benchmarks.
 *
 * Everything is deterministic in the customer index: `customerKey(i)`, `isDeletedCustomer(i)` and the version a
 * customer ends at can be recomputed by whoever checks the result.
 *
 * As a script (docker-compose's seeder): creates the example's topics, seeds customers, writes a batch of orders.
 *   npx tsx examples/data-generator.ts --brokers 127.0.0.1:9092 [--customers 10000] [--orders 1000] [--partitions 4]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KafkaAdmin } from '../processor/kafka/admin.js';
import { createKafkaClient, type KafkaClient } from '../processor/kafka/client.js';
import { partitionFor, RecordProducer } from '../processor/kafka/producer.js';
import type { ProducedRecord } from '../common/records.js';
import { DEFAULT_TOPICS, type Customer, type Order, type OrderEnrichmentTopics } from './order-enrichment.js';

const TIERS: readonly Customer['tier'][] = ['gold', 'silver', 'basic', 'basic'];
const COUNTRIES = ['NL', 'DE', 'FR', 'US', 'JP', 'BR', 'IN', 'ZA'];
const STREETS = ['Main Street', 'Harbour Road', 'Station Square', 'Mill Lane', 'Canal Street', 'Park Avenue'];
const NO_HEADERS = Object.freeze({});

export interface CustomerMix {
  /** Every `updateEvery`-th customer gets a second version after the first pass (0 = none). Default 4. */
  readonly updateEvery?: number;
  /** Every `deleteEvery`-th customer is deleted (tombstone) at the end (0 = none). Default 20. */
  readonly deleteEvery?: number;
}

export function customerKey(index: number): string {
  return `customer-${index}`;
}

export function orderKey(index: number): string {
  return `order-${index}`;
}

/** Offset 7 so the deleted customers are not the updated ones (whose index is a multiple of updateEvery). */
export function isDeletedCustomer(index: number, mix: CustomerMix = {}): boolean {
  const deleteEvery = mix.deleteEvery ?? 20;
  return deleteEvery > 0 && index % deleteEvery === 7 % deleteEvery;
}

export function isUpdatedCustomer(index: number, mix: CustomerMix = {}): boolean {
  const updateEvery = mix.updateEvery ?? 4;
  return updateEvery > 0 && index % updateEvery === 0;
}

/** A customer value of about 200 bytes as JSON. */
export function customerValue(index: number, version: number, updatedAt: number): Customer {
  return {
    id: customerKey(index),
    name: `Customer ${index}${version > 1 ? ` (v${version})` : ''}`,
    email: `customer${index}@example.com`,
    tier: TIERS[(index + version) % TIERS.length],
    country: COUNTRIES[index % COUNTRIES.length],
    address: `${(index % 997) + 1} ${STREETS[index % STREETS.length]}, Springfield ${10_000 + (index % 89_999)}`,
    version,
    updatedAt,
  };
}

/** The customer order `index` belongs to: a multiplicative hash spreads consecutive orders over all customers. */
export function orderCustomerIndex(index: number, customerCount: number): number {
  return Math.floor((((index * 2_654_435_761) >>> 0) / 4_294_967_296) * customerCount);
}

export function orderValue(index: number, customerCount: number, createdAt: number): Order {
  const customer = orderCustomerIndex(index, customerCount);
  return { orderId: orderKey(index), customerId: customerKey(customer), amount: 5 + ((index * 37) % 9_995) / 10, createdAt };
}

/** How many of the orders `first .. first+count-1` have a customer that still exists (what an inner join emits). */
export function joinableOrders(first: number, count: number, customerCount: number, mix: CustomerMix = {}): number {
  let joinable = 0;
  for (let i = first; i < first + count; i++) if (!isDeletedCustomer(orderCustomerIndex(i, customerCount), mix)) joinable++;
  return joinable;
}

export interface ParallelSendOptions {
  /** Producers (connections) sending at the same time. Default 4. */
  readonly producers?: number;
  /** Records generated per round; each round is split over the producers and sent concurrently. Default 20000. */
  readonly recordsPerRound?: number;
}

/**
 * Several RecordProducers, each owning the partitions `p % producers === i` of every topic, so all records of a
 * key go through one producer in order while the producers send concurrently.
 */
export class ParallelSender {
  private readonly producers: RecordProducer[];
  private readonly partitionCounts: ReadonlyMap<string, number>;

  constructor(client: KafkaClient, partitionCounts: ReadonlyMap<string, number>, producers = 4) {
    if (!(Number.isInteger(producers) && producers > 0)) throw new RangeError(`producers must be a positive integer, got ${producers}`);
    this.producers = Array.from({ length: producers }, () => new RecordProducer(client));
    this.partitionCounts = partitionCounts;
  }

  async connect(): Promise<void> {
    await Promise.all(this.producers.map((producer) => producer.connect()));
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled(this.producers.map((producer) => producer.disconnect()));
  }

  /** Record for `topic` with its partition computed here (murmur2, same as the default partitioner). */
  record(topic: string, key: string, value: unknown, timestamp: number): ProducedRecord {
    const count = this.partitionCounts.get(topic);
    if (count === undefined) throw new Error(`ParallelSender: unknown partition count of topic "${topic}"`);
    const keyBytes = Buffer.from(key);
    return {
      topic,
      partition: partitionFor(topic, keyBytes, count),
      timestamp,
      key: keyBytes,
      value: value === null ? null : Buffer.from(JSON.stringify(value)),
      headers: NO_HEADERS,
    };
  }

  /** Sends the records split by owning producer, all producers at once; resolves when all are acknowledged. */
  async send(records: readonly ProducedRecord[]): Promise<void> {
    const shares: ProducedRecord[][] = this.producers.map(() => []);
    for (const record of records) shares[(record.partition ?? 0) % shares.length].push(record);
    await Promise.all(shares.map((share, i) => (share.length === 0 ? undefined : this.producers[i].send(share))));
  }
}

export interface SeedCustomersOptions extends CustomerMix, ParallelSendOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly count: number;
  /** Called after each acknowledged round with records sent so far and the total to send. */
  readonly onProgress?: (sent: number, total: number) => void;
}

export interface SeedResult {
  /** Records written: first versions + updates + tombstones. */
  readonly records: number;
  readonly customers: number;
  readonly updated: number;
  readonly deleted: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/** How many records `seedCustomers` writes for these options (for progress totals). */
export function seedRecordCount(count: number, mix: CustomerMix = {}): { updated: number; deleted: number; total: number } {
  let updated = 0;
  let deleted = 0;
  for (let i = 0; i < count; i++) {
    if (isUpdatedCustomer(i, mix)) updated++;
    if (isDeletedCustomer(i, mix)) deleted++;
  }
  return { updated, deleted, total: count + updated + deleted };
}

/**
 * Writes `count` customers, then a second version of every updated one, then a tombstone for every deleted one.
 * Passes run one after the other, so each key's records land in that order.
 */
export async function seedCustomers(client: KafkaClient, options: SeedCustomersOptions): Promise<SeedResult> {
  const { topic, count } = options;
  const perRound = options.recordsPerRound ?? 20_000;
  const planned = seedRecordCount(count, options);
  const sender = new ParallelSender(client, new Map([[topic, options.partitions]]), options.producers);
  const started = performance.now();
  let sent = 0;
  await sender.connect();
  try {
    const pass = async (include: (i: number) => boolean, build: (i: number, now: number) => ProducedRecord): Promise<void> => {
      let round: ProducedRecord[] = [];
      for (let i = 0; i < count; i++) {
        if (!include(i)) continue;
        round.push(build(i, Date.now()));
        if (round.length >= perRound) {
          await sender.send(round);
          sent += round.length;
          options.onProgress?.(sent, planned.total);
          round = [];
        }
      }
      if (round.length > 0) {
        await sender.send(round);
        sent += round.length;
        options.onProgress?.(sent, planned.total);
      }
    };
    await pass(
      () => true,
      (i, now) => sender.record(topic, customerKey(i), customerValue(i, 1, now), now),
    );
    await pass(
      (i) => isUpdatedCustomer(i, options),
      (i, now) => sender.record(topic, customerKey(i), customerValue(i, 2, now), now),
    );
    await pass(
      (i) => isDeletedCustomer(i, options),
      (i, now) => sender.record(topic, customerKey(i), null, now),
    );
  } finally {
    await sender.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    records: sent,
    customers: count,
    updated: planned.updated,
    deleted: planned.deleted,
    seconds,
    recordsPerSecond: Math.round(sent / seconds),
  };
}

export interface ProduceOrdersOptions extends ParallelSendOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly count: number;
  readonly customerCount: number;
  /** Index of the first order (orders keep unique keys across calls). Default 0. */
  readonly firstIndex?: number;
  readonly onProgress?: (sent: number, total: number) => void;
}

/** Writes `count` orders as fast as the producers go. Each record's timestamp is its produce time. */
export async function produceOrders(client: KafkaClient, options: ProduceOrdersOptions): Promise<{ records: number; seconds: number }> {
  const perRound = options.recordsPerRound ?? 20_000;
  const first = options.firstIndex ?? 0;
  const sender = new ParallelSender(client, new Map([[options.topic, options.partitions]]), options.producers);
  const started = performance.now();
  await sender.connect();
  try {
    for (let start = 0; start < options.count; start += perRound) {
      const end = Math.min(options.count, start + perRound);
      const now = Date.now();
      const round = new Array<ProducedRecord>(end - start);
      for (let i = start; i < end; i++) {
        const index = first + i;
        round[i - start] = sender.record(options.topic, orderKey(index), orderValue(index, options.customerCount, now), now);
      }
      await sender.send(round);
      options.onProgress?.(end, options.count);
    }
  } finally {
    await sender.disconnect();
  }
  return { records: options.count, seconds: (performance.now() - started) / 1000 };
}

export interface OrderFlowOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly customerCount: number;
  readonly ordersPerSecond: number;
  /** Index of the first order. Default 0. */
  readonly firstIndex?: number;
  /** How often a batch goes out. Default 50 ms. */
  readonly tickMs?: number;
  /** Called when a send fails; the flow keeps going (the records of that tick are lost). */
  readonly onError?: (error: unknown) => void;
  /**
   * Every n-th order is sent as bytes that are not JSON (a poison record: Tributary dead-letters it and goes on).
   * Default: never.
   */
  readonly poisonEvery?: number;
}

/** The value bytes of a poison order: truncated JSON, as a broken producer might write. */
export const POISON_ORDER_VALUE = '{"orderId":"order-';

/**
 * A steady flow of orders at a fixed rate: every tick it sends the orders due since the start (one batch, never
 * more than one send in flight, so a slow broker delays orders instead of piling up requests). The record
 * timestamp of each order is the time its batch was built, i.e. its produce time.
 */
export class OrderFlow {
  private readonly sender: ParallelSender;
  private readonly options: OrderFlowOptions;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private startedAt = 0;
  private produced = 0;
  private failures = 0;

  constructor(client: KafkaClient, options: OrderFlowOptions) {
    if (!(options.ordersPerSecond > 0)) throw new RangeError(`ordersPerSecond must be > 0, got ${options.ordersPerSecond}`);
    this.options = options;
    this.sender = new ParallelSender(client, new Map([[options.topic, options.partitions]]), 1);
  }

  /** Orders acknowledged by Kafka so far. */
  get sent(): number {
    return this.produced;
  }

  get failedSends(): number {
    return this.failures;
  }

  /** Index the next order will get. */
  get nextIndex(): number {
    return (this.options.firstIndex ?? 0) + this.produced + this.failures;
  }

  async start(): Promise<void> {
    await this.sender.connect();
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 50);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.sender.disconnect();
  }

  private tick(): void {
    if (this.inFlight !== undefined) return;
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.options.ordersPerSecond) - this.produced - this.failures;
    if (due <= 0) return;
    const now = Date.now();
    const first = this.nextIndex;
    const records = new Array<ProducedRecord>(due);
    const poisonEvery = this.options.poisonEvery;
    for (let i = 0; i < due; i++) {
      const index = first + i;
      const record = this.sender.record(this.options.topic, orderKey(index), orderValue(index, this.options.customerCount, now), now);
      const poison = poisonEvery !== undefined && index > 0 && index % poisonEvery === 0;
      records[i] = poison ? { ...record, value: Buffer.from(POISON_ORDER_VALUE) } : record;
    }
    this.inFlight = this.sender
      .send(records)
      .then(
        () => {
          this.produced += due;
        },
        (error: unknown) => {
          this.failures += due;
          this.options.onError?.(error);
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
  }
}

/** Creates the example's topics if missing: customers compacted, all with `partitions` partitions. */
export async function createExampleTopics(
  client: KafkaClient,
  partitions: number,
  topics: OrderEnrichmentTopics = DEFAULT_TOPICS,
): Promise<void> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    await admin.ensureTopics([
      { topic: topics.customers, partitions, configs: { 'cleanup.policy': 'compact' } },
      { topic: topics.orders, partitions },
      { topic: topics.enriched, partitions },
      { topic: topics.byCustomer, partitions },
    ]);
  } finally {
    await admin.disconnect();
  }
}

async function seedFromCommandLine(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      brokers: { type: 'string' },
      customers: { type: 'string', default: '10000' },
      orders: { type: 'string', default: '1000' },
      partitions: { type: 'string', default: '4' },
    },
    strict: true,
  });
  const brokers = values.brokers ?? process.env.TRIBUTARY_BROKERS ?? process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('give the brokers with --brokers host:port (or TRIBUTARY_BROKERS)');
  const count = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs an integer >= 0, got "${text}"`);
    return value;
  };
  const customers = count('customers', values.customers);
  const orders = count('orders', values.orders);
  const partitions = Math.max(1, count('partitions', values.partitions));
  const client = createKafkaClient({ brokers: brokers.split(','), clientId: 'tributary-example-seeder' });
  await createExampleTopics(client, partitions);
  const seeded = await seedCustomers(client, { topic: DEFAULT_TOPICS.customers, partitions, count: customers });
  console.log(
    `customers: ${seeded.customers} (${seeded.updated} updated, ${seeded.deleted} deleted), ${seeded.records} records in ${seeded.seconds.toFixed(1)} s`,
  );
  if (orders > 0) {
    // Order keys continue across runs so repeated seeding adds new orders.
    const produced = await produceOrders(client, {
      topic: DEFAULT_TOPICS.orders,
      partitions,
      count: orders,
      customerCount: Math.max(1, customers),
      firstIndex: Date.now(),
    });
    console.log(`orders: ${produced.records} in ${produced.seconds.toFixed(1)} s`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await seedFromCommandLine(process.argv.slice(2));
}
