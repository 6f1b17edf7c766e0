/**
 * Shared by the runtime integration tests: topics and data for test/fixtures/enrichment-app.ts, and readers that
 * check its outputs (who enriched which order, losses, duplicates).
 */
import { defaultPartition } from '../../common/partitioner.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { Customer, EnrichedOrder, Order } from '../fixtures/enrichment-app.js';
import type { AppProcessGroup, AppProcess, AppProcessOptions } from '../helpers/app-process.js';
import { createTopics, produce, readTopic, uniqueName, type TestRecord } from '../helpers/kafka.js';

export const ENRICHMENT_FIXTURE = 'test/fixtures/enrichment-app.ts';

export interface EnrichmentTopics {
  readonly appId: string;
  readonly orders: string;
  readonly customersGlobal: string;
  readonly customers: string;
  readonly outGlobal: string;
  readonly outCopart: string;
  readonly partitions: number;
}

export interface EnrichmentTopicOptions {
  /** Configs of the global customers topic. Default: compacted. */
  readonly globalConfigs?: Readonly<Record<string, string>>;
  readonly globalPartitions?: number;
}

export async function createEnrichmentTopics(
  prefix: string,
  partitions: number,
  options: EnrichmentTopicOptions = {},
): Promise<EnrichmentTopics> {
  const topics: EnrichmentTopics = {
    appId: uniqueName(`${prefix}-app`),
    orders: uniqueName(`${prefix}-orders`),
    customersGlobal: uniqueName(`${prefix}-customers-global`),
    customers: uniqueName(`${prefix}-customers`),
    outGlobal: uniqueName(`${prefix}-out-global`),
    outCopart: uniqueName(`${prefix}-out-copart`),
    partitions,
  };
  await createTopics([
    { topic: topics.orders, partitions },
    {
      topic: topics.customersGlobal,
      partitions: options.globalPartitions ?? 2,
      configs: options.globalConfigs ?? { 'cleanup.policy': 'compact' },
    },
    { topic: topics.customers, partitions, configs: { 'cleanup.policy': 'compact' } },
    { topic: topics.outGlobal, partitions },
    { topic: topics.outCopart, partitions },
  ]);
  return topics;
}

export function enrichmentEnv(topics: EnrichmentTopics): Record<string, string> {
  return {
    TOPIC_ORDERS: topics.orders,
    TOPIC_CUSTOMERS_GLOBAL: topics.customersGlobal,
    TOPIC_CUSTOMERS: topics.customers,
    TOPIC_OUT_GLOBAL: topics.outGlobal,
    TOPIC_OUT_COPART: topics.outCopart,
  };
}

export function startEnrichmentApp(
  group: AppProcessGroup,
  topics: EnrichmentTopics,
  options: Partial<AppProcessOptions> = {},
): Promise<AppProcess> {
  return group.start({
    fixture: ENRICHMENT_FIXTURE,
    appId: topics.appId,
    commitIntervalMs: 200,
    ...options,
    env: { ...enrichmentEnv(topics), ...options.env },
  });
}

export const customerName = (id: string, version: number): string => `name-${id}-v${version}`;

export function customerRecords(ids: readonly string[], version: number): TestRecord[] {
  return ids.map((id) => ({ key: id, value: JSON.stringify({ id, name: customerName(id, version), version } satisfies Customer) }));
}

/** The same customers into the global and the co-partitioned topic. */
export async function produceCustomers(topics: EnrichmentTopics, ids: readonly string[], version: number): Promise<void> {
  const records = customerRecords(ids, version);
  await Promise.all([produce(topics.customersGlobal, records), produce(topics.customers, records)]);
}

export const customerIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `c${i}`);

export function orderRecords(fromSeq: number, count: number, customers: number): TestRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = fromSeq + i;
    const order: Order = { orderId: `o${seq}`, customerId: `c${seq % customers}`, seq };
    return { key: order.orderId, value: JSON.stringify(order) };
  });
}

export function decodeEnriched(records: readonly ConsumedRecord[]): EnrichedOrder[] {
  return records.map((r) => JSON.parse((r.value as Buffer).toString('utf8')) as EnrichedOrder);
}

export async function readEnriched(topic: string): Promise<EnrichedOrder[]> {
  return decodeEnriched(await readTopic(topic));
}

export interface DeliveryReport {
  readonly expected: number;
  readonly distinct: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly wrongCustomer: number;
}

/** Compares enriched outputs with the orders `0..expected-1` (customer names of `version`). */
export function deliveryReport(outputs: readonly EnrichedOrder[], expected: number, customers: number, version = 1): DeliveryReport {
  const seen = new Map<number, number>();
  let wrongCustomer = 0;
  for (const o of outputs) {
    seen.set(o.seq, (seen.get(o.seq) ?? 0) + 1);
    if (o.customerId !== `c${o.seq % customers}` || o.customerName !== customerName(o.customerId, version)) wrongCustomer++;
  }
  let lost = 0;
  for (let seq = 0; seq < expected; seq++) if (!seen.has(seq)) lost++;
  return { expected, distinct: seen.size, lost, duplicates: outputs.length - seen.size, wrongCustomer };
}

/** Partition of an order key in the orders topic (the fixture keeps the order id as key on that path). */
export function orderPartition(orderId: string, partitions: number): number {
  return defaultPartition(Buffer.from(orderId), partitions);
}
