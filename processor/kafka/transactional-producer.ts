/**
 * The transactional producer port (exactly-once) and its kafkajs implementation.
 *
 * One producer per task, `transactional.id` = `<applicationId>-<taskId>`: kafkajs has no KIP-447 (`sendOffsets`
 * carries no group generation), so fencing a task's previous owner rests on the transactional id alone. `init()`
 * registers the id with the transaction coordinator and bumps its epoch: every older producer with the same id is
 * fenced from then on, and a transaction it left open is aborted (or, already prepared, completed) before `init()`
 * resolves. The runtime calls it before reading the task's committed offsets, so they are final.
 *
 * A transaction: `begin()` → `send()` (any number) → `sendOffsets()` → `commit()`, or `abort()`. Errors are typed:
 * ProducerFencedError when a newer owner fenced the producer (the producer is unusable: close the task),
 * TransactionFailedError otherwise (abort, then reprocess from the committed offsets).
 */
import type { Producer } from 'kafkajs';
import { KafkaProduceError, ProducerFencedError, TransactionFailedError } from '../../errors.js';
import { parseTopicPartitionId, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import type { KafkaClient } from './client.js';
import { mergeAcknowledged, type AcknowledgedOffsets } from './produce-acks.js';
import { DEFAULT_METADATA_MAX_AGE_MS, sendInChunks } from './producer.js';

/** One open transaction. */
export interface ProducerTransaction {
  /** Sends records inside the transaction (invisible to read_committed consumers until `commit()`). */
  send(records: readonly ProducedRecord[]): Promise<void>;
  /** Adds `offsets` (next offset to read per input partition) of `groupId` to the transaction. */
  sendOffsets(groupId: string, offsets: ReadonlyMap<TopicPartitionId, number>): Promise<void>;
  /**
   * Commits: records and offsets become visible together. Resolves with the offset after the last record per
   * partition the sent records named (what derived stores checkpoint; the commit marker follows it).
   */
  commit(): Promise<AcknowledgedOffsets>;
  /** Aborts: nothing sent in the transaction becomes visible. */
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  /** Connects and fences every older producer with the same id (see the top of the file). */
  init(): Promise<void>;
  begin(): Promise<ProducerTransaction>;
  close(): Promise<void>;
}

/** Builds the producer of one transactional id (app.ts: kafkajs; unit tests: FakeCluster.transactionalProducer). */
export type TransactionalProducerFactory = (transactionalId: string) => TransactionalProducer;

/** The transactional id of a task: stable across restarts and instances, so a new owner fences the old one. */
export function transactionalIdOf(applicationId: string, taskId: string): string {
  return `${applicationId}-${taskId}`;
}

/** Broker error types that mean a newer producer took the transactional id (or the coordinator forgot ours). */
const FENCED_TYPES = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_ID_MAPPING',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);
const TIMEOUT_TYPES = new Set(['INVALID_TRANSACTION_TIMEOUT', 'TRANSACTION_TIMED_OUT', 'INVALID_TXN_STATE']);

/** The first kafkajs error `type` in an error's chain that is in `types`. */
function findType(error: unknown, types: ReadonlySet<string>, depth = 0): string | undefined {
  if (depth > 6 || typeof error !== 'object' || error === null) return undefined;
  const e = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof e.type === 'string' && types.has(e.type)) return e.type;
  for (const inner of [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = findType(inner, types, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Maps a kafkajs failure of `step` to ProducerFencedError or TransactionFailedError. */
export function transactionError(transactionalId: string, step: string, error: unknown): ProducerFencedError | TransactionFailedError {
  if (error instanceof ProducerFencedError || error instanceof TransactionFailedError) return error;
  if (findType(error, FENCED_TYPES) !== undefined) return new ProducerFencedError(transactionalId, { cause: error });
  return new TransactionFailedError(transactionalId, step, findType(error, TIMEOUT_TYPES) !== undefined, { cause: error });
}

export interface KafkaTransactionalProducerOptions {
  readonly transactionTimeoutMs: number;
  /** kafkajs retries per request. Default 10. */
  readonly retries?: number;
}

export class KafkaTransactionalProducer implements TransactionalProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(
    client: KafkaClient,
    readonly transactionalId: string,
    options: KafkaTransactionalProducerOptions,
  ) {
    this.producer = client.producer({
      transactionalId,
      transactionTimeout: options.transactionTimeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: options.retries ?? 10 },
      // Learns partitions added while running soon; records for partitions it does not know yet are sent again.
      metadataMaxAge: DEFAULT_METADATA_MAX_AGE_MS,
    });
  }

  async init(): Promise<void> {
    try {
      if (!this.connected) {
        await this.producer.connect();
        this.connected = true;
      }
      // kafkajs registers the transactional id (InitProducerId) at its first transaction; an empty one sends
      // nothing else and its abort ends it locally.
      const transaction = await this.producer.transaction();
      await transaction.abort();
    } catch (error) {
      throw transactionError(this.transactionalId, 'init', error);
    }
  }

  async begin(): Promise<ProducerTransaction> {
    const id = this.transactionalId;
    let transaction: Awaited<ReturnType<Producer['transaction']>>;
    try {
      transaction = await this.producer.transaction();
    } catch (error) {
      throw transactionError(id, 'begin', error);
    }
    const acknowledged = new Map<TopicPartitionId, number>();
    return {
      async send(records) {
        try {
          mergeAcknowledged(acknowledged, await sendInChunks((batch) => transaction.sendBatch(batch), records));
        } catch (error) {
          throw transactionError(id, 'send', error instanceof KafkaProduceError ? (error.cause ?? error) : error);
        }
      },
      async sendOffsets(groupId, offsets) {
        if (offsets.size === 0) return;
        const byTopic = new Map<string, { partition: number; offset: string }[]>();
        for (const [tp, offset] of offsets) {
          const { topic, partition } = parseTopicPartitionId(tp);
          let partitions = byTopic.get(topic);
          if (partitions === undefined) byTopic.set(topic, (partitions = []));
          partitions.push({ partition, offset: String(offset) });
        }
        try {
          await transaction.sendOffsets({
            consumerGroupId: groupId,
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          });
        } catch (error) {
          throw transactionError(id, 'sendOffsets', error);
        }
      },
      async commit() {
        try {
          await transaction.commit();
        } catch (error) {
          throw transactionError(id, 'commit', error);
        }
        return acknowledged;
      },
      async abort() {
        if (!transaction.isActive()) return;
        try {
          await transaction.abort();
        } catch (error) {
          throw transactionError(id, 'abort', error);
        }
      },
    };
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
  }
}
