/**
 * Global setup of the `contract-kafka4` project: a Kafka 4.x broker on its own port (default 4.1.1,
 * `KAFKA4_VERSION` overrides), or the one named by `KAFKA4_BROKERS`. Workers get the address via
 * `inject('kafkaBrokers')` (test/helpers/kafka.ts `kafkaBrokers()`); process.env.KAFKA_BROKERS is left alone so
 * running all projects in one vitest process does not mix the two brokers up.
 */
import type { TestProject } from 'vitest/node';
import { DEFAULT_KAFKA4_VERSION } from '../../scripts/kafka/broker.mjs';
import { setUpBroker } from '../../scripts/kafka/vitest-broker-setup.js';

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return setUpBroker({
    project,
    brokersEnv: 'KAFKA4_BROKERS',
    version: process.env.KAFKA4_VERSION ?? DEFAULT_KAFKA4_VERSION,
    exportKafkaBrokersEnv: false,
  });
}
