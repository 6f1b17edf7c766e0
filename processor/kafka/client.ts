/**
 * The one place a kafkajs `Kafka` instance is created. Everything Kafka in Tributary goes through `KafkaClient`, so
 * the partitioner (Java-compatible murmur2) and the log bridge are the same for every producer, consumer and admin.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { Admin, AdminConfig, Consumer, ConsumerConfig, LogEntry, Producer, ProducerConfig } from 'kafkajs';
import { Kafka, logLevel as KafkaJsLogLevel, Partitioners } from 'kafkajs';
import { silentLogger, type Logger } from '../../common/logger.js';
import { toKafkaJsConfig, validateKafkaClientConfig, type KafkaClientConfig } from './config.js';
import { framedSocketFactory } from './response-framing.js';

export interface KafkaClientOptions {
  /** Where kafkajs log lines go (kafkajs is chatty: default silent; see `kafkaLoggerFor` for level mapping). */
  readonly logger?: Logger;
}

/** Producer options we allow callers to set; the partitioner is fixed (murmur2, same as the Java client). */
export type KafkaProducerOptions = Omit<ProducerConfig, 'createPartitioner'>;

/** The default (Java-compatible murmur2) partitioner factory, for code that needs to compute partitions itself. */
export const defaultPartitioner = Partitioners.DefaultPartitioner;

export class KafkaClient {
  /** The underlying kafkajs instance; only processor/kafka/ modules should touch it. */
  readonly kafka: Kafka;
  readonly config: KafkaClientConfig;
  readonly logger: Logger;

  constructor(config: KafkaClientConfig, options: KafkaClientOptions = {}) {
    this.config = validateKafkaClientConfig(config);
    this.logger = options.logger ?? silentLogger;
    const logger = this.logger;
    this.kafka = new Kafka({
      ...toKafkaJsConfig(this.config),
      // Plaintext without SASL: sockets that read each response into one buffer of its size (response-framing.ts).
      ...(this.config.ssl === undefined && this.config.sasl === undefined ? { socketFactory: framedSocketFactory() } : {}),
      logCreator: () => (entry: LogEntry) => forwardLogEntry(logger, entry),
    });
  }

  producer(options: KafkaProducerOptions = {}): Producer {
    return this.kafka.producer({ ...options, createPartitioner: defaultPartitioner });
  }

  consumer(options: ConsumerConfig): Consumer {
    return this.kafka.consumer(options);
  }

  admin(options: AdminConfig = {}): Admin {
    return this.kafka.admin(options);
  }
}

export function createKafkaClient(config: KafkaClientConfig, options: KafkaClientOptions = {}): KafkaClient {
  return new KafkaClient(config, options);
}

/**
 * kafkajs warnings that describe a choice Tributary made on purpose, logged at debug instead. kafkajs warns whenever
 * an idempotent producer has bounded retries; Tributary bounds them so a send to a missing topic fails instead of
 * hanging, and retries failed sends itself (at-least-once does not rest on the producer retrying forever).
 */
const EXPECTED_WARNINGS: ReadonlySet<string> = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

function forwardLogEntry(logger: Logger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, ...rest } = entry.log;
  const fields: Readonly<Record<string, unknown>> = { namespace: entry.namespace, ...rest };
  const text = `[kafkajs ${entry.namespace}] ${String(message)}`;
  const level = entry.level === KafkaJsLogLevel.WARN && EXPECTED_WARNINGS.has(String(message)) ? KafkaJsLogLevel.DEBUG : entry.level;
  switch (level) {
    case KafkaJsLogLevel.ERROR:
      logger.error(text, fields);
      break;
    case KafkaJsLogLevel.WARN:
      logger.warn(text, fields);
      break;
    case KafkaJsLogLevel.INFO:
      logger.info(text, fields);
      break;
    default:
      logger.debug(text, fields);
  }
}
