/**
 * The aggregation phase of `npm run bench`: one CLI instance per workload (aggregation-topology.ts: `count` and
 * `windowed`) works through every order of the benchmark's orders topic from the start, alone on the machine.
 *
 * Measured like the joins, from the broker's append times: the store's changelog topic is created beforehand with
 * the task count, compacted, and `message.timestamp.type=LogAppendTime` (the runtime accepts an existing changelog
 * topic with the right count and compaction). With every update emitted, each order is one changelog record, so
 * records/s between the first and the last changelog append is the aggregation's throughput, repartition included
 * (both sub-topologies run in the instance).
 */
import { join } from 'node:path';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { AGGREGATION_STORES, type AggregationWorkload } from './aggregation-topology.js';
import { CliInstance } from './cli-instances.js';
import { appendWindow, endOffsets, waitForTopicCounts } from './kafka-measure.js';

export interface AggregationBenchOptions {
  readonly client: KafkaClient;
  readonly brokers: string;
  /** The benchmark's topic prefix (BENCH_TOPIC_PREFIX): the orders topic is `<prefix>-orders`. */
  readonly prefix: string;
  readonly ordersTopic: string;
  readonly partitions: number;
  readonly port: number;
  readonly workDir: string;
  readonly onStep?: (text: string) => void;
}

export interface AggregationResult {
  readonly orders: number;
  readonly changelogRecords: number;
  readonly ms: number;
  readonly recordsPerSecond: number;
  /** Start of the instance to ready (nothing to restore: its state is new). */
  readonly readyMs: number;
  readonly peakRssMb: number | undefined;
}

export async function runAggregationBench(
  options: AggregationBenchOptions,
): Promise<Record<AggregationWorkload, AggregationResult> & { measuredAs: string }> {
  const orders = [...(await endOffsets(options.client, options.ordersTopic)).values()].reduce((a, b) => a + b, 0);
  const results = {} as Record<AggregationWorkload, AggregationResult>;
  for (const workload of ['count', 'windowed'] as const) {
    const applicationId = `${options.prefix}-agg-${workload}`;
    const changelog = `${applicationId}-${AGGREGATION_STORES[workload]}-changelog`;
    const admin = new KafkaAdmin(options.client);
    await admin.connect();
    try {
      await admin.ensureTopics([
        {
          topic: changelog,
          partitions: options.partitions,
          configs: { 'cleanup.policy': 'compact', 'message.timestamp.type': 'LogAppendTime' },
        },
      ]);
    } finally {
      await admin.disconnect();
    }
    options.onStep?.(`aggregation ${workload}: ${orders} orders`);
    const started = performance.now();
    const instance = CliInstance.start({
      name: `aggregation-${workload}`,
      module: 'scripts/bench/aggregation-topology.ts',
      brokers: options.brokers,
      applicationId,
      stateDir: join(options.workDir, `aggregation-${workload}-state`),
      port: options.port,
      logFile: join(options.workDir, `aggregation-${workload}.log`),
      env: { BENCH_TOPIC_PREFIX: options.prefix, BENCH_AGGREGATION: workload },
      extraArgs: ['--log-level', 'warn'],
    });
    try {
      const readyMs = Math.round(await instance.waitUntilReady(10 * 60_000));
      await waitForTopicCounts(options.client, new Map([[changelog, orders]]), started, {
        timeoutMs: 30 * 60_000,
        stillAlive: () => instance.running,
      });
      const window = await appendWindow(options.client, changelog);
      results[workload] = {
        orders,
        changelogRecords: window.records,
        ms: window.ms,
        recordsPerSecond: window.recordsPerSecond,
        readyMs,
        peakRssMb: instance.peakRssMb(),
      };
    } finally {
      await instance.stop();
    }
  }
  return {
    ...results,
    measuredAs:
      'orders aggregated per second between the first and the last changelog append (LogAppendTime), one instance reading the whole orders topic from the start; groupBy re-keys through a repartition topic in the same instance',
  };
}
