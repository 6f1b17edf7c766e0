/**
 * Global setup of the `integration` project: a real Kafka broker (default 3.9.1, `KAFKA_VERSION` overrides), or the
 * one named by `KAFKA_BROKERS`. Workers see the address as `process.env.KAFKA_BROKERS` and `inject('kafkaBrokers')`.
 */
import type { TestProject } from 'vitest/node';
import { DEFAULT_KAFKA_VERSION } from '../../scripts/kafka/broker.mjs';
import { setUpBroker } from '../../scripts/kafka/vitest-broker-setup.js';

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return setUpBroker({
    project,
    brokersEnv: 'KAFKA_BROKERS',
    version: process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION,
    exportKafkaBrokersEnv: true,
  });
}
