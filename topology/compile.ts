/**
 * Compiles the DSL's node list into a frozen `Topology`: validates it, splits it into sub-topologies (connected
 * components, cut at repartition topics; nodes sharing a task-local store or a source topic are connected), and lists what the
 * runtime needs: source/sink topics per sub-topology, table stores, repartition topics, global tables.
 */
import { assertNever } from '../common/assert-never.js';
import { TopologyBuildError } from '../errors.js';
import {
  changelogTopicName,
  isDerivedTableNode,
  nodeTopic,
  type GlobalTableNode,
  type StateStoreDeclaration,
  type TableSourceNode,
  type TableValueGetter,
  type TopologyNode,
} from './nodes.js';
import { sameSerde, type Serde } from './serdes.js';
import type { ChangelogTopicSpec, RepartitionTopicSpec, StoreSpec, Subtopology, TableSourceSpec } from './specs.js';
import { Topology } from './topology.js';

interface CompileInput {
  readonly applicationId: string;
  readonly nodes: readonly TopologyNode[];
  readonly stateStores: readonly StateStoreDeclaration[];
}

const VALID_NAME = /^[a-zA-Z0-9._-]+$/;

function fail(node: string, message: string): never {
  throw new TopologyBuildError(node, message);
}

class UnionFind {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]];
      x = this.parent[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export function compileTopology(input: CompileInput): Topology {
  const { applicationId, nodes } = input;
  if (!VALID_NAME.test(applicationId)) {
    fail(
      'build',
      `applicationId '${applicationId}' must be non-empty and use only letters, digits, '.', '_' and '-' (it prefixes internal topic names).`,
    );
  }
  if (!nodes.some((n) => n.kind === 'source' || n.kind === 'table-source' || n.kind === 'global-table')) {
    fail('build', 'the topology has no sources; add one with builder.stream(), table() or globalTable().');
  }

  // Stores: unique names across tables, global tables and state stores.
  const storeOwner = new Map<string, string>();
  const claimStore = (store: string, owner: string): void => {
    if (!VALID_NAME.test(store)) fail(owner, `store name '${store}' may use only letters, digits, '.', '_' and '-'.`);
    const previous = storeOwner.get(store);
    if (previous !== undefined)
      fail(owner, `store '${store}' is already used by ${previous}; give each table and state store its own name.`);
    storeOwner.set(store, owner);
  };
  for (const node of nodes) {
    if (node.kind === 'table-source' || node.kind === 'global-table' || isDerivedTableNode(node)) claimStore(node.store, node.name);
  }
  const stateStores = new Map(input.stateStores.map((s) => [s.name, s]));
  for (const s of input.stateStores) claimStore(s.name, `addStateStore('${s.name}')`);

  const children: number[][] = nodes.map(() => []);
  for (const node of nodes) {
    for (const parent of node.parents) {
      if (parent >= node.id) fail(node.name, 'a node must come after its parents (graph cycle).');
      children[parent].push(node.id);
    }
  }

  // Connected components; repartition sink/source pairs are NOT joined (the topic splits them).
  const uf = new UnionFind(nodes.length);
  const storeAnchor = new Map<string, number>();
  const anchorStore = (store: string, nodeId: number): void => {
    const anchor = storeAnchor.get(store);
    if (anchor === undefined) storeAnchor.set(store, nodeId);
    else uf.union(anchor, nodeId);
  };
  // Sources reading the same topic share a sub-topology: one task consumes each topic-partition once and hands
  // every record to all of its sources. Separate sub-topologies would let the assignor give one topic-partition
  // to two members, whose offset commits would then overwrite each other.
  const topicAnchor = new Map<string, number>();
  const anchorTopic = (topic: string, nodeId: number): void => {
    const anchor = topicAnchor.get(topic);
    if (anchor === undefined) topicAnchor.set(topic, nodeId);
    else uf.union(anchor, nodeId);
  };
  for (const node of nodes) {
    for (const parent of node.parents) uf.union(parent, node.id);
    switch (node.kind) {
      case 'source':
        anchorTopic(node.topic, node.id);
        break;
      case 'table-source':
        anchorTopic(node.topic, node.id);
        anchorStore(node.store, node.id);
        break;
      case 'stream-table-join':
        checkGetter(nodes, node.name, node.table);
        anchorStore(node.store, node.id);
        break;
      case 'table-join':
        checkGetter(nodes, node.name, node.left);
        checkGetter(nodes, node.name, node.right);
        anchorStore(node.store, node.id);
        break;
      case 'stream-aggregate':
      case 'window-aggregate':
      case 'table-aggregate':
        anchorStore(node.store, node.id);
        break;
      case 'stream-global-join': {
        const table = nodes[node.globalTableId];
        if (table?.kind !== 'global-table') fail(node.name, 'joins a node that is not a global table.');
        break;
      }
      case 'process':
        for (const store of node.stores) {
          if (!stateStores.has(store)) {
            const hint = storeOwner.has(store)
              ? `'${store}' is a table store, which only its table source writes; declare a separate store with builder.addStateStore().`
              : `declare it with builder.addStateStore('${store}', { key: ... }) before build().`;
            fail(node.name, `uses unknown state store '${store}': ${hint}`);
          }
          anchorStore(store, node.id);
        }
        break;
      case 'global-table':
      case 'transform':
      case 'sink':
      case 'repartition-sink':
      case 'repartition-source':
      case 'table-transform':
      case 'table-to-stream':
      case 'table-group-by':
        break;
      default:
        assertNever(node, 'topology node');
    }
  }

  // Number sub-topologies by their first node, like Kafka Streams.
  const componentIds = new Map<number, number>();
  const subtopologyOf: (number | undefined)[] = nodes.map(() => undefined);
  for (const node of nodes) {
    if (node.kind === 'global-table') continue;
    const root = uf.find(node.id);
    let sub = componentIds.get(root);
    if (sub === undefined) {
      sub = componentIds.size;
      componentIds.set(root, sub);
    }
    subtopologyOf[node.id] = sub;
  }

  const topicOf = (node: TopologyNode): string | undefined => nodeTopic(applicationId, node);

  // Repartition topics: unique names, not colliding with user topics.
  const userTopics = new Set(
    nodes
      .filter((n) => n.kind === 'source' || n.kind === 'table-source' || n.kind === 'global-table' || n.kind === 'sink')
      .map((n) => topicOf(n) as string),
  );
  const repartitionTopics: RepartitionTopicSpec[] = [];
  const seenRepartition = new Map<string, string>();
  for (const node of nodes) {
    if (node.kind !== 'repartition-source') continue;
    const sink = nodes[node.sinkId];
    if (sink.kind !== 'repartition-sink') fail(node.name, 'repartition source without its sink.');
    const topic = topicOf(node) as string;
    const other = seenRepartition.get(topic);
    if (other !== undefined)
      fail(
        sink.name,
        `repartition topic '${topic}' is also created by ${other}; pass a distinct name to repartition({ name }) or join(..., { repartitionName }) ` +
          `(a re-keyed join's topic is named after its table's store by default, so two re-keyed joins with one table need names).`,
      );
    if (userTopics.has(topic)) fail(sink.name, `repartition topic '${topic}' collides with a user topic; pass another name.`);
    if (sink.partitions !== undefined && (!Number.isInteger(sink.partitions) || sink.partitions < 1)) {
      fail(sink.name, `partitions must be a positive integer, got ${sink.partitions}.`);
    }
    seenRepartition.set(topic, sink.name);
    repartitionTopics.push(
      Object.freeze({
        topic,
        partitions: sink.partitions,
        producedBy: subtopologyOf[sink.id] as number,
        consumedBy: subtopologyOf[node.id] as number,
      }),
    );
  }

  // Changelog topics: one per derived-table store, not colliding with any other topic.
  const repartitionNames = new Set(repartitionTopics.map((r) => r.topic));
  const changelogTopics: ChangelogTopicSpec[] = [];
  for (const node of nodes) {
    if (!isDerivedTableNode(node)) continue;
    const topic = changelogTopicName(applicationId, node.store);
    if (userTopics.has(topic) || repartitionNames.has(topic)) {
      fail(
        node.name,
        `the changelog topic '${topic}' of store '${node.store}' collides with another topic of the topology; give the store another name.`,
      );
    }
    changelogTopics.push(Object.freeze({ topic, store: node.store, subtopologyId: subtopologyOf[node.id] as number }));
  }

  const subtopologies: Subtopology[] = [];
  for (let id = 0; id < componentIds.size; id++) {
    const nodeIds = nodes.filter((n) => subtopologyOf[n.id] === id).map((n) => n.id);
    const members = nodeIds.map((i) => nodes[i]);
    const sourceTopics = new Set<string>();
    const repartitionSourceTopics = new Set<string>();
    const sinkTopics = new Set<string>();
    const stores = new Set<string>();
    const tableSources: TableSourceSpec[] = [];
    for (const n of members) {
      if (n.kind === 'source' || n.kind === 'table-source') sourceTopics.add(n.topic);
      if (n.kind === 'repartition-source') {
        sourceTopics.add(topicOf(n) as string);
        repartitionSourceTopics.add(topicOf(n) as string);
      }
      if (n.kind === 'sink' || n.kind === 'repartition-sink') sinkTopics.add(topicOf(n) as string);
      if (n.kind === 'table-source') {
        stores.add(n.store);
        tableSources.push(tableSpec(n));
      }
      if (n.kind === 'process') for (const s of n.stores) stores.add(s);
      if (isDerivedTableNode(n)) stores.add(n.store);
    }
    validateCopartitioning(id, members, nodes, repartitionTopics);
    subtopologies.push(
      Object.freeze({
        id,
        nodeIds: Object.freeze(nodeIds),
        sourceTopics: Object.freeze([...sourceTopics].sort()),
        repartitionSourceTopics: Object.freeze([...repartitionSourceTopics].sort()),
        tableSources: Object.freeze(tableSources),
        stores: Object.freeze([...stores].sort()),
        changelogTopics: Object.freeze(
          changelogTopics
            .filter((c) => c.subtopologyId === id)
            .map((c) => c.topic)
            .sort(),
        ),
        sinkTopics: Object.freeze([...sinkTopics].sort()),
      }),
    );
  }

  validateNoTopicLoop(nodes, children, topicOf);

  const globalTables = nodes.filter((n): n is GlobalTableNode => n.kind === 'global-table').map(tableSpec);
  const stores: StoreSpec[] = [];
  for (const n of nodes) {
    if (n.kind === 'table-source')
      stores.push(
        Object.freeze({
          name: n.store,
          kind: 'table' as const,
          topic: n.topic,
          keySerde: n.keySerde,
          valueSerde: n.valueSerde,
          subtopologyId: subtopologyOf[n.id],
        }),
      );
    if (n.kind === 'global-table')
      stores.push(
        Object.freeze({ name: n.store, kind: 'global' as const, topic: n.topic, keySerde: n.keySerde, valueSerde: n.valueSerde }),
      );
  }
  for (const n of nodes) {
    if (!isDerivedTableNode(n)) continue;
    stores.push(
      Object.freeze({
        name: n.store,
        kind: n.kind === 'window-aggregate' ? ('window' as const) : ('derived' as const),
        keySerde: n.keySerde,
        valueSerde: n.valueSerde,
        subtopologyId: subtopologyOf[n.id],
        changelogTopic: changelogTopicName(applicationId, n.store),
        nodeId: n.id,
        window:
          n.kind === 'window-aggregate'
            ? Object.freeze({
                windowSizeMs: n.windows.sizeMs,
                advanceMs: n.windows.advanceMs,
                graceMs: n.windows.graceMs,
                retentionMs: n.retentionMs,
                segmentIntervalMs: n.segmentIntervalMs,
              })
            : undefined,
      }),
    );
  }
  for (const s of input.stateStores) {
    const user = nodes.find((n) => n.kind === 'process' && n.stores.includes(s.name));
    stores.push(
      Object.freeze({
        name: s.name,
        kind: 'state' as const,
        keySerde: s.keySerde,
        subtopologyId: user ? subtopologyOf[user.id] : undefined,
      }),
    );
  }

  return Topology.fromCompiled({
    applicationId,
    nodes: Object.freeze([...nodes]),
    subtopologies: Object.freeze(subtopologies),
    repartitionTopics: Object.freeze(repartitionTopics),
    changelogTopics: Object.freeze(changelogTopics),
    globalTables: Object.freeze(globalTables),
    stores: Object.freeze(stores),
    children: Object.freeze(children.map((c) => Object.freeze(c))),
    subtopologyOf: Object.freeze(subtopologyOf),
  });
}

function tableSpec(n: TableSourceNode | GlobalTableNode): TableSourceSpec {
  return Object.freeze({
    topic: n.topic,
    store: n.store,
    nodeId: n.id,
    keySerde: n.keySerde,
    valueSerde: n.valueSerde,
    errorPolicy: n.errorPolicy,
    ...(n.format === undefined ? {} : { format: n.format }),
  });
}

/** Nodes a table value getter reads: a materialized root (with a store), then table transforms. */
function checkGetter(nodes: readonly TopologyNode[], where: string, getter: TableValueGetter): void {
  const root = nodes[getter.rootId];
  const materialized =
    root?.kind === 'table-source' || root?.kind === 'stream-aggregate' || root?.kind === 'table-aggregate' || root?.kind === 'table-join';
  if (!materialized || root.store !== getter.store)
    fail(where, 'reads a table that is not materialized in a store (a windowed table cannot be joined).');
  for (const id of getter.transforms) {
    if (nodes[id]?.kind !== 'table-transform') fail(where, 'reads a table through a node that is not a table filter or mapValues.');
  }
}

/** Key serde that produced the record keys arriving at `nodeId`, if it can be known statically. */
function upstreamKeySerde(nodes: readonly TopologyNode[], nodeId: number): Serde<unknown> | undefined {
  const node = nodes[nodeId];
  switch (node.kind) {
    case 'source':
    case 'table-source':
    case 'repartition-source':
      return node.keySerde;
    case 'transform':
      if (node.changesKey || node.parents.length !== 1) return undefined;
      return upstreamKeySerde(nodes, node.parents[0]);
    case 'stream-table-join':
    case 'stream-global-join':
    case 'table-transform':
    case 'table-to-stream':
      return upstreamKeySerde(nodes, node.parents[0]);
    case 'stream-aggregate':
    case 'table-aggregate':
    case 'table-join':
      return node.keySerde;
    case 'global-table':
    case 'sink':
    case 'repartition-sink':
    case 'process':
    case 'window-aggregate':
    case 'table-group-by':
      return undefined;
    default:
      return assertNever(node, 'topology node');
  }
}

/**
 * Build-time co-partitioning checks (the runtime checks partition counts against the cluster):
 * - a stream joined with a table must carry keys serialized like the table's keys, or equal keys land on
 *   different partitions;
 * - repartition topics read by one sub-topology cannot have different fixed partition counts.
 */
function validateCopartitioning(
  subId: number,
  members: readonly TopologyNode[],
  nodes: readonly TopologyNode[],
  repartitionTopics: readonly RepartitionTopicSpec[],
): void {
  for (const n of members) {
    if (n.kind !== 'stream-table-join') continue;
    const streamKeySerde = upstreamKeySerde(nodes, n.parents[0]);
    if (streamKeySerde && !sameSerde(streamKeySerde, n.tableKeySerde)) {
      fail(
        n.name,
        `the stream's key serde '${streamKeySerde.name}' differs from table store '${n.store}' key serde '${n.tableKeySerde.name}', so equal keys can land on different partitions and the join can never be co-partitioned. ` +
          `Call .repartition({ key: <the table's key serde> }) before the join.`,
      );
    }
  }
  const fixed = repartitionTopics.filter((r) => r.consumedBy === subId && r.partitions !== undefined);
  const counts = new Set(fixed.map((r) => r.partitions));
  if (counts.size > 1) {
    fail(
      fixed.map((r) => r.topic).join(', '),
      `these repartition topics feed the same sub-topology ${subId} but have different fixed partition counts (${[...counts].join(', ')}), so they can never be co-partitioned. Use one partition count.`,
    );
  }
}

/** A path source(T) → … → sink(T) would feed every output back into its own input forever. */
function validateNoTopicLoop(
  nodes: readonly TopologyNode[],
  children: readonly (readonly number[])[],
  topicOf: (node: TopologyNode) => string | undefined,
): void {
  const sourcesByTopic = new Map<string, number[]>();
  for (const n of nodes) {
    if (n.kind === 'source' || n.kind === 'repartition-source') {
      const topic = topicOf(n) as string;
      sourcesByTopic.set(topic, [...(sourcesByTopic.get(topic) ?? []), n.id]);
    }
  }
  // Edges: node → children, and repartition sink → its source (through the topic).
  const next = (id: number): number[] => {
    const n = nodes[id];
    if (n.kind === 'sink') return sourcesByTopic.get(n.topic) ?? [];
    if (n.kind === 'repartition-sink') return sourcesByTopic.get(topicOf(n) as string) ?? [];
    return [...children[id]];
  };
  const state = new Uint8Array(nodes.length); // 0 new, 1 on stack, 2 done
  const visit = (id: number, path: number[]): void => {
    state[id] = 1;
    path.push(id);
    for (const c of next(id)) {
      if (state[c] === 1) {
        const cycle = path.slice(path.indexOf(c)).map((i) => nodes[i].name);
        fail(
          nodes[c].name,
          `records loop back to their own input (cycle: ${[...cycle, nodes[c].name].join(' -> ')}). Write to a topic this path does not read.`,
        );
      }
      if (state[c] === 0) visit(c, path);
    }
    path.pop();
    state[id] = 2;
  };
  for (const n of nodes) if (state[n.id] === 0) visit(n.id, []);
}
