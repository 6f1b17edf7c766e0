import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaConfigError } from '../../errors.js';
import type { Logger } from '../../common/logger.js';
import { createKafkaClient } from './client.js';
import { kafkaClientConfigProblems, toKafkaJsConfig, validateKafkaClientConfig, type KafkaClientConfig } from './config.js';

const minimal: KafkaClientConfig = { brokers: ['127.0.0.1:9092'], clientId: 'orders-app' };

describe('validateKafkaClientConfig', () => {
  it('accepts a minimal config and host names, IPv4 and bracketed IPv6 addresses', () => {
    expect(validateKafkaClientConfig(minimal)).toBe(minimal);
    expect(kafkaClientConfigProblems({ ...minimal, brokers: ['kafka-1.internal:9093', '[::1]:9092', ' 10.0.0.1:19092 '] })).toEqual([]);
  });

  it('reports every problem at once with a stable code', () => {
    const bad: KafkaClientConfig = {
      brokers: ['localhost', 'host:70000'],
      clientId: ' ',
      sasl: { mechanism: 'gssapi' as 'plain', username: '', password: 'x' },
      requestTimeoutMs: -1,
      retry: { factor: 2, retries: 1.5 },
      logLevel: 'loud' as 'info',
    };
    let error: unknown;
    try {
      validateKafkaClientConfig(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KafkaConfigError);
    const problems = (error as KafkaConfigError).problems;
    expect((error as KafkaConfigError).code).toBe('TRIBUTARY_KAFKA_CONFIG_INVALID');
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'brokers',
      'brokers',
      'clientId',
      'sasl.mechanism',
      'sasl.username',
      'requestTimeoutMs',
      'retry.factor',
      'retry.retries',
      'logLevel',
    ]);
  });

  it('rejects an empty broker list', () => {
    expect(() => validateKafkaClientConfig({ ...minimal, brokers: [] })).toThrow(KafkaConfigError);
  });
});

describe('toKafkaJsConfig', () => {
  it('maps every setting to its kafkajs name, and defaults the log level to warn', () => {
    expect(toKafkaJsConfig(minimal)).toEqual({ brokers: ['127.0.0.1:9092'], clientId: 'orders-app', logLevel: logLevel.WARN });
    expect(
      toKafkaJsConfig({
        brokers: [' a:1 ', 'b:2'],
        clientId: 'c',
        ssl: { ca: ['CA'], rejectUnauthorized: false, servername: 'kafka' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 20_000,
        retry: { maxRetryTimeMs: 10_000, initialRetryTimeMs: 100, factor: 0.1, multiplier: 3, retries: 8 },
        logLevel: 'debug',
      }),
    ).toEqual({
      brokers: ['a:1', 'b:2'],
      clientId: 'c',
      ssl: { ca: ['CA'], rejectUnauthorized: false, servername: 'kafka' },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      connectionTimeout: 3000,
      requestTimeout: 20_000,
      retry: { maxRetryTime: 10_000, initialRetryTime: 100, factor: 0.1, multiplier: 3, retries: 8 },
      logLevel: logLevel.DEBUG,
    });
    expect(toKafkaJsConfig({ ...minimal, ssl: true }).ssl).toBe(true);
  });
});

describe('createKafkaClient', () => {
  it('validates the config and forwards kafkajs log lines to the given logger', () => {
    expect(() => createKafkaClient({ ...minimal, clientId: '' })).toThrow(KafkaConfigError);
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (message, fields) => lines.push(`warn ${message} ${String(fields?.namespace)}`),
      error: (message) => lines.push(`error ${message}`),
    };
    const client = createKafkaClient(minimal, { logger });
    // kafkajs's own logger, as used internally by its producer/consumer.
    client.kafka.logger().namespace('Test').warn('careful', { broker: 'x' });
    client.kafka.logger().info('dropped below the warn level');
    expect(lines).toEqual(['warn [kafkajs Test] careful Test']);
  });

  it("does not warn about the bounded retries of Tributary's idempotent producer (a deliberate setting)", () => {
    const lines: string[] = [];
    const record = (level: string) => (message: string) => lines.push(`${level} ${message}`);
    const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
    const client = createKafkaClient({ ...minimal, logLevel: 'debug' }, { logger });
    client.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 10 } });
    expect(lines.filter((line) => line.startsWith('warn'))).toEqual([]);
    expect(lines).toContain('debug [kafkajs Producer] Limiting retries for the idempotent producer may invalidate EoS guarantees');
  });
});
