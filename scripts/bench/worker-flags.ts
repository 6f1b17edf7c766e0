/**
 * Node flags every Tributary bench worker runs with: the ones the README recommends for production (section
 * "Memory"), so the bench measures what users run. Keep both in step.
 *
 * --max-semi-space-size=8: V8's young generation at 8 MiB semi-spaces instead of Node 24's 32 MiB. Measured with
 * `npm run bench -- --memory` in alternating runs: a global-table bootstrap peaks 26% lower (425 -> 314 MiB at
 * 250,000 customers, 471 -> 355 at 1,000,000) at the same CPU (-1%); a global join 2-12% lower at +2% CPU (mean of
 * 7 pairs, from -6% to +13% on a shared machine).
 *
 * --heap-growing-percent=150: V8 lets the old generation grow to 2.5x what survived the last full GC before collecting
 * it again (by default a factor it picks from its GC speed, up to 4x). Measured with scripts/bench/join-ab-bench.ts in alternating runs (3 rounds
 * each, README "Memory", "Two instances"): peak RSS -19/-22% on the co-partitioned join on two instances, -7% on the
 * global join on two, -12% / -18/-24% on one instance's global / co-partitioned join, unchanged on a bootstrap; CPU
 * per pair from 0.85 to 1.20, median 1.01 over 21 pairs, but about +6% in every pair of the co-partitioned join on one
 * instance. Not allowed in NODE_OPTIONS: pass it to node.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=150'];

/** Environment variables every Tributary bench worker runs with, as the README recommends them for production ("Memory"). */
export const WORKER_ENV: Readonly<Record<string, string>> = {};

/** Where a `tributary-worker.ts` run reads and keeps its state: the arguments every bench passes it. */
export interface WorkerTarget {
  readonly brokers: string;
  readonly applicationId: string;
  readonly stateDir: string;
  readonly customersTopic: string;
}

/** `--brokers ... --application-id ... --state-dir ... --customers-topic ...` for scripts/bench/tributary-worker.ts. */
export function workerTargetArgs(target: WorkerTarget): string[] {
  return [
    '--brokers',
    target.brokers,
    '--application-id',
    target.applicationId,
    '--state-dir',
    target.stateDir,
    '--customers-topic',
    target.customersTopic,
  ];
}
