/**
 * The arithmetic of the open-loop HTTP client (http-open-loop-client.ts): the fixed-rate send schedule and the latency
 * summary. Pure, so it is unit-tested on its own.
 *
 * Request i of a run at `rate` requests per second is due `i * 1000 / rate` ms after the run's start, whatever happened
 * to earlier requests; its latency is taken from that due time, not from when the client got to send it, so a server
 * (or client) that stalls shows the queue it built in every request that waited behind the stall (no coordinated
 * omission).
 */
import { round } from './stats.js';

/** Milliseconds after the run's start at which request `index` is due. */
export function dueAtMs(index: number, rate: number): number {
  return (index * 1000) / rate;
}

/** How many requests (of `total`) are due `elapsedMs` after the start: those with `dueAtMs(i) <= elapsedMs`. */
export function dueCount(elapsedMs: number, rate: number, total: number): number {
  if (elapsedMs < 0) return 0;
  let count = Math.floor((elapsedMs * rate) / 1000) + 1;
  // Floating point may put the boundary one off either way: settle it with the same formula dueAtMs uses.
  while (count > 0 && dueAtMs(count - 1, rate) > elapsedMs) count--;
  while (dueAtMs(count, rate) <= elapsedMs) count++;
  return Math.min(total, count);
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/**
 * Nearest-rank percentile of an ascending-sorted array (0 when empty). The rank is rounded up with a tolerance, so a
 * rank that is whole in decimal (p99.9 of 1,000 samples is the 999th) is not pushed one up by binary floating point.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Nearest-rank percentiles of latencies in ms (any order; not modified), rounded to µs. */
export function summarizeLatencies(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const at = (p: number) => round(nearestRank(sorted, p), 3);
  return {
    count: sorted.length,
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: sorted.length === 0 ? 0 : round(sorted[sorted.length - 1], 3),
    meanMs: sorted.length === 0 ? 0 : round(sum / sorted.length, 3),
  };
}

/**
 * Answers per second over the measured window: `count` answers between the first measured request's due time and the
 * last answer. Equals the target rate when the server kept up; lower when answers trailed behind the schedule.
 */
export function achievedRate(count: number, windowStartMs: number, lastAnswerMs: number): number {
  const ms = lastAnswerMs - windowStartMs;
  return ms <= 0 ? 0 : Math.round((count * 1000) / ms);
}

/** The whole machine's CPU time from the first line of /proc/stat, in clock ticks: busy (not idle, not iowait) and total. */
export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

/** Parses the aggregate `cpu  user nice system idle iowait irq softirq steal ...` line of /proc/stat. */
export function parseMachineTicks(procStat: string): MachineTicks {
  const line = procStat.split('\n', 1)[0];
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 5) throw new Error(`not the cpu line of /proc/stat: ${line.slice(0, 80)}`);
  const ticks = fields.slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = ticks[3] + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}

/** Cores kept busy between two readings `seconds` apart, at `ticksPerSecond` (USER_HZ). */
export function busyCores(before: MachineTicks, after: MachineTicks, ticksPerSecond: number, seconds: number): number {
  return seconds <= 0 ? 0 : round((after.busy - before.busy) / ticksPerSecond / seconds, 2);
}

/** Median of `values` (0 when empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A run counts as quiet when the rest of the machine kept at most this many cores busy meanwhile. A server pinned to
 * its cores cannot move away from other work landing on them, so its tail then measures that work (p99s of hundreds
 * of ms with one other core's worth of work on a 2-core box), not the server.
 */
export const QUIET_OTHER_CORES = 0.1;

/** What the summary needs of one open-loop run. */
export interface RunFigures {
  readonly latency: LatencySummary;
  readonly sendLag: LatencySummary;
  readonly achievedRps: number;
  readonly otherBusyCores: number;
}

export interface ScenarioSummary {
  /** Medians over all runs. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly sendLagP99Ms: number;
  readonly achievedRps: number;
  readonly otherBusyCores: number;
  /** The worst run's p99 and the longest latency of any run. */
  readonly worstP99Ms: number;
  readonly maxMs: number;
  /** Runs with `otherBusyCores` at most QUIET_OTHER_CORES, and the medians over them (null when there are none). */
  readonly quietRuns: number;
  readonly quietP50Ms: number | null;
  readonly quietP99Ms: number | null;
  readonly quietP999Ms: number | null;
}

/** Per-scenario figures over its runs: medians, the worst, and medians over the quiet runs. */
export function summarizeRuns(runs: readonly RunFigures[]): ScenarioSummary {
  const quiet = runs.filter((run) => run.otherBusyCores <= QUIET_OTHER_CORES);
  const quietMedian = (pick: (run: RunFigures) => number) => (quiet.length === 0 ? null : median(quiet.map(pick)));
  return {
    p50Ms: median(runs.map((run) => run.latency.p50Ms)),
    p99Ms: median(runs.map((run) => run.latency.p99Ms)),
    p999Ms: median(runs.map((run) => run.latency.p999Ms)),
    sendLagP99Ms: median(runs.map((run) => run.sendLag.p99Ms)),
    achievedRps: median(runs.map((run) => run.achievedRps)),
    otherBusyCores: median(runs.map((run) => run.otherBusyCores)),
    worstP99Ms: Math.max(0, ...runs.map((run) => run.latency.p99Ms)),
    maxMs: Math.max(0, ...runs.map((run) => run.latency.maxMs)),
    quietRuns: quiet.length,
    quietP50Ms: quietMedian((run) => run.latency.p50Ms),
    quietP99Ms: quietMedian((run) => run.latency.p99Ms),
    quietP999Ms: quietMedian((run) => run.latency.p999Ms),
  };
}
