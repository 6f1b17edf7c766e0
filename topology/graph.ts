/**
 * A compiled topology as plain JSON for drawing: every DSL node (sources, operators, joins, processors, sinks), the
 * topics and stores they touch as nodes of their own, the edges between them, and one group per sub-topology (plus
 * one for the global tables). Pure data, no layout: the web console lays it out in the browser.
 *
 * Node ids are stable within one topology: `n<id>` for DSL nodes, `topic:<name>` and `store:<name>` for the rest.
 * Topics sit outside every group (a repartition topic links two sub-topologies); a table's source topic is also its
 * store's changelog (restoration reads it), which its `roles` say.
 */
import type { Topology } from './topology.js';
import type { TopologyNode } from './nodes.js';

export type TopologyNodeKind = TopologyNode['kind'];
export type GraphNodeKind = TopologyNodeKind | 'topic' | 'store';

/** What a topic is to this application; a topic can be several at once (read by a table and a global table). */
export type TopicRole = 'input' | 'output' | 'repartition' | 'changelog';

export type StoreKind = 'table' | 'global' | 'state' | 'derived' | 'window';

export interface GraphNode {
  readonly id: string;
  readonly kind: GraphNodeKind;
  /** The DSL node's name (`KSTREAM-FILTER-0000000003`), the topic or the store name. */
  readonly name: string;
  /** A few words on what it does: the operator (`filter`, `selectKey`), `join`, `left join`, `source` ... */
  readonly label: string;
  /** Id of the group it belongs to; `null` for topics (and a state store no processor uses). */
  readonly group: string | null;
  /** Source and sink nodes: the topic read or written. */
  readonly topic?: string;
  /** Stores the node reads or writes. */
  readonly stores?: readonly string[];
  /** Topic nodes only. */
  readonly roles?: readonly TopicRole[];
  /** Store nodes only. */
  readonly storeKind?: StoreKind;
  /** Store nodes only: the topic the store is restored from (`null` for state stores). */
  readonly changelogTopic?: string | null;
}

export type EdgeKind = 'records' | 'store';

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** `records` flow downstream; `store` edges link a node to a store it writes (node → store) or reads (store → node). */
  readonly kind: EdgeKind;
  /** Store edges only. */
  readonly access?: 'read' | 'write' | 'read-write';
}

export interface GraphGroup {
  /** `sub-<id>` or `global`. */
  readonly id: string;
  readonly kind: 'subtopology' | 'global';
  readonly label: string;
  /** The sub-topology id (task ids are `<subtopology>_<partition>`); `null` for the global group. */
  readonly subtopology: number | null;
  /** Topics a task of the sub-topology reads (user and repartition topics); global tables' topics for `global`. */
  readonly sourceTopics: readonly string[];
  readonly sinkTopics: readonly string[];
  readonly stores: readonly string[];
}

export interface TopologyGraph {
  readonly applicationId: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly groups: readonly GraphGroup[];
}

export const GLOBAL_GROUP_ID = 'global';
export const subtopologyGroupId = (id: number): string => `sub-${id}`;
export const dslNodeId = (node: TopologyNode): string => `n${node.id}`;
export const topicNodeId = (topic: string): string => `topic:${topic}`;
export const storeNodeId = (store: string): string => `store:${store}`;

const TOPIC_ROLE_ORDER: readonly TopicRole[] = ['input', 'output', 'repartition', 'changelog'];

function labelOf(node: TopologyNode): string {
  switch (node.kind) {
    case 'source':
      return 'stream source';
    case 'table-source':
      return 'table source';
    case 'global-table':
      return 'global table';
    case 'repartition-source':
      return 'repartition source';
    case 'repartition-sink':
      return 'repartition sink';
    case 'sink':
      return 'sink';
    case 'transform':
      return node.op;
    case 'stream-table-join':
    case 'stream-global-join':
      return node.leftJoin ? 'left join' : 'join';
    case 'process':
      return 'process';
    case 'stream-aggregate':
    case 'table-aggregate':
      return node.op;
    case 'window-aggregate':
      return `windowed ${node.op}`;
    case 'table-transform':
      return `table ${node.op}`;
    case 'table-to-stream':
      return 'toStream';
    case 'table-group-by':
      return 'table groupBy';
    case 'table-join':
      return node.joinType === 'inner' ? 'table join' : `table ${node.joinType} join`;
  }
}

function storesOf(node: TopologyNode): readonly string[] {
  switch (node.kind) {
    case 'table-source':
    case 'global-table':
    case 'stream-table-join':
    case 'stream-global-join':
      return [node.store];
    case 'process':
      return node.stores;
    case 'stream-aggregate':
    case 'window-aggregate':
    case 'table-aggregate':
    case 'table-join':
      return [node.store];
    default:
      return [];
  }
}

/** The topology as nodes, edges and groups (see the top of the file). */
export function topologyGraph(topology: Topology): TopologyGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const topicRoles = new Map<string, Set<TopicRole>>();
  const addTopic = (topic: string, role: TopicRole): string => {
    const roles = topicRoles.get(topic) ?? new Set<TopicRole>();
    roles.add(role);
    topicRoles.set(topic, roles);
    return topicNodeId(topic);
  };
  const groupOf = (node: TopologyNode): string => {
    const sub = topology.subtopologyOf[node.id];
    return sub === undefined ? GLOBAL_GROUP_ID : subtopologyGroupId(sub);
  };

  for (const node of topology.nodes) {
    const id = dslNodeId(node);
    const topic = topology.topicOf(node);
    const stores = storesOf(node);
    nodes.push({
      id,
      kind: node.kind,
      name: node.name,
      label: labelOf(node),
      group: groupOf(node),
      ...(topic === undefined ? {} : { topic }),
      ...(stores.length === 0 ? {} : { stores: [...stores] }),
    });
    for (const child of topology.children[node.id]) edges.push({ from: id, to: dslNodeId(topology.nodes[child]), kind: 'records' });
    switch (node.kind) {
      case 'source':
        edges.push({ from: addTopic(node.topic, 'input'), to: id, kind: 'records' });
        break;
      case 'table-source':
      case 'global-table':
        edges.push({ from: addTopic(node.topic, 'input'), to: id, kind: 'records' });
        addTopic(node.topic, 'changelog');
        edges.push({ from: id, to: storeNodeId(node.store), kind: 'store', access: 'write' });
        break;
      case 'repartition-source':
        edges.push({ from: addTopic(topic as string, 'repartition'), to: id, kind: 'records' });
        break;
      case 'sink':
        edges.push({ from: id, to: addTopic(node.topic, 'output'), kind: 'records' });
        break;
      case 'repartition-sink':
        edges.push({ from: id, to: addTopic(topic as string, 'repartition'), kind: 'records' });
        break;
      case 'stream-table-join':
      case 'stream-global-join':
        edges.push({ from: storeNodeId(node.store), to: id, kind: 'store', access: 'read' });
        break;
      case 'process':
        for (const store of node.stores) edges.push({ from: id, to: storeNodeId(store), kind: 'store', access: 'read-write' });
        break;
      case 'stream-aggregate':
      case 'window-aggregate':
      case 'table-aggregate':
        edges.push({ from: id, to: storeNodeId(node.store), kind: 'store', access: 'read-write' });
        break;
      case 'table-join':
        edges.push({ from: storeNodeId(node.left.store), to: id, kind: 'store', access: 'read' });
        edges.push({ from: storeNodeId(node.right.store), to: id, kind: 'store', access: 'read' });
        edges.push({ from: id, to: storeNodeId(node.store), kind: 'store', access: 'write' });
        break;
      case 'transform':
      case 'table-transform':
      case 'table-to-stream':
      case 'table-group-by':
        break;
    }
  }

  for (const spec of topology.stores) {
    nodes.push({
      id: storeNodeId(spec.name),
      kind: 'store',
      name: spec.name,
      label: `${spec.kind === 'derived' ? 'derived table' : spec.kind} store`,
      // A state store no processor uses belongs to no sub-topology.
      group: spec.kind === 'global' ? GLOBAL_GROUP_ID : spec.subtopologyId === undefined ? null : subtopologyGroupId(spec.subtopologyId),
      storeKind: spec.kind,
      changelogTopic: spec.changelogTopic ?? spec.topic ?? null,
    });
    // Derived stores write their own changelog topic; table stores restore from their source topic (drawn above).
    if (spec.changelogTopic !== undefined) {
      edges.push({ from: storeNodeId(spec.name), to: addTopic(spec.changelogTopic, 'changelog'), kind: 'records' });
    }
  }

  for (const [topic, roles] of [...topicRoles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ordered = TOPIC_ROLE_ORDER.filter((role) => roles.has(role));
    nodes.push({ id: topicNodeId(topic), kind: 'topic', name: topic, label: ordered.join(', '), group: null, roles: ordered });
  }

  const groups: GraphGroup[] = topology.subtopologies.map((sub) => ({
    id: subtopologyGroupId(sub.id),
    kind: 'subtopology',
    label: `Sub-topology ${sub.id}`,
    subtopology: sub.id,
    sourceTopics: [...sub.sourceTopics],
    sinkTopics: [...sub.sinkTopics],
    stores: [...sub.stores],
  }));
  if (topology.globalTables.length > 0) {
    groups.push({
      id: GLOBAL_GROUP_ID,
      kind: 'global',
      label: 'Global tables',
      subtopology: null,
      sourceTopics: [...new Set(topology.globalTables.map((g) => g.topic))].sort(),
      sinkTopics: [],
      stores: topology.globalTables.map((g) => g.store),
    });
  }
  return { applicationId: topology.applicationId, nodes, edges, groups };
}
