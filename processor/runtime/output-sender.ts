/**
 * Sends a cycle's outputs (sinks, repartition records, dead letters) in one producer call, acks=all. A failed send
 * is retried with backoff (on top of kafkajs's own retries); then the application's production error policy
 * decides: 'fail' (default) rethrows, 'log-and-skip' drops the records, 'dead-letter' writes them to the DLQ
 * (changelog records of derived-table stores excepted: they are sent again or the send fails). A send resolves with
 * where the acknowledged records landed (produce-acks.ts): derived stores checkpoint their changelog position.
 *
 * Every dead letter this instance writes goes through here, so this is where they are counted: once Kafka
 * acknowledged them, per stage and source topic (`tributary_records_dead_lettered_total` equals the letters written).
 */
import { KafkaProduceError } from '../../errors.js';
import { deadLetterRecord, DeadLetterHeaders, type ErrorStage } from '../../common/dead-letters.js';
import type { ResolvedErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import type { RecordProducer } from '../kafka/producer.js';
import type { AcknowledgedOffsets } from '../kafka/produce-acks.js';
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
  /**
   * Changelog topics of derived-table stores. Their records never follow 'log-and-skip' or 'dead-letter': a store
   * restored from a changelog missing a write would lose it. When a send fails under such a policy, they are sent
   * again on their own (a failure then is final) and the policy applies to the other records only.
   */
  readonly changelogTopics?: ReadonlySet<string>;
}

type SendOutcome = { readonly acknowledged: AcknowledgedOffsets; readonly failure?: undefined } | { readonly failure: KafkaProduceError };

const NOTHING_ACKNOWLEDGED: AcknowledgedOffsets = new Map();

export class OutputSender {
  /** Records acknowledged by Kafka since start. */
  sent = 0;

  constructor(private readonly options: OutputSenderOptions) {}

  /**
   * Sends `records`; resolves once Kafka acknowledged them (or the production policy dropped or dead-lettered them),
   * with the position after the acknowledged records per partition the records named (produce-acks.ts).
   */
  async send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    if (records.length === 0) return NOTHING_ACKNOWLEDGED;
    const outcome = await this.sendWithRetries(records);
    if (outcome.failure === undefined) {
      this.sent += records.length;
      this.countDeadLetters(records);
      return outcome.acknowledged;
    }
    const { policy, metrics } = this.options;
    if (policy.production === 'fail') {
      metrics.recordError('production', policy.production, records.length);
      throw outcome.failure;
    }
    const changelogTopics = this.options.changelogTopics;
    const changelog = changelogTopics === undefined ? [] : records.filter((r) => changelogTopics.has(r.topic));
    let acknowledged = NOTHING_ACKNOWLEDGED;
    if (changelog.length > 0) {
      const again = await this.sendWithRetries(changelog);
      if (again.failure !== undefined) {
        metrics.recordError('production', 'fail', changelog.length);
        throw again.failure;
      }
      this.sent += changelog.length;
      acknowledged = again.acknowledged;
    }
    const others = changelog.length === 0 ? records : records.filter((r) => !(changelogTopics as ReadonlySet<string>).has(r.topic));
    if (others.length > 0) await this.applyPolicy(others, outcome.failure);
    return acknowledged;
  }

  /**
   * Counts records another producer wrote (exactly-once: a task's committed transaction) as sent, and its dead
   * letters, so the counters cover every record this instance wrote.
   */
  noteSent(records: readonly ProducedRecord[]): void {
    this.sent += records.length;
    this.countDeadLetters(records);
  }

  /** 'log-and-skip' or 'dead-letter' for records Kafka did not acknowledge. */
  private async applyPolicy(records: readonly ProducedRecord[], failure: KafkaProduceError): Promise<void> {
    const { policy, metrics, logger } = this.options;
    const topics = [...new Set(records.map((r) => r.topic))];
    metrics.recordError('production', policy.production, records.length);
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
    const dlqOutcome = await this.sendWithRetries(deadLetters);
    if (dlqOutcome.failure !== undefined) throw dlqOutcome.failure;
    this.sent += deadLetters.length;
    this.countDeadLetters(deadLetters);
    logger.warn('sent records Kafka did not acknowledge to the dead-letter topic', {
      records: records.length,
      topics,
      deadLetterTopic: policy.deadLetterTopic,
    });
  }

  private async sendWithRetries(records: readonly ProducedRecord[]): Promise<SendOutcome> {
    const { producer, retries, logger } = this.options;
    let backoff = this.options.initialBackoffMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      try {
        return { acknowledged: await producer.send(records) };
      } catch (error) {
        const failure =
          error instanceof KafkaProduceError ? error : new KafkaProduceError([...new Set(records.map((r) => r.topic))], { cause: error });
        const again = attempt < retries && (this.options.shouldRetry?.() ?? true);
        logger.warn(again ? `produce failed; retrying in ${backoff} ms` : 'produce failed; giving up', {
          attempt: attempt + 1,
          error: failure,
        });
        if (!again) return { failure };
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
