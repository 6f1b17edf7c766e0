import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './metrics.js';

const NAME = 'tributary_http_request_duration_seconds';
const HELP = 'Query server request latency by route pattern, method and status code.';

type Observation = readonly [route: string, method: string, statusCode: number, seconds: number];

/** prom-client's own histogram over the same observations: what the scrape rendered before. */
async function promClientText(observations: readonly Observation[]): Promise<string> {
  const registry = new Registry();
  const histogram = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  for (const [route, method, statusCode, seconds] of observations) {
    histogram.labels({ route, method, status_code: String(statusCode) }).observe(seconds);
  }
  return registry.metrics();
}

async function latencyText(observations: readonly Observation[]): Promise<{ text: string; json: unknown }> {
  const registry = new Registry();
  const histogram = new LatencyHistogram(NAME, HELP);
  registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  for (const observation of observations) histogram.observe(...observation);
  return { text: await registry.metrics(), json: await registry.getMetricsAsJSON() };
}

describe('LatencyHistogram', () => {
  it('renders exactly what prom-client’s Histogram renders for the same observations', async () => {
    const observation = fc.tuple(
      fc.constantFrom('/stores/:store/keys/:key', '/health', 'unmatched'),
      fc.constantFrom('GET', 'HEAD', 'POST'),
      fc.constantFrom(200, 404, 503),
      fc.oneof(fc.constantFrom(0, 0.0005, 0.001, 2.5, 3), fc.double({ min: 0, max: 5, noNaN: true })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const ours = await latencyText(observations);
        expect(ours.text).toBe(await promClientText(observations));
      }),
      { numRuns: 100 },
    );
  });

  it('gives merged labels in the JSON form', async () => {
    const { json } = await latencyText([['/health', 'GET', 200, 0.002]]);
    const [metric] = json as { values: { labels: Record<string, unknown>; metricName: string; value: number }[] }[];
    expect(metric.values).toContainEqual({
      metricName: `${NAME}_bucket`,
      labels: { le: 0.0025, route: '/health', method: 'GET', status_code: '200' },
      value: 1,
    });
    expect(metric.values).toContainEqual({
      metricName: `${NAME}_count`,
      labels: { route: '/health', method: 'GET', status_code: '200' },
      value: 1,
    });
  });
});
