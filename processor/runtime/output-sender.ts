/**
 * Sends a cycle's outputs (sinks, repartition records, dead letters) in one producer call, acks=all. A failed send
 * is retried with backoff (on top of kafkajs's own retries); then the application's production error policy
 * decides: 'fail' (default) rethrows, 'log-and-skip' drops the records, 'dead-letter' writes them to the DLQ.
 *
 * Every dead letter this instance writes goes through here, so this is where they are counted: once Kafka
 * acknowledged them, per stage and source topic (`tributary_records_dead_lettered_total` equals the letters written).
 */
import { KafkaProduceError } from '../../errors.js';
import { deadLetterRecord, DeadLetterHeaders, type ErrorStage } from '../../common/dead-letters.js';
import type { ResolvedErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import type { RecordProducer } from '../kafka/producer.js';
import type { ProducedRecord } from '../../common/records.js';
import type { Logger } from '../../common/logger.js';

/** Header naming the topic a dead-lettered output was meant for (production-stage dead letters only). */

/** The one producer call the sender needs (RecordProducer implements it). */
export type RecordSink = Pick<RecordProducer, 'send'>;

export interface OutputSenderOptions {
  readonly producer: RecordSink;
  readonly policy: ResolvedErrorPolicy;
  readonly applicationId: string;
  readonly metrics: EngineMetrics;
  readonly logger: Logger;
  /** Attempts after the first failure. */
  readonly retries: number;
  /** First backoff; it quadruples per retry. Default 250 ms. */
  readonly initialBackoffMs?: number;
  /** False once the app is stopping: retries stop early. */
  readonly shouldRetry?: () => boolean;
  /** Called with every batch Kafka acknowledged (dead letters included), e.g. to count dead letters. */
}

export class OutputSender {
  /** Records acknowledged by Kafka since start. */
  sent = 0;

  constructor(private readonly options: OutputSenderOptions) {}

  async send(records: readonly ProducedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const failure = await this.sendWithRetries(records);
    if (failure === undefined) {
      this.sent += records.length;
      this.countDeadLetters(records);
      return;
    }
    const { policy, metrics, logger } = this.options;
    const topics = [...new Set(records.map((r) => r.topic))];
    metrics.recordError('production', policy.production, records.length);
    if (policy.production === 'fail') throw failure;
    if (policy.production === 'log-and-skip') {
      metrics.recordSkipped('production', records.length);
      logger.error('dropping records Kafka did not acknowledge (production error policy: log-and-skip)', {
        records: records.length,
        topics,
        error: failure,
      });
      return;
    }
    const deadLetters = records.map((record) => this.deadLetter(record, failure));
    const dlqFailure = await this.sendWithRetries(deadLetters);
    if (dlqFailure !== undefined) throw dlqFailure;
    this.sent += deadLetters.length;
    this.countDeadLetters(deadLetters);
    logger.warn('sent records Kafka did not acknowledge to the dead-letter topic', {
      records: records.length,
      topics,
      deadLetterTopic: policy.deadLetterTopic,
    });
  }

  private async sendWithRetries(records: readonly ProducedRecord[]): Promise<KafkaProduceError | undefined> {
    const { producer, retries, logger } = this.options;
    let backoff = this.options.initialBackoffMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.send(records);
        return undefined;
      } catch (error) {
        const failure =
          error instanceof KafkaProduceError ? error : new KafkaProduceError([...new Set(records.map((r) => r.topic))], { cause: error });
        const again = attempt < retries && (this.options.shouldRetry?.() ?? true);
        logger.warn(again ? `produce failed; retrying in ${backoff} ms` : 'produce failed; giving up', {
          attempt: attempt + 1,
          error: failure,
        });
        if (!again) return failure;
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff *= 4;
      }
    }
  }

  /** Counts the acknowledged dead letters among `records` (a string comparison per record; letters are rare). */
  private countDeadLetters(records: readonly ProducedRecord[]): void {
    const { deadLetterTopic } = this.options.policy;
    const h = DeadLetterHeaders;
    for (const record of records) {
      if (record.topic !== deadLetterTopic) continue;
      const stage = (record.headers[h.stage]?.toString('utf8') ?? 'processing') as ErrorStage;
      const source = (record.headers[h.sourceTopic] ?? record.headers[h.targetTopic])?.toString('utf8') ?? '';
      this.options.metrics.recordDeadLetter(stage, source);
    }
  }

  private deadLetter(record: ProducedRecord, error: unknown): ProducedRecord {
    return deadLetterRecord(this.options.policy.deadLetterTopic, this.options.applicationId, 'production', record, error);
  }
}
