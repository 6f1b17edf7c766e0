/** GET /topology — the compiled topology as a graph of nodes, edges and sub-topology groups (see topology/graph.ts). */
import type { FastifyPluginAsync } from 'fastify';
import type { TopologyGraph } from '../../topology/graph.js';
import { commonErrorResponses } from '../schemas.js';

const stringList = { type: 'array', items: { type: 'string' } } as const;

const topologyGraphSchema = {
  type: 'object',
  required: ['applicationId', 'nodes', 'edges', 'groups'],
  properties: {
    applicationId: { type: 'string' },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'kind', 'name', 'label', 'group'],
        properties: {
          id: { type: 'string' },
          kind: {
            type: 'string',
            enum: [
              'source',
              'table-source',
              'global-table',
              'transform',
              'sink',
              'repartition-sink',
              'repartition-source',
              'stream-table-join',
              'stream-global-join',
              'process',
              'topic',
              'store',
            ],
          },
          name: { type: 'string' },
          label: { type: 'string' },
          group: { type: ['string', 'null'] },
          topic: { type: 'string' },
          stores: stringList,
          roles: { type: 'array', items: { type: 'string', enum: ['input', 'output', 'repartition', 'changelog'] } },
          storeKind: { type: 'string', enum: ['table', 'global', 'state'] },
          changelogTopic: { type: ['string', 'null'] },
        },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['from', 'to', 'kind'],
        properties: {
          from: { type: 'string' },
          to: { type: 'string' },
          kind: { type: 'string', enum: ['records', 'store'] },
          access: { type: 'string', enum: ['read', 'write', 'read-write'] },
        },
      },
    },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'kind', 'label', 'subtopology', 'sourceTopics', 'sinkTopics', 'stores'],
        properties: {
          id: { type: 'string' },
          kind: { type: 'string', enum: ['subtopology', 'global'] },
          label: { type: 'string' },
          subtopology: { type: ['integer', 'null'] },
          sourceTopics: stringList,
          sinkTopics: stringList,
          stores: stringList,
        },
      },
    },
  },
} as const;

/** Registered only when the source describes its topology. */
export function topologyRoutes(graph: () => TopologyGraph): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/topology',
      {
        schema: {
          summary: 'The compiled topology: sources, operators, joins, stores, topics and sinks, grouped by sub-topology',
          response: { 200: topologyGraphSchema, ...commonErrorResponses },
        },
      },
      async () => graph(),
    );
  };
}
