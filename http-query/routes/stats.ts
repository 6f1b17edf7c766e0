/**
 * JSON views for the console (and any client that would rather not parse Prometheus text):
 * - GET /stats: this instance's state, restoration progress and application metrics;
 * - GET /cluster/stats: /stats of every instance in the task map (asked in parallel, each one's failure reported in
 *   its entry, never failing the whole answer);
 * - GET /consumer-lag: lag and processing rate per input partition over the last minutes (when the source keeps them).
 */
import type { FastifyPluginAsync } from 'fastify';
import { QueryServerError } from '../../errors.js';
import type { ForwardingClient } from '../forwarding-client.js';
import { lagSeries } from '../lag-series.js';
import type { AppState, ConsumerLagHistory, InstanceInfo, MetricFamily, QuerySource, RestorationProgress } from '../query-source.js';
import { commonErrorResponses } from '../schemas.js';
import type { RouteContext } from './context.js';

const APP_STATES = ['created', 'bootstrapping', 'running', 'rebalancing', 'stopping', 'stopped', 'failed'];

export interface InstanceStats {
  readonly instanceId: string;
  readonly url: string;
  readonly state: AppState;
  /** Epoch ms when the stats were taken. */
  readonly time: number;
  readonly assignmentId: string | null;
  readonly restoration: readonly RestorationProgress[];
  readonly metrics: readonly MetricFamily[];
}

export interface ClusterInstanceStats {
  readonly id: string;
  readonly url: string;
  readonly self: boolean;
  readonly stats: InstanceStats | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

const nullableInteger = { type: ['integer', 'null'] } as const;

const instanceStatsSchema = {
  type: 'object',
  required: ['instanceId', 'url', 'state', 'time', 'assignmentId', 'restoration', 'metrics'],
  properties: {
    instanceId: { type: 'string' },
    url: { type: 'string' },
    state: { type: 'string', enum: APP_STATES },
    time: { type: 'integer' },
    assignmentId: { type: ['string', 'null'] },
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
          startOffset: { type: 'integer' },
          restoredRecords: { type: 'integer' },
          startedAt: { type: 'integer' },
          finishedAt: { type: 'integer' },
        },
      },
    },
    metrics: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'help', 'type', 'samples'],
        properties: {
          name: { type: 'string' },
          help: { type: 'string' },
          type: { type: 'string', enum: ['counter', 'gauge'] },
          samples: {
            type: 'array',
            items: {
              type: 'object',
              required: ['labels', 'value'],
              properties: { labels: { type: 'object', additionalProperties: { type: 'string' } }, value: { type: 'number' } },
            },
          },
        },
      },
    },
  },
} as const;

const clusterStatsSchema = {
  type: 'object',
  required: ['assignmentId', 'instances'],
  properties: {
    assignmentId: { type: ['string', 'null'] },
    instances: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'url', 'self', 'stats', 'error'],
        properties: {
          id: { type: 'string' },
          url: { type: 'string' },
          self: { type: 'boolean' },
          stats: { anyOf: [instanceStatsSchema, { type: 'null' }] },
          error: {
            anyOf: [
              { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
              { type: 'null' },
            ],
          },
        },
      },
    },
  },
} as const;

const nullableNumbers = { type: 'array', items: { type: ['number', 'null'] } } as const;

const consumerLagSchema = {
  type: 'object',
  required: ['groupId', 'intervalMs', 'times', 'partitions'],
  properties: {
    groupId: { type: 'string' },
    intervalMs: { type: 'integer' },
    times: { type: 'array', items: { type: 'integer' } },
    partitions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'partition', 'lag', 'rate', 'committed', 'end'],
        properties: {
          topic: { type: 'string' },
          partition: { type: 'integer' },
          lag: nullableNumbers,
          rate: nullableNumbers,
          committed: nullableInteger,
          end: nullableInteger,
        },
      },
    },
  },
} as const;

export function instanceStats(source: QuerySource): InstanceStats {
  const metadata = source.metadata();
  const self = metadata.instances.find((instance) => instance.self);
  const status = source.state();
  return {
    instanceId: self?.id ?? '',
    url: self?.url ?? '',
    state: status.state,
    time: Date.now(),
    assignmentId: metadata.assignmentId,
    restoration: status.restoration,
    metrics: source.metrics(),
  };
}

async function remoteStats(instance: InstanceInfo, forwarder: ForwardingClient): Promise<ClusterInstanceStats> {
  const entry = { id: instance.id, url: instance.url, self: false };
  if (instance.url === '') {
    return { ...entry, stats: null, error: { code: 'TRIBUTARY_QUERY_UNAVAILABLE', message: 'The instance published no query URL.' } };
  }
  try {
    const response = await forwarder.get(instance.url, '/stats');
    if (response.statusCode === 200) return { ...entry, stats: JSON.parse(response.body) as InstanceStats, error: null };
    let error = { code: 'TRIBUTARY_QUERY_REMOTE_FAILED', message: `The instance answered ${response.statusCode}.` };
    try {
      const body = JSON.parse(response.body) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string' && typeof body.error.message === 'string') {
        error = { code: body.error.code, message: body.error.message };
      }
    } catch {
      // not our error body: keep the status
    }
    return { ...entry, stats: null, error };
  } catch (error) {
    if (error instanceof QueryServerError) return { ...entry, stats: null, error: { code: error.code, message: error.message } };
    return {
      ...entry,
      stats: null,
      error: { code: 'TRIBUTARY_QUERY_REMOTE_FAILED', message: `The instance's answer could not be read: ${String(error)}` },
    };
  }
}

export const statsRoutes: FastifyPluginAsync<RouteContext> = async (app, { source, forwarder }) => {
  app.get(
    '/stats',
    {
      schema: {
        summary: "This instance's state, restoration progress and application metrics as JSON",
        response: { 200: instanceStatsSchema, ...commonErrorResponses },
      },
    },
    async () => instanceStats(source),
  );

  app.get(
    '/cluster/stats',
    {
      schema: {
        summary: '/stats of every instance in the task map; an instance that cannot answer has an error instead',
        response: { 200: clusterStatsSchema, ...commonErrorResponses },
      },
    },
    async () => {
      const metadata = source.metadata();
      const instances = await Promise.all(
        metadata.instances.map((instance) =>
          instance.self
            ? { id: instance.id, url: instance.url, self: true, stats: instanceStats(source), error: null }
            : remoteStats(instance, forwarder),
        ),
      );
      return { assignmentId: metadata.assignmentId, instances };
    },
  );
};

/** Registered only when the source keeps a lag history. */
export function consumerLagRoutes(history: () => ConsumerLagHistory): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/consumer-lag',
      {
        schema: {
          summary: "Lag and processing rate per input partition of the application's consumer group, sampled over the last minutes",
          response: { 200: consumerLagSchema, ...commonErrorResponses },
        },
      },
      async () => lagSeries(history()),
    );
  };
}
