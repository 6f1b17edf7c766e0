// @ts-check
/**
 * The topology view: GET /topology laid out with dagre (left to right, one box per sub-topology and one for the global
 * tables) and drawn as SVG; a click on a node shows what it reads, writes and stores.
 */
import { Graph, layout } from '@dagrejs/dagre';
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Badge, Card, Empty, ErrorNote, Facts, InstanceChip } from './ui.js';

/** @typedef {import('../../topology/graph.js').TopologyGraph} TopologyGraph */
/** @typedef {import('../../topology/graph.js').GraphNode} GraphNode */
/** @typedef {import('../../topology/graph.js').GraphEdge} GraphEdge */
/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */

/** @typedef {{ node: GraphNode, x: number, y: number, width: number, height: number, title: string, detail: string }} PlacedNode */
/** @typedef {{ id: string, label: string, x: number, y: number, width: number, height: number }} PlacedGroup */
/** @typedef {{ edge: GraphEdge, points: { x: number, y: number }[] }} PlacedEdge */
/** @typedef {{ nodes: PlacedNode[], groups: PlacedGroup[], edges: PlacedEdge[], width: number, height: number }} Placed */

const GROUP_LABEL_HEIGHT = 22;
const TITLE_CHAR_WIDTH = 7.2;
const DETAIL_CHAR_WIDTH = 6.4;
const MAX_NODE_WIDTH = 190;
const MIN_SCALE = 0.72;

/**
 * An internal topic's name without the `<applicationId>-` prefix every internal topic has (the full name is in the
 * node's tooltip and details).
 * @param {string} topic
 * @param {string} applicationId
 */
export function shortTopic(topic, applicationId) {
  return topic.startsWith(`${applicationId}-`) && topic.endsWith('-repartition') ? topic.slice(applicationId.length + 1) : topic;
}

/** A repartition topic's base name (its node says "repartition" anyway). @param {string} topic @param {string} applicationId */
const baseName = (topic, applicationId) => shortTopic(topic, applicationId).replace(/-repartition$/, '');

/** @param {string} text @param {number} chars */
const clip = (text, chars) => (text.length <= chars ? text : `${text.slice(0, Math.max(1, chars - 1))}…`);

/** What a node shows: a title and a second line. @param {GraphNode} node @param {string} applicationId */
export function nodeText(node, applicationId) {
  if (node.kind === 'topic') return { title: baseName(node.name, applicationId), detail: (node.roles ?? []).join(' · ') };
  if (node.kind === 'store') return { title: node.name, detail: node.label };
  const internal = node.kind === 'repartition-sink' || node.kind === 'repartition-source';
  const detail =
    node.topic !== undefined && !internal
      ? node.topic
      : node.stores !== undefined
        ? `store ${node.stores.join(', ')}`
        : `node #${node.id.slice(1)}`;
  return { title: node.label, detail };
}

/** Node width for its text, and the text clipped to it. @param {GraphNode} node @param {string} applicationId */
function nodeBox(node, applicationId) {
  const { title, detail } = nodeText(node, applicationId);
  const wanted = Math.max(title.length * TITLE_CHAR_WIDTH, detail.length * DETAIL_CHAR_WIDTH) + 28;
  const width = Math.min(MAX_NODE_WIDTH, Math.max(104, wanted));
  return {
    width,
    title: clip(title, Math.floor((width - 24) / TITLE_CHAR_WIDTH)),
    detail: clip(detail, Math.floor((width - 20) / DETAIL_CHAR_WIDTH)),
  };
}

/** CSS class of a node's shape (see console.css). @param {GraphNode} node */
function nodeClass(node) {
  switch (node.kind) {
    case 'source':
    case 'table-source':
    case 'global-table':
    case 'repartition-source':
      return 'n-source';
    case 'sink':
    case 'repartition-sink':
      return 'n-sink';
    case 'stream-table-join':
    case 'stream-global-join':
      return 'n-join';
    case 'process':
      return 'n-process';
    case 'topic':
      return (node.roles ?? []).includes('repartition') ? 'n-topic n-internal' : 'n-topic';
    case 'store':
      return 'n-store';
    default:
      return 'n-op';
  }
}

/** Lays the graph out with dagre. @param {TopologyGraph} graph @returns {Placed} */
export function placeGraph(graph) {
  const g = new Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 26, ranksep: 38, edgesep: 10, marginx: 16, marginy: 16 + GROUP_LABEL_HEIGHT });
  g.setDefaultEdgeLabel(() => ({}));
  for (const group of graph.groups) g.setNode(group.id, { width: 0, height: 0 });
  /** @type {Map<string, { width: number, title: string, detail: string }>} */
  const boxes = new Map();
  for (const node of graph.nodes) {
    const box = nodeBox(node, graph.applicationId);
    boxes.set(node.id, box);
    g.setNode(node.id, { width: box.width, height: node.kind === 'store' ? 54 : 44 });
    if (node.group !== null) g.setParent(node.id, node.group);
  }
  graph.edges.forEach((edge, i) => g.setEdge(edge.from, edge.to, { minlen: 1, weight: edge.kind === 'records' ? 2 : 1 }, `e${i}`));
  layout(g);

  /** @type {PlacedNode[]} */
  const nodes = [];
  for (const node of graph.nodes) {
    const label = g.node(node.id);
    const box = boxes.get(node.id) ?? { title: node.name, detail: '' };
    nodes.push({ node, x: label.x ?? 0, y: label.y ?? 0, width: label.width, height: label.height, title: box.title, detail: box.detail });
  }
  /** @type {PlacedGroup[]} */
  const groups = graph.groups.map((group) => {
    const label = g.node(group.id);
    const width = label.width;
    const height = label.height + GROUP_LABEL_HEIGHT;
    return {
      id: group.id,
      label: group.label,
      x: (label.x ?? 0) - width / 2,
      y: (label.y ?? 0) - label.height / 2 - GROUP_LABEL_HEIGHT,
      width,
      height,
    };
  });
  /** @type {PlacedEdge[]} */
  const edges = graph.edges.map((edge, i) => {
    /** @type {{ points?: { x: number, y: number }[] } | undefined} */
    const label = g.edge({ v: edge.from, w: edge.to, name: `e${i}` });
    return { edge, points: (label?.points ?? []).map((p) => ({ x: p.x, y: p.y })) };
  });
  const size = g.graph();
  return { nodes, groups, edges, width: size.width ?? 600, height: size.height ?? 300 };
}

/** A smooth path through dagre's edge points. @param {{ x: number, y: number }[]} points */
function edgePath(points) {
  if (points.length === 0) return '';
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const next = points[i + 1];
    const midX = (points[i].x + next.x) / 2;
    const midY = (points[i].y + next.y) / 2;
    d += ` Q ${points[i].x} ${points[i].y} ${midX} ${midY}`;
  }
  const end = points[points.length - 1];
  return `${d} L ${end.x} ${end.y}`;
}

/** @param {{ placed: PlacedNode, selected: boolean, dimmed: boolean, onSelect: (id: string) => void }} props */
function NodeShape({ placed, selected, dimmed, onSelect }) {
  const { node, x, y, width, height, title, detail } = placed;
  const left = x - width / 2;
  const top = y - height / 2;
  const classes = `tnode ${nodeClass(node)}${selected ? ' selected' : ''}${dimmed ? ' dimmed' : ''}`;
  const shape =
    node.kind === 'store'
      ? html`<path
          class="shape"
          d=${`M ${left} ${top + 7} a ${width / 2} 7 0 0 1 ${width} 0 v ${height - 14} a ${width / 2} 7 0 0 1 ${-width} 0 Z M ${left} ${top + 7} a ${width / 2} 7 0 0 0 ${width} 0`}
        />`
      : html`<rect class="shape" x=${left} y=${top} width=${width} height=${height} rx=${node.kind === 'topic' ? height / 2 : 7} />`;
  return html`<g
    class=${classes}
    data-testid="topology-node"
    data-node-id=${node.id}
    data-kind=${node.kind}
    tabindex="0"
    role="button"
    aria-label=${`${node.kind} ${node.name}`}
    onClick=${() => onSelect(node.id)}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => (e.key === 'Enter' || e.key === ' ' ? onSelect(node.id) : undefined)}
  >
    ${shape}
    ${node.kind === 'topic' || node.kind === 'store' ? null : html`<rect class="stripe" x=${left} y=${top} width="4" height=${height} rx="2" />`}
    <text class="title" x=${x} y=${y + (node.kind === 'store' ? 0 : -3)} text-anchor="middle">${title}</text>
    <text class="detail" x=${x} y=${y + (node.kind === 'store' ? 14 : 12)} text-anchor="middle">${detail}</text>
    <title>${node.name}</title>
  </g>`;
}

const LEGEND = [
  ['n-topic', 'topic'],
  ['n-topic n-internal', 'repartition topic'],
  ['n-source', 'source'],
  ['n-op', 'operator'],
  ['n-join', 'join'],
  ['n-process', 'processor'],
  ['n-store', 'store'],
  ['n-sink', 'sink'],
];

/** @param {{ graph: TopologyGraph, nodeId: string, metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props */
function NodeDetails({ graph, nodeId, metadata, colors }) {
  const node = graph.nodes.find((n) => n.id === nodeId);
  if (node === undefined) return null;
  const names = new Map(graph.nodes.map((n) => [n.id, n]));
  const describe = (/** @type {string} */ id) => {
    const other = names.get(id);
    return other === undefined ? id : `${other.kind === 'topic' || other.kind === 'store' ? other.name : other.label} (${other.kind})`;
  };
  const inbound = graph.edges.filter((e) => e.to === nodeId).map((e) => describe(e.from));
  const outbound = graph.edges.filter((e) => e.from === nodeId).map((e) => describe(e.to));
  const group = graph.groups.find((g) => g.id === node.group);
  const owners =
    group?.subtopology === null || group === undefined || metadata === undefined
      ? []
      : metadata.instances.filter((i) => i.tasks.some((t) => t.startsWith(`${group.subtopology}_`)));
  /** @type {[string, import('preact').ComponentChildren][]} */
  const items = [
    ['Kind', node.kind],
    ['Name', html`<code>${node.name}</code>`],
    ['Group', group?.label ?? 'outside sub-topologies'],
  ];
  if (node.topic !== undefined) items.push(['Topic', html`<code>${node.topic}</code>`]);
  if (node.stores !== undefined) items.push(['Stores', node.stores.join(', ')]);
  if (node.roles !== undefined) items.push(['Roles', node.roles.join(', ')]);
  if (node.changelogTopic !== undefined) items.push(['Restored from', node.changelogTopic ?? 'no changelog (state store)']);
  items.push(['From', inbound.length === 0 ? '–' : inbound.join(', ')]);
  items.push(['To', outbound.length === 0 ? '–' : outbound.join(', ')]);
  if (owners.length > 0)
    items.push(['Tasks on', html`${owners.map((i) => html`<${InstanceChip} id=${i.id} color=${colors.get(i.id)} self=${i.self} /> `)}`]);
  return html`<div class="node-details" data-testid="node-details"><${Facts} items=${items} /></div>`;
}

/**
 * @param {{ graph: TopologyGraph | undefined, error: Error | undefined, metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props
 */
export function TopologyView({ graph, error, metadata, colors }) {
  const placed = useMemo(() => (graph === undefined ? undefined : placeGraph(graph)), [graph]);
  const [selected, setSelected] = useState(/** @type {string | null} */ (null));
  // Fit the drawing to the card's width, but never below MIN_SCALE (then it scrolls): text must stay readable.
  const scroller = useRef(/** @type {HTMLDivElement | null} */ (null));
  const [available, setAvailable] = useState(0);
  useEffect(() => {
    const element = scroller.current;
    if (element === null) return undefined;
    const observer = new ResizeObserver(() => setAvailable(element.clientWidth - 8));
    observer.observe(element);
    return () => observer.disconnect();
  }, [placed !== undefined]);
  if (graph === undefined)
    return html`<${ErrorNote} error=${error} what="the topology" />${error === undefined ? html`<${Empty}>Loading…<//>` : null}`;
  if (placed === undefined) return null;
  const neighbours = new Set();
  if (selected !== null) {
    neighbours.add(selected);
    for (const edge of graph.edges) {
      if (edge.from === selected) neighbours.add(edge.to);
      if (edge.to === selected) neighbours.add(edge.from);
    }
  }
  const counts = {
    subtopologies: graph.groups.filter((g) => g.kind === 'subtopology').length,
    topics: graph.nodes.filter((n) => n.kind === 'topic').length,
    stores: graph.nodes.filter((n) => n.kind === 'store').length,
    processors: graph.nodes.filter((n) => n.kind !== 'topic' && n.kind !== 'store').length,
  };
  const scale = available <= 0 ? 1 : Math.min(1, Math.max(MIN_SCALE, available / placed.width));
  const tasksOf = (/** @type {number} */ sub) =>
    (metadata?.instances ?? []).flatMap((i) => i.tasks.filter((t) => t.startsWith(`${sub}_`)).map((t) => ({ task: t, instance: i })));
  const badges = (/** @type {readonly string[]} */ names, /** @type {import('./ui.js').Tone} */ tone) =>
    names.length === 0 ? '–' : names.map((t) => html`<${Badge} tone=${tone} title=${t}>${shortTopic(t, graph.applicationId)}<//> `);
  return html`
    <div class="topology-layout">
      <${Card}
        title="Topology"
        subtitle=${html`Application <code>${graph.applicationId}</code> as compiled${`: ${counts.subtopologies} sub-topologies, ${counts.processors} processor nodes, ${counts.stores} stores, ${counts.topics} topics.`}`}
        testId="topology-card"
        className="topology-card"
      >
        <div class="legend">
          ${LEGEND.map(([cls, label]) => html`<span class="legend-item"><span class=${`swatch ${cls}`}></span>${label}</span>`)}
        </div>
        <div class="graph-scroll" ref=${scroller}>
          <svg
            class="topology"
            data-testid="topology-graph"
            viewBox=${`0 0 ${placed.width} ${placed.height}`}
            width=${Math.round(placed.width * scale)}
            height=${Math.round(placed.height * scale)}
            role="img"
            aria-label="Topology graph"
          >
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
              </marker>
              <marker id="arrow-store" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head-store" />
              </marker>
            </defs>
            ${placed.groups.map(
              (group) =>
                html`<g
                  class=${`tgroup ${group.id === 'global' ? 'tgroup-global' : ''}`}
                  data-testid="topology-group"
                  data-group-id=${group.id}
                >
                  <rect x=${group.x} y=${group.y} width=${group.width} height=${group.height} rx="10" />
                  <text x=${group.x + 12} y=${group.y + 16}>${group.label}</text>
                </g>`,
            )}
            ${placed.edges.map(
              ({ edge, points }) =>
                html`<path
                  class=${`tedge ${edge.kind === 'store' ? 'tedge-store' : ''}${selected !== null && (edge.from === selected || edge.to === selected) ? ' active' : ''}`}
                  d=${edgePath(points)}
                  marker-end=${edge.kind === 'store' ? 'url(#arrow-store)' : 'url(#arrow)'}
                />`,
            )}
            ${placed.nodes.map(
              (node) =>
                html`<${NodeShape}
                  key=${node.node.id}
                  placed=${node}
                  selected=${node.node.id === selected}
                  dimmed=${selected !== null && !neighbours.has(node.node.id)}
                  onSelect=${(/** @type {string} */ id) => setSelected(id === selected ? null : id)}
                />`,
            )}
          </svg>
        </div>
      <//>
      <div class="side-col">
        <${Card} title=${selected === null ? 'Details' : 'Selected node'} className="compact" testId="topology-details">
          ${
            selected === null
              ? html`<p class="hint first">
                  Click a node to see what it reads, writes and stores. A table's source topic is also its store's changelog: restoration
                  reads it back.
                </p>`
              : html`<${NodeDetails} graph=${graph} nodeId=${selected} metadata=${metadata} colors=${colors} />`
          }
        <//>
        ${graph.groups.map(
          (group) =>
            html`<${Card}
              title=${group.label}
              subtitle=${group.kind === 'global' ? 'Replicated on every instance' : `${tasksOf(group.subtopology ?? -1).length} tasks running`}
              className="compact"
            >
              <${Facts}
                items=${[
                  ['Reads', badges(group.sourceTopics, 'teal')],
                  ['Writes', badges(group.sinkTopics, 'ok')],
                  ['Stores', group.stores.length === 0 ? '–' : group.stores.map((name) => html`<${Badge} tone="purple">${name}<//> `)],
                ]}
              />
            <//>`,
        )}
      </div>
    </div>
  `;
}
