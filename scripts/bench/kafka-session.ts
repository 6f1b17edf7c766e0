/**
 * The Kafka broker for the demo and the benchmarks: the one named by KAFKA_BROKERS, or a local broker started
 * from Maven jars (scripts/kafka/broker.mjs; jars fetched on first use) that `stop()` shuts down again, by PID.
 */
import { DEFAULT_KAFKA_VERSION, startBroker, stopBroker, type BrokerHandle } from '../kafka/broker.mjs';

export interface KafkaSession {
  readonly brokers: string;
  /** Kafka version of a started broker; 'external' for KAFKA_BROKERS. */
  readonly version: string;
  /** The broker this session started (undefined with KAFKA_BROKERS). */
  readonly broker: BrokerHandle | undefined;
  /** Stops the broker this session started (nothing for KAFKA_BROKERS). Safe to call twice. */
  stop(): Promise<void>;
}

export interface KafkaSessionOptions {
  /** Broker stdout/stderr. */
  readonly logFile: string;
  readonly version?: string;
  /** Called before a (possibly long) start, e.g. to print "starting Kafka". */
  readonly onStarting?: (version: string) => void;
}

export async function openKafkaSession(options: KafkaSessionOptions): Promise<KafkaSession> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) return { brokers: external, version: 'external', broker: undefined, stop: async () => {} };
  const version = options.version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  options.onStarting?.(version);
  const broker = await startBroker({ version, logFile: options.logFile, quiet: false });
  let stopped: Promise<void> | undefined;
  return {
    brokers: broker.brokers,
    version,
    broker,
    stop: () => (stopped ??= stopBroker(broker)),
  };
}
