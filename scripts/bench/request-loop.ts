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

export interface PacedLoopResult extends RequestLoopResult {
  /** Requests per second asked for. */
  readonly targetRps: number;
  readonly lateSends: number;
}

/**
 * Open-loop load at a fixed rate: request i is due at `i / rate` seconds and goes out then (timer ticks of ~1 ms send
 * what is due), whether or not earlier answers came back, so a server falling behind queues requests and shows in the
 * latencies (measured from sending, so the tick's own jitter is not counted). At most `maxInFlight` requests are
 * outstanding; `lateSends` counts requests that went out more than 5 ms after they were due (the client could not
 * keep up: the figures then understate the latency).
 */
export async function runPacedLoop(
  dispatcher: Agent,
  paths: readonly string[],
  rate: number,
  seconds: number,
  maxInFlight = 256,
): Promise<PacedLoopResult> {
  const count = Math.max(1, Math.floor(rate * seconds));
  const latencies = new Float64Array(count);
  let done = 0;
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  let lateSends = 0;
  const started = performance.now();
  const intervalMs = 1000 / rate;
  const one = async (index: number): Promise<void> => {
    const t0 = performance.now();
    if (t0 - (started + index * intervalMs) > 5) lateSends++;
    inFlight++;
    try {
      const response = await request(paths[index % paths.length], { dispatcher });
      await response.body.arrayBuffer();
      if (response.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    inFlight--;
    latencies[done++] = performance.now() - t0;
  };
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const dueNow = Math.min(count, Math.floor((performance.now() - started) / intervalMs) + 1);
      while (sent < dueNow && inFlight < maxInFlight) pending.push(one(sent++));
      if (sent >= count) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  return {
    requests: done,
    errors,
    rps: Math.round(done / elapsed),
    targetRps: Math.round(rate),
    lateSends,
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
  };
}
