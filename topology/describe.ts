/**
 * Text and Mermaid renderings of a compiled topology, modelled on Kafka Streams' `TopologyDescription`:
 * sub-topologies with their sources, processors (with stores), sinks and the edges between them.
 */
import { assertNever } from '../common/assert-never.js';
import { changelogTopicName, isDerivedTableNode, nodeTopic, type TopologyNode } from './nodes.js';
import type { CompiledTopology } from './specs.js';

function storesOf(node: TopologyNode): string[] {
  switch (node.kind) {
    case 'table-source':
    case 'stream-table-join':
    case 'stream-global-join':
      return [node.store];
    case 'process':
      return [...node.stores];
    case 'stream-aggregate':
    case 'window-aggregate':
    case 'table-aggregate':
      return [node.store];
    case 'table-join':
      // Its own store, then the stores it reads the other side from.
      return [...new Set([node.store, node.left.store, node.right.store])];
    case 'source':
    case 'global-table':
    case 'transform':
    case 'sink':
    case 'repartition-sink':
    case 'repartition-source':
    case 'table-transform':
    case 'table-to-stream':
    case 'table-group-by':
      return [];
    default:
      return assertNever(node, 'topology node');
  }
}

function headline(topology: CompiledTopology, node: TopologyNode): string {
  switch (node.kind) {
    case 'source':
      return `Source: ${node.name} (topics: [${node.topic}])`;
    case 'repartition-source':
      return `Source: ${node.name} (topics: [${nodeTopic(topology.applicationId, node)}])`;
    case 'table-source':
      return `Source: ${node.name} (topics: [${node.topic}]) (table, stores: [${node.store}])`;
    case 'global-table':
      return `Source: ${node.name} (topics: [${node.topic}]) (global table, stores: [${node.store}])`;
    case 'sink':
    case 'repartition-sink':
      return `Sink: ${node.name} (topic: ${nodeTopic(topology.applicationId, node)})`;
    case 'transform':
      return `Processor: ${node.name} (op: ${node.op}, stores: [])`;
    case 'stream-table-join':
    case 'stream-global-join':
    case 'process':
      return `Processor: ${node.name} (stores: [${storesOf(node).join(', ')}])`;
    case 'stream-aggregate':
    case 'table-aggregate':
    case 'table-join':
      return `Processor: ${node.name} (op: ${node.op}, emit: ${node.emit}, stores: [${storesOf(node).join(', ')}])`;
    case 'window-aggregate': {
      const { sizeMs, advanceMs, graceMs } = node.windows;
      const windows = `windows: size ${sizeMs} ms, advance ${advanceMs} ms, grace ${graceMs} ms, retention ${node.retentionMs} ms`;
      return `Processor: ${node.name} (op: ${node.op}, ${windows}, emit: ${node.emit}, stores: [${node.store}])`;
    }
    case 'table-transform':
      return `Processor: ${node.name} (op: ${node.op}, stores: [])`;
    case 'table-to-stream':
      return `Processor: ${node.name} (op: toStream, stores: [])`;
    case 'table-group-by':
      return `Processor: ${node.name} (op: groupBy, stores: [])`;
    default:
      return assertNever(node, 'topology node');
  }
}

export function describeTopology(topology: CompiledTopology): string {
  const lines: string[] = ['Topologies:'];
  for (const sub of topology.subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`);
    for (const id of sub.nodeIds) {
      const node = topology.nodes[id];
      lines.push(`    ${headline(topology, node)}`);
      const next = [...topology.children[id]];
      // A materialized table feeds the stream joins reading it through its store, as Kafka Streams draws it.
      for (const other of sub.nodeIds) {
        const o = topology.nodes[other];
        if (o.kind === 'stream-table-join' && o.table.rootId === id) next.push(other);
      }
      lines.push(`      --> ${next.length > 0 ? next.map((c) => topology.nodes[c].name).join(', ') : 'none'}`);
      if (node.parents.length > 0) lines.push(`      <-- ${node.parents.map((p) => topology.nodes[p].name).join(', ')}`);
    }
    lines.push('');
  }
  if (topology.globalTables.length > 0) {
    lines.push('  Global Stores:');
    for (const g of topology.globalTables) {
      lines.push(`    ${headline(topology, topology.nodes[g.nodeId])}`);
    }
    lines.push('');
  }
  if (topology.changelogTopics.length > 0) {
    lines.push('  Changelog Topics:');
    for (const c of topology.changelogTopics) {
      lines.push(`    ${c.topic} (store: ${c.store}, sub-topology ${c.subtopologyId}, partitions: one per task, compacted)`);
    }
    lines.push('');
  }
  if (topology.repartitionTopics.length > 0) {
    lines.push('  Repartition Topics:');
    for (const r of topology.repartitionTopics) {
      const internal = new Set(topology.repartitionTopics.map((t) => t.topic));
      const coPartitioned = topology.subtopologies[r.consumedBy].sourceTopics.filter((t) => !internal.has(t));
      const derived = coPartitioned.length > 0 ? `same as ${coPartitioned.join(', ')}` : 'max of upstream sources';
      const partitions = r.partitions === undefined ? derived : String(r.partitions);
      lines.push(`    ${r.topic} (from sub-topology ${r.producedBy} to ${r.consumedBy}, partitions: ${partitions})`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const mermaidId = (node: TopologyNode): string => `n${node.id}`;

export function topologyToMermaid(topology: CompiledTopology): string {
  const lines: string[] = ['flowchart LR'];
  const label = (node: TopologyNode): string => {
    const topic = nodeTopic(topology.applicationId, node);
    const op =
      node.kind === 'transform' || node.kind === 'table-transform' ? node.op : node.kind === 'table-to-stream' ? 'toStream' : undefined;
    const extra = op ?? topic ?? storesOf(node).join(', ');
    return `${mermaidId(node)}["${node.name}<br/>${extra}"]`;
  };
  for (const sub of topology.subtopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`);
    for (const id of sub.nodeIds) lines.push(`    ${label(topology.nodes[id])}`);
    lines.push('  end');
  }
  for (const g of topology.globalTables) lines.push(`  ${label(topology.nodes[g.nodeId])}`);
  for (const node of topology.nodes) {
    for (const child of topology.children[node.id]) lines.push(`  ${mermaidId(node)} --> ${mermaidId(topology.nodes[child])}`);
    if (node.kind === 'stream-table-join') lines.push(`  n${node.table.rootId} -. ${node.store} .-> ${mermaidId(node)}`);
    if (isDerivedTableNode(node)) {
      lines.push(`  ${mermaidId(node)} -. changelog .-> cl${node.id}[("${changelogTopicName(topology.applicationId, node.store)}")]`);
    }
    if (node.kind === 'stream-global-join') lines.push(`  n${node.globalTableId} -. ${node.store} .-> ${mermaidId(node)}`);
    if (node.kind === 'repartition-source')
      lines.push(`  n${node.sinkId} -- ${nodeTopic(topology.applicationId, node)} --> ${mermaidId(node)}`);
  }
  return lines.join('\n');
}
