/**
 * Shared body of the two vitest global setups: use a given broker address or start a real broker from Maven jars,
 * hand its address to test workers, and stop it (by PID) in teardown.
 */
import type { TestProject } from 'vitest/node';
// The readiness probe talks to the broker through kafkajs in this process: without the request queue's timer patch
// (behaviour unchanged) Node 24 prints a TimeoutNegativeWarning at the top of every integration run.
import '../../processor/kafka/request-queue-timer.js';
import { startBroker, stopBroker, type BrokerHandle } from './broker.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap address of the broker this project's tests run against. */
    kafkaBrokers: string;
    /** Kafka version of that broker ('external' when given by env). */
    kafkaVersion: string;
  }
}

export interface BrokerSetupOptions {
  readonly project: TestProject;
  /** Env var that, when set, names an existing broker to use instead of starting one. */
  readonly brokersEnv: string;
  readonly version: string;
  /** Also export the address as process.env.KAFKA_BROKERS for workers (only the main integration project). */
  readonly exportKafkaBrokersEnv: boolean;
}

export async function setUpBroker(options: BrokerSetupOptions): Promise<() => Promise<void>> {
  const given = process.env[options.brokersEnv];
  if (given !== undefined && given.trim() !== '') {
    options.project.provide('kafkaBrokers', given.trim());
    options.project.provide('kafkaVersion', process.env.KAFKA_VERSION_LABEL ?? 'external');
    return async () => {};
  }
  let broker: BrokerHandle | undefined;
  try {
    broker = await startBroker({ version: options.version, quiet: true });
  } catch (error) {
    throw new Error(`Could not start Kafka ${options.version} for tests (or set ${options.brokersEnv}=host:port)`, { cause: error });
  }
  console.log(
    `[kafka] ${options.project.name}: Kafka ${broker.version} ready at ${broker.brokers} in ${broker.startMillis} ms (pid ${broker.pid}, log ${broker.logFile})`,
  );
  options.project.provide('kafkaBrokers', broker.brokers);
  options.project.provide('kafkaVersion', broker.version);
  if (options.exportKafkaBrokersEnv) process.env.KAFKA_BROKERS = broker.brokers;
  const started = broker;
  // Last resort if vitest exits without running teardown (crash, process.exit): the broker runs in its own process
  // group, so nothing else would stop it. Only this PID is signalled.
  const killOnExit = () => {
    try {
      process.kill(started.pid, 'SIGKILL');
    } catch {
      // already stopped
    }
  };
  process.once('exit', killOnExit);
  return async () => {
    process.removeListener('exit', killOnExit);
    await stopBroker(started);
  };
}
