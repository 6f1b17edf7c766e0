import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type KStream } from './builder.js';
import type { Topology } from './topology.js';
import { topologyGraph, type GraphNode, type TopologyGraph } from './graph.js';
import { Serdes } from './serdes.js';

interface Customer {
  readonly name: string;
}
interface Order {
  readonly customerId: string;
  readonly total: number;
}

const str = Serdes.string();

/** The demo's order enrichment: a global join, and a re-keyed co-partitioned join through a repartition topic. */
function orderEnrichment(): Topology {
  const b = new StreamsBuilder();
  const customers = { key: str, value: Serdes.json<Customer>() };
  const global = b.globalTable('customers', { ...customers, store: 'customers-global' });
  const table = b.table('customers', { ...customers, store: 'customers' });
  const orders = b.stream('orders', { key: str, value: Serdes.json<Order>() });
  orders
    .join(
      global,
      (_id, order) => order.customerId,
      (order, customer) => ({ ...order, customer }),
    )
    .to('orders-enriched');
  orders
    .selectKey((_id, order) => order.customerId, { key: str })
    .join(table, (order, customer) => ({ ...order, customer }), { repartitionName: 'orders-by-customer' })
    .to('orders-by-customer');
  return b.build({ applicationId: 'shop' });
}

const byId = (graph: TopologyGraph): Map<string, GraphNode> => new Map(graph.nodes.map((n) => [n.id, n]));

/** Invariants every graph must hold, whatever the topology. */
function checkConsistent(topology: Topology, graph: TopologyGraph): void {
  const nodes = byId(graph);
  expect(nodes.size).toBe(graph.nodes.length); // ids are unique
  const groups = new Set(graph.groups.map((g) => g.id));
  for (const edge of graph.edges) {
    expect(nodes.has(edge.from), `edge from ${edge.from}`).toBe(true);
    expect(nodes.has(edge.to), `edge to ${edge.to}`).toBe(true);
  }
  for (const node of graph.nodes) {
    if (node.kind === 'topic') expect(node.group).toBeNull();
    else if (node.group !== null) expect(groups.has(node.group), `group ${node.group} of ${node.id}`).toBe(true);
  }
  // Every DSL node is there once, in the group of its sub-topology (global tables: the global group).
  for (const node of topology.nodes) {
    const drawn = nodes.get(`n${node.id}`);
    expect(drawn?.name).toBe(node.name);
    const sub = topology.subtopologyOf[node.id];
    expect(drawn?.group).toBe(sub === undefined ? 'global' : `sub-${sub}`);
  }
  for (const store of topology.stores) expect(nodes.get(`store:${store.name}`)?.kind).toBe('store');
  for (const sub of topology.subtopologies) {
    for (const topic of [...sub.sourceTopics, ...sub.sinkTopics]) expect(nodes.get(`topic:${topic}`)?.kind, topic).toBe('topic');
  }
  expect(graph.groups.filter((g) => g.kind === 'subtopology').map((g) => g.subtopology)).toEqual(topology.subtopologies.map((s) => s.id));
}

describe('topologyGraph', () => {
  it('draws the order-enrichment topology: nodes, topics with roles, stores, groups and edges', () => {
    const topology = orderEnrichment();
    const graph = topologyGraph(topology);
    checkConsistent(topology, graph);
    const repartition = 'shop-orders-by-customer-repartition';

    expect(graph.applicationId).toBe('shop');
    expect(graph.groups.map((g) => [g.id, g.label, g.sourceTopics, g.stores])).toEqual([
      ['sub-0', 'Sub-topology 0', ['customers', repartition], ['customers']],
      ['sub-1', 'Sub-topology 1', ['orders'], []],
      ['global', 'Global tables', ['customers'], ['customers-global']],
    ]);
    const kinds = graph.nodes.map((n) => `${n.kind}:${n.kind === 'topic' || n.kind === 'store' ? n.name : n.label}@${n.group}`);
    expect(kinds.sort()).toEqual(
      [
        'global-table:global table@global',
        'table-source:table source@sub-0',
        'source:stream source@sub-1',
        'stream-global-join:join@sub-1',
        'sink:sink@sub-1',
        'transform:selectKey@sub-1',
        'repartition-sink:repartition sink@sub-1',
        'repartition-source:repartition source@sub-0',
        'stream-table-join:join@sub-0',
        'sink:sink@sub-0',
        'store:customers@sub-0',
        'store:customers-global@global',
        'topic:customers@null',
        'topic:orders@null',
        'topic:orders-by-customer@null',
        'topic:orders-enriched@null',
        `topic:${repartition}@null`,
      ].sort(),
    );
    const nodes = byId(graph);
    expect(nodes.get('topic:customers')?.roles).toEqual(['input', 'changelog']);
    expect(nodes.get(`topic:${repartition}`)?.roles).toEqual(['repartition']);
    expect(nodes.get('topic:orders-enriched')?.roles).toEqual(['output']);
    expect(nodes.get('store:customers')).toMatchObject({ storeKind: 'table', changelogTopic: 'customers' });
    expect(nodes.get('store:customers-global')).toMatchObject({ storeKind: 'global', changelogTopic: 'customers' });

    const name = (id: string): string => {
      const node = nodes.get(id) as GraphNode;
      return node.kind === 'topic' || node.kind === 'store' ? `${node.kind}:${node.name}` : node.label;
    };
    const edges = graph.edges.map((e) => `${name(e.from)} -${e.kind === 'store' ? e.access : ''}-> ${name(e.to)}`);
    expect(edges.sort()).toEqual(
      [
        'topic:customers --> global table',
        'global table -write-> store:customers-global',
        'topic:customers --> table source',
        'table source -write-> store:customers',
        'topic:orders --> stream source',
        'stream source --> join',
        'stream source --> selectKey',
        'store:customers-global -read-> join',
        'join --> sink',
        'join --> sink',
        'sink --> topic:orders-enriched',
        'selectKey --> repartition sink',
        `repartition sink --> topic:${repartition}`,
        `topic:${repartition} --> repartition source`,
        'repartition source --> join',
        'store:customers -read-> join',
        'sink --> topic:orders-by-customer',
      ].sort(),
    );
  });

  it('links process nodes to their state stores and labels left joins and operators', () => {
    const b = new StreamsBuilder().addStateStore('counts', { key: str });
    const table = b.table('customers', { key: str, value: Serdes.json<Customer>(), store: 'customers' });
    b.stream('orders', { key: str, value: Serdes.json<Order>() })
      .filter((_k, order) => order.total > 0)
      .leftJoin(table, (order, customer) => ({ ...order, name: customer?.name ?? null }))
      .process((key, value, context) => context.forward(key, value), { stores: ['counts'] })
      .to('out');
    const topology = b.build({ applicationId: 'app' });
    const graph = topologyGraph(topology);
    checkConsistent(topology, graph);
    const labels = graph.nodes.filter((n) => n.kind !== 'topic' && n.kind !== 'store').map((n) => n.label);
    expect(labels).toEqual(['table source', 'stream source', 'filter', 'left join', 'process', 'sink']);
    const process = graph.nodes.find((n) => n.kind === 'process') as GraphNode;
    expect(process.stores).toEqual(['counts']);
    expect(graph.edges).toContainEqual({ from: process.id, to: 'store:counts', kind: 'store', access: 'read-write' });
    expect(graph.nodes.find((n) => n.id === 'store:counts')).toMatchObject({ storeKind: 'state', changelogTopic: null, group: 'sub-0' });
    expect(graph.groups.map((g) => g.id)).toEqual(['sub-0']);
  });

  it('holds its invariants for random pipelines', () => {
    type Step = 'filter' | 'mapValues' | 'selectKey' | 'repartition' | 'to-and-read';
    const step = fc.constantFrom<Step>('filter', 'mapValues', 'selectKey', 'repartition', 'to-and-read');
    const pipeline = fc.record({
      steps: fc.array(step, { maxLength: 6 }),
      join: fc.constantFrom('none', 'table', 'global'),
      sink: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(pipeline, { minLength: 1, maxLength: 3 }), (pipelines) => {
        const b = new StreamsBuilder();
        const table = b.table('customers', { key: str, value: Serdes.json<Customer>(), store: 'customers' });
        const global = b.globalTable('regions', { key: str, value: Serdes.json<Customer>(), store: 'regions' });
        pipelines.forEach((p, i) => {
          let stream: KStream<string, Order> = b.stream(`in-${i}`, { key: str, value: Serdes.json<Order>() });
          p.steps.forEach((s, j) => {
            if (s === 'filter') stream = stream.filter((_k, v) => v.total >= 0);
            if (s === 'mapValues') stream = stream.mapValues((v) => ({ ...v, total: v.total + 1 }));
            if (s === 'selectKey') stream = stream.selectKey((_k, v) => v.customerId, { key: str });
            if (s === 'repartition') stream = stream.repartition({ name: `r-${i}-${j}`, key: str, value: Serdes.json<Order>() });
            if (s === 'to-and-read') {
              stream.to(`mid-${i}-${j}`, { key: str, value: Serdes.json<Order>() });
              stream = b.stream(`mid-${i}-${j}`, { key: str, value: Serdes.json<Order>() });
            }
          });
          const joined =
            p.join === 'table'
              ? stream.join(table, (order) => order, { repartitionName: `j-${i}` })
              : p.join === 'global'
                ? stream.join(
                    global,
                    (_k, order) => order.customerId,
                    (order) => order,
                  )
                : stream;
          if (p.sink) joined.to(`out-${i}`, { key: str, value: Serdes.json<Order>() });
        });
        const topology = b.build({ applicationId: 'prop' });
        checkConsistent(topology, topologyGraph(topology));
      }),
      { numRuns: 150 },
    );
  });
});
