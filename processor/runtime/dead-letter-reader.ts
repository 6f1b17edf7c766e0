/**
 * Reads pages of the dead-letter topic for GET /dead-letters, newest first: per partition at most `limit` records
 * just below the previous page's cursor (http-query/dead-letter-page.ts decides the offsets and merges the page), read
 * through a PartitionReader (fetches outside any consumer group). Never the whole topic.
 *
 * Reads run one at a time, and the answer for the same request is reused for a couple of seconds, so a console left
 * open (or a burst of clicks) does not start a consumer group per request. Each read is bounded in time.
 */
import { PartitionReaderError } from '../../errors.js';
import { assemblePage, tailRange, type PartitionTail } from '../../http-query/dead-letter-page.js';
import type { DeadLetterEntry, DeadLetterPage, DeadLetterPageRequest } from '../../http-query/query-source.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { PartitionReader } from '../kafka/partition-reader.js';

/** How long an answer is reused for the same request. */
const REUSE_MS = 2000;
/** A read that takes longer is stopped and reported (the server answers 503). */
const READ_TIMEOUT_MS = 20_000;
/** Dead letters are records that did not fit elsewhere, possibly near a topic's size limit: keep fetches modest. */
const FETCH = { maxBytesPerPartition: 2 * 1024 * 1024, maxBytes: 8 * 1024 * 1024 } as const;

export interface DeadLetterReaderOptions {
  readonly client: KafkaClient;
  readonly admin: Pick<KafkaAdmin, 'fetchOffsetRanges'>;
  readonly topic: string;
  readonly readTimeoutMs?: number;
}

const entryOf = (record: ConsumedRecord): DeadLetterEntry => ({
  partition: record.partition,
  offset: record.offset,
  timestamp: record.timestamp,
  key: record.key,
  value: record.value,
  headers: record.headers,
});

const requestKey = (request: DeadLetterPageRequest): string =>
  `${request.limit}|${[...(request.before ?? new Map<number, number>())].map(([p, o]) => `${p}:${o}`).join(',')}`;

export class DeadLetterReader {
  private queue: Promise<unknown> = Promise.resolve();
  private last: { readonly key: string; readonly at: number; readonly page: DeadLetterPage } | undefined;

  constructor(private readonly options: DeadLetterReaderOptions) {}

  page(request: DeadLetterPageRequest): Promise<DeadLetterPage> {
    const next = this.queue.then(
      () => this.readPage(request),
      () => this.readPage(request),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async readPage(request: DeadLetterPageRequest): Promise<DeadLetterPage> {
    const key = requestKey(request);
    if (this.last !== undefined && this.last.key === key && Date.now() - this.last.at < REUSE_MS) return this.last.page;
    const { topic } = this.options;
    const ranges = await this.options.admin.fetchOffsetRanges(topic);
    const bounds = [...ranges]
      .map(([partition, range]) => ({ partition, earliest: range.start, end: range.end }))
      .sort((a, b) => a.partition - b.partition);
    const plans = bounds.map((b) => ({ bounds: b, ...tailRange(b, request.before?.get(b.partition), request.limit) }));
    const records = new Map<TopicPartitionId, DeadLetterEntry[]>();
    const toRead = plans.filter((plan) => plan.from < plan.upper);
    if (toRead.length > 0) {
      const reader = new PartitionReader(this.options.client, {
        partitions: toRead.map((plan) => ({ topic, partition: plan.bounds.partition, offset: plan.from })),
        endOffsets: new Map(toRead.map((plan) => [topicPartitionId(topic, plan.bounds.partition), plan.upper])),
        groupIdPrefix: `${topic}-browser`,
        fetch: FETCH,
        onBatch: async (batch) => {
          for (const record of batch) {
            const id = topicPartitionId(record.topic, record.partition);
            const list = records.get(id) ?? [];
            list.push(entryOf(record));
            records.set(id, list);
          }
        },
      });
      await this.withTimeout(reader);
    }
    const tails: PartitionTail[] = plans.map((plan) => ({
      ...plan.bounds,
      from: plan.from,
      upper: plan.upper,
      records: (records.get(topicPartitionId(topic, plan.bounds.partition)) ?? []).filter(
        (r) => r.offset >= plan.from && r.offset < plan.upper,
      ),
    }));
    const page = assemblePage(topic, tails, request.limit);
    this.last = { key, at: Date.now(), page };
    return page;
  }

  private async withTimeout(reader: PartitionReader): Promise<void> {
    const timeoutMs = this.options.readTimeoutMs ?? READ_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void reader.stop();
        reject(new PartitionReaderError(`reading the dead-letter topic ${this.options.topic} took over ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([reader.run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
