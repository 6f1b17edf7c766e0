/** The bounded HTTP load loop shared by the lookup benchmarks: fixed request count, fixed concurrency, a time cap. */
import { performance } from 'node:perf_hooks';
import { request, type Agent } from 'undici';
import { percentile, round } from './stats.js';

export interface RequestLoopResult {
  readonly requests: number;
  /** Non-200 answers and transport failures. */
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Sends `count` GETs (cycling through `paths`) from `concurrency` workers; stops early after `maxSeconds`. */
export async function runRequestLoop(
  dispatcher: Agent,
  paths: readonly string[],
  count: number,
  concurrency: number,
  maxSeconds: number,
): Promise<RequestLoopResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let done = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < deadline) {
      const path = paths[next++ % paths.length];
      const t0 = performance.now();
      try {
        const response = await request(path, { dispatcher });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies[done++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  return {
    requests: done,
    errors,
    rps: Math.round(done / seconds),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
  };
}
