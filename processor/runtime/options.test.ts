import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeConfigError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { resolveAppOptions } from './options.js';

const builder = new StreamsBuilder();
builder.stream('in', { key: Serdes.string(), value: Serdes.string() }).to('out');
const topology = builder.build({ applicationId: 'shop' });

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof RuntimeConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('resolveAppOptions', () => {
  it('fills defaults: the topology app id, `<appId>-dlq`, loopback HTTP on an ephemeral port with the console', () => {
    const resolved = resolveAppOptions(topology, { brokers: '127.0.0.1:9092, 127.0.0.1:9093', stateDir: '/tmp/x', http: {} });
    expect(resolved.applicationId).toBe('shop');
    expect(resolved.kafka).toMatchObject({ brokers: ['127.0.0.1:9092', '127.0.0.1:9093'], clientId: 'shop' });
    expect(resolved.errorPolicy.deadLetterTopic).toBe('shop-dlq');
    expect(resolved.http).toEqual({ host: '127.0.0.1', port: 0, advertisedUrl: undefined, authToken: undefined, ui: true });
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', http: { ui: false } }).http?.ui).toBe(false);
    expect(resolved).toMatchObject({ commitIntervalMs: 1000, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 500, handleSignals: false });
  });

  it('bounds restoration fetches: 512 KiB per partition and 2 MiB per fetch by default, checked when given', () => {
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x' }).restorationFetch).toEqual({
      maxBytesPerPartition: 524_288,
      maxBytes: 2_097_152,
    });
    const given = resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', restorationFetch: { maxBytes: 8_388_608 } });
    expect(given.restorationFetch).toEqual({ maxBytesPerPartition: 524_288, maxBytes: 8_388_608 });
    const problems = problemsOf(() =>
      resolveAppOptions(topology, {
        brokers: 'b:1',
        stateDir: '/tmp/x',
        restorationFetch: { maxBytesPerPartition: 4_000_000.5, maxBytes: 1_000_000 },
      }),
    );
    expect(problems).toEqual([
      'restorationFetch.maxBytesPerPartition: 4000000.5 must be an integer (bytes)',
      'restorationFetch.maxBytes: 1000000 must be at least restorationFetch.maxBytesPerPartition (4000000.5)',
    ]);
    expect(
      problemsOf(() => resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', restorationFetch: { maxBytes: 0 } })),
    ).toEqual(['restorationFetch.maxBytes: 0 must be a positive number']);
  });

  it('group fetch sizes: the fetch is never below the per-partition size unless both are given (then it is a problem)', () => {
    const size = fc.option(fc.integer({ min: 1024, max: 64 * 1024 * 1024 }), { nil: undefined });
    fc.assert(
      fc.property(size, size, (perPartition, total) => {
        const memory = { fetchMaxBytesPerPartition: perPartition, fetchMaxBytes: total };
        const run = () => resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', memory }).memory;
        const expectedPerPartition = perPartition ?? 1_048_576;
        if (total !== undefined && total < expectedPerPartition) {
          expect(problemsOf(run)).toEqual([
            `memory.fetchMaxBytes: ${total} must be at least memory.fetchMaxBytesPerPartition (${expectedPerPartition})`,
          ]);
          return;
        }
        expect(run()).toMatchObject({
          fetchMaxBytesPerPartition: expectedPerPartition,
          fetchMaxBytes: total ?? Math.max(1_048_576, expectedPerPartition),
        });
      }),
    );
  });

  it('memory bounds: defaults, given values, and every bad value reported by name', () => {
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x' }).memory).toEqual({
      fetchMaxBytesPerPartition: 1_048_576,
      fetchMaxBytes: 1_048_576,
      restoreBatchRecords: 2000,
      globalRestoreBatchRecords: 4000,
      storeWriteBufferBytes: 4_194_304,
      globalStoreWriteBufferBytes: 16_777_216,
      storeBlockCacheBytes: 2_097_152,
      storeMaxOpenFiles: 500,
      outputQueueBytes: 2_097_152,
      taskCacheEntries: 1_000,
    });
    const given = resolveAppOptions(topology, {
      brokers: 'b:1',
      stateDir: '/tmp/x',
      memory: { fetchMaxBytes: 4_194_304, taskCacheEntries: 0, storeBlockCacheBytes: 1024 },
    });
    expect(given.memory).toMatchObject({ fetchMaxBytes: 4_194_304, taskCacheEntries: 0, storeBlockCacheBytes: 1024 });
    // A per-partition size alone: the fetch holds at least one partition's.
    const perPartition = (bytes: number) =>
      resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', memory: { fetchMaxBytesPerPartition: bytes } }).memory;
    expect(perPartition(16_777_216)).toMatchObject({ fetchMaxBytesPerPartition: 16_777_216, fetchMaxBytes: 16_777_216 });
    expect(perPartition(262_144)).toMatchObject({ fetchMaxBytesPerPartition: 262_144, fetchMaxBytes: 1_048_576 });
    const problems = problemsOf(() =>
      resolveAppOptions(topology, {
        brokers: 'b:1',
        stateDir: '/tmp/x',
        memory: {
          fetchMaxBytesPerPartition: 16_777_216,
          fetchMaxBytes: 8_388_608,
          restoreBatchRecords: 0,
          storeWriteBufferBytes: 100,
          globalStoreWriteBufferBytes: 1023,
          taskCacheEntries: -1,
          storeBlockCacheBytes: 1.5e6 + 0.5,
          storeMaxOpenFiles: 10,
          cacheBytes: 1,
        } as never,
      }),
    );
    expect(problems).toEqual([
      'memory.restoreBatchRecords: 0 must be an integer >= 1',
      'memory.storeWriteBufferBytes: 100 must be an integer >= 1024 (bytes)',
      'memory.globalStoreWriteBufferBytes: 1023 must be an integer >= 1024 (bytes)',
      'memory.taskCacheEntries: -1 must be an integer >= 0',
      'memory.storeBlockCacheBytes: 1500000.5 must be an integer >= 1024 (bytes)',
      'memory.storeMaxOpenFiles: 10 must be an integer >= 20',
      'memory.cacheBytes: not a setting; use one of fetchMaxBytesPerPartition, fetchMaxBytes, restoreBatchRecords, globalRestoreBatchRecords, storeWriteBufferBytes, globalStoreWriteBufferBytes, storeBlockCacheBytes, storeMaxOpenFiles, outputQueueBytes, taskCacheEntries',
      'memory.fetchMaxBytes: 8388608 must be at least memory.fetchMaxBytesPerPartition (16777216)',
    ]);
    const error = (() => {
      try {
        resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', memory: { fetchMaxBytes: 0 } });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect((error as RuntimeConfigError).code).toBe('TRIBUTARY_RUNTIME_CONFIG_INVALID');
  });

  it('warm-ups: acceptable lag 10000, 2 warm-ups, a probing rebalance a minute by default; bad values are reported', () => {
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x' })).toMatchObject({
      acceptableRecoveryLag: 10_000,
      maxWarmupReplicas: 2,
      probingRebalanceIntervalMs: 60_000,
    });
    const off = resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', maxWarmupReplicas: 0, acceptableRecoveryLag: 0 });
    expect(off).toMatchObject({ maxWarmupReplicas: 0, acceptableRecoveryLag: 0 });
    const problems = problemsOf(() =>
      resolveAppOptions(topology, {
        brokers: 'b:1',
        stateDir: '/tmp/x',
        acceptableRecoveryLag: -1,
        maxWarmupReplicas: 1.5,
        probingRebalanceIntervalMs: 0.5,
      }),
    );
    expect(problems).toEqual([
      'acceptableRecoveryLag: -1 must be an integer >= 0',
      'maxWarmupReplicas: 1.5 must be an integer >= 0',
      'probingRebalanceIntervalMs: 0.5 must be an integer (milliseconds)',
    ]);
    expect(problemsOf(() => resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', probingRebalanceIntervalMs: 0 }))).toEqual([
      'probingRebalanceIntervalMs: 0 must be a positive number',
    ]);
  });

  it('passes Kafka settings through and takes dlqTopic as the dead-letter topic', () => {
    const resolved = resolveAppOptions(topology, {
      kafka: { brokers: ['b:9093'], ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'p' }, requestTimeoutMs: 5000 },
      stateDir: '/tmp/x',
      instanceId: 'n1',
      dlqTopic: 'dead',
    });
    expect(resolved.kafka).toEqual({
      brokers: ['b:9093'],
      ssl: true,
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
      requestTimeoutMs: 5000,
      clientId: 'shop-n1',
    });
    expect(resolved.errorPolicy.deadLetterTopic).toBe('dead');
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(() =>
      resolveAppOptions(topology, {
        applicationId: 'other',
        stateDir: '',
        commitIntervalMs: 0,
        sessionTimeoutMs: 3000,
        heartbeatIntervalMs: 3000,
        http: { port: 70_000, advertisedUrl: 'nope' },
      }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'applicationId',
      'stateDir',
      'brokers',
      'commitIntervalMs',
      'heartbeatIntervalMs',
      'http.port',
      'http.advertisedUrl',
    ]);
  });

  it('processing guarantee: at-least-once by default; exactly-once commits every 100 ms and holds 8 MiB unless told; bad values are refused', () => {
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x' })).toMatchObject({
      processingGuarantee: 'at-least-once',
      commitIntervalMs: 1000,
      transactionTimeoutMs: 60_000,
    });
    expect(resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', processingGuarantee: 'exactly-once' })).toMatchObject({
      processingGuarantee: 'exactly-once',
      commitIntervalMs: 100,
    });
    expect(
      resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', processingGuarantee: 'exactly-once', commitIntervalMs: 500 })
        .commitIntervalMs,
    ).toBe(500);
    // Outputs held per transaction: 8 MiB under exactly-once (fewer forced commits), 2 MiB queued at-least-once.
    const queueBytes = (options: Partial<Parameters<typeof resolveAppOptions>[1]>) =>
      resolveAppOptions(topology, { brokers: 'b:1', stateDir: '/tmp/x', ...options }).memory.outputQueueBytes;
    expect(queueBytes({ processingGuarantee: 'exactly-once' })).toBe(8_388_608);
    expect(queueBytes({ processingGuarantee: 'at-least-once' })).toBe(2_097_152);
    expect(queueBytes({ processingGuarantee: 'exactly-once', memory: { outputQueueBytes: 1_048_576 } })).toBe(1_048_576);
    const problems = problemsOf(() =>
      resolveAppOptions(topology, {
        brokers: 'b:1',
        stateDir: '/tmp/x',
        processingGuarantee: 'exactly_once_v2' as unknown as 'exactly-once',
        transactionTimeoutMs: -1,
      }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual(['processingGuarantee', 'transactionTimeoutMs']);
    expect(
      problemsOf(() =>
        resolveAppOptions(topology, {
          brokers: 'b:1',
          stateDir: '/tmp/x',
          processingGuarantee: 'exactly-once',
          commitIntervalMs: 5000,
          transactionTimeoutMs: 5000,
        }),
      ),
    ).toEqual([expect.stringMatching(/^transactionTimeoutMs: 5000 must be longer than commitIntervalMs/)]);
  });
});
