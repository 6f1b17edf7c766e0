/**
 * Semantics of Tributary topologies, shown through the TopologyTestDriver (same StreamTask code as the runtime).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
import { DeserializationError, ProcessingError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import type { Topology } from '../../topology/topology.js';
import { Serdes } from '../../topology/serdes.js';
import { defaultPartition } from '../../common/partitioner.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { TopologyTestDriver, type TopologyTestDriverOptions } from './topology-test-driver.js';

interface Order {
  readonly customerId: string | null;
  readonly total: number;
}
interface Customer {
  readonly name: string;
}

const str = Serdes.string();
const orderSerde = Serdes.json<Order>();
const customerSerde = Serdes.json<Customer>();
const anyJson = Serdes.json<unknown>();

let drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  drivers = [];
});

function driverFor(topology: Topology, options: TopologyTestDriverOptions = {}): TopologyTestDriver {
  const driver = new TopologyTestDriver(topology, options);
  drivers.push(driver);
  return driver;
}

describe('stateless operators', () => {
  it('filter, filterNot, map, mapValues, flatMap, flatMapValues, selectKey, peek', async () => {
    const b = new StreamsBuilder();
    const peeked: string[] = [];
    const input = b.stream('in', { key: str, value: Serdes.json<number>() });
    input.filter((_k, v) => v % 2 === 0).to('even', { value: Serdes.json<number>() });
    input.filterNot((_k, v) => v % 2 === 0).to('odd', { value: Serdes.json<number>() });
    input.map((k, v) => [`${k}!`, v * 10]).to('mapped', { key: str, value: Serdes.json<number>() });
    input.mapValues((v, k) => `${k}=${v}`).to('mapped-values', { value: str });
    input
      .flatMap((k, v): [string, number][] => [
        [k, v],
        [`${k}'`, -v],
      ])
      .to('flat', { key: str, value: Serdes.json<number>() });
    input.flatMapValues((v) => Array.from({ length: v }, (_, i) => i)).to('flat-values', { value: Serdes.json<number>() });
    input.selectKey((_k, v) => v).to('rekeyed', { key: Serdes.json<number>(), value: Serdes.json<number>() });
    input.peek((k) => peeked.push(k)).to('peeked', { value: Serdes.json<number>() });
    const driver = driverFor(b.build({ applicationId: 'ops' }), { partitions: 3 });
    const topic = driver.inputTopic('in', str, Serdes.json<number>());
    await topic.pipe('a', 1);
    await topic.pipe('b', 2);
    const read = (name: string) => driver.outputTopic(name, anyJson, anyJson).readKeyValues();
    const readStr = (name: string) => driver.outputTopic(name, str, anyJson).readKeyValues();
    expect(readStr('even')).toEqual([{ key: 'b', value: 2 }]);
    expect(readStr('odd')).toEqual([{ key: 'a', value: 1 }]);
    expect(readStr('mapped')).toEqual([
      { key: 'a!', value: 10 },
      { key: 'b!', value: 20 },
    ]);
    expect(driver.outputTopic('mapped-values', str, str).readKeyValues()).toEqual([
      { key: 'a', value: 'a=1' },
      { key: 'b', value: 'b=2' },
    ]);
    expect(readStr('flat')).toEqual([
      { key: 'a', value: 1 },
      { key: "a'", value: -1 },
      { key: 'b', value: 2 },
      { key: "b'", value: -2 },
    ]);
    expect(readStr('flat-values')).toEqual([
      { key: 'a', value: 0 },
      { key: 'b', value: 0 },
      { key: 'b', value: 1 },
    ]);
    expect(read('rekeyed')).toEqual([
      { key: 1, value: 1 },
      { key: 2, value: 2 },
    ]);
    expect(peeked).toEqual(['a', 'b']);
    expect(readStr('peeked')).toHaveLength(2);
  });

  it('merge, split (first matching branch wins, default takes the rest) and to() with a custom partitioner', async () => {
    const b = new StreamsBuilder();
    const a = b.stream('a', { key: str, value: Serdes.json<number>() });
    const c = b.stream('c', { key: str, value: Serdes.json<number>() });
    const branches = a.merge(c).split({ big: (_k, v) => v >= 100, positive: (_k, v) => v > 0 });
    branches.big.to('big', { partitioner: (_k, v, n) => v % n });
    branches.positive.to('positive');
    branches.default.to('rest');
    const driver = driverFor(b.build({ applicationId: 'split' }), { partitions: 4 });
    await driver.inputTopic('a', str, Serdes.json<number>()).pipe('x', 150);
    await driver.inputTopic('c', str, Serdes.json<number>()).pipe('y', 5);
    await driver.inputTopic('a', str, Serdes.json<number>()).pipe('z', -1);
    const big = driver.outputTopic('big', str, Serdes.json<number>()).readRecords();
    expect(big.map((r) => [r.key, r.value, r.partition])).toEqual([['x', 150, 150 % 4]]);
    expect(driver.outputTopic('positive', str, Serdes.json<number>()).readKeyValues()).toEqual([{ key: 'y', value: 5 }]);
    expect(driver.outputTopic('rest', str, Serdes.json<number>()).readKeyValues()).toEqual([{ key: 'z', value: -1 }]);
  });

  it('routes by murmur2 of the key bytes, keeps timestamps and headers, and repartition() moves records to their key partition', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: str, value: str })
      .selectKey((_k, v) => v, { key: str })
      .repartition({ name: 'by-value' })
      .to('out');
    const driver = driverFor(b.build({ applicationId: 'rp' }), { partitions: 8 });
    await driver.inputTopic('in', str, str).pipe('k1', 'target', { timestamp: 42, headers: { trace: Buffer.from('t1') } });
    const [out] = driver.outputTopic('out', str, str).readRecords();
    expect(out.key).toBe('target');
    expect(out.partition).toBe(defaultPartition(Buffer.from('target'), 8));
    expect(out.timestamp).toBe(42);
    expect(out.headers.trace?.toString()).toBe('t1');
    const [hop] = driver.outputTopic('rp-by-value-repartition', str, str).readRecords();
    expect(hop.partition).toBe(out.partition);
  });

  it('process() forwards any number of records and keeps state in a declared store', async () => {
    const b = new StreamsBuilder().addStateStore('counts', { key: str });
    b.stream('clicks', { key: str, value: str })
      .process<string, number>(
        async (key, _value, ctx) => {
          const counts = ctx.store<string, number>('counts');
          const next = ((await counts.get(key)) ?? 0) + 1;
          counts.put(key, next);
          ctx.forward(key, next);
        },
        { stores: ['counts'] },
      )
      .to('click-counts', { key: str, value: Serdes.json<number>() });
    const driver = driverFor(b.build({ applicationId: 'proc' }), { partitions: 2 });
    const clicks = driver.inputTopic('clicks', str, str);
    await clicks.pipeMany([
      { key: 'u1', value: 'a' },
      { key: 'u2', value: 'b' },
      { key: 'u1', value: 'c' },
    ]);
    expect(driver.outputTopic('click-counts', str, Serdes.json<number>()).readKeyValues()).toEqual([
      { key: 'u1', value: 1 },
      { key: 'u2', value: 1 },
      { key: 'u1', value: 2 },
    ]);
    expect(await driver.store<string, number>('counts').get('u1')).toBe(2);
  });
});

describe('process() errors', () => {
  it('an async processor that rejects dead-letters that record only; outputs keep input order', async () => {
    const b = new StreamsBuilder().addStateStore('seen', { key: str });
    b.stream('in', { key: str, value: Serdes.json<number>() })
      .process<string, number>(
        async (key, value, ctx) => {
          const seen = ctx.store<string, number>('seen');
          const before = (await seen.get(key)) ?? 0;
          if (value < 0) throw new TypeError(`negative ${value}`);
          seen.put(key, before + value);
          ctx.forward(key, before + value);
        },
        { stores: ['seen'] },
      )
      .to('sums', { key: str, value: Serdes.json<number>() });
    const driver = driverFor(b.build({ applicationId: 'ap' }), { partitions: 1 });
    const input = driver.inputTopic('in', str, Serdes.json<number>());
    await input.pipeMany([
      { key: 'a', value: 1 },
      { key: 'a', value: -1 },
      { key: 'a', value: 2 },
    ]);
    expect(driver.outputTopic('sums', str, Serdes.json<number>()).readKeyValues()).toEqual([
      { key: 'a', value: 1 },
      { key: 'a', value: 3 },
    ]);
    const dead = driver.outputTopic(driver.deadLetterTopic, str, Serdes.json<number>()).readRecords();
    expect(dead.map((d) => [d.value, d.headers[DeadLetterHeaders.errorClass].toString()])).toEqual([[-1, 'TypeError']]);
  });
});

function streamTableTopology(left: boolean): Topology {
  const b = new StreamsBuilder();
  const table = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
  const orders = b.stream('orders', { key: str, value: orderSerde });
  if (left) orders.leftJoin(table, (o, c) => ({ total: o.total, name: c?.name ?? null })).to('out', { value: Serdes.json() });
  else orders.join(table, (o, c) => ({ total: o.total, name: c.name })).to('out', { value: Serdes.json() });
  return b.build({ applicationId: 'st' });
}

describe.each([4, 8])('stream-table joins over %i partitions', (partitions) => {
  it('inner join: emits only for orders whose customer exists; counts misses', async () => {
    const driver = driverFor(streamTableTopology(false), { partitions });
    const customers = driver.inputTopic('customers', str, customerSerde);
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (let i = 0; i < 20; i++) await customers.pipe(`c${i}`, { name: `name${i}` }, { timestamp: i });
    for (let i = 0; i < 40; i++) await orders.pipe(`c${i}`, { customerId: null, total: i }, { timestamp: 100 + i });
    const out = driver.outputTopic('out', str, anyJson).readKeyValues();
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => ({ key: `c${i}`, value: { total: i, name: `name${i}` } })));
    expect(driver.metrics.snapshot()).toMatchObject({ joinHits: 20, joinMisses: 20, deadLettered: 0 });
    // The joiner is never called for a miss (it would see a null customer).
    expect(driver.outputTopic(driver.deadLetterTopic, str, anyJson).isEmpty()).toBe(true);
  });

  it('left join: every order emits, with a null table side when absent', async () => {
    const driver = driverFor(streamTableTopology(true), { partitions });
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' });
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('c1', { customerId: null, total: 1 });
    await orders.pipe('c2', { customerId: null, total: 2 });
    expect(driver.outputTopic('out', str, anyJson).readKeyValues()).toEqual([
      { key: 'c1', value: { total: 1, name: 'Ada' } },
      { key: 'c2', value: { total: 2, name: null } },
    ]);
  });

  it('a late table update changes state only: it does not re-emit earlier orders', async () => {
    const driver = driverFor(streamTableTopology(true), { partitions });
    await driver.inputTopic('orders', str, orderSerde).pipe('c1', { customerId: null, total: 1 }, { timestamp: 1 });
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' }, { timestamp: 2 });
    await driver.inputTopic('orders', str, orderSerde).pipe('c1', { customerId: null, total: 3 }, { timestamp: 3 });
    expect(driver.outputTopic('out', str, anyJson).readKeyValues()).toEqual([
      { key: 'c1', value: { total: 1, name: null } },
      { key: 'c1', value: { total: 3, name: 'Ada' } },
    ]);
  });

  it('a tombstone deletes: inner join then emits nothing, left join a null side', async () => {
    for (const left of [false, true]) {
      const driver = driverFor(streamTableTopology(left), { partitions });
      const customers = driver.inputTopic('customers', str, customerSerde);
      await customers.pipe('c1', { name: 'Ada' });
      await customers.pipe('c1', null);
      expect(await driver.store('customers').get('c1')).toBeUndefined();
      await driver.inputTopic('orders', str, orderSerde).pipe('c1', { customerId: null, total: 5 });
      expect(driver.outputTopic('out', str, anyJson).readKeyValues()).toEqual(left ? [{ key: 'c1', value: { total: 5, name: null } }] : []);
    }
  });

  it('re-keyed stream joins the co-partitioned table through a repartition topic', async () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
    b.stream('orders', { key: str, value: orderSerde })
      .selectKey((_orderId, o) => o.customerId)
      .join(table, (o, c, customerId) => `${customerId}:${c.name}:${o.total}`)
      .to('out', { value: str });
    const driver = driverFor(b.build({ applicationId: 'rk' }), { partitions });
    const customers = driver.inputTopic('customers', str, customerSerde);
    for (let i = 0; i < 10; i++) await customers.pipe(`c${i}`, { name: `n${i}` });
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (let i = 0; i < 30; i++) await orders.pipe(`order-${i}`, { customerId: `c${i % 10}`, total: i });
    const out = driver.outputTopic('out', str, str).readRecords();
    expect(out.map((r) => r.value)).toEqual(Array.from({ length: 30 }, (_, i) => `c${i % 10}:n${i % 10}:${i}`));
    // Each output sits on the partition of its customer key, like the table record.
    for (const r of out) expect(r.partition).toBe(defaultPartition(Buffer.from(r.key as string), partitions));
    // The orders really came from other partitions than their customers' for most keys.
    const moved = Array.from(
      { length: 30 },
      (_, i) => defaultPartition(Buffer.from(`order-${i}`), partitions) !== defaultPartition(Buffer.from(`c${i % 10}`), partitions),
    );
    expect(moved.filter(Boolean).length).toBeGreaterThan(10);
  });

  it('stream-globalTable join with a key mapper; null mapped keys are dropped (inner) or emitted (left)', async () => {
    const b = new StreamsBuilder();
    const global = b.globalTable('customers', { key: str, value: customerSerde, store: 'customers-global' });
    const orders = b.stream('orders', { key: str, value: orderSerde });
    orders
      .join(
        global,
        (_id, o) => o.customerId,
        (o, c) => `${c.name}:${o.total}`,
      )
      .to('inner', { value: str });
    orders
      .leftJoin(
        global,
        (_id, o) => o.customerId,
        (o, c) => `${c?.name ?? '-'}:${o.total}`,
      )
      .to('left', { value: str });
    const driver = driverFor(b.build({ applicationId: 'gj' }), { partitions });
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' });
    const o = driver.inputTopic('orders', str, orderSerde);
    await o.pipe('o1', { customerId: 'c1', total: 1 });
    await o.pipe('o2', { customerId: null, total: 2 });
    await o.pipe('o3', { customerId: 'c404', total: 3 });
    expect(driver.outputTopic('inner', str, str).readKeyValues()).toEqual([{ key: 'o1', value: 'Ada:1' }]);
    expect(driver.outputTopic('left', str, str).readKeyValues()).toEqual([
      { key: 'o1', value: 'Ada:1' },
      { key: 'o2', value: '-:2' },
      { key: 'o3', value: '-:3' },
    ]);
    expect(driver.metrics.snapshot().nullKeyDrops).toBe(1);
    expect(await driver.store('customers-global').get('c1')).toEqual({ name: 'Ada' });
  });
});

describe('co-partitioning', () => {
  it('a re-keyed stream from an 8-partition topic joins a 4-partition table (repartition topic gets 4)', async () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
    b.stream('orders', { key: str, value: orderSerde })
      .selectKey((_id, o) => o.customerId)
      .join(table, (o, c) => `${c.name}:${o.total}`, { repartitionName: 'by-customer' })
      .to('out', { value: str });
    const driver = driverFor(b.build({ applicationId: 'cp' }), { topicPartitions: { orders: 8, customers: 4 } });
    expect(driver.partitionsOf('cp-by-customer-repartition')).toBe(4);
    await driver.inputTopic('customers', str, customerSerde).pipe('c7', { name: 'Ada' });
    await driver.inputTopic('orders', str, orderSerde).pipe('o1', { customerId: 'c7', total: 9 });
    expect(driver.outputTopic('out', str, str).readKeyValues()).toEqual([{ key: 'c7', value: 'Ada:9' }]);
  });

  it('refuses to run a sub-topology whose user topics have different partition counts', async () => {
    const driver = driverFor(streamTableTopology(false), { topicPartitions: { orders: 8, customers: 4 } });
    await expect(driver.inputTopic('orders', str, orderSerde).pipe('c1', { customerId: null, total: 1 })).rejects.toThrow(
      /must be co-partitioned/,
    );
  });
});

describe('error policies', () => {
  function enrichTopology(policy?: { deserialization?: 'fail' | 'dead-letter' | 'log-and-skip' }) {
    const b = new StreamsBuilder();
    const table = b.table('customers', { key: str, value: customerSerde, store: 'customers' });
    b.stream('orders', { key: str, value: orderSerde, errorPolicy: policy })
      .join(table, (o, c) => {
        if (o.total < 0) throw new RangeError(`negative total ${o.total}`);
        return `${c.name}:${o.total}`;
      })
      .to('out', { value: str });
    return b.build({ applicationId: 'err' });
  }

  it('dead-letters bad bytes with the original key/value and exact headers, and keeps going', async () => {
    const driver = driverFor(enrichTopology(), { partitions: 2 });
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' });
    const raw = driver.inputTopic('orders', str, orderSerde);
    await raw.pipeRaw(Buffer.from('c1'), Buffer.from('{not json'), { timestamp: 77, headers: { trace: Buffer.from('x') } });
    await raw.pipe('c1', { customerId: null, total: 2 });
    const [dead, ...more] = driver.outputTopic(driver.deadLetterTopic, Serdes.buffer(), Serdes.buffer()).readRecords();
    expect(more).toEqual([]);
    expect(dead.key?.toString()).toBe('c1');
    expect(dead.value?.toString()).toBe('{not json');
    const p = defaultPartition(Buffer.from('c1'), 2);
    const headers = Object.fromEntries(Object.entries(dead.headers).map(([k, v]) => [k, v.toString()]));
    expect(headers).toEqual({
      trace: 'x',
      [DeadLetterHeaders.stage]: 'deserialization',
      [DeadLetterHeaders.errorClass]: 'DeserializationError',
      [DeadLetterHeaders.errorMessage]: expect.stringContaining(`Cannot deserialize the value of orders:${p}@0`),
      [DeadLetterHeaders.sourceTopic]: 'orders',
      [DeadLetterHeaders.sourcePartition]: String(p),
      [DeadLetterHeaders.sourceOffset]: '0',
      [DeadLetterHeaders.sourceTimestamp]: '77',
      [DeadLetterHeaders.applicationId]: 'err',
    });
    expect(driver.outputTopic('out', str, str).readKeyValues()).toEqual([{ key: 'c1', value: 'Ada:2' }]);
    expect(driver.metrics.snapshot().errors.deserialization['dead-letter']).toBe(1);
  });

  it('a throwing joiner dead-letters only the records it threw on', async () => {
    const driver = driverFor(enrichTopology(), { partitions: 4 });
    await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' });
    const orders = driver.inputTopic('orders', str, orderSerde);
    for (const total of [1, -2, 3, -4]) await orders.pipe('c1', { customerId: null, total });
    expect(
      driver
        .outputTopic('out', str, str)
        .readKeyValues()
        .map((kv) => kv.value),
    ).toEqual(['Ada:1', 'Ada:3']);
    const dead = driver.outputTopic(driver.deadLetterTopic, str, orderSerde).readRecords();
    expect(dead.map((r) => r.value?.total)).toEqual([-2, -4]);
    expect(dead[0].headers[DeadLetterHeaders.stage].toString()).toBe('processing');
    expect(dead[0].headers[DeadLetterHeaders.errorClass].toString()).toBe('RangeError');
    expect(dead[0].headers[DeadLetterHeaders.errorMessage].toString()).toBe('negative total -2');
  });

  it("'fail' stops the task with a typed error and does not commit past the bad record", async () => {
    const driver = driverFor(enrichTopology({ deserialization: 'fail' }), { partitions: 1 });
    const orders = driver.inputTopic('orders', str, orderSerde);
    await orders.pipe('c1', { customerId: null, total: 1 });
    expect(driver.committedOffsets().get('orders:0')).toBe(1);
    const failure = await orders.pipeRaw(Buffer.from('c1'), Buffer.from([0xff]), {}).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeserializationError);
    expect(failure).toMatchObject({ code: 'TRIBUTARY_DESERIALIZATION', topic: 'orders', partition: 0, offset: 1, part: 'value' });
    expect(driver.committedOffsets().get('orders:0')).toBe(1);
  });

  it("processing 'fail' raises ProcessingError naming the node and record", async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: str, value: str })
      .mapValues((v) => {
        if (v === 'boom') throw new Error('bad value');
        return v;
      })
      .to('out');
    const driver = driverFor(b.build({ applicationId: 'pf' }), { errorPolicy: { processing: 'fail' } });
    const failure = await driver
      .inputTopic('in', str, str)
      .pipe('k', 'boom')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProcessingError);
    expect(failure).toMatchObject({ node: 'KSTREAM-MAPVALUES-0000000001', topic: 'in', offset: 0 });
  });

  it('log-and-skip counts and drops; a bad table record never corrupts the store', async () => {
    const driver = driverFor(enrichTopology(), { partitions: 1, errorPolicy: { deserialization: 'log-and-skip' } });
    const customers = driver.inputTopic('customers', str, customerSerde);
    await customers.pipe('c1', { name: 'Ada' });
    await customers.pipeRaw(Buffer.from('c1'), Buffer.from('garbage'));
    await customers.pipeRaw(null, Buffer.from('{"name":"no key"}'));
    expect(await driver.store('customers').get('c1')).toEqual({ name: 'Ada' });
    expect(driver.metrics.snapshot().errors.deserialization['log-and-skip']).toBe(2);
    expect(driver.outputTopic(driver.deadLetterTopic, Serdes.buffer(), Serdes.buffer()).isEmpty()).toBe(true);
    expect(driver.committedOffsets().get('customers:0')).toBe(3);
  });
});

describe('driver', () => {
  it('queries stores across partitions in key order', async () => {
    const driver = driverFor(streamTableTopology(false), { partitions: 4 });
    const customers = driver.inputTopic('customers', str, customerSerde);
    for (const id of ['c3', 'c1', 'c2', 'c0']) await customers.pipe(id, { name: id.toUpperCase() });
    const store = driver.store<string, Customer>('customers');
    expect((await store.all()).map((e) => e.key)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(await store.range({ gte: Buffer.from('c1'), lt: Buffer.from('c3'), reverse: true })).toEqual([
      { key: 'c2', value: { name: 'C2' } },
      { key: 'c1', value: { name: 'C1' } },
    ]);
    expect(await store.get('c2')).toEqual({ name: 'C2' });
  });

  it('runs on real LevelDB stores through storeFactory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-driver-'));
    try {
      const driver = new TopologyTestDriver(streamTableTopology(false), {
        partitions: 2,
        storeFactory: (name, partition) =>
          LevelKeyValueStore.open<unknown>({ location: join(dir, `${name}-${partition}`), name, partition }),
      });
      await driver.inputTopic('customers', str, customerSerde).pipe('c1', { name: 'Ada' });
      await driver.inputTopic('orders', str, orderSerde).pipe('c1', { customerId: null, total: 4 });
      expect(driver.outputTopic('out', str, anyJson).readKeyValues()).toEqual([{ key: 'c1', value: { total: 4, name: 'Ada' } }]);
      expect(await driver.store('customers').get('c1')).toEqual({ name: 'Ada' });
      await driver.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses the driver clock as the default timestamp', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: str, value: str }).to('out');
    const driver = driverFor(b.build({ applicationId: 'clock' }), { startTimeMs: 1000 });
    driver.advanceTime(500);
    await driver.inputTopic('in', str, str).pipe('k', 'v');
    expect(driver.outputTopic('out', str, str).readRecords()[0].timestamp).toBe(1500);
  });
});

describe('dead letters: one per bad source record, whatever reads it', () => {
  interface Sale {
    readonly id: string;
    readonly customerId: string;
    readonly kind: 'good' | 'boom' | 'both' | 'late';
  }
  function shopTopology() {
    const b = new StreamsBuilder();
    const customerSerdes = { key: str, value: customerSerde };
    b.globalTable('regions', { ...customerSerdes, store: 'regions' });
    const everywhere = b.globalTable('customers', { ...customerSerdes, store: 'customers-global' });
    const partitioned = b.table('customers', { ...customerSerdes, store: 'customers' });
    const sales = b.stream('sales', { key: str, value: Serdes.json<Sale>() });
    const customerOf = (sale: Sale): string => {
      if (sale.kind === 'boom') throw new TypeError('no customer');
      return sale.customerId;
    };
    sales
      .join(
        everywhere,
        (_k, sale) => customerOf(sale),
        (sale, c) => {
          if (sale.kind === 'both') throw new RangeError('global join refused');
          return `${sale.id}:${c.name}`;
        },
      )
      .to('by-global', { value: str });
    sales
      .selectKey((_k, sale) => customerOf(sale), { key: str })
      .join(
        partitioned,
        (sale, c) => {
          if (sale.kind !== 'good') throw new RangeError('refused after the repartition');
          return `${sale.id}:${c.name}`;
        },
        { repartitionName: 'by-customer' },
      )
      .to('by-partition', { value: str });
    return b.build({ applicationId: 'shop' });
  }

  it('global-only, shared and repartitioned topics: letters == bad records, originals intact, counters agree', async () => {
    const driver = driverFor(shopTopology(), { partitions: 2 });
    const customers = driver.inputTopic('customers', str, customerSerde);
    const regions = driver.inputTopic('regions', str, customerSerde);
    await customers.pipe('c1', { name: 'Ada' });
    await customers.pipeRaw(Buffer.from('c2'), Buffer.from('{"id": c-2, nope}'));
    await regions.pipe('north', { name: 'North' });
    await regions.pipeRaw(null, Buffer.from('{"name":"no key"}'));
    const sales = driver.inputTopic('sales', str, Serdes.json<Sale>());
    for (const kind of ['good', 'boom', 'both', 'late'] as const) {
      await sales.pipe(`s-${kind}`, { id: `s-${kind}`, customerId: 'c1', kind }, { headers: { trace: Buffer.from(kind) } });
    }

    const letters = driver.outputTopic(driver.deadLetterTopic, Serdes.buffer(), Serdes.buffer()).readRecords();
    const described = letters.map((l) => ({
      source: l.headers[DeadLetterHeaders.sourceTopic]?.toString(),
      stage: l.headers[DeadLetterHeaders.stage]?.toString(),
      key: l.key?.toString() ?? null,
      trace: l.headers.trace?.toString(),
      failedAt: l.headers[DeadLetterHeaders.failedAt]?.toString().replace(/:\d+@\d+$/, ''),
    }));
    expect(described).toEqual(
      expect.arrayContaining([
        { source: 'customers', stage: 'deserialization', key: 'c2', trace: undefined, failedAt: undefined },
        { source: 'regions', stage: 'deserialization', key: null, trace: undefined, failedAt: undefined },
        { source: 'sales', stage: 'processing', key: 's-boom', trace: 'boom', failedAt: undefined },
        { source: 'sales', stage: 'processing', key: 's-both', trace: 'both', failedAt: undefined },
        { source: 'sales', stage: 'processing', key: 's-late', trace: 'late', failedAt: 'shop-by-customer-repartition' },
      ]),
    );
    expect(letters).toHaveLength(5);
    // The late sale's letter holds the user's bytes (key s-late, its JSON), not the re-keyed internal record.
    const late = letters.find((l) => l.key?.toString() === 's-late');
    expect(JSON.parse(late?.value?.toString() ?? '')).toEqual({ id: 's-late', customerId: 'c1', kind: 'late' });
    expect(late?.headers[DeadLetterHeaders.bytes]).toBeUndefined();

    const metrics = driver.metrics.snapshot();
    expect(metrics.deadLetteredBy).toEqual({
      deserialization: { customers: 1, regions: 1 },
      processing: { sales: 3 },
      production: {},
    });
    expect(metrics.errors.processing['dead-letter']).toBe(3);
    expect(metrics.notDeadLettered).toEqual({ owner: 1, upstream: 1, restored: 0 });
    // Nothing of Tributary's reaches user outputs; repartition topics read back as the user's records.
    for (const topic of ['by-global', 'by-partition']) {
      for (const r of driver.outputTopic(topic, Serdes.buffer(), Serdes.buffer()).readRecords()) {
        expect(Object.keys(r.headers).filter((h) => h.startsWith('tributary.'))).toEqual([]);
      }
    }
    const repartitioned = driver.outputTopic('shop-by-customer-repartition', str, Serdes.json<Sale>()).readKeyValues();
    expect(repartitioned.map((kv) => kv.value?.kind)).toEqual(['good', 'both', 'late']);
  });
});
