/**
 * Table operations through the TopologyTestDriver, at 1 and 4 partitions, against hand-computed results:
 * table.groupBy().aggregate()/count()/reduce() with updates and tombstones, filter/filterNot/mapValues/toStream,
 * table–table join/leftJoin/outerJoin with updates on either side, and stream–table joins against derived tables.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { TopologyTestDriver } from './topology-test-driver.js';

interface User {
  readonly region: string;
  readonly score: number;
}
interface Customer {
  readonly name: string;
  readonly tier: 'gold' | 'basic';
}
interface RegionStats {
  readonly users: number;
  readonly score: number;
}

const str = Serdes.string();
const num = Serdes.json<number>();
const userSerde = Serdes.json<User>();
const customerSerde = Serdes.json<Customer>();
const anyJson = Serdes.json<unknown>();

let drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  drivers = [];
});

function driverFor(topology: Topology, partitions: number): TopologyTestDriver {
  const driver = new TopologyTestDriver(topology, { partitions });
  drivers.push(driver);
  return driver;
}

function byKey<V>(records: readonly { key: string | null; value: V }[]): Record<string, V[]> {
  const out: Record<string, V[]> = {};
  for (const r of records) (out[String(r.key)] ??= []).push(r.value);
  return out;
}

/** Users move between regions, change score, and leave (tombstones). */
const USER_UPDATES: readonly [string, User | null][] = [
  ['u1', { region: 'eu', score: 10 }],
  ['u2', { region: 'us', score: 5 }],
  ['u3', { region: 'eu', score: 1 }],
  ['u1', { region: 'us', score: 20 }], // moves: subtract from eu, add to us
  ['u3', { region: 'eu', score: 4 }], // stays: subtract 1, add 4 in eu
  ['u2', null], // leaves us
  ['u9', null], // tombstone of a user never seen: changes nothing
];

describe.each([1, 4])('table.groupBy aggregations at %i partition(s)', (partitions) => {
  function regions(emit: 'every-update' | 'on-commit' = 'every-update') {
    const b = new StreamsBuilder();
    const users = b.table('users', { key: str, value: userSerde, store: 'users' });
    const byRegion = users.groupBy((_id, user) => [user.region, user] as const, { key: str, value: userSerde });
    byRegion
      .aggregate(
        (): RegionStats => ({ users: 0, score: 0 }),
        (_region, user, stats) => ({ users: stats.users + 1, score: stats.score + user.score }),
        (_region, user, stats) => ({ users: stats.users - 1, score: stats.score - user.score }),
        { store: 'region-stats', emit },
      )
      .toStream()
      .to('stats', { value: Serdes.json<RegionStats>() });
    byRegion.count({ store: 'region-users' }).toStream().to('user-counts', { value: num });
    users
      .groupBy((_id, user) => [user.region, user.score] as const, { key: str, value: num, name: 'scores' })
      .reduce(
        (sum, score) => sum + score,
        (sum, score) => sum - score,
        { store: 'region-score', value: num },
      )
      .toStream()
      .to('scores', { value: num });
    return driverFor(b.build({ applicationId: 'regions' }), partitions);
  }

  it('an update subtracts the old row and adds the new one; a tombstone subtracts', async () => {
    const driver = regions();
    const users = driver.inputTopic('users', str, userSerde);
    for (const [id, user] of USER_UPDATES) await users.pipe(id, user);
    expect(byKey(driver.outputTopic('stats', str, anyJson).readKeyValues())).toEqual({
      eu: [
        { users: 1, score: 10 },
        { users: 2, score: 11 },
        { users: 1, score: 1 },
        { users: 0, score: 0 },
        { users: 1, score: 4 },
      ],
      us: [
        { users: 1, score: 5 },
        { users: 2, score: 25 },
        { users: 1, score: 20 },
      ],
    });
    expect(byKey(driver.outputTopic('user-counts', str, num).readKeyValues())).toEqual({ eu: [1, 2, 1, 0, 1], us: [1, 2, 1] });
    expect(byKey(driver.outputTopic('scores', str, num).readKeyValues())).toEqual({ eu: [10, 11, 1, 0, 4], us: [5, 25, 20] });
    expect(await driver.store('region-stats').all()).toEqual([
      { key: 'eu', value: { users: 1, score: 4 } },
      { key: 'us', value: { users: 1, score: 20 } },
    ]);
    expect(await driver.store('region-users').get('eu')).toBe(1);
  });

  it("emit: 'on-commit' folds an update's subtraction and addition into one change", async () => {
    const driver = regions('on-commit');
    const users = driver.inputTopic('users', str, userSerde);
    for (const [id, user] of USER_UPDATES) await users.pipe(id, user);
    // u3's move within eu is one commit: { users: 1, score: 4 } without the intermediate { users: 0, score: 0 }.
    expect(byKey(driver.outputTopic('stats', str, anyJson).readKeyValues())).toEqual({
      eu: [
        { users: 1, score: 10 },
        { users: 2, score: 11 },
        { users: 1, score: 1 },
        { users: 1, score: 4 },
      ],
      us: [
        { users: 1, score: 5 },
        { users: 2, score: 25 },
        { users: 1, score: 20 },
      ],
    });
  });
});

describe.each([1, 4])('table filter, mapValues and toStream at %i partition(s)', (partitions) => {
  it('an update that stops matching a filter becomes a deletion downstream', async () => {
    const b = new StreamsBuilder();
    const customers = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
    customers
      .filter((_id, c) => c.tier === 'gold')
      .toStream()
      .to('gold', { value: customerSerde });
    customers
      .filterNot((_id, c) => c.tier === 'gold')
      .mapValues((c) => c.name.toUpperCase(), { value: str })
      .toStream()
      .to('basic-names', { value: str });
    const driver = driverFor(b.build({ applicationId: 'tiers' }), partitions);
    const input = driver.inputTopic('customers', str, customerSerde);
    await input.pipe('c1', { name: 'ada', tier: 'gold' });
    await input.pipe('c1', { name: 'ada', tier: 'basic' });
    await input.pipe('c2', { name: 'bob', tier: 'basic' });
    await input.pipe('c1', null);
    await input.pipe('c3', { name: 'cy', tier: 'gold' });
    await input.pipe('c3', null);
    expect(driver.outputTopic('gold', str, customerSerde).readKeyValues()).toEqual([
      { key: 'c1', value: { name: 'ada', tier: 'gold' } },
      { key: 'c1', value: null },
      { key: 'c3', value: { name: 'cy', tier: 'gold' } },
      { key: 'c3', value: null },
    ]);
    expect(driver.outputTopic('basic-names', str, str).readKeyValues()).toEqual([
      { key: 'c1', value: 'ADA' },
      { key: 'c2', value: 'BOB' },
      { key: 'c1', value: null },
    ]);
  });

  it('a stream joins a filtered table through its source store, and an aggregation’s table', async () => {
    const b = new StreamsBuilder();
    const customers = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
    const gold = customers.filter((_id, c) => c.tier === 'gold').mapValues((c) => c.name);
    const payments = b.stream('payments', { key: str, value: num });
    payments.join(gold, (amount, name) => `${name}:${amount}`).to('gold-payments', { value: str });
    const counts = payments.groupByKey().count({ store: 'payment-counts' });
    payments.leftJoin(counts, (amount, count) => `${amount}#${count ?? 0}`).to('numbered', { value: str });
    const driver = driverFor(b.build({ applicationId: 'derived-joins' }), partitions);
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'ada', tier: 'gold' });
    await driver.inputTopic('customers', str, customerSerde).pipe('c2', { name: 'bob', tier: 'basic' });
    const pay = driver.inputTopic('payments', str, num);
    await pay.pipe('c1', 5);
    await pay.pipe('c2', 7);
    await pay.pipe('c1', 9);
    expect(driver.outputTopic('gold-payments', str, str).readKeyValues()).toEqual([
      { key: 'c1', value: 'ada:5' },
      { key: 'c1', value: 'ada:9' },
    ]);
    // The count node runs before the join in the graph (it was added first), so each payment sees its own count.
    expect(driver.outputTopic('numbered', str, str).readKeyValues()).toEqual([
      { key: 'c1', value: '5#1' },
      { key: 'c2', value: '7#1' },
      { key: 'c1', value: '9#2' },
    ]);
  });
});

describe.each([1, 4])('table–table joins at %i partition(s)', (partitions) => {
  // Each step: the table updated, key, value (null = tombstone).
  const STEPS: readonly ['customers' | 'addresses', string, string | null][] = [
    ['customers', 'c1', 'Ada'],
    ['addresses', 'c1', 'Paris'],
    ['addresses', 'c2', 'Rome'],
    ['customers', 'c1', 'Ada L.'],
    ['addresses', 'c1', null],
    ['customers', 'c1', null],
    ['customers', 'c2', 'Bob'],
  ];
  const joiner = (name: string | null, city: string | null) => `${name ?? '-'}+${city ?? '-'}`;

  function joins() {
    const b = new StreamsBuilder();
    const customers = b.table('customers', { key: str, value: str, store: 'customers' });
    const addresses = b.table('addresses', { key: str, value: str, store: 'addresses' });
    customers.join(addresses, joiner, { store: 'inner', value: str }).toStream().to('inner-out', { value: str });
    customers.leftJoin(addresses, joiner, { store: 'left', value: str }).toStream().to('left-out', { value: str });
    customers.outerJoin(addresses, joiner, { store: 'outer', value: str }).toStream().to('outer-out', { value: str });
    return driverFor(b.build({ applicationId: 'tt' }), partitions);
  }

  it('an update on either side emits the new joined row; a side disappearing emits a deletion', async () => {
    const driver = joins();
    for (const [topic, key, value] of STEPS) await driver.inputTopic(topic, str, str).pipe(key, value);
    const read = (topic: string) => driver.outputTopic(topic, str, str).readKeyValues();
    expect(read('inner-out')).toEqual([
      { key: 'c1', value: 'Ada+Paris' },
      { key: 'c1', value: 'Ada L.+Paris' },
      { key: 'c1', value: null },
      { key: 'c2', value: 'Bob+Rome' },
    ]);
    expect(read('left-out')).toEqual([
      { key: 'c1', value: 'Ada+-' },
      { key: 'c1', value: 'Ada+Paris' },
      { key: 'c1', value: 'Ada L.+Paris' },
      { key: 'c1', value: 'Ada L.+-' },
      { key: 'c1', value: null },
      { key: 'c2', value: 'Bob+Rome' },
    ]);
    expect(read('outer-out')).toEqual([
      { key: 'c1', value: 'Ada+-' },
      { key: 'c1', value: 'Ada+Paris' },
      { key: 'c2', value: '-+Rome' },
      { key: 'c1', value: 'Ada L.+Paris' },
      { key: 'c1', value: 'Ada L.+-' },
      { key: 'c1', value: null },
      { key: 'c2', value: 'Bob+Rome' },
    ]);
    expect(await driver.store('inner').all()).toEqual([{ key: 'c2', value: 'Bob+Rome' }]);
    expect(await driver.store('outer').all()).toEqual([{ key: 'c2', value: 'Bob+Rome' }]);
    // The join store's changelog holds every change, deletions as tombstones.
    expect(read('tt-inner-changelog')).toEqual([
      { key: 'c1', value: 'Ada+Paris' },
      { key: 'c1', value: 'Ada L.+Paris' },
      { key: 'c1', value: null },
      { key: 'c2', value: 'Bob+Rome' },
    ]);
  });

  it('joins an aggregation with a source table (both read in one co-partitioned sub-topology)', async () => {
    const b = new StreamsBuilder();
    const names = b.table('customers', { key: str, value: str, store: 'names' });
    const orderCounts = b
      .stream('orders', { key: str, value: str })
      .groupBy((_id, customer) => customer, { key: str })
      .count({ store: 'order-counts' });
    names
      .join(orderCounts, (name, count) => `${name} has ${count}`, { store: 'summary', value: str })
      .toStream()
      .to('summary-out', { value: str });
    const topology = b.build({ applicationId: 'agg-join' });
    const joining = topology.subtopologies.find((s) => s.stores.includes('summary'));
    expect(joining?.sourceTopics).toEqual(['agg-join-order-counts-repartition', 'customers']);
    expect(joining?.stores).toEqual(['names', 'order-counts', 'summary']);
    const driver = driverFor(topology, partitions);
    await driver.inputTopic('customers', str, str).pipe('c1', 'Ada');
    const orders = driver.inputTopic('orders', str, str);
    await orders.pipe('o1', 'c1');
    await orders.pipe('o2', 'c2');
    await orders.pipe('o3', 'c1');
    await driver.inputTopic('customers', str, str).pipe('c2', 'Bob');
    expect(driver.outputTopic('summary-out', str, str).readKeyValues()).toEqual([
      { key: 'c1', value: 'Ada has 1' },
      { key: 'c1', value: 'Ada has 2' },
      { key: 'c2', value: 'Bob has 1' },
    ]);
  });
});
