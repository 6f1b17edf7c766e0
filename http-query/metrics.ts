/**
 * Prometheus rendering: HTTP latency histograms (kept in a per-server registry) plus, at scrape time, the source's
 * counters/gauges, store sizes and restoration progress (built fresh on each scrape: they are plain data owned by
 * the application, so nothing here accumulates them).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type { MetricFamily, QuerySource } from './query-source.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type RequestTimer = (route: string, method: string, statusCode: number, seconds: number) => void;

export class QueryServerMetrics {
  private readonly httpRegistry = new Registry();
  private readonly latency = new Histogram({
    name: 'tributary_http_request_duration_seconds',
    help: 'Query server request latency by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.httpRegistry],
  });
  // Label-bound children cached per (route, method, status): avoids label hashing on the hot path.
  private readonly children = new Map<string, { observe(value: number): void }>();

  constructor(
    private readonly source: QuerySource,
    private readonly logger: FastifyBaseLogger,
  ) {}

  readonly observeRequest: RequestTimer = (route, method, statusCode, seconds) => {
    const id = `${method} ${statusCode} ${route}`;
    let child = this.children.get(id);
    if (child === undefined) {
      child = this.latency.labels({ route, method, status_code: String(statusCode) });
      this.children.set(id, child);
    }
    child.observe(seconds);
  };

  async render(): Promise<string> {
    const scrape = new Registry();
    await this.addStoreGauges(scrape);
    for (const family of this.source.metrics()) this.addFamily(scrape, family);
    return Registry.merge([this.httpRegistry, scrape]).metrics();
  }

  private addFamily(registry: Registry, family: MetricFamily): void {
    const labelNames = [...new Set(family.samples.flatMap((sample) => Object.keys(sample.labels)))];
    if (registry.getSingleMetric(family.name) !== undefined || this.httpRegistry.getSingleMetric(family.name)) {
      this.logger.warn({ metric: family.name }, 'skipping metric family from the query source: name already in use');
      return;
    }
    try {
      if (family.type === 'counter') {
        const counter = new Counter({ name: family.name, help: family.help, labelNames, registers: [registry] });
        for (const sample of family.samples) counter.inc(sample.labels, sample.value);
      } else {
        const gauge = new Gauge({ name: family.name, help: family.help, labelNames, registers: [registry] });
        for (const sample of family.samples) gauge.set(sample.labels, sample.value);
      }
    } catch (error) {
      // A malformed family (bad name, duplicate, negative counter) must not take the whole scrape down.
      registry.removeSingleMetric(family.name);
      this.logger.warn({ err: error, metric: family.name }, 'skipping malformed metric family from the query source');
    }
  }

  private async addStoreGauges(registry: Registry): Promise<void> {
    const size = new Gauge({
      name: 'tributary_store_approximate_entries',
      help: 'Approximate entry count of each store over the partitions held by this instance.',
      labelNames: ['store'] as const,
      registers: [registry],
    });
    const stores = this.source.stores();
    // A store closed by a rebalance mid-scrape just drops out of this scrape.
    const counts = await Promise.all(stores.map((store) => store.approximateCount().catch(() => undefined)));
    stores.forEach((store, i) => {
      const count = counts[i];
      if (count !== undefined) size.set({ store: store.name }, count);
    });

    const remaining = new Gauge({
      name: 'tributary_restoration_remaining_records',
      help: 'Changelog records left to restore per store partition (0 when restored).',
      labelNames: ['store', 'partition'] as const,
      registers: [registry],
    });
    for (const progress of this.source.state().restoration) {
      remaining.set(
        { store: progress.store, partition: String(progress.partition) },
        progress.done ? 0 : Math.max(0, progress.endOffset - progress.restoredOffset),
      );
    }
  }
}
