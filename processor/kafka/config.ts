/**
 * Connection settings for Kafka, in Tributary's own types (so nothing outside processor/kafka/ depends on kafkajs),
 * plus validation and the mapping to kafkajs's `KafkaConfig`.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';
import { logLevel as KafkaJsLogLevel } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { KafkaConfigError } from '../../errors.js';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** TLS settings; `true` means TLS with the system's default trust store. */
export interface KafkaTlsConfig {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly passphrase?: string;
  readonly servername?: string;
  /** Defaults to true; turn off only for local test clusters with self-signed certificates. */
  readonly rejectUnauthorized?: boolean;
}

export interface KafkaSaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface KafkaRetryConfig {
  /** Total time budget for one retried operation. kafkajs default: 30000. */
  readonly maxRetryTimeMs?: number;
  /** First backoff. kafkajs default: 300. */
  readonly initialRetryTimeMs?: number;
  /** Randomization factor, 0..1. kafkajs default: 0.2. */
  readonly factor?: number;
  /** Backoff growth per retry. kafkajs default: 2. */
  readonly multiplier?: number;
  /** kafkajs default: 5. */
  readonly retries?: number;
}

export interface KafkaClientConfig {
  /** `host:port` bootstrap addresses, at least one. */
  readonly brokers: readonly string[];
  /** Shown in broker logs and quotas; use the application id. */
  readonly clientId: string;
  readonly ssl?: boolean | KafkaTlsConfig;
  readonly sasl?: KafkaSaslConfig;
  /** TCP connect timeout. kafkajs default: 1000. */
  readonly connectionTimeoutMs?: number;
  /** Per-request timeout. kafkajs default: 30000. */
  readonly requestTimeoutMs?: number;
  readonly retry?: KafkaRetryConfig;
  /** Lowest kafkajs log level forwarded to the logger. Default: 'warn'. */
  readonly logLevel?: KafkaLogLevel;
}

const LOG_LEVELS: Readonly<Record<KafkaLogLevel, KafkaJsLogLevel>> = {
  nothing: KafkaJsLogLevel.NOTHING,
  error: KafkaJsLogLevel.ERROR,
  warn: KafkaJsLogLevel.WARN,
  info: KafkaJsLogLevel.INFO,
  debug: KafkaJsLogLevel.DEBUG,
};

const SASL_MECHANISMS: ReadonlySet<string> = new Set(['plain', 'scram-sha-256', 'scram-sha-512']);

/** `host:port`, host being a name, IPv4 or bracketed IPv6; port 1..65535. */
const BROKER_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Checks a config and returns every problem at once (empty when valid).
 * Exported separately from `validateKafkaClientConfig` so callers (CLI, config files) can show all problems.
 */
export function kafkaClientConfigProblems(config: KafkaClientConfig): string[] {
  const problems: string[] = [];
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    problems.push('brokers: give at least one "host:port" bootstrap address');
  } else {
    for (const broker of config.brokers) {
      const match = typeof broker === 'string' ? BROKER_ADDRESS.exec(broker.trim()) : null;
      const port = match ? Number(match[2]) : 0;
      if (!match || port < 1 || port > 65535) {
        problems.push(`brokers: "${String(broker)}" is not a "host:port" address with a port in 1..65535`);
      }
    }
  }
  if (typeof config.clientId !== 'string' || config.clientId.trim() === '') {
    problems.push('clientId: must be a non-empty string (use the application id)');
  }
  if (config.sasl !== undefined) {
    if (!SASL_MECHANISMS.has(config.sasl.mechanism)) {
      problems.push(`sasl.mechanism: "${String(config.sasl.mechanism)}" is not one of plain, scram-sha-256, scram-sha-512`);
    }
    if (!config.sasl.username) problems.push('sasl.username: must be non-empty');
    if (!config.sasl.password) problems.push('sasl.password: must be non-empty');
  }
  checkPositive(problems, 'connectionTimeoutMs', config.connectionTimeoutMs);
  checkPositive(problems, 'requestTimeoutMs', config.requestTimeoutMs);
  if (config.retry !== undefined) {
    checkPositive(problems, 'retry.maxRetryTimeMs', config.retry.maxRetryTimeMs);
    checkPositive(problems, 'retry.initialRetryTimeMs', config.retry.initialRetryTimeMs);
    checkPositive(problems, 'retry.multiplier', config.retry.multiplier);
    if (config.retry.factor !== undefined && !(config.retry.factor >= 0 && config.retry.factor <= 1)) {
      problems.push(`retry.factor: ${config.retry.factor} must be between 0 and 1`);
    }
    if (config.retry.retries !== undefined && !(Number.isInteger(config.retry.retries) && config.retry.retries >= 0)) {
      problems.push(`retry.retries: ${config.retry.retries} must be an integer >= 0`);
    }
  }
  if (config.logLevel !== undefined && !(config.logLevel in LOG_LEVELS)) {
    problems.push(`logLevel: "${String(config.logLevel)}" is not one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  }
  return problems;
}

function checkPositive(problems: string[], name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    problems.push(`${name}: ${value} must be a positive number`);
  }
}

/** Throws `KafkaConfigError` listing every problem; returns the config unchanged when valid. */
export function validateKafkaClientConfig(config: KafkaClientConfig): KafkaClientConfig {
  const problems = kafkaClientConfigProblems(config);
  if (problems.length > 0) throw new KafkaConfigError(problems);
  return config;
}

export function toKafkaJsLogLevel(level: KafkaLogLevel | undefined): KafkaJsLogLevel {
  return LOG_LEVELS[level ?? 'warn'];
}

/** Maps a validated config to kafkajs's (without logCreator/partitioner: client.ts adds those). */
export function toKafkaJsConfig(config: KafkaClientConfig): KafkaConfig {
  const mapped: KafkaConfig = {
    brokers: config.brokers.map((b) => b.trim()),
    clientId: config.clientId,
    logLevel: toKafkaJsLogLevel(config.logLevel),
  };
  if (config.ssl !== undefined) mapped.ssl = typeof config.ssl === 'boolean' ? config.ssl : toTlsOptions(config.ssl);
  if (config.sasl !== undefined) mapped.sasl = toSaslOptions(config.sasl);
  if (config.connectionTimeoutMs !== undefined) mapped.connectionTimeout = config.connectionTimeoutMs;
  if (config.requestTimeoutMs !== undefined) mapped.requestTimeout = config.requestTimeoutMs;
  if (config.retry !== undefined) mapped.retry = toRetryOptions(config.retry);
  return mapped;
}

function toTlsOptions(tls: KafkaTlsConfig): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (tls.ca !== undefined) options.ca = typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? tls.ca : [...tls.ca];
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.passphrase !== undefined) options.passphrase = tls.passphrase;
  if (tls.servername !== undefined) options.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) options.rejectUnauthorized = tls.rejectUnauthorized;
  return options;
}

function toSaslOptions(sasl: KafkaSaslConfig): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
}

function toRetryOptions(retry: KafkaRetryConfig): RetryOptions {
  const options: RetryOptions = {};
  if (retry.maxRetryTimeMs !== undefined) options.maxRetryTime = retry.maxRetryTimeMs;
  if (retry.initialRetryTimeMs !== undefined) options.initialRetryTime = retry.initialRetryTimeMs;
  if (retry.factor !== undefined) options.factor = retry.factor;
  if (retry.multiplier !== undefined) options.multiplier = retry.multiplier;
  if (retry.retries !== undefined) options.retries = retry.retries;
  return options;
}
