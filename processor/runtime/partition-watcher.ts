/**
 * Notices partitions added to the topics a running app reads. Every `intervalMs` it reads the partition counts of
 * the watched topics (every source, table and global-table topic) and, when one differs from what the app works
 * with, calls `onChange`: the app then re-prepares its cluster layout (cluster-layout.ts: internal topics grown,
 * a decrease refused), logs what changed, and makes global tables read the new partitions. Co-partitioned tasks
 * follow through a rebalance: the group member re-reads metadata at the same interval, rejoins when a subscribed
 * topic grew, and every assignment re-reads the counts before its tasks open.
 *
 * One check at a time; a failed lookup is logged and retried at the next tick.
 */
import type { Logger } from '../../common/logger.js';
import type { ClusterLookups } from '../kafka/cluster-lookups.js';
import { partitionCountChanges, type PartitionCountChange } from './cluster-layout.js';

export interface PartitionWatcherOptions {
  readonly topics: readonly string[];
  readonly intervalMs: number;
  readonly lookups: Pick<ClusterLookups, 'describeTopicPartitions'>;
  /** The counts the app works with now. */
  readonly known: () => ReadonlyMap<string, number>;
  /** Counts changed: re-prepare the layout. A rejection is the app's to handle (it is not retried here). */
  readonly onChange: (changes: readonly PartitionCountChange[]) => Promise<void>;
  readonly logger: Logger;
}

export class PartitionWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: PartitionWatcherOptions) {}

  start(): void {
    if (this.stopped || this.timer !== undefined || this.options.topics.length === 0) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One check now (skipped while one runs); resolves when it is done. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.runCheck().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runCheck(): Promise<void> {
    const { lookups, topics, known, logger } = this.options;
    let counts: ReadonlyMap<string, number>;
    try {
      counts = (await lookups.describeTopicPartitions(topics)).partitions;
    } catch (error) {
      logger.warn('could not read partition counts; checking again later', { error });
      return;
    }
    const changes = partitionCountChanges(known(), counts);
    if (changes.length === 0 || this.stopped) return;
    await this.options.onChange(changes);
  }
}
