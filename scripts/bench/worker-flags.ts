/**
 * Node flags every Tributary bench worker runs with: the ones the README recommends for production (section
 * "Memory"), so the bench measures what users run. Keep both in step.
 *
 * --max-semi-space-size=8: V8's young generation at 8 MiB semi-spaces instead of Node 24's 32 MiB. Measured with
 * `npm run bench -- --memory` in alternating runs: a global-table bootstrap peaks 26% lower (425 -> 314 MiB at
 * 250,000 customers, 471 -> 355 at 1,000,000) at the same CPU (-1%); a global join 2-12% lower at +2% CPU (mean of
 * 7 pairs, from -6% to +13% on a shared machine).
 *
 * --max-old-space-size=1024: a 1 GiB old generation, the counterpart of the Kafka Streams side's `-Xmx1g`. Below
 * 2 GiB V8 also lowers how far it lets the heap grow past what survived a full GC (the growing factor, up to 4x, is
 * scaled down with the cap: ~1.6x at 1 GiB), which is where a join's peak went. Alternating runs of the global join
 * (500,000 customers and orders, `npm run bench -- --memory`, 2 x 3 rounds): peak RSS 293 -> 240 and 289 -> 217 MiB
 * (medians) at +11% and +10% CPU; co-partitioned join 364 -> 271 MiB at +23% CPU; global-table bootstrap 181 -> 165
 * MiB at the same CPU (README "Memory", *The global join's peak*).
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=1024'];

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
