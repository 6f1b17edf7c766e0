/** GET /metrics — Prometheus text exposition. */
import type { FastifyPluginAsync } from 'fastify';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import type { RouteContext } from './context.js';

export const metricsRoutes: FastifyPluginAsync<RouteContext> = async (app, { metrics }) => {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: application counters, store sizes, restoration, HTTP latency',
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      reply.type(PROMETHEUS_CONTENT_TYPE);
      return metrics.render();
    },
  );
};
