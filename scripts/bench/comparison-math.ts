/**
 * The arithmetic of the Tributary vs Kafka Streams comparison: run order (ABBA), per-run figures, ratios and medians.
 * Pure functions, unit-tested; scripts/bench/vs-kafka-streams.ts does the measuring.
 */

export type Side = 'tributary' | 'kafka-streams';

/** A = Tributary, B = Kafka Streams. */
export const SIDE_A: Side = 'tributary';
export const SIDE_B: Side = 'kafka-streams';

/**
 * Which side runs first in round `round` (0-based): A B in even rounds, B A in odd ones, so over two rounds the
 * sequence is A B B A and a slow drift of the machine (other load, a warming page cache, broker log growth) weighs
 * on both sides alike.
 */
export function abbaOrder(round: number): readonly [Side, Side] {
  if (!(Number.isInteger(round) && round >= 0)) throw new RangeError(`round must be an integer >= 0, got ${round}`);
  return round % 2 === 0 ? [SIDE_A, SIDE_B] : [SIDE_B, SIDE_A];
}

/** The whole run sequence of `rounds` rounds over `workloads`: per round, per workload, both sides in ABBA order. */
export function abbaSchedule<W>(rounds: number, workloads: readonly W[]): { round: number; workload: W; side: Side }[] {
  const schedule: { round: number; workload: W; side: Side }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const workload of workloads) for (const side of abbaOrder(round)) schedule.push({ round, workload, side });
  }
  return schedule;
}

/** Median (mean of the two middle values for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Tributary / Kafka Streams, 2 decimals; null when the Kafka Streams figure is 0 or either is not finite. */
export function ratio(tributary: number, kafkaStreams: number): number | null {
  if (!Number.isFinite(tributary) || !Number.isFinite(kafkaStreams) || kafkaStreams === 0) return null;
  return roundTo(tributary / kafkaStreams, 2);
}

/** What one side measured in one run of one workload (all its processes together). */
export interface SideFigures {
  /** Input records the workload had to process. */
  readonly records: number;
  /** App start (the "starting" line) → end condition, ms. */
  readonly ms: number;
  /** user + system CPU over the same window, ms, summed over the side's processes. */
  readonly cpuMs: number;
  /** Sum over the side's processes of each one's peak RSS (VmHWM), MiB. */
  readonly peakRssMb: number;
  /**
   * The side's highest sampled resident memory at one moment, file pages its processes share counted once
   * (side-memory.ts), MiB; null when not sampled. Equal to the RSS for one process.
   */
  readonly peakSideMemoryMb: number | null;
}

export interface DerivedFigures extends SideFigures {
  readonly recordsPerSecond: number;
  /** CPU µs per input record: the figure that holds on a shared machine. */
  readonly cpuUsPerRecord: number;
}

export function derive(figures: SideFigures): DerivedFigures {
  return {
    ...figures,
    ms: Math.round(figures.ms),
    cpuMs: Math.round(figures.cpuMs),
    peakRssMb: Math.round(figures.peakRssMb),
    peakSideMemoryMb: figures.peakSideMemoryMb === null ? null : Math.round(figures.peakSideMemoryMb),
    recordsPerSecond: figures.ms > 0 ? Math.round((figures.records * 1000) / figures.ms) : 0,
    cpuUsPerRecord: figures.records > 0 ? roundTo((figures.cpuMs * 1000) / figures.records, 2) : 0,
  };
}

/** Tributary / Kafka Streams per figure. recordsPerSecond > 1: Tributary faster; cpu, RSS > 1: Tributary uses more. */
export interface Ratios {
  readonly recordsPerSecond: number | null;
  readonly cpuMs: number | null;
  readonly cpuUsPerRecord: number | null;
  readonly peakRssMb: number | null;
  readonly peakSideMemoryMb: number | null;
}

export function ratios(tributary: DerivedFigures, kafkaStreams: DerivedFigures): Ratios {
  return {
    recordsPerSecond: ratio(tributary.recordsPerSecond, kafkaStreams.recordsPerSecond),
    cpuMs: ratio(tributary.cpuMs, kafkaStreams.cpuMs),
    cpuUsPerRecord: ratio(tributary.cpuUsPerRecord, kafkaStreams.cpuUsPerRecord),
    peakRssMb: ratio(tributary.peakRssMb, kafkaStreams.peakRssMb),
    peakSideMemoryMb:
      tributary.peakSideMemoryMb === null || kafkaStreams.peakSideMemoryMb === null
        ? null
        : ratio(tributary.peakSideMemoryMb, kafkaStreams.peakSideMemoryMb),
  };
}

export interface PairedRun {
  readonly round: number;
  readonly tributary: DerivedFigures;
  readonly kafkaStreams: DerivedFigures;
}

export interface MedianSummary {
  readonly rounds: number;
  /** Per side, the median of each figure over the rounds. */
  readonly tributary: Omit<DerivedFigures, 'records'>;
  readonly kafkaStreams: Omit<DerivedFigures, 'records'>;
  /** The median over rounds of the per-round ratios (paired: each ratio compares two runs of one round). */
  readonly ratios: Ratios;
}

function medianFigures(runs: readonly DerivedFigures[]): Omit<DerivedFigures, 'records'> {
  const of = (pick: (f: DerivedFigures) => number, digits = 0) => roundTo(median(runs.map(pick)), digits);
  return {
    ms: of((f) => f.ms),
    cpuMs: of((f) => f.cpuMs),
    peakRssMb: of((f) => f.peakRssMb),
    peakSideMemoryMb: runs.every((f) => f.peakSideMemoryMb !== null) ? of((f) => f.peakSideMemoryMb ?? 0) : null,
    recordsPerSecond: of((f) => f.recordsPerSecond),
    cpuUsPerRecord: of((f) => f.cpuUsPerRecord, 2),
  };
}

function medianRatio(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : roundTo(median(present), 2);
}

export function summarize(runs: readonly PairedRun[]): MedianSummary {
  const perRound = runs.map((run) => ratios(run.tributary, run.kafkaStreams));
  return {
    rounds: runs.length,
    tributary: medianFigures(runs.map((run) => run.tributary)),
    kafkaStreams: medianFigures(runs.map((run) => run.kafkaStreams)),
    ratios: {
      recordsPerSecond: medianRatio(perRound.map((r) => r.recordsPerSecond)),
      cpuMs: medianRatio(perRound.map((r) => r.cpuMs)),
      cpuUsPerRecord: medianRatio(perRound.map((r) => r.cpuUsPerRecord)),
      peakRssMb: medianRatio(perRound.map((r) => r.peakRssMb)),
      peakSideMemoryMb: medianRatio(perRound.map((r) => r.peakSideMemoryMb)),
    },
  };
}
