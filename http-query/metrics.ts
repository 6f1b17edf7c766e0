/**
 * Prometheus rendering: HTTP latency histograms (kept in a per-server registry) plus, at scrape time, the source's
 * counters/gauges, store sizes and restoration progress (built fresh on each scrape: they are plain data owned by
 * the application, so nothing here accumulates them).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type { MetricFamily, QuerySource } from './query-source.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type RequestTimer = (route: string, method: string, statusCode: number, seconds: number) => void;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** One label set's counts: per bucket (not cumulative; the last slot counts values above every bound), sum, count. */
interface LatencySeries {
  readonly method: string;
  readonly statusCode: number;
  readonly labels: { readonly route: string; readonly method: string; readonly status_code: string };
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A value as prom-client's registry renders it (`metricName{labels,sharedLabels} value`). */
interface RenderedValue {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * The request-latency histogram: a few array increments per request (prom-client's `Histogram.observe` validates and
 * hashes the labels on every call, a few µs on a lookup's path), rendered in prom-client's histogram format at scrape
 * time. Registered in a prom-client `Registry` like any metric (the registry only calls `get`/`getForPromString`).
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byRoute = new Map<string, LatencySeries[]>();
  /** Every series in the order first observed (the order prom-client renders them in). */
  private readonly series: LatencySeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[] = LATENCY_BUCKETS,
  ) {}

  observe(route: string, method: string, statusCode: number, seconds: number): void {
    let list = this.byRoute.get(route);
    if (list === undefined) {
      list = [];
      this.byRoute.set(route, list);
    }
    let series: LatencySeries | undefined;
    for (const candidate of list) {
      if (candidate.statusCode === statusCode && candidate.method === method) {
        series = candidate;
        break;
      }
    }
    if (series === undefined) {
      series = {
        method,
        statusCode,
        labels: { route, method, status_code: String(statusCode) },
        buckets: new Float64Array(this.upperBounds.length + 1),
        sum: 0,
        count: 0,
      };
      list.push(series);
      this.series.push(series);
    }
    const bounds = this.upperBounds;
    let slot = 0;
    while (slot < bounds.length && seconds > bounds[slot]) slot++;
    series.buckets[slot]++;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry renders: cumulative buckets, `+Inf`, `_sum` and `_count` per label set. */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: RenderedValue[] } {
    const values: RenderedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series) {
      let cumulative = 0;
      this.upperBounds.forEach((bound, i) => {
        cumulative += series.buckets[i];
        values.push({ metricName: bucketName, labels: { le: bound }, sharedLabels: series.labels, value: cumulative });
      });
      values.push({ metricName: bucketName, labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: series.labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The same as plain values with their labels merged (prom-client's `getMetricsAsJSON`). */
  get(): { name: string; help: string; type: string; aggregator: string; values: Omit<RenderedValue, 'sharedLabels'>[] } {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ metricName, labels, sharedLabels, value }) => ({
        metricName,
        labels: { ...labels, ...sharedLabels },
        value,
      })),
    };
  }
}

export class QueryServerMetrics {
  private readonly httpRegistry = new Registry();
  private readonly latency = new LatencyHistogram(
    'tributary_http_request_duration_seconds',
    'Query server request latency by route pattern, method and status code.',
  );

  constructor(
    private readonly source: QuerySource,
    private readonly logger: FastifyBaseLogger,
  ) {
    // The registry needs only what it calls; LatencyHistogram provides it (see the class).
    this.httpRegistry.registerMetric(this.latency as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  readonly observeRequest: RequestTimer = (route, method, statusCode, seconds) => {
    this.latency.observe(route, method, statusCode, seconds);
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
