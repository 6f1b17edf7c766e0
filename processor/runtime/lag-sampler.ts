/**
 * Samples the application's consumer group for GET /consumer-lag: every `intervalMs`, the group's committed offset
 * and the end offset of each input partition (two kinds of admin requests, whichever instance asks), kept for the
 * last `capacity` samples. Lag is end − committed, the processing rate the committed offset's growth: the view every
 * instance shares, for all partitions, not only its own. Bounded: partitions × capacity numbers.
 */
import { parseTopicPartitionId, topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { Logger } from '../../common/logger.js';
import type { ConsumerLagHistory } from '../../http-query/query-source.js';
import type { KafkaAdmin } from '../kafka/admin.js';

export const DEFAULT_LAG_SAMPLE_INTERVAL_MS = 5000;
/** 120 samples of 5 s: the last 10 minutes. */
export const DEFAULT_LAG_SAMPLE_CAPACITY = 120;

export interface ConsumerLagSamplerOptions {
  readonly admin: Pick<KafkaAdmin, 'fetchCommittedOffsets' | 'fetchEndOffsets'>;
  readonly groupId: string;
  /** Input topics of the group (user and repartition topics of every sub-topology). */
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly capacity?: number;
}

interface Series {
  readonly committed: (number | null)[];
  readonly end: (number | null)[];
}

export class ConsumerLagSampler {
  private readonly intervalMs: number;
  private readonly capacity: number;
  private readonly times: number[] = [];
  private readonly series = new Map<TopicPartitionId, Series>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ConsumerLagSamplerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_LAG_SAMPLE_INTERVAL_MS;
    this.capacity = options.capacity ?? DEFAULT_LAG_SAMPLE_CAPACITY;
  }

  /** Takes a sample now and then every interval, until `stop()`. */
  start(): void {
    if (this.timer !== undefined || this.stopped || this.options.topics.length === 0) return;
    const tick = (): void => {
      if (this.running !== undefined || this.stopped) return;
      this.running = this.sampleOnce().finally(() => {
        this.running = undefined;
      });
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling; waits for a sample in flight (so the admin client can be disconnected after). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sample at `now`; a failed sample is skipped (logged at debug), never recorded as zeros. */
  async sampleOnce(now = Date.now()): Promise<void> {
    const { admin, groupId, topics, logger } = this.options;
    let committed: ReadonlyMap<TopicPartitionId, number>;
    const ends = new Map<TopicPartitionId, number>();
    try {
      committed = await admin.fetchCommittedOffsets(groupId, topics);
      for (const topic of topics) {
        for (const [partition, end] of await admin.fetchEndOffsets(topic)) ends.set(topicPartitionId(topic, partition), end);
      }
    } catch (error) {
      logger.debug('consumer lag sample failed; skipping it', { error });
      return;
    }
    if (this.stopped) return;
    this.times.push(now);
    for (const id of new Set([...ends.keys(), ...committed.keys()])) {
      if (!this.series.has(id)) {
        // A partition seen for the first time: nothing known about it at the earlier samples.
        const padding = this.times.length - 1;
        this.series.set(id, { committed: new Array<number | null>(padding).fill(null), end: new Array<number | null>(padding).fill(null) });
      }
    }
    for (const [id, series] of this.series) {
      series.committed.push(committed.get(id) ?? null);
      series.end.push(ends.get(id) ?? null);
    }
    if (this.times.length > this.capacity) {
      const drop = this.times.length - this.capacity;
      this.times.splice(0, drop);
      for (const series of this.series.values()) {
        series.committed.splice(0, drop);
        series.end.splice(0, drop);
      }
    }
  }

  history(): ConsumerLagHistory {
    const partitions = [...this.series]
      .map(([id, series]) => ({ ...parseTopicPartitionId(id), committed: [...series.committed], end: [...series.end] }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return { groupId: this.options.groupId, intervalMs: this.intervalMs, times: [...this.times], partitions };
  }
}
