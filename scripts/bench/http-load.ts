/**
 * Load check for the interactive-query server: two in-process servers (instances A and B, each owning half the
 * partitions) over an in-memory source with N keys; fixed concurrency, fixed request count, loopback only.
 * Scenarios, all sent to A: `local` (keys A owns), `forwarded` (keys B owns: one extra hop), `scan100`
 * (100-entry pages merged from both instances).
 *
 *   npx tsx scripts/bench/http-load.ts [--keys 10000] [--requests 5000] [--concurrency 16]
 *
 * Client, servers and the forwarding hop share this process (and the machine's cores), so the figures are a
 * floor for a real deployment, useful to compare changes.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { defaultPartition } from '../../processor/partitioner.js';
import { createQueryServer, type QueryServer } from '../../http-query/server.js';
import { FakeClusterData, FakeQuerySource } from '../../http-query/testing/fake-query-source.js';

export interface HttpLoadOptions {
  readonly keys?: number;
  /** Measured requests per scenario (after a warm-up of a tenth of that). */
  readonly requests?: number;
  readonly concurrency?: number;
  readonly partitions?: number;
  /** Hard stop per scenario, whatever the request count. */
  readonly maxSecondsPerScenario?: number;
}

export interface ScenarioResult {
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface HttpLoadResult {
  readonly keys: number;
  readonly concurrency: number;
  readonly local: ScenarioResult;
  readonly forwarded: ScenarioResult;
  readonly scan100: ScenarioResult;
}

const STORE = 'counts';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runScenario(
  dispatcher: Agent,
  paths: readonly string[],
  count: number,
  concurrency: number,
  maxSeconds: number,
  measure: boolean,
): Promise<ScenarioResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let done = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const path = paths[i % paths.length];
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
  if (!measure) return { requests: done, errors, rps: 0, p50Ms: 0, p99Ms: 0 };
  const sorted = latencies.subarray(0, done).sort();
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    requests: done,
    errors,
    rps: Math.round(done / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
  };
}

export async function runHttpLoad(options: HttpLoadOptions = {}): Promise<HttpLoadResult> {
  const keyCount = options.keys ?? 10_000;
  const requests = options.requests ?? 5_000;
  const concurrency = options.concurrency ?? 16;
  const partitions = options.partitions ?? 8;
  const maxSeconds = options.maxSecondsPerScenario ?? 30;

  const data = new FakeClusterData();
  data.addStore(STORE, 'partitioned', partitions);
  const keys = Array.from({ length: keyCount }, (_, i) => `customer-${(i * 7919) % keyCount}`);
  data.load(STORE, keys.map((key, i) => [key, { id: i, name: `Customer ${i}`, balance: (i * 37) % 100_000 }] as const));

  const servers: QueryServer[] = [];
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  try {
    const sources = ['A', 'B'].map((id) => {
      const source = new FakeQuerySource(data, id);
      source.assignRoundRobin(['A', 'B']);
      return source;
    });
    const urls: string[] = [];
    for (const source of sources) {
      const server = createQueryServer({ source });
      servers.push(server);
      urls.push(await server.listen());
    }
    for (const source of sources) {
      source.urls.set('A', urls[0]);
      source.urls.set('B', urls[1]);
    }
    const base = urls[0];
    // Partition p is owned by instance p % 2 (round robin): A owns even partitions.
    const ownedByA = (key: string) => defaultPartition(Buffer.from(key), partitions) % 2 === 0;
    const lookup = (key: string) => `${base}/stores/${STORE}/keys/${encodeURIComponent(key)}`;
    const localPaths = keys.filter(ownedByA).map(lookup);
    const forwardedPaths = keys.filter((key) => !ownedByA(key)).map(lookup);
    const scanPaths = keys.map((key) => `${base}/stores/${STORE}/entries?limit=100&from=${encodeURIComponent(key)}`);

    const scanRequests = Math.max(1, Math.floor(requests / 5));
    // Warm every code path (JIT, connection pools) before measuring anything, so scenario order does not matter.
    for (const [paths, count] of [[localPaths, requests], [forwardedPaths, requests], [scanPaths, scanRequests]] as const) {
      await runScenario(dispatcher, paths, Math.max(1, Math.floor(count / 5)), concurrency, maxSeconds, false);
    }
    const local = await runScenario(dispatcher, localPaths, requests, concurrency, maxSeconds, true);
    const forwarded = await runScenario(dispatcher, forwardedPaths, requests, concurrency, maxSeconds, true);
    const scan100 = await runScenario(dispatcher, scanPaths, scanRequests, concurrency, maxSeconds, true);
    return { keys: keyCount, concurrency, local, forwarded, scan100 };
  } finally {
    await dispatcher.close();
    await Promise.allSettled(servers.map((server) => server.close()));
  }
}

function numberArg(args: readonly string[], name: string): number | undefined {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const result = await runHttpLoad({
    keys: numberArg(args, 'keys'),
    requests: numberArg(args, 'requests'),
    concurrency: numberArg(args, 'concurrency'),
  });
  console.log(JSON.stringify(result, null, 2));
}
