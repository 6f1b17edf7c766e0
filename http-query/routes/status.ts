/** GET /metadata (who holds what, as seen here) and GET /ready (running and every local store partition caught up). */
import type { FastifyPluginAsync } from 'fastify';
import { commonErrorResponses } from '../schemas.js';
import type { RouteContext } from './context.js';

const APP_STATES = ['created', 'bootstrapping', 'running', 'rebalancing', 'stopping', 'stopped', 'failed'];

const metadataSchema = {
  type: 'object',
  required: ['assignmentId', 'instances'],
  properties: {
    assignmentId: { type: ['string', 'null'] },
    instances: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'url', 'self', 'tasks', 'storePartitions'],
        properties: {
          id: { type: 'string' },
          url: { type: 'string' },
          self: { type: 'boolean' },
          tasks: { type: 'array', items: { type: 'string' } },
          storePartitions: { type: 'object', additionalProperties: { type: 'array', items: { type: 'integer' } } },
        },
      },
    },
    orphanedInternalTopics: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'unreadRecords'],
        properties: { topic: { type: 'string' }, unreadRecords: { type: 'integer' } },
      },
    },
    partitionCountChanges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'before', 'now', 'at'],
        properties: { topic: { type: 'string' }, before: { type: 'integer' }, now: { type: 'integer' }, at: { type: 'string' } },
      },
    },
  },
} as const;

const readinessSchema = {
  type: 'object',
  required: ['ready', 'state', 'restoration'],
  properties: {
    ready: { type: 'boolean' },
    state: { type: 'string', enum: APP_STATES },
    restoration: {
      type: 'array',
      items: {
        type: 'object',
        required: ['store', 'partition', 'restoredOffset', 'endOffset', 'done'],
        properties: {
          store: { type: 'string' },
          partition: { anyOf: [{ type: 'integer' }, { type: 'string', enum: ['global'] }] },
          restoredOffset: { type: 'integer' },
          endOffset: { type: 'integer' },
          done: { type: 'boolean' },
          phase: { type: 'string', enum: ['restoring', 'catching-up', 'caught-up'] },
        },
      },
    },
  },
} as const;

export const statusRoutes: FastifyPluginAsync<RouteContext> = async (app, { source }) => {
  app.get(
    '/metadata',
    {
      schema: {
        summary: 'Instances, their URLs and the tasks/partitions each holds, as seen by this instance',
        response: { 200: metadataSchema, ...commonErrorResponses },
      },
    },
    async () => source.metadata(),
  );

  app.get(
    '/ready',
    {
      schema: {
        summary:
          '200 when the application runs and every store partition served here has caught up to the end offsets taken when it was assigned, else 503',
        response: { 200: readinessSchema, 401: commonErrorResponses[401], 503: readinessSchema },
      },
    },
    async (_request, reply) => {
      const status = source.state();
      const ready = status.state === 'running' && status.restoration.every((progress) => progress.done);
      if (!ready) reply.code(503).header('retry-after', '1');
      return { ready, state: status.state, restoration: status.restoration };
    },
  );
};
