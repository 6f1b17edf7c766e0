/**
 * `npm run test:bench-smoke`: the Tributary vs Kafka Streams harness end to end on the real broker with a tiny data
 * set: every workload runs on both sides, the JSON has its shape, and both sides wrote every expected join output
 * with the right customer data. Correctness only: no time or throughput is asserted. Not part of `npm test` (about
 * two minutes, and the first run fetches the Kafka Streams jars with Maven).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ProgressDisplay } from '../../cli/progress.js';
import { prepareKafkaStreamsApp } from '../../scripts/bench/kafka-streams-app.js';
import type { KafkaSession } from '../../scripts/bench/kafka-session.js';
import { COMPARISON_WORKLOADS, parseComparisonSettings, runComparison } from '../../scripts/bench/vs-kafka-streams.js';

const workDir = mkdtempSync(join(tmpdir(), 'tributary-vs-ks-smoke-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('npm run bench -- --vs-kafka-streams', () => {
  it('runs every workload on Tributary and Kafka Streams and both produce every expected output record', async () => {
    const settings = parseComparisonSettings([
      '--customers',
      '2000',
      '--orders',
      '2000',
      '--rounds',
      '1',
      '--verify',
      '--run-timeout-minutes',
      '3',
    ]);
    if (settings === undefined) throw new Error('settings expected');
    const ksApp = await prepareKafkaStreamsApp(settings.kafkaStreamsVersion);
    const kafka: KafkaSession = {
      brokers: inject('kafkaBrokers'),
      version: inject('kafkaVersion'),
      broker: undefined,
      stop: async () => {},
    };
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const result = await runComparison(settings, kafka, ksApp, workDir, new ProgressDisplay(quiet));

    expect(result.mode).toBe('vs-kafka-streams');
    expect(result.data).toMatchObject({ customers: 2000, customerRecords: 2000 + 500 + 20, orders: 2000 });
    expect(result.ceiling.records).toBe(result.data.customerRecords);
    expect(result.storeCeiling.records).toBe(result.data.customerRecords);
    expect(result.materializeVsCeilings?.tributary.ratioToStoreCeiling).toBeGreaterThan(0);
    expect(result.sides.kafkaStreams.jvmFlags).toContain('-Xmx1g');
    expect(result.workloads.map((w) => w.id)).toEqual([...COMPARISON_WORKLOADS]);
    for (const workload of result.workloads) {
      expect(workload.runs).toHaveLength(1);
      const [run] = workload.runs;
      expect(run.order).toEqual(['tributary', 'kafka-streams']);
      for (const side of [run.tributary, run.kafkaStreams]) {
        // A failed attempt is retried with a fresh application id and listed; say so, the measured run must be right.
        if (side.failedAttempts.length > 0) console.warn(`${workload.id} ${side.side} was retried:`, side.failedAttempts);
        const scale = workload.id.endsWith('-x2') ? 2 : 1;
        expect(side.processes).toBe(side.side === 'tributary' ? scale : 1);
        expect(side.threads).toBe(side.side === 'tributary' ? 1 : scale);
        expect(side.records).toBe(workload.id.includes('join') ? 2000 : result.data.customerRecords);
        expect(side.ms).toBeGreaterThan(0);
        expect(side.recordsPerSecond).toBeGreaterThan(0);
        expect(side.cpuMs).toBeGreaterThan(0);
        expect(side.cpuUsPerRecord).toBeGreaterThan(0);
        expect(side.peakRssMb).toBeGreaterThan(20);
        expect(side.peakRssMbPerProcess).toHaveLength(side.processes);
        expect(Object.keys(side.threadCpuMs).length).toBeGreaterThan(0);
        expect(side.toRunning.ms).toBeLessThanOrEqual(side.ms);
        expect(side.toRunning.cpuMs).toBeLessThanOrEqual(side.cpuMs);
        if (workload.id.includes('join')) {
          expect(side.expectedOutputs).toBe(result.data.joinableOrders);
          expect(side.outputs).toBeGreaterThanOrEqual(result.data.joinableOrders);
          expect(side.verification).toMatchObject({ expected: result.data.joinableOrders, missing: 0, wrong: 0 });
        }
      }
      for (const value of Object.values(run.ratios)) expect(typeof value).toBe('number');
      expect(workload.median.rounds).toBe(1);
      expect(workload.median.ratios.recordsPerSecond).toBe(run.ratios.recordsPerSecond);
    }
  }, 600_000);
});
