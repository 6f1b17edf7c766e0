/**
 * Load check for the interactive-query server: two in-process servers (instances A and B, each owning half the
 * partitions) over an in-memory source with N keys; fixed concurrency, fixed request count, loopback only.
 * Scenarios, all sent to A: `local` (keys A owns), `forwarded` (keys B owns: one extra hop), `scan100`
 * (100-entry pages merged from both instances). `helloWorld` is the yardstick: a bare fastify server in the same
 * process answering one small JSON object per GET, so `localVsHelloWorld` (hello-world CPU per request ÷ local lookup CPU per request) says
 * what the query layer costs on top of the framework, whatever the machine is doing.
 *
 *   npx tsx scripts/bench/http-load.ts [--keys 10000] [--requests 5000] [--concurrency 16]
 *
 * Client, servers and the forwarding hop share this process (and the machine's cores), so the figures are a
 * floor for a real deployment, useful to compare changes.
 */
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Agent } from 'undici';
import { defaultPartition } from '../../common/partitioner.js';
import { createQueryServer, type QueryServer } from '../../http-query/server.js';
import { FakeClusterData, FakeQuerySource } from '../../http-query/testing/fake-query-source.js';
import { runRequestLoop, type RequestLoopResult } from './request-loop.js';

export interface HttpLoadOptions {
  readonly keys?: number;
  /** Measured requests per scenario (after a warm-up of a tenth of that). */
  readonly requests?: number;
  readonly concurrency?: number;
  readonly partitions?: number;
  /** Hard stop per scenario, whatever the request count. */
  readonly maxSecondsPerScenario?: number;
}

export interface ScenarioResult extends RequestLoopResult {
  /**
   * Process CPU (user + system) per request, client and servers together: unlike req/s it barely moves when other
   * work shares the machine, so ratios between scenarios are taken from it.
   */
  readonly cpuUsPerRequest: number;
}

async function measuredLoop(...args: Parameters<typeof runRequestLoop>): Promise<ScenarioResult> {
  const before = process.cpuUsage();
  const result = await runRequestLoop(...args);
  const used = process.cpuUsage(before);
  const cpuUsPerRequest = result.requests > 0 ? Math.round(((used.user + used.system) / result.requests) * 10) / 10 : 0;
  return { ...result, cpuUsPerRequest };
}

export interface HttpLoadResult {
  readonly keys: number;
  readonly concurrency: number;
  readonly local: ScenarioResult;
  readonly forwarded: ScenarioResult;
  readonly scan100: ScenarioResult;
  readonly helloWorld: ScenarioResult;
  /** helloWorld CPU per request ÷ local CPU per request (1 = lookups as cheap as the framework's floor). */
  readonly localVsHelloWorld: number;
}

const STORE = 'counts';

export async function runHttpLoad(options: HttpLoadOptions = {}): Promise<HttpLoadResult> {
  const keyCount = options.keys ?? 10_000;
  const requests = options.requests ?? 5_000;
  const concurrency = options.concurrency ?? 16;
  const partitions = options.partitions ?? 8;
  const maxSeconds = options.maxSecondsPerScenario ?? 30;

  const data = new FakeClusterData();
  data.addStore(STORE, 'partitioned', partitions);
  const keys = Array.from({ length: keyCount }, (_, i) => `customer-${(i * 7919) % keyCount}`);
  data.load(
    STORE,
    keys.map((key, i) => [key, { id: i, name: `Customer ${i}`, balance: (i * 37) % 100_000 }] as const),
  );

  const servers: QueryServer[] = [];
  const hello = Fastify({ logger: false });
  hello.get('/hello/:key', async (request) => ({ key: (request.params as { key: string }).key, value: { hello: 'world' } }));
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

    const helloBase = await hello.listen({ host: '127.0.0.1', port: 0 });
    const helloPaths = keys.map((key) => `${helloBase}/hello/${encodeURIComponent(key)}`);
    const scanRequests = Math.max(1, Math.floor(requests / 5));
    // Warm every code path (JIT, connection pools) before measuring anything, so scenario order does not matter.
    for (const [paths, count] of [
      [helloPaths, requests],
      [localPaths, requests],
      [forwardedPaths, requests],
      [scanPaths, scanRequests],
    ] as const) {
      await runRequestLoop(dispatcher, paths, Math.max(1, Math.floor(count / 5)), concurrency, maxSeconds);
    }
    const local = await measuredLoop(dispatcher, localPaths, requests, concurrency, maxSeconds);
    const forwarded = await measuredLoop(dispatcher, forwardedPaths, requests, concurrency, maxSeconds);
    const scan100 = await measuredLoop(dispatcher, scanPaths, scanRequests, concurrency, maxSeconds);
    const helloWorld = await measuredLoop(dispatcher, helloPaths, requests, concurrency, maxSeconds);
    const localVsHelloWorld = local.cpuUsPerRequest > 0 ? Math.round((helloWorld.cpuUsPerRequest / local.cpuUsPerRequest) * 100) / 100 : 0;
    return { keys: keyCount, concurrency, local, forwarded, scan100, helloWorld, localVsHelloWorld };
  } finally {
    await dispatcher.close();
    await Promise.allSettled([...servers.map((server) => server.close()), hello.close()]);
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
