/**
 * Text and Mermaid renderings of a compiled topology, modelled on Kafka Streams' `TopologyDescription`:
 * sub-topologies with their sources, processors (with stores), sinks and the edges between them.
 */
import { assertNever } from '../common/assert-never.js';
import { nodeTopic, type TopologyNode } from './nodes.js';
import type { CompiledTopology } from './specs.js';

function storesOf(node: TopologyNode): string[] {
  switch (node.kind) {
    case 'table-source':
    case 'stream-table-join':
    case 'stream-global-join':
      return [node.store];
    case 'process':
      return [...node.stores];
    case 'source':
    case 'global-table':
    case 'transform':
    case 'sink':
    case 'repartition-sink':
    case 'repartition-source':
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
      // A table source feeds its joins through the store, as Kafka Streams draws it.
      if (node.kind === 'table-source') {
        for (const other of sub.nodeIds) {
          const o = topology.nodes[other];
          if (o.kind === 'stream-table-join' && o.tableSourceId === id) next.push(other);
        }
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
    const extra = node.kind === 'transform' ? node.op : (topic ?? storesOf(node).join(', '));
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
    if (node.kind === 'stream-table-join') lines.push(`  n${node.tableSourceId} -. ${node.store} .-> ${mermaidId(node)}`);
    if (node.kind === 'stream-global-join') lines.push(`  n${node.globalTableId} -. ${node.store} .-> ${mermaidId(node)}`);
    if (node.kind === 'repartition-source')
      lines.push(`  n${node.sinkId} -- ${nodeTopic(topology.applicationId, node)} --> ${mermaidId(node)}`);
  }
  return lines.join('\n');
}
