/**
 * The README's aggregation example run through TopologyTestDriver: `npx tsx examples/aggregations-example.ts`.
 * Orders per customer (groupBy re-keys through a repartition topic, count() keeps a queryable store with a changelog)
 * and revenue per customer per hour (a windowed aggregate with a grace period), on 4 partitions.
 */
import { Serdes, StreamsBuilder, TimeWindows } from '../index.js';
import { TopologyTestDriver } from '../testing.js';

interface Order {
  readonly customerId: string;
  readonly total: number;
}

const HOUR = 3_600_000;
const b = new StreamsBuilder();
const byCustomer = b
  .stream('orders', { key: Serdes.string(), value: Serdes.json<Order>() })
  .groupBy((_orderId, order) => order.customerId, { key: Serdes.string() });
byCustomer.count({ store: 'orders-per-customer' }).toStream().to('order-counts', { value: Serdes.json<number>() });
byCustomer.windowedBy(TimeWindows.ofSize(HOUR).grace(5 * 60_000)).aggregate(
  () => 0,
  (_customer, order, revenue) => revenue + order.total,
  {
    store: 'revenue-per-hour',
    value: Serdes.json<number>(),
    retentionMs: 24 * HOUR, // queryable for a day (default: size + grace)
  },
);
const topology = b.build({ applicationId: 'shop' });

console.log(topology.describe());

const driver = new TopologyTestDriver(topology, { partitions: 4 });
const orders = driver.inputTopic('orders', Serdes.string(), Serdes.json<Order>());
await orders.pipe('o1', { customerId: 'c1', total: 30 }, { timestamp: 10 * 60_000 });
await orders.pipe('o2', { customerId: 'c2', total: 5 }, { timestamp: 20 * 60_000 });
await orders.pipe('o3', { customerId: 'c1', total: 12 }, { timestamp: 70 * 60_000 }); // the next hour
await orders.pipe('o4', { customerId: 'c1', total: 8 }, { timestamp: 62 * 60_000 }); // late, within grace: counted in hour 1
await orders.pipe('o5', { customerId: 'c1', total: 99 }, { timestamp: 50 * 60_000 }); // hour 0 closed at 65 min: dropped

console.log('order-counts:', JSON.stringify(driver.outputTopic('order-counts', Serdes.string(), Serdes.json<number>()).readKeyValues()));
console.log('orders-per-customer c1:', await driver.store('orders-per-customer').get('c1'));
const revenue = driver.windowStore<string, number>('revenue-per-hour');
for (const { key, value } of await revenue.fetch('c1', 0, 2 * HOUR)) {
  console.log(`revenue c1 [${key.window.start / 60_000}, ${key.window.end / 60_000}) min: ${value}`);
}
console.log(
  'changelog:',
  driver.outputTopic('shop-orders-per-customer-changelog', Serdes.string(), Serdes.json<number>()).readKeyValues().length,
  'records',
);
console.log('late records dropped:', driver.metrics.snapshot().lateRecordDrops);
await driver.close();
