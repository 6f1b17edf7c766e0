/** GET /stores: the stores this instance serves and which of their partitions it holds. */
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from './context.js';
import { commonErrorResponses } from '../schemas.js';

const storeListSchema = {
  type: 'object',
  required: ['stores'],
  properties: {
    stores: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind', 'keySerde', 'valueSerde', 'partitionCount', 'localPartitions', 'approximateCount'],
        properties: {
          name: { type: 'string' },
          kind: { type: 'string', enum: ['global', 'partitioned', 'windowed'] },
          windowSizeMs: { type: 'integer', description: 'Window stores: the length of their windows.' },
          keySerde: { type: 'string' },
          valueSerde: { type: 'string' },
          partitionCount: { type: 'integer' },
          localPartitions: { type: 'array', items: { type: 'integer' } },
          approximateCount: { type: 'integer' },
        },
      },
    },
  },
} as const;

export const storeListRoutes: FastifyPluginAsync<RouteContext> = async (app, { source }) => {
  app.get(
    '/stores',
    {
      schema: {
        summary: 'Stores served by this application instance',
        response: { 200: storeListSchema, ...commonErrorResponses },
      },
    },
    async () => {
      const stores = source.stores();
      const counts = await Promise.all(stores.map((store) => store.approximateCount()));
      return {
        stores: stores.map((store, i) => ({
          name: store.name,
          kind: store.kind,
          keySerde: store.keySerde,
          valueSerde: store.valueSerde,
          partitionCount: store.partitionCount,
          localPartitions: store.localPartitions(),
          approximateCount: counts[i],
          ...(store.window === undefined ? {} : { windowSizeMs: store.window.windowSizeMs }),
        })),
      };
    },
  );
};
