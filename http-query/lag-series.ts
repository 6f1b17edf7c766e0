/**
 * Lag and processing rate per input partition from sampled committed and end offsets (ConsumerLagHistory): lag is
 * end − committed at each sample; the rate is the committed offset's growth per second between two samples (the
 * records the group processed and committed). `null` where a value cannot be known (a missing sample, no commit yet,
 * an offset that went backwards after a reset).
 */
import type { ConsumerLagHistory } from './query-source.js';

export interface PartitionLagSeries {
  readonly topic: string;
  readonly partition: number;
  /** Records behind the end of the partition, per sample. */
  readonly lag: readonly (number | null)[];
  /** Records per second committed since the previous sample (`null` for the first). */
  readonly rate: readonly (number | null)[];
  /** The latest committed and end offsets (`null` when unknown). */
  readonly committed: number | null;
  readonly end: number | null;
}

export interface LagSeries {
  readonly groupId: string;
  readonly intervalMs: number;
  readonly times: readonly number[];
  readonly partitions: readonly PartitionLagSeries[];
}

const lastKnown = (values: readonly (number | null)[]): number | null => {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
};

export function lagSeries(history: ConsumerLagHistory): LagSeries {
  const { times } = history;
  const partitions = history.partitions.map(({ topic, partition, committed, end }) => {
    const lag = times.map((_, i) => {
      const c = committed[i] ?? null;
      const e = end[i] ?? null;
      // Never committed: the whole partition (from offset 0) is still to be processed.
      if (e === null) return null;
      return Math.max(0, e - (c ?? 0));
    });
    const rate = times.map((time, i) => {
      if (i === 0) return null;
      const before = committed[i - 1] ?? null;
      const now = committed[i] ?? null;
      const seconds = (time - times[i - 1]) / 1000;
      if (before === null || now === null || now < before || seconds <= 0) return null;
      return (now - before) / seconds;
    });
    return { topic, partition, lag, rate, committed: lastKnown(committed), end: lastKnown(end) };
  });
  return { groupId: history.groupId, intervalMs: history.intervalMs, times, partitions };
}
