/**
 * Stream aggregations through the TopologyTestDriver (the runtime's task code), at 1 and 4 partitions, against
 * hand-computed results: count/reduce/aggregate after groupBy (re-keying through a repartition topic) and groupByKey,
 * changelog records and checkpoints, the `on-commit` record cache, and time windows (tumbling, hopping, grace, late
 * records, expiry).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPartition } from '../../common/partitioner.js';
import { topicPartitionId } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { restoreStore } from '../../state-store/restore.js';
import type { KeyValueStore } from '../../state-store/types.js';
import { WindowStoreReader } from '../../state-store/window-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { TimeWindows } from '../../topology/windows.js';
import { createChangelogDecoder, finishWindowRestore } from '../engine/changelog.js';
import { TopologyTestDriver, type TestRecord } from './topology-test-driver.js';

interface Order {
  readonly customerId: string | null;
  readonly total: number;
}

const str = Serdes.string();
const orderSerde = Serdes.json<Order>();
const num = Serdes.json<number>();

let drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  drivers = [];
});

/** A driver whose stores stay reachable (by name, one per partition) for checkpoint checks. */
function driverFor(topology: Topology, partitions: number) {
  const stores = new Map<string, MemoryKeyValueStore<unknown>[]>();
  const driver = new TopologyTestDriver(topology, {
    partitions,
    storeFactory: async (name, partition) => {
      const store = new MemoryKeyValueStore<unknown>(name, partition);
      stores.set(name, [...(stores.get(name) ?? []), store]);
      return store;
    },
  });
  drivers.push(driver);
  return { driver, stores };
}

/** Values per key, in emission order (records of different keys may interleave differently across partitions). */
function byKey<K, V>(records: readonly { key: K; value: V }[], keyOf: (key: K) => string = String): Record<string, V[]> {
  const out: Record<string, V[]> = {};
  for (const r of records) (out[keyOf(r.key)] ??= []).push(r.value);
  return out;
}

const ORDERS: readonly [string, Order][] = [
  ['o1', { customerId: 'c1', total: 10 }],
  ['o2', { customerId: 'c2', total: 5 }],
  ['o3', { customerId: 'c1', total: 7 }],
  ['o4', { customerId: 'c3', total: 1 }],
  ['o5', { customerId: 'c1', total: 3 }],
];

describe.each([1, 4])('stream aggregations at %i partition(s)', (partitions) => {
  function perCustomer() {
    const b = new StreamsBuilder();
    const grouped = b.stream('orders', { key: str, value: orderSerde }).groupBy((_id, order) => order.customerId, { key: str });
    grouped.count({ store: 'orders-per-customer' }).toStream().to('counts', { value: num });
    grouped
      .aggregate(
        () => 0,
        (_customer, order, revenue) => revenue + order.total,
        { store: 'revenue-per-customer', value: num },
      )
      .toStream()
      .to('revenue', { value: num });
    grouped
      .reduce((_latest, order) => order, { store: 'latest-order', value: orderSerde })
      .toStream()
      .to('latest', { value: orderSerde });
    return b.build({ applicationId: 'shop' });
  }

  it('count, aggregate and reduce after groupBy re-key through one repartition topic named after the first store', async () => {
    const topology = perCustomer();
    expect(topology.repartitionTopics.map((r) => r.topic)).toEqual(['shop-orders-per-customer-repartition']);
    expect(topology.subtopologies[1].stores).toEqual(['latest-order', 'orders-per-customer', 'revenue-per-customer']);
    const { driver } = driverFor(topology, partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (const [id, order] of ORDERS) await orders.pipe(id, order);

    expect(byKey(driver.outputTopic('counts', str, num).readKeyValues())).toEqual({ c1: [1, 2, 3], c2: [1], c3: [1] });
    expect(byKey(driver.outputTopic('revenue', str, num).readKeyValues())).toEqual({ c1: [10, 17, 20], c2: [5], c3: [1] });
    expect(byKey(driver.outputTopic('latest', str, orderSerde).readKeyValues())).toEqual({
      c1: [ORDERS[0][1], ORDERS[2][1], ORDERS[4][1]],
      c2: [ORDERS[1][1]],
      c3: [ORDERS[3][1]],
    });
    const counts = driver.store<string, number>('orders-per-customer');
    expect(await counts.get('c1')).toBe(3);
    expect(await counts.get('c4')).toBeUndefined();
    expect(await counts.all()).toEqual([
      { key: 'c1', value: 3 },
      { key: 'c2', value: 1 },
      { key: 'c3', value: 1 },
    ]);
    expect(await driver.store('revenue-per-customer').get('c1')).toBe(20);
  });

  it('writes every store update to <applicationId>-<store>-changelog on the task’s partition and checkpoints its end', async () => {
    const { driver, stores } = driverFor(perCustomer(), partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (const [id, order] of ORDERS) await orders.pipe(id, order);
    const topic = 'shop-orders-per-customer-changelog';
    expect(driver.partitionsOf(topic)).toBe(partitions);
    const changelog = driver.outputTopic(topic, str, num).readRecords();
    expect(byKey(changelog)).toEqual({ c1: [1, 2, 3], c2: [1], c3: [1] });
    for (const record of changelog) expect(record.partition).toBe(defaultPartition(Buffer.from(record.key as string), partitions));
    // Each partition's store checkpoints the next changelog offset, not input offsets.
    for (const store of stores.get('orders-per-customer') ?? []) {
      const written = changelog.filter((r) => r.partition === store.partition).length;
      const checkpoints = store.checkpoints();
      if (written > 0) expect([...checkpoints]).toEqual([[topicPartitionId(topic, store.partition as number), written]]);
      else expect(checkpoints.size).toBe(0);
    }
  });

  it('a store restored from its changelog equals the store that wrote it', async () => {
    const topology = perCustomer();
    const { driver, stores } = driverFor(topology, partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (const [id, order] of ORDERS) await orders.pipe(id, order);
    const spec = topology.stores.find((s) => s.name === 'latest-order');
    const changelog = driver.outputTopic('shop-latest-order-changelog', Serdes.buffer(), Serdes.buffer()).readRecords();
    for (const original of stores.get('latest-order') ?? []) {
      const partition = original.partition as number;
      const restored = new MemoryKeyValueStore<unknown>('latest-order', partition);
      const records = changelog.filter((r) => r.partition === partition).map(consumed);
      const decoder = createChangelogDecoder(spec!);
      const tp = topicPartitionId('shop-latest-order-changelog', partition);
      await restoreStore({
        store: restored,
        batches: once(records),
        endOffsets: new Map([[tp, records.length]]),
        decode: decoder.decode,
        onDecodeError: decoder.onDecodeError,
        decodeTombstones: true,
      });
      expect(await entries(restored)).toEqual(await entries(original));
      expect(restored.checkpoints()).toEqual(original.checkpoints());
    }
  });

  it('skips and counts records with a null key or value, as Kafka Streams does', async () => {
    const { driver } = driverFor(perCustomer(), partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('o1', { customerId: null, total: 3 });
    await orders.pipe('o2', { customerId: 'c1', total: 1 });
    expect(driver.outputTopic('counts', str, num).readKeyValues()).toEqual([{ key: 'c1', value: 1 }]);
    // Three aggregations read the one repartition topic: each skips the null key.
    expect(driver.metrics.snapshot().aggregationSkips).toBe(3);

    const b = new StreamsBuilder();
    b.stream('events', { key: str, value: str }).groupByKey().count({ store: 'events' }).toStream().to('event-counts', { value: num });
    const { driver: direct } = driverFor(b.build({ applicationId: 'nulls' }), partitions);
    const events = direct.inputTopic('events', str, str);
    await events.pipe('k', null);
    await events.pipe('k', 'v');
    expect(direct.outputTopic('event-counts', str, num).readKeyValues()).toEqual([{ key: 'k', value: 1 }]);
    expect(direct.metrics.snapshot().aggregationSkips).toBe(1);
  });

  it('groupByKey does not repartition a stream whose key did not change, and does after selectKey', async () => {
    const b = new StreamsBuilder();
    const byCustomer = b.stream('orders-by-customer', { key: str, value: orderSerde });
    byCustomer.groupByKey().count({ store: 'direct' }).toStream().to('direct-out', { value: num });
    byCustomer
      .selectKey((_k, o) => `${o.total % 2}`)
      .groupByKey({ key: str })
      .count({ store: 'parity' })
      .toStream()
      .to('parity-out', { value: num });
    const topology = b.build({ applicationId: 'gbk' });
    expect(topology.repartitionTopics.map((r) => r.topic)).toEqual(['gbk-parity-repartition']);
    const { driver } = driverFor(topology, partitions);
    const input = driver.inputTopic('orders-by-customer', str, orderSerde);
    await input.pipe('c1', { customerId: 'c1', total: 1 });
    await input.pipe('c2', { customerId: 'c2', total: 2 });
    await input.pipe('c1', { customerId: 'c1', total: 3 });
    expect(byKey(driver.outputTopic('direct-out', str, num).readKeyValues())).toEqual({ c1: [1, 2], c2: [1] });
    expect(byKey(driver.outputTopic('parity-out', str, num).readKeyValues())).toEqual({ '1': [1, 2], '0': [1] });
  });

  it("emit: 'on-commit' sends at most one update (and one changelog record) per key per commit", async () => {
    const b = new StreamsBuilder();
    const tripled = b.stream('orders', { key: str, value: orderSerde }).flatMapValues((o) => [o, o, o]);
    const grouped = tripled.groupBy((_k, o) => o.customerId, { key: str });
    grouped.count({ store: 'every', emit: 'every-update' }).toStream().to('every-out', { value: num });
    grouped.count({ store: 'cached', emit: 'on-commit' }).toStream().to('cached-out', { value: num });
    const { driver } = driverFor(b.build({ applicationId: 'cache' }), partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('o1', { customerId: 'c1', total: 1 });
    await orders.pipe('o2', { customerId: 'c1', total: 1 });
    expect(
      driver
        .outputTopic('every-out', str, num)
        .readKeyValues()
        .map((r) => r.value),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(driver.outputTopic('cached-out', str, num).readKeyValues()).toEqual([
      { key: 'c1', value: 3 },
      { key: 'c1', value: 6 },
    ]);
    expect(driver.outputTopic('cache-every-changelog', str, num).readKeyValues()).toHaveLength(6);
    expect(
      driver
        .outputTopic('cache-cached-changelog', str, num)
        .readKeyValues()
        .map((r) => r.value),
    ).toEqual([3, 6]);
    expect(await driver.store('cached').get('c1')).toBe(6);
  });

  it('an aggregator that changes its aggregate in place does not change the old value sent downstream', async () => {
    const b = new StreamsBuilder();
    b.stream('orders', { key: str, value: orderSerde })
      .groupBy((_k, o) => o.customerId, { key: str })
      .aggregate(
        (): { totals: number[] } => ({ totals: [] }),
        (_k, o, agg) => {
          agg.totals.push(o.total);
          return agg;
        },
        { store: 'totals' },
      )
      // Re-grouping subtracts each old value: it must be the aggregate as it was.
      .groupBy((customer, agg) => ['all', agg.totals.length] as const, { key: str, value: num })
      .reduce(
        (sum, n) => sum + n,
        (sum, n) => sum - n,
        { store: 'sizes', value: num },
      );
    const { driver } = driverFor(b.build({ applicationId: 'copy' }), partitions);
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (const [id, order] of ORDERS) await orders.pipe(id, order);
    expect(await driver.store('totals').get('c1')).toEqual({ totals: [10, 7, 3] });
    // Sum over customers of their order counts: 3 + 1 + 1.
    expect(await driver.store('sizes').get('all')).toBe(5);
  });
});

describe.each([1, 4])('windowed aggregations at %i partition(s)', (partitions) => {
  const windowKey = Serdes.windowed(str, 10);
  const render = (records: readonly TestRecord<{ key: string; window: { start: number; end: number } } | null, number | null>[]) =>
    records.map((r) => `${r.key?.key}@${r.key?.window.start}-${r.key?.window.end}=${r.value}`);

  function windowed(windows: TimeWindows, retentionMs?: number) {
    const b = new StreamsBuilder();
    b.stream('clicks', { key: str, value: str })
      .groupByKey()
      .windowedBy(windows)
      .count({ store: 'clicks-per-window', retentionMs })
      .toStream()
      .to('counts', { value: num });
    return driverFor(b.build({ applicationId: 'win' }), partitions);
  }

  it('tumbling windows accept records within grace and drop (and count) later ones', async () => {
    const { driver } = windowed(TimeWindows.ofSize(10).grace(5));
    const clicks = driver.inputTopic('clicks', str, str);
    for (const timestamp of [1, 3, 12, 8, 25, 9, 21]) await clicks.pipe('a', 'x', { timestamp });
    // 8 arrives at stream time 12: [0, 10) closes at 10 + 5 = 15, still open. 9 arrives at 25: closed, dropped.
    expect(render(driver.outputTopic('counts', windowKey, num).readRecords())).toEqual([
      'a@0-10=1',
      'a@0-10=2',
      'a@10-20=1',
      'a@0-10=3',
      'a@20-30=1',
      'a@20-30=2',
    ]);
    expect(driver.metrics.snapshot().lateRecordDrops).toBe(1);
    // Retention defaults to size + grace (15 ms): at stream time 25 only windows starting after 10 remain.
    const store = driver.windowStore<string, number>('clicks-per-window');
    expect(await store.fetch('a', 0, 30)).toEqual([{ key: { key: 'a', window: { start: 20, end: 30 } }, value: 2 }]);
    expect(await store.fetch('a', 21, 30)).toEqual([]);
  });

  it('hopping windows update every window a record falls in', async () => {
    const { driver } = windowed(TimeWindows.ofSize(10).advanceBy(5), 100);
    const clicks = driver.inputTopic('clicks', str, str);
    await clicks.pipe('a', 'x', { timestamp: 7 });
    await clicks.pipe('b', 'x', { timestamp: 12 });
    await clicks.pipe('a', 'x', { timestamp: 13 });
    const out = render(driver.outputTopic('counts', windowKey, num).readRecords());
    expect(out).toEqual(['a@0-10=1', 'a@5-15=1', 'b@5-15=1', 'b@10-20=1', 'a@5-15=2', 'a@10-20=1']);
    const all = await driver.windowStore<string, number>('clicks-per-window').fetchAll();
    expect(all.map((e) => `${e.key.key}@${e.key.window.start}=${e.value}`)).toEqual(['a@0=1', 'a@5=2', 'a@10=1', 'b@5=1', 'b@10=1']);
  });

  it('windows past retention disappear from queries and their segments from the store', async () => {
    const { driver, stores } = windowed(TimeWindows.ofSize(10), 20);
    const clicks = driver.inputTopic('clicks', str, str);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const key of keys) await clicks.pipe(key, 'x', { timestamp: 1 });
    const store = driver.windowStore<string, number>('clicks-per-window');
    expect(await store.fetchAll()).toHaveLength(keys.length);
    // Stream time moves per task: advance every task's stream time past retention of window [0, 10).
    for (const key of keys) await clicks.pipe(key, 'x', { timestamp: 100 });
    expect((await store.fetchAll()).map((e) => e.key.window.start)).toEqual(keys.map(() => 100));
    expect(await store.fetch('a', 0, 50)).toEqual([]);
    let raw = 0;
    for (const partition of stores.get('clicks-per-window') ?? []) {
      const reader = new WindowStoreReader(partition.readOnly(), { windowSizeMs: 10, retentionMs: 1_000_000, segmentIntervalMs: 10 });
      raw += (await all(reader.fetchAll())).length;
    }
    expect(raw).toBe(keys.length); // the old windows were deleted, not just hidden
  });

  it('a window store restored from its changelog answers like the original', async () => {
    const b = new StreamsBuilder();
    b.stream('clicks', { key: str, value: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10).advanceBy(5))
      .reduce((a, v) => `${a}${v}`, { store: 'letters', value: str, retentionMs: 30 });
    const topology = b.build({ applicationId: 'wr' });
    const { driver, stores } = driverFor(topology, partitions);
    const clicks = driver.inputTopic('clicks', str, str);
    for (const [key, letter, timestamp] of [
      ['a', 'x', 1],
      ['a', 'y', 6],
      ['b', 'z', 8],
      ['a', 'w', 40],
      ['b', 'v', 41],
    ] as const) {
      await clicks.pipe(key, letter, { timestamp });
    }
    const spec = topology.stores.find((s) => s.name === 'letters')!;
    const changelog = driver.outputTopic('wr-letters-changelog', Serdes.buffer(), Serdes.buffer()).readRecords();
    for (const original of stores.get('letters') ?? []) {
      const partition = original.partition as number;
      const restored = new MemoryKeyValueStore<unknown>('letters', partition);
      const records = changelog.filter((r) => r.partition === partition).map(consumed);
      const decoder = createChangelogDecoder(spec);
      await restoreStore({
        store: restored,
        batches: once(records),
        endOffsets: new Map([[topicPartitionId('wr-letters-changelog', partition), records.length]]),
        decode: decoder.decode,
        onDecodeError: decoder.onDecodeError,
        decodeTombstones: true,
      });
      await finishWindowRestore(restored, spec, decoder);
      const read = (store: KeyValueStore<unknown>) => all(new WindowStoreReader(store.readOnly(), spec.window!).fetchAll());
      expect(await read(restored)).toEqual(await read(original));
    }
  });
});

async function* once<T>(batch: T): AsyncGenerator<T> {
  yield batch;
}

function consumed(record: TestRecord<Buffer | null, Buffer | null>) {
  return { ...record, key: record.key, value: record.value };
}

async function entries(store: KeyValueStore<unknown>): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const entry of store.range()) out.push([entry.key.toString('hex'), entry.value]);
  return out;
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('aggregations and error policies', () => {
  function failing(errorPolicy: { processing: 'dead-letter' | 'fail' }) {
    const b = new StreamsBuilder();
    b.stream('orders', { key: str, value: orderSerde })
      .groupByKey()
      .aggregate(
        () => 0,
        (_k, order, sum) => {
          if (order.total < 0) throw new Error(`negative total ${order.total}`);
          return sum + order.total;
        },
        { store: 'sums', value: num },
      )
      .toStream()
      .to('sums-out', { value: num });
    const driver = new TopologyTestDriver(b.build({ applicationId: 'errors' }), { partitions: 2, errorPolicy });
    drivers.push(driver);
    return driver;
  }

  it('an aggregator that throws dead-letters the record and leaves the aggregate and its changelog untouched', async () => {
    const driver = failing({ processing: 'dead-letter' });
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('c1', { customerId: 'c1', total: 5 });
    await orders.pipe('c1', { customerId: 'c1', total: -1 });
    await orders.pipe('c1', { customerId: 'c1', total: 2 });
    expect(
      driver
        .outputTopic('sums-out', str, num)
        .readKeyValues()
        .map((r) => r.value),
    ).toEqual([5, 7]);
    expect(
      driver
        .outputTopic('errors-sums-changelog', str, num)
        .readKeyValues()
        .map((r) => r.value),
    ).toEqual([5, 7]);
    const letters = driver.outputTopic(driver.deadLetterTopic, str, orderSerde).readRecords();
    expect(letters.map((r) => r.value)).toEqual([{ customerId: 'c1', total: -1 }]);
    expect(letters[0].headers['tributary.error.message']?.toString()).toBe('negative total -1');
  });

  it("under the 'fail' policy the task stops at the record, before its aggregate is committed", async () => {
    const driver = failing({ processing: 'fail' });
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('c1', { customerId: 'c1', total: 5 });
    await expect(orders.pipe('c1', { customerId: 'c1', total: -1 })).rejects.toThrow('negative total -1');
    expect(await driver.store('sums').get('c1')).toBe(5);
  });
});
