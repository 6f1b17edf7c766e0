/**
 * The aggregation workloads of `npm run bench`, over the benchmark's orders topic (`<BENCH_TOPIC_PREFIX>-orders`):
 * `BENCH_AGGREGATION=count` is `groupBy(customerId).count()`, `windowed` sums the order amounts per customer per
 * hour (tumbling windows, 5 minutes of grace). Both re-key through a repartition topic and write every update to
 * their store's changelog topic. Run through the CLI like any user module.
 */
import { Serdes, StreamsBuilder, TimeWindows, type Topology } from '../../index.js';
import { ORDER_COUNT_STORE, REVENUE_STORE, type Order } from '../../examples/order-enrichment.js';
import { benchTopics } from './bench-topology.js';

export type AggregationWorkload = 'count' | 'windowed';

/** The store (and so the changelog topic `<applicationId>-<store>-changelog`) of each workload. */
export const AGGREGATION_STORES: Readonly<Record<AggregationWorkload, string>> = { count: ORDER_COUNT_STORE, windowed: REVENUE_STORE };

export function aggregationBenchTopology(applicationId: string, ordersTopic: string, workload: AggregationWorkload): Topology {
  const b = new StreamsBuilder();
  const byCustomer = b
    .stream(ordersTopic, { key: Serdes.string(), value: Serdes.json<Order>() })
    .groupBy((_orderId, order) => order.customerId, { key: Serdes.string() });
  if (workload === 'count') byCustomer.count({ store: AGGREGATION_STORES.count });
  else
    byCustomer.windowedBy(TimeWindows.ofSize(60 * 60_000).grace(5 * 60_000)).aggregate(
      () => 0,
      (_customerId, order, revenue) => revenue + order.amount,
      {
        store: AGGREGATION_STORES.windowed,
        value: Serdes.json<number>(),
      },
    );
  return b.build({ applicationId });
}

export default function aggregationBench({ applicationId = 'bench-aggregation' }: { applicationId?: string } = {}): Topology {
  const prefix = process.env.BENCH_TOPIC_PREFIX;
  if (!prefix) throw new Error('BENCH_TOPIC_PREFIX is not set: the benchmark passes it to the instances it starts');
  const workload = process.env.BENCH_AGGREGATION;
  if (workload !== 'count' && workload !== 'windowed') throw new Error(`BENCH_AGGREGATION must be count or windowed, got "${workload}"`);
  return aggregationBenchTopology(applicationId, benchTopics(prefix).orders, workload);
}
