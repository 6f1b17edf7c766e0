/**
 * Runtime counters and gauges as Prometheus metric families for `QuerySource.metrics()` (the query server renders
 * them on /metrics next to the engine counters, store sizes and restoration progress it adds itself).
 */
import { parseTopicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { AppState, MetricFamily } from '../../http-query/query-source.js';
import type { RuntimeStats } from './stats.js';

const STATES: readonly AppState[] = ['created', 'bootstrapping', 'running', 'rebalancing', 'stopping', 'stopped', 'failed'];

export function runtimeMetricFamilies(stats: RuntimeStats): MetricFamily[] {
  const restored = Object.entries(stats.restoration);
  const families: MetricFamily[] = [
    {
      name: 'tributary_app_state',
      help: 'Current application state (1 for the current one).',
      type: 'gauge',
      samples: STATES.map((state) => ({ labels: { state }, value: state === stats.state ? 1 : 0 })),
    },
    {
      name: 'tributary_restored_records_total',
      help: 'Records applied to stores by restoration since start, per store (few when local checkpoints were used).',
      type: 'counter',
      samples: restored.map(([store, t]) => ({ labels: { store }, value: t.restoredRecords })),
    },
    {
      name: 'tributary_restorations_total',
      help: 'Store partition restorations since start, per store: with records to read, or skipped (already at target).',
      type: 'counter',
      samples: restored.flatMap(([store, t]) => [
        { labels: { store, result: 'restored' }, value: t.restorations },
        { labels: { store, result: 'skipped' }, value: t.skipped },
      ]),
    },
    {
      name: 'tributary_tasks',
      help: 'Tasks assigned to this instance.',
      type: 'gauge',
      samples: [{ labels: {}, value: stats.tasks.length }],
    },
    {
      name: 'tributary_records_sent_total',
      help: 'Records produced and acknowledged (sinks, repartition topics, dead letters).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.recordsSent }],
    },
    {
      name: 'tributary_commits_total',
      help: 'Offset commits accepted by the group.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.commits }],
    },
    {
      name: 'tributary_transactions_committed_total',
      help: 'Exactly-once: task transactions committed (outputs, changelog records and input offsets together).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.transactions.committed }],
    },
    {
      name: 'tributary_transactions_aborted_total',
      help: 'Exactly-once: task transactions aborted (a failed step, or the producer fenced by a newer owner); their batches are reprocessed.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.transactions.aborted }],
    },
    {
      name: 'tributary_commit_duration_seconds_sum',
      help: 'Total time of commits (every task: outputs acknowledged or transactions committed, stores written, offsets).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.commitLatency.totalMs / 1000 }],
    },
    {
      name: 'tributary_commit_duration_seconds_count',
      help: 'Commits timed in tributary_commit_duration_seconds_sum (their mean latency is sum / count).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.commitLatency.count }],
    },
    {
      name: 'tributary_commit_duration_seconds_max',
      help: 'Longest commit since start.',
      type: 'gauge',
      samples: [{ labels: {}, value: stats.commitLatency.maxMs / 1000 }],
    },
    {
      name: 'tributary_global_dead_letter_reread_records_total',
      help: 'Records of global-only topics read a second time for their dead letters (gap reads, topics of several global tables).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.globalDeadLetterRereads.records }],
    },
    {
      name: 'tributary_rebalances_total',
      help: 'Assignments received from the group.',
      type: 'counter',
      samples: [{ labels: {}, value: stats.rebalances }],
    },
    {
      name: 'tributary_unmoved_task_pause_seconds',
      help: 'Per rebalance, the longest time a task kept by this instance went without processing (last record before to first after).',
      type: 'gauge',
      samples: [
        ...(stats.unmovedTaskPauses.lastMs === undefined
          ? []
          : [{ labels: { stat: 'last' }, value: stats.unmovedTaskPauses.lastMs / 1000 }]),
        ...(stats.unmovedTaskPauses.maxMs === undefined ? [] : [{ labels: { stat: 'max' }, value: stats.unmovedTaskPauses.maxMs / 1000 }]),
      ],
    },
    {
      name: 'tributary_unmoved_task_pauses_total',
      help: 'Rebalances after which tasks kept by this instance processed again (each measured in tributary_unmoved_task_pause_seconds).',
      type: 'counter',
      samples: [{ labels: {}, value: stats.unmovedTaskPauses.count }],
    },
    {
      name: 'tributary_consumer_lag',
      help: 'High watermark minus next offset, per input partition, as of the last fetched batch.',
      type: 'gauge',
      samples: Object.entries(stats.consumerLag).map(([tp, value]) => {
        const { topic, partition } = parseTopicPartitionId(tp as TopicPartitionId);
        return { labels: { topic, partition: String(partition) }, value };
      }),
    },
  ];
  const { startedAt, firstAssignmentAt, firstRecordProcessedAt } = stats.timings;
  if (startedAt !== undefined && firstRecordProcessedAt !== undefined) {
    families.push({
      name: 'tributary_first_record_after_start_seconds',
      help: 'Time from start() (process start, HTTP, bootstrap, group join included) to the first processed record.',
      type: 'gauge',
      samples: [{ labels: {}, value: Math.max(0, firstRecordProcessedAt - startedAt) / 1000 }],
    });
  }
  if (firstAssignmentAt !== undefined && firstRecordProcessedAt !== undefined) {
    families.push({
      name: 'tributary_first_record_after_assignment_seconds',
      help: 'Time from this instance first joining its group (first assignment) to its first processed record.',
      type: 'gauge',
      samples: [{ labels: {}, value: Math.max(0, firstRecordProcessedAt - firstAssignmentAt) / 1000 }],
    });
  }
  return families;
}
