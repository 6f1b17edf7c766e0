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
    } finally {
      await server.close();
    }
  });
});
