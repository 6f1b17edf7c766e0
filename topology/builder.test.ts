import { describe, expect, it } from 'vitest';
import { TopologyBuildError } from '../errors.js';
import { StreamsBuilder, type BuildOptions } from './builder.js';
import { Serdes } from './serdes.js';
import { TopologyTestDriver } from '../processor/test-driver/topology-test-driver.js';

interface Customer {
  readonly name: string;
}
interface Order {
  readonly customerId: string;
  readonly total: number;
}

const str = Serdes.string();
const orders = { key: str, value: Serdes.json<Order>() };
const customers = { key: str, value: Serdes.json<Customer>() };

function buildError(fn: () => unknown): TopologyBuildError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyBuildError);
    return error as TopologyBuildError;
  }
  throw new Error('expected a TopologyBuildError');
}

function readmeTopology() {
  const b = new StreamsBuilder();
  const global = b.globalTable('customers', { ...customers, store: 'customers-global' });
  b.stream('orders', orders)
    .join(
      global,
      (_id, order) => order.customerId,
      (order, customer) => ({ ...order, customer }),
    )
    .to('orders-enriched');
  const table = b.table('customers', { ...customers, store: 'customers' });
  b.stream('orders', orders)
    .selectKey((_id, order) => order.customerId)
    .leftJoin(table, (order, customer) => ({ ...order, customer }))
    .to('orders-by-customer');
  return b.build({ applicationId: 'shop' });
}

describe('StreamsBuilder.build()', () => {
  it('splits sub-topologies at repartition topics and lists what the runtime needs', () => {
    const t = readmeTopology();
    expect(Object.isFrozen(t)).toBe(true);
    // Both `orders` streams share sub-topology 0: one task per partition reads `orders` once and feeds both sources.
    expect(t.subtopologies.map((s) => s.sourceTopics)).toEqual([['orders'], ['customers', 'shop-customers-repartition']]);
    expect(t.subtopologies[1].tableSources.map((s) => [s.topic, s.store])).toEqual([['customers', 'customers']]);
    expect(t.subtopologies[1].stores).toEqual(['customers']);
    expect([...t.subtopologies[0].sinkTopics].sort()).toEqual(['orders-enriched', 'shop-customers-repartition']);
    expect(t.repartitionTopics).toEqual([{ topic: 'shop-customers-repartition', partitions: undefined, producedBy: 0, consumedBy: 1 }]);
    expect(t.globalTables.map((g) => [g.topic, g.store])).toEqual([['customers', 'customers-global']]);
    expect(t.userSourceTopics()).toEqual(['customers', 'orders']);
    // Global tables are not part of any sub-topology's partitioning.
    expect(t.subtopologies[0].stores).toEqual([]);
  });

  it('puts every source of one topic in one sub-topology, so each topic-partition has exactly one consuming task', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'customers' });
    b.stream('customers', customers)
      .mapValues((c) => c.name)
      .to('names');
    b.stream('orders', orders)
      .filter((_k, o) => o.total > 10)
      .to('big');
    b.stream('orders', orders)
      .selectKey((_k, o) => o.customerId)
      .join(table, (o, c) => ({ o, c }))
      .to('joined');
    const t = b.build({ applicationId: 'app' });
    const consumers = new Map<string, number[]>();
    t.subtopologies.forEach((sub) => sub.sourceTopics.forEach((topic) => consumers.set(topic, [...(consumers.get(topic) ?? []), sub.id])));
    for (const [topic, subs] of consumers) expect({ topic, subs: subs.length }).toEqual({ topic, subs: 1 });
    // The table and the stream over `customers` share a task, as do both `orders` streams.
    expect(t.subtopologies.find((s) => s.sourceTopics.includes('customers'))?.tableSources.map((x) => x.store)).toEqual(['customers']);
  });

  it('hands each record of a shared topic to every source reading it (the test driver runs the same tasks)', async () => {
    const b = new StreamsBuilder();
    b.stream('orders', orders)
      .filter((_k, o) => o.total > 10)
      .to('big', { key: str, value: Serdes.json() });
    b.stream('orders', orders)
      .mapValues((o) => o.total)
      .to('totals', { key: str, value: Serdes.json() });
    const driver = new TopologyTestDriver(b.build({ applicationId: 'app' }), { partitions: 4 });
    const input = driver.inputTopic('orders', str, Serdes.json<{ customerId: string; total: number }>());
    for (let i = 0; i < 20; i++) await input.pipe(`o${i}`, { customerId: `c${i % 3}`, total: i }, { timestamp: i });
    expect(
      driver
        .outputTopic('big', str, Serdes.json())
        .readKeyValues()
        .map((kv) => kv.key)
        .sort(),
    ).toEqual(Array.from({ length: 9 }, (_, i) => `o${i + 11}`).sort());
    expect(driver.outputTopic('totals', str, Serdes.json<number>()).readKeyValues()).toHaveLength(20);
    expect(driver.metrics.snapshot().processed.orders).toBe(20);
    await driver.close();
  });

  it('sizes repartition topics: user-fixed, else like the co-partitioned table, else max of upstream sources', () => {
    const t = readmeTopology();
    // The repartition topic feeds a join with 'customers': it must have the table's partition count.
    const counts = t.partitionCounts((topic) => (topic === 'orders' ? 6 : 3));
    expect([...counts]).toEqual([['shop-customers-repartition', 3]]);

    const chain = new StreamsBuilder();
    chain
      .stream('a', orders)
      .selectKey((_k, o) => o.customerId)
      .repartition({ name: 'r1', key: str })
      .to('out');
    expect([...chain.build({ applicationId: 'app' }).partitionCounts((topic) => (topic === 'a' ? 6 : 1))]).toEqual([
      ['app-r1-repartition', 6],
    ]);

    const b = new StreamsBuilder();
    b.stream('in', orders).repartition({ name: 'by-id', partitions: 12 }).to('out');
    expect([...b.build({ applicationId: 'app' }).partitionCounts(() => 2)]).toEqual([['app-by-id-repartition', 12]]);
  });

  it('lets the user name the join repartition topic', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'c' });
    b.stream('orders', orders)
      .selectKey((_k, o) => o.customerId)
      .join(table, (o, c) => ({ o, c }), { repartitionName: 'orders-by-customer' })
      .to('out');
    expect(b.build({ applicationId: 'app' }).repartitionTopics[0].topic).toBe('app-orders-by-customer-repartition');
  });

  it('names an unnamed join repartition topic after the table store, so operators added upstream keep the name', () => {
    const build = (extraOperator: boolean) => {
      const b = new StreamsBuilder();
      const table = b.table('customers', { ...customers, store: 'customers-by-id' });
      let stream = b.stream('orders', orders);
      if (extraOperator) stream = stream.filter(() => true).mapValues((o) => o);
      stream
        .selectKey((_k, o) => o.customerId)
        .join(table, (o, c) => ({ o, c }))
        .to('out');
      return b.build({ applicationId: 'app' }).repartitionTopics.map((r) => r.topic);
    };
    expect(build(false)).toEqual(['app-customers-by-id-repartition']);
    expect(build(true)).toEqual(['app-customers-by-id-repartition']);
  });

  it('refuses two re-keyed joins with one table without names, and repartition() without a name', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'c' });
    for (const topic of ['orders', 'returns'])
      b.stream(topic, orders)
        .selectKey((_k, o) => o.customerId)
        .join(table, (o, c) => ({ o, c }))
        .to(`${topic}-out`);
    expect(() => b.build({ applicationId: 'app' })).toThrow(/repartition topic 'app-c-repartition' is also created by .*repartitionName/);

    const unnamed = new StreamsBuilder();
    unnamed
      .stream('orders', orders)
      .selectKey((_k, o) => o.customerId)
      .repartition()
      .to('out');
    expect(() => unnamed.build({ applicationId: 'app' })).toThrow(
      /repartition\(\): give the repartition topic a name .* pass name: 'KSTREAM-KEY-SELECT-0000000001' to keep/,
    );
  });

  it('does not insert a repartition topic when the key did not change', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'c' });
    b.stream('orders', orders)
      .filter((_k, o) => o.total > 0)
      .mapValues((o) => o.total)
      .join(table, (total, c) => `${c.name}:${total}`)
      .to('out');
    const t = b.build({ applicationId: 'app' });
    expect(t.repartitionTopics).toEqual([]);
    expect(t.subtopologies).toHaveLength(1);
  });

  it('build() without options, or with options it cannot use, says what to pass, and the builder can still build', () => {
    const b = new StreamsBuilder();
    b.stream('in', orders).to('out');
    // What a JavaScript caller (or tsx, which does not typecheck) can pass: the type says BuildOptions.
    const untyped = (options: unknown) => () => b.build(options as BuildOptions);
    const missing = buildError(untyped(undefined));
    expect(missing.code).toBe('TRIBUTARY_TOPOLOGY_INVALID');
    expect(missing.node).toBe('build');
    expect(missing.message).toContain("build() needs its options: call builder.build({ applicationId: 'my-app' })");
    expect(buildError(untyped({})).message).toContain("applicationId is missing: call builder.build({ applicationId: 'my-app' })");
    expect(buildError(untyped({ applicationId: 42 })).message).toContain('applicationId must be a string');
    expect(buildError(untyped({ 'application.id': 'shop' })).message).toContain(
      "unknown build() option(s) 'application.id'; the only option is applicationId",
    );
    expect(buildError(untyped('shop')).message).toContain('got "shop"');
    expect(buildError(() => b.build({ applicationId: 'has space' })).message).toContain("applicationId 'has space' must be non-empty");
    expect(b.build({ applicationId: 'shop' }).applicationId).toBe('shop');
  });

  it('rejects duplicate store names, naming the node and the fix', () => {
    const b = new StreamsBuilder();
    b.table('a', { ...customers, store: 'dup' });
    b.globalTable('b', { ...customers, store: 'dup' });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.code).toBe('TRIBUTARY_TOPOLOGY_INVALID');
    expect(error.node).toBe('GLOBALKTABLE-SOURCE-0000000001');
    expect(error.message).toContain("store 'dup' is already used by KTABLE-SOURCE-0000000000");
  });

  it('rejects a process node using an unknown store', () => {
    const b = new StreamsBuilder();
    b.stream('in', orders).process(() => undefined, { stores: ['counts'] });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.node).toBe('KSTREAM-PROCESSOR-0000000001');
    expect(error.message).toContain("addStateStore('counts'");
  });

  it('rejects a cycle: a path that writes back into the topic it reads', () => {
    const b = new StreamsBuilder();
    b.stream('loop', orders)
      .mapValues((o) => ({ ...o, total: o.total + 1 }))
      .to('loop');
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.message).toContain('records loop back to their own input');
    expect(error.message).toContain('KSTREAM-SOURCE-0000000000 -> KSTREAM-MAPVALUES-0000000001 -> KSTREAM-SINK-0000000002');
  });

  it('rejects a join that can never be co-partitioned (stream keys serialized differently from table keys)', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'c' });
    b.stream('orders', { key: Serdes.json<string>(), value: Serdes.json<Order>() })
      .join(table, (o, c) => ({ o, c }))
      .to('out');
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.node).toBe('KSTREAM-JOIN-0000000002');
    expect(error.message).toContain("key serde 'json' differs from table store 'c' key serde 'string'");
  });

  it('rejects repartition topics with different fixed partition counts feeding one sub-topology', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'c' });
    const left = b.stream('a', orders).repartition({ name: 'a', partitions: 3, key: str });
    const right = b.stream('b', orders).repartition({ name: 'b', partitions: 4, key: str });
    left
      .merge(right)
      .join(table, (o, c) => ({ o, c }))
      .to('out');
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.message).toContain('can never be co-partitioned');
  });

  it('rejects a table from another builder and an invalid application id', () => {
    const other = new StreamsBuilder().table('customers', { ...customers, store: 'c' });
    const b = new StreamsBuilder();
    b.stream('orders', orders)
      .join(other, (o, c) => ({ o, c }))
      .to('out');
    expect(buildError(() => b.build({ applicationId: 'app' })).message).toContain('another StreamsBuilder');
    const b2 = new StreamsBuilder();
    b2.stream('in', orders).to('out');
    expect(buildError(() => b2.build({ applicationId: 'bad id!' })).message).toContain('applicationId');
  });

  it('describe() prints sub-topologies, processors with stores, sinks, global stores and repartition topics', () => {
    const b = new StreamsBuilder();
    const table = b.table('customers', { ...customers, store: 'customers' });
    b.stream('orders', orders)
      .filter((_k, o) => o.total > 10)
      .selectKey((_k, o) => o.customerId)
      .join(table, (o, c) => ({ o, c }), { repartitionName: 'by-customer' })
      .to('out');
    expect(b.build({ applicationId: 'app' }).describe()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: KTABLE-SOURCE-0000000000 (topics: [customers]) (table, stores: [customers])',
        '      --> KSTREAM-JOIN-0000000006',
        '    Source: KSTREAM-REPARTITION-SOURCE-0000000005 (topics: [app-by-customer-repartition])',
        '      --> KSTREAM-JOIN-0000000006',
        '    Processor: KSTREAM-JOIN-0000000006 (stores: [customers])',
        '      --> KSTREAM-SINK-0000000007',
        '      <-- KSTREAM-REPARTITION-SOURCE-0000000005',
        '    Sink: KSTREAM-SINK-0000000007 (topic: out)',
        '      --> none',
        '      <-- KSTREAM-JOIN-0000000006',
        '',
        '   Sub-topology: 1',
        '    Source: KSTREAM-SOURCE-0000000001 (topics: [orders])',
        '      --> KSTREAM-FILTER-0000000002',
        '    Processor: KSTREAM-FILTER-0000000002 (op: filter, stores: [])',
        '      --> KSTREAM-KEY-SELECT-0000000003',
        '      <-- KSTREAM-SOURCE-0000000001',
        '    Processor: KSTREAM-KEY-SELECT-0000000003 (op: selectKey, stores: [])',
        '      --> KSTREAM-REPARTITION-SINK-0000000004',
        '      <-- KSTREAM-FILTER-0000000002',
        '    Sink: KSTREAM-REPARTITION-SINK-0000000004 (topic: app-by-customer-repartition)',
        '      --> none',
        '      <-- KSTREAM-KEY-SELECT-0000000003',
        '',
        '  Repartition Topics:',
        '    app-by-customer-repartition (from sub-topology 1 to 0, partitions: same as customers)',
        '',
      ].join('\n'),
    );
  });

  it('toMermaid() draws nodes per sub-topology, store reads and repartition edges', () => {
    const mermaid = readmeTopology().toMermaid();
    expect(mermaid.startsWith('flowchart LR')).toBe(true);
    expect(mermaid).toContain('subgraph sub1["Sub-topology 1"]');
    expect(mermaid).toContain('n0 -. customers-global .-> n2');
    expect(mermaid).toContain('n7 -- shop-customers-repartition --> n8');
  });

  it('rejects mismatched join types at compile time', () => {
    const b = new StreamsBuilder();
    const byNumber = b.table('t', { key: Serdes.json<number>(), value: Serdes.json<Customer>(), store: 's' });
    const stream = b.stream('orders', orders);
    // @ts-expect-error the stream is keyed by string, the table by number: re-key first
    stream.join(byNumber, (_o, c) => c.name);
    // @ts-expect-error a Customer has no 'total'
    stream.selectKey(() => 1).join(byNumber, (_o, c) => c.total);
    // @ts-expect-error in a left join the table side may be null
    stream.selectKey(() => 1).leftJoin(byNumber, (_o, c) => c.name);
    // @ts-expect-error the to() serde must match the value type
    stream.to('out', { value: Serdes.string() });
    expect(stream.selectKey(() => 1).leftJoin(byNumber, (o, c) => `${o.total}:${c?.name}`)).toBeDefined();
  });

  it('builds once', () => {
    const b = new StreamsBuilder();
    b.stream('in', orders).to('out');
    b.build({ applicationId: 'app' });
    expect(() => b.build({ applicationId: 'app' })).toThrow(TopologyBuildError);
  });
});
