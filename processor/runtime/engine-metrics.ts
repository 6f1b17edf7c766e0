/**
 * Engine counters (`EngineMetrics.snapshot()`) as Prometheus metric families, so a `QuerySource.metrics()` can be
 * `() => [...engineMetricFamilies(engine.snapshot()), ...runtimeGauges]`.
 */
import type { EngineMetricsSnapshot } from '../engine/metrics.js';
import type { MetricFamily, MetricSample } from '../../http-query/query-source.js';

const counter = (name: string, help: string, samples: readonly MetricSample[]): MetricFamily => ({
  name,
  help,
  type: 'counter',
  samples,
});

export function engineMetricFamilies(snapshot: EngineMetricsSnapshot): MetricFamily[] {
  const errorSamples: MetricSample[] = [];
  for (const [stage, actions] of Object.entries(snapshot.errors)) {
    for (const [action, value] of Object.entries(actions)) errorSamples.push({ labels: { stage, action }, value });
  }
  return [
    counter(
      'tributary_records_processed_total',
      'Records taken from input topics, per topic.',
      Object.entries(snapshot.processed).map(([topic, value]) => ({ labels: { topic }, value })),
    ),
    counter('tributary_record_errors_total', 'Records that hit an error, per stage and action taken.', errorSamples),
    counter(
      'tributary_records_dead_lettered_total',
      'Dead letters written (acknowledged by Kafka), per stage and source topic (production stage: the topic the output was for).',
      Object.entries(snapshot.deadLetteredBy).flatMap(([stage, bySource]) =>
        Object.entries(bySource).map(([source, value]) => ({ labels: { stage, source }, value })),
      ),
    ),
    counter(
      'tributary_records_skipped_total',
      'Records dropped by a log-and-skip policy, per stage (restoration and global-table bootstrap included).',
      Object.entries(snapshot.skippedBy).map(([stage, value]) => ({ labels: { stage }, value })),
    ),
    counter(
      'tributary_dead_letters_not_written_total',
      "Bad records under 'dead-letter' whose dead letter was not this instance's to write: owner (another reader owns the partition's dead letters), upstream (written before a repartition), restored (written when first processed).",
      Object.entries(snapshot.notDeadLettered).map(([reason, value]) => ({ labels: { reason }, value })),
    ),
    counter('tributary_join_lookups_total', 'Stream-table join lookups, by result.', [
      { labels: { result: 'hit' }, value: snapshot.joinHits },
      { labels: { result: 'miss' }, value: snapshot.joinMisses },
    ]),
    counter('tributary_join_null_key_drops_total', 'Stream records an inner join dropped for a null join key.', [
      { labels: {}, value: snapshot.nullKeyDrops },
    ]),
    counter('tributary_table_updates_total', 'Table updates applied, by kind.', [
      { labels: { kind: 'put' }, value: snapshot.tablePuts },
      { labels: { kind: 'delete' }, value: snapshot.tableDeletes },
    ]),
    counter(
      'tributary_aggregation_skips_total',
      'Records an aggregation or a table groupBy skipped for a null key or value (Kafka Streams skips them too).',
      [{ labels: {}, value: snapshot.aggregationSkips }],
    ),
    counter(
      'tributary_late_record_drops_total',
      "Window updates dropped because their window had closed (the aggregation's stream time reached its end + grace).",
      [{ labels: {}, value: snapshot.lateRecordDrops }],
    ),
  ];
}
