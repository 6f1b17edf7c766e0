/**
 * The DSL for derived tables, as compiled: nodes, repartition and changelog topics, store specs, describe() and
 * toMermaid(), the build-time checks (each naming the node and the fix), and the types.
 */
import { describe, expect, it } from 'vitest';
import { TopologyBuildError } from '../errors.js';
import { StreamsBuilder, type KTable } from './builder.js';
import { Serdes } from './serdes.js';
import { TimeWindows, type Windowed } from './windows.js';

interface Order {
  readonly customerId: string;
  readonly total: number;
}

const str = Serdes.string();
const orders = { key: str, value: Serdes.json<Order>() };

function buildError(fn: () => unknown): TopologyBuildError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyBuildError);
    return error as TopologyBuildError;
  }
  throw new Error('expected a TopologyBuildError');
}

/** Orders per customer and revenue per customer per hour: the README example. */
function shop() {
  const b = new StreamsBuilder();
  const byCustomer = b.stream('orders', orders).groupBy((_id, order) => order.customerId, { key: str });
  byCustomer.count({ store: 'orders-per-customer' });
  byCustomer.windowedBy(TimeWindows.ofSize(3_600_000).grace(60_000)).aggregate(
    () => 0,
    (_customer, order, revenue) => revenue + order.total,
    { store: 'revenue-per-hour', value: Serdes.json<number>() },
  );
  return b.build({ applicationId: 'shop' });
}

describe('derived tables in the compiled topology', () => {
  it('lists changelog topics (one partition per task) and the stores with their kind, changelog and windows', () => {
    const t = shop();
    expect(t.changelogTopics).toEqual([
      { topic: 'shop-orders-per-customer-changelog', store: 'orders-per-customer', subtopologyId: 1 },
      { topic: 'shop-revenue-per-hour-changelog', store: 'revenue-per-hour', subtopologyId: 1 },
    ]);
    expect(t.subtopologies[1].changelogTopics).toEqual(['shop-orders-per-customer-changelog', 'shop-revenue-per-hour-changelog']);
    expect(t.subtopologies[1].stores).toEqual(['orders-per-customer', 'revenue-per-hour']);
    const specs = Object.fromEntries(t.stores.map((s) => [s.name, s]));
    expect(specs['orders-per-customer']).toMatchObject({
      kind: 'derived',
      changelogTopic: 'shop-orders-per-customer-changelog',
      subtopologyId: 1,
    });
    expect(specs['orders-per-customer'].topic).toBeUndefined();
    expect(specs['revenue-per-hour']).toMatchObject({
      kind: 'window',
      window: { windowSizeMs: 3_600_000, advanceMs: 3_600_000, graceMs: 60_000, retentionMs: 3_660_000, segmentIntervalMs: 1_830_000 },
    });
    // One repartition topic for both aggregations of the grouped stream, named after the first store.
    expect(t.repartitionTopics.map((r) => r.topic)).toEqual(['shop-orders-per-customer-repartition']);
    expect(t.changelogPartitionCounts((topic) => (topic === 'orders' ? 6 : 1))).toEqual(
      new Map([
        ['shop-orders-per-customer-changelog', 6],
        ['shop-revenue-per-hour-changelog', 6],
      ]),
    );
  });

  it('describe() shows the new nodes, their stores, the changelog and repartition topics', () => {
    const text = shop().describe();
    expect(text).toContain('Processor: KSTREAM-AGGREGATE-0000000004 (op: count, emit: every-update, stores: [orders-per-customer])');
    expect(text).toContain(
      'Processor: KSTREAM-AGGREGATE-0000000005 (op: aggregate, windows: size 3600000 ms, advance 3600000 ms, grace 60000 ms, retention 3660000 ms, emit: every-update, stores: [revenue-per-hour])',
    );
    expect(text).toContain(
      [
        '  Changelog Topics:',
        '    shop-orders-per-customer-changelog (store: orders-per-customer, sub-topology 1, partitions: one per task, compacted)',
        '    shop-revenue-per-hour-changelog (store: revenue-per-hour, sub-topology 1, partitions: one per task, compacted)',
      ].join('\n'),
    );
    expect(text).toContain('shop-orders-per-customer-repartition (from sub-topology 0 to 1, partitions: max of upstream sources)');
    const mermaid = shop().toMermaid();
    expect(mermaid).toContain('n4 -. changelog .-> cl4[("shop-orders-per-customer-changelog")]');
  });

  it('describe() shows table operations and table joins with the stores they read', () => {
    const b = new StreamsBuilder();
    const customers = b.table('customers', { key: str, value: str, store: 'customers' });
    const cities = b.table('cities', { key: str, value: str, store: 'cities' });
    customers
      .filter((_k, v) => v !== '')
      .leftJoin(cities, (name, city) => `${name}@${city ?? '?'}`, { store: 'located', emit: 'on-commit' })
      .groupBy((_k, v) => [v, 1] as const)
      .count({ store: 'per-city' })
      .toStream()
      .to('out');
    const text = b.build({ applicationId: 'app' }).describe();
    expect(text).toContain('Processor: KTABLE-FILTER-0000000002 (op: filter, stores: [])');
    expect(text).toContain('Processor: KTABLE-LEFTJOIN-0000000003 (op: leftJoin, emit: on-commit, stores: [located, customers, cities])');
    expect(text).toContain('Processor: KTABLE-SELECT-0000000004 (op: groupBy, stores: [])');
    expect(text).toContain('Sink: KSTREAM-REPARTITION-SINK-0000000005 (topic: app-per-city-repartition)');
    expect(text).toContain('Processor: KTABLE-AGGREGATE-0000000007 (op: count, emit: every-update, stores: [per-city])');
    expect(text).toContain('Processor: KTABLE-TOSTREAM-0000000008 (op: toStream, stores: [])');
  });
});

describe('build() checks for derived tables', () => {
  it('rejects a window store name reused by another store, naming the node', () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('orders', orders).groupByKey();
    grouped.windowedBy(TimeWindows.ofSize(10)).count({ store: 'counts' });
    grouped.count({ store: 'counts' });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.node).toBe('KSTREAM-AGGREGATE-0000000002');
    expect(error.message).toContain(
      "store 'counts' is already used by KSTREAM-AGGREGATE-0000000001; give each table and state store its own name.",
    );
  });

  it('rejects a table join that can never be co-partitioned, and one with a windowed table', () => {
    const b = new StreamsBuilder();
    const byString = b.table('a', { key: str, value: str, store: 'a' });
    const byJson = b.table('b', { key: Serdes.json<string>(), value: str, store: 'b' });
    byString.join(byJson, (x, y) => x + y, { store: 'ab' });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.node).toBe('KTABLE-JOIN-0000000002');
    expect(error.message).toContain("the left table's key serde 'string' differs from the right table's 'json'");
    expect(error.message).toContain('can never be co-partitioned. Give both tables the same key serde');

    const w = new StreamsBuilder();
    const windowed = w.stream('orders', orders).groupByKey().windowedBy(TimeWindows.ofSize(10)).count({ store: 'w' });
    w.stream('clicks', orders).join(windowed as unknown as KTable<string, number>, (o, n) => n);
    expect(buildError(() => w.build({ applicationId: 'app' })).message).toContain('cannot be joined with a windowed table');
  });

  it('rejects retention shorter than size + grace, and bad window definitions at once', () => {
    const b = new StreamsBuilder();
    b.stream('orders', orders).groupByKey().windowedBy(TimeWindows.ofSize(100).grace(50)).count({ store: 'w', retentionMs: 120 });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.node).toBe('KSTREAM-AGGREGATE-0000000001');
    expect(error.message).toContain('retentionMs must be an integer of at least the window size plus grace (150 ms)');
    expect(buildError(() => TimeWindows.ofSize(0)).message).toContain('the window size must be an integer number of milliseconds >= 1');
    expect(buildError(() => TimeWindows.ofSize(10).advanceBy(20)).message).toContain('must not exceed the window size');
    expect(buildError(() => TimeWindows.ofSize(10).grace(-1)).message).toContain('grace period');
  });

  it('rejects a missing or invalid store name and emit mode (JavaScript callers), and a store key serde the grouping contradicts', () => {
    const untyped = (options: unknown) => () => {
      const b = new StreamsBuilder();
      const grouped = b.stream('orders', orders).groupByKey();
      (grouped.count as (o: unknown) => unknown).call(grouped, options);
      return b.build({ applicationId: 'app' });
    };
    expect(buildError(untyped(undefined)).message).toContain("needs its options with a store name, as in { store: 'orders-per-customer' }");
    expect(buildError(untyped({ store: 'has space' })).message).toContain('the store name must be a non-empty string');
    expect(buildError(untyped({ store: 's', emit: 'sometimes' })).message).toContain("emit must be one of 'every-update', 'on-commit'");

    const b = new StreamsBuilder();
    b.stream('orders', orders)
      .groupBy((_k, o) => o.customerId, { key: str })
      .count({ store: 's', key: Serdes.json<string>() });
    expect(buildError(() => b.build({ applicationId: 'app' })).message).toContain(
      "the store key serde 'json' differs from the grouped key serde 'string'",
    );
  });

  it('rejects a changelog topic that collides with a user topic', () => {
    const b = new StreamsBuilder();
    b.stream('app-counts-changelog', orders).groupByKey().count({ store: 'counts' });
    const error = buildError(() => b.build({ applicationId: 'app' }));
    expect(error.message).toContain("the changelog topic 'app-counts-changelog' of store 'counts' collides with another topic");
  });

  it('types flow: aggregates, windowed keys, table joins and groupBy', () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('orders', orders).groupBy((_k, o) => o.customerId, { key: str });
    const counts: KTable<string, number> = grouped.count({ store: 'c' });
    const windowed: KTable<Windowed<string>, number> = grouped.windowedBy(TimeWindows.ofSize(10)).count({ store: 'w' });
    const latest: KTable<string, Order> = grouped.reduce((_a, o) => o, { store: 'l' });
    // @ts-expect-error the reducer returns the value type
    grouped.reduce(() => 1, { store: 'bad' });
    // @ts-expect-error a left join's other side may be null
    counts.leftJoin(latest, (n, o) => n + o.total, { store: 'j' });
    expect(counts.leftJoin(latest, (n, o) => n + (o?.total ?? 0), { store: 'j2' })).toBeDefined();
    // @ts-expect-error toStream() values may be null (deletions)
    windowed.toStream().mapValues((n: number) => n);
    expect(windowed.toStream().mapValues((n) => n ?? 0)).toBeDefined();
    expect(counts.store).toBe('c');
    expect(counts.filter(() => true).store).toBeUndefined();
  });
});
