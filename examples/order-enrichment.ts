/**
 * Order enrichment, the topology the demo (`npm run demo`) and the benchmarks run:
 *
 *   customers (compacted) ──► global table "customers-global" ─┐
 *   orders ──────────────────────────────────────────────────── join by order.customerId ──► orders-enriched
 *   customers (compacted) ──► table "customers" (one store per partition)
 *   orders ──► selectKey(customerId) ──► repartition ──► join ──► orders-by-customer
 *
 * and, with `aggregations` (the demo and `tributary run` of this module; not the benchmarks' join workloads):
 *
 *   orders ──► groupBy(customerId) ──► repartition ──► count ──► table "orders-per-customer"
 *                                                  └─► hourly windows, sum of amounts ──► "revenue-per-customer-hour"
 *
 * Run it with the CLI (two instances share the work and answer queries for each other):
 *
 *   npx tsx cli/main.ts run examples/order-enrichment.ts --brokers 127.0.0.1:9092 --state-dir .state/a --port 7071
 *
 * The default export is a function so `--application-id` can rename the application (and its internal topics).
 */
import { Serdes, StreamsBuilder, TimeWindows, type Topology } from '../index.js';

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly tier: 'gold' | 'silver' | 'basic';
  readonly country: string;
  readonly address: string;
  /** Bumped on every update of the customer. */
  readonly version: number;
  readonly updatedAt: number;
}

export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: number;
  readonly createdAt: number;
}

/** An order with the customer fields a downstream service needs. */
export interface EnrichedOrder extends Order {
  readonly customer: Pick<Customer, 'name' | 'tier' | 'country'>;
  readonly customerVersion: number;
}

export const CUSTOMERS_TOPIC = 'customers';
export const ORDERS_TOPIC = 'orders';
export const ENRICHED_TOPIC = 'orders-enriched';
export const BY_CUSTOMER_TOPIC = 'orders-by-customer';
export const GLOBAL_STORE = 'customers-global';
export const PARTITIONED_STORE = 'customers';
export const ORDER_COUNT_STORE = 'orders-per-customer';
export const REVENUE_STORE = 'revenue-per-customer-hour';
export const DEFAULT_APPLICATION_ID = 'order-enrichment';

/** Topic names, overridable so several runs (benchmarks) can share one cluster. */
export interface OrderEnrichmentTopics {
  readonly customers: string;
  readonly orders: string;
  readonly enriched: string;
  readonly byCustomer: string;
}

export const DEFAULT_TOPICS: OrderEnrichmentTopics = {
  customers: CUSTOMERS_TOPIC,
  orders: ORDERS_TOPIC,
  enriched: ENRICHED_TOPIC,
  byCustomer: BY_CUSTOMER_TOPIC,
};

export function enrich(order: Order, customer: Customer): EnrichedOrder {
  return {
    ...order,
    customer: { name: customer.name, tier: customer.tier, country: customer.country },
    customerVersion: customer.version,
  };
}

export interface OrderEnrichmentOptions {
  /** Also count orders per customer and sum their amounts per customer per hour (queryable stores). Default false. */
  readonly aggregations?: boolean;
}

export function buildOrderEnrichment(
  applicationId: string,
  topics: OrderEnrichmentTopics = DEFAULT_TOPICS,
  options: OrderEnrichmentOptions = {},
): Topology {
  const builder = new StreamsBuilder();
  const customerSerdes = { key: Serdes.string(), value: Serdes.json<Customer>() };

  const customersEverywhere = builder.globalTable(topics.customers, { ...customerSerdes, store: GLOBAL_STORE });
  const customersByPartition = builder.table(topics.customers, { ...customerSerdes, store: PARTITIONED_STORE });
  const orders = builder.stream(topics.orders, { key: Serdes.string(), value: Serdes.json<Order>() });

  // Global-table join: every instance holds all customers, so orders join where they are (no repartition).
  orders
    .join(
      customersEverywhere,
      (_orderId, order) => order.customerId,
      (order, customer) => enrich(order, customer),
    )
    .to(topics.enriched, { value: Serdes.json<EnrichedOrder>() });

  // Co-partitioned join: re-key by customer; Tributary inserts a repartition topic so each order meets the
  // partition of the customer table that holds its customer.
  orders
    .selectKey((_orderId, order) => order.customerId, { key: Serdes.string() })
    .join(customersByPartition, (order, customer) => enrich(order, customer), { repartitionName: 'orders-by-customer' })
    .to(topics.byCustomer, { value: Serdes.json<EnrichedOrder>() });

  if (options.aggregations === true) {
    // Aggregations: grouped by customer (one more repartition topic, named after the first store), each store with
    // a compacted changelog topic <applicationId>-<store>-changelog it is restored from.
    const byCustomer = orders.groupBy((_orderId, order) => order.customerId, { key: Serdes.string() });
    byCustomer.count({ store: ORDER_COUNT_STORE });
    byCustomer.windowedBy(TimeWindows.ofSize(60 * 60_000).grace(5 * 60_000)).aggregate(
      () => 0,
      (_customerId, order, revenue) => revenue + order.amount,
      {
        store: REVENUE_STORE,
        value: Serdes.json<number>(),
        retentionMs: 24 * 60 * 60_000,
      },
    );
  }

  return builder.build({ applicationId });
}

/** What `tributary run` calls: `--application-id` arrives here (default `order-enrichment`). With the aggregations. */
export default function orderEnrichment({ applicationId = DEFAULT_APPLICATION_ID }: { applicationId?: string } = {}): Topology {
  return buildOrderEnrichment(applicationId, DEFAULT_TOPICS, { aggregations: true });
}
