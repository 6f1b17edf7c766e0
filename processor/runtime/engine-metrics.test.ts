import { describe, expect, it } from 'vitest';
import { EngineMetrics } from '../engine/metrics.js';
import { engineMetricFamilies } from './engine-metrics.js';
import { createQueryServer } from '../../http-query/server.js';
import { FakeClusterData, FakeQuerySource } from '../../http-query/testing/fake-query-source.js';

describe('engineMetricFamilies', () => {
  it('renders an engine snapshot as valid Prometheus text', async () => {
    const snapshot = {
      ...new EngineMetrics().snapshot(),
      processed: { orders: 12, customers: 3 },
      joinHits: 5,
      joinMisses: 2,
      aggregationSkips: 4,
      lateRecordDrops: 9,
    };
    const source = new FakeQuerySource(new FakeClusterData(), 'self');
    source.metricFamilies = engineMetricFamilies(snapshot);
    const server = createQueryServer({ source });
    try {
      const res = await server.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('tributary_records_processed_total{topic="orders"} 12');
      expect(res.body).toContain('tributary_records_processed_total{topic="customers"} 3');
      expect(res.body).toContain('tributary_join_lookups_total{result="hit"} 5');
      expect(res.body).toContain('tributary_join_lookups_total{result="miss"} 2');
      expect(res.body).toMatch(/tributary_record_errors_total\{stage="deserialization",action="fail"\} 0/);
      expect(res.body).toContain('tributary_table_updates_total{kind="put"} 0');
      expect(res.body).toContain('tributary_aggregation_skips_total 4');
      expect(res.body).toContain('tributary_late_record_drops_total 9');
    } finally {
      await server.close();
    }
  });

  it('labels dead letters by stage and source topic, skips by stage, and letters not written by reason', () => {
    const metrics = new EngineMetrics();
    metrics.recordDeadLetter('processing', 'orders', 2);
    metrics.recordDeadLetter('deserialization', 'customers');
    metrics.recordSkipped('deserialization', 3);
    metrics.recordNotDeadLettered('owner', 4);
    const families = new Map(engineMetricFamilies(metrics.snapshot()).map((f) => [f.name, f.samples]));
    expect(families.get('tributary_records_dead_lettered_total')).toEqual([
      { labels: { stage: 'deserialization', source: 'customers' }, value: 1 },
      { labels: { stage: 'processing', source: 'orders' }, value: 2 },
    ]);
    expect(families.get('tributary_records_skipped_total')).toContainEqual({ labels: { stage: 'deserialization' }, value: 3 });
    expect(families.get('tributary_dead_letters_not_written_total')).toContainEqual({ labels: { reason: 'owner' }, value: 4 });
  });
});
