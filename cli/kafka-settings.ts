/**
 * Kafka connection settings shared by the commands that talk to Kafka: brokers, TLS, SASL.
 */
import type { KafkaClientConfig, KafkaSaslConfig } from '../processor/kafka/config.js';
import type { CommandLine, SettingSpec } from './settings.js';

export const KAFKA_SETTINGS: readonly SettingSpec[] = [
  { flag: 'brokers', type: 'string', placeholder: '<host:port,...>', description: 'Kafka bootstrap servers' },
  { flag: 'ssl', type: 'boolean', description: 'Connect with TLS (system trust store)' },
  { flag: 'sasl-mechanism', type: 'string', placeholder: '<plain|scram-sha-256|scram-sha-512>', description: 'SASL mechanism' },
  { flag: 'sasl-username', type: 'string', placeholder: '<name>', description: 'SASL user name' },
  { flag: 'sasl-password', type: 'string', placeholder: '<secret>', description: 'SASL password (prefer the variable)' },
];

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** Kafka settings read from the command line; problems are collected on `line`. */
export function readKafkaSettings(line: CommandLine): Omit<KafkaClientConfig, 'clientId'> {
  const brokers = line.brokers('brokers', true);
  const ssl = line.boolean('ssl');
  const mechanism = line.string('sasl-mechanism');
  const username = line.string('sasl-username');
  const password = line.string('sasl-password');
  let sasl: KafkaSaslConfig | undefined;
  if (mechanism !== undefined || username !== undefined || password !== undefined) {
    const chosen = line.oneOf('sasl-mechanism', SASL_MECHANISMS, 'plain');
    if (mechanism === undefined) line.problem('sasl-mechanism', 'is required when a SASL user or password is given');
    if (username === undefined) line.problem('sasl-username', 'is required with SASL');
    if (password === undefined) line.problem('sasl-password', 'is required with SASL');
    sasl = { mechanism: chosen, username: username ?? '', password: password ?? '' };
  }
  return { brokers, ...(ssl ? { ssl: true } : {}), ...(sasl ? { sasl } : {}) };
}
