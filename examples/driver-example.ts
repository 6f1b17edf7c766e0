/**
 * The README topology run through TopologyTestDriver: `npx tsx examples/driver-example.ts`.
 * Orders are enriched from a global customer table, and (re-keyed by customer) left-joined with a
 * co-partitioned customer table; 4 partitions per topic, so the re-key really crosses partitions.
 */
import { Serdes, StreamsBuilder } from '../index.js';
import { TopologyTestDriver } from '../testing.js';

interface Customer {
  readonly name: string;
  readonly tier: 'gold' | 'basic';
}
interface Order {
  readonly customerId: string;
  readonly total: number;
}

const b = new StreamsBuilder();
const customers = b.globalTable('customers', { key: Serdes.string(), value: Serdes.json<Customer>(), store: 'customers-global' });
b.stream('orders', { key: Serdes.string(), value: Serdes.json<Order>() })
  .join(
    customers,
    (_orderId, order) => order.customerId,
    (order, customer) => ({ ...order, customer }),
  )
  .to('orders-enriched', { value: Serdes.json() });
const byCustomer = b.table('customers', { key: Serdes.string(), value: Serdes.json<Customer>(), store: 'customers' });
b.stream('orders', { key: Serdes.string(), value: Serdes.json<Order>() })
  .selectKey((_orderId, order) => order.customerId) // a repartition topic is inserted before the join
  .leftJoin(byCustomer, (order, customer) => ({ ...order, customer: customer ?? null }))
  .to('orders-by-customer');
const topology = b.build({ applicationId: 'shop' });

console.log(topology.describe());

const driver = new TopologyTestDriver(topology, { partitions: 4 });
const customerTopic = driver.inputTopic('customers', Serdes.string(), Serdes.json<Customer>());
const orderTopic = driver.inputTopic('orders', Serdes.string(), Serdes.json<Order>());

await customerTopic.pipe('c1', { name: 'Ada', tier: 'gold' }, { timestamp: 1 });
await customerTopic.pipe('c2', { name: 'Grace', tier: 'basic' }, { timestamp: 2 });
await orderTopic.pipe('o1', { customerId: 'c1', total: 30 }, { timestamp: 10 });
await orderTopic.pipe('o2', { customerId: 'c9', total: 5 }, { timestamp: 11 }); // unknown customer
await customerTopic.pipe('c1', null, { timestamp: 12 }); // tombstone: c1 deleted
await orderTopic.pipe('o3', { customerId: 'c1', total: 7 }, { timestamp: 13 });

console.log('orders-enriched (inner join with the global table):');
for (const kv of driver.outputTopic('orders-enriched', Serdes.string(), Serdes.json()).readKeyValues())
  console.log(' ', JSON.stringify(kv));
console.log('orders-by-customer (left join after re-keying):');
for (const r of driver.outputTopic('orders-by-customer', Serdes.string(), Serdes.json()).readRecords()) {
  console.log(`  p${r.partition} ${r.key} -> ${JSON.stringify(r.value)}`);
}
console.log('store customers, key c2:', await driver.store('customers').get('c2'));
console.log('metrics:', JSON.stringify(driver.metrics.snapshot()));
await driver.close();
