/**
 * Load check for the interactive-query server, loopback only, no Kafka. The client runs on a worker thread
 * (request-worker.ts), so each scenario reports the servers' own CPU per request (the process's CPU minus the client
 * thread's) next to the rate and latencies the client saw.
 *
 * Scenarios:
 *   helloWorld  the yardstick: a bare fastify route answering one small JSON object per GET
 *   local       point lookups of a partitioned store held on LevelDB, values stored the way restoring a
 *               `Serdes.json()` table stores them (the record's JSON text), one instance holding every partition
 *   global      the same over a global store (one LevelDB)
 *   forwarded   lookups sent to an instance that does not hold the key (in-memory stores, two instances: one hop)
 *   scan100     100-entry pages merged from both in-memory instances
 * Each of helloWorld, local and global runs twice: at saturation (`concurrency` requests in flight) and then paced
 * at half the rate it reached (`paced`, request-loop.ts `runPacedLoop`). `vsHelloWorld` gives the ratios the
 * goal is stated in: lookups' rate and CPU per request against the hello-world route's.
 *
 *   npx tsx scripts/bench/http-load.ts [--keys 10000] [--requests 20000] [--concurrency 16] [--paced-seconds 10]
 *
 * Client and servers share the machine's cores, so rates are a floor for a real deployment; CPU per request is the
 * figure to compare changes with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { defaultPartition } from '../../common/partitioner.js';
import { createQueryServer, type QueryServer } from '../../http-query/server.js';
import { FakeClusterData, FakeQuerySource } from '../../http-query/testing/fake-query-source.js';
import { LocalStoresSource } from '../../http-query/testing/local-stores-source.js';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
import { JsonText } from '../../state-store/value-codec.js';
import type { PacedLoopResult, RequestLoopResult } from './request-loop.js';
import type { RequestJob, RequestJobResult } from './request-worker.js';
import { round } from './stats.js';

export interface HttpLoadOptions {
  readonly keys?: number;
  /** Measured requests per saturated scenario (after a warm-up of a fifth of that). */
  readonly requests?: number;
  readonly concurrency?: number;
  readonly partitions?: number;
  /** Hard stop per scenario, whatever the request count. */
  readonly maxSecondsPerScenario?: number;
  /** Length of each paced run. */
  readonly pacedSeconds?: number;
}

export interface ScenarioResult extends RequestLoopResult {
  /**
   * The servers' CPU (user + system of the process minus the client thread's) per request: unlike req/s it barely
   * moves when other work shares the machine, so ratios between scenarios are taken from it.
   */
  readonly cpuUsPerRequest: number;
  /** The client thread's CPU per request (undici), for reference. */
  readonly clientCpuUsPerRequest: number;
}

export type PacedScenarioResult = ScenarioResult & Pick<PacedLoopResult, 'targetRps' | 'lateSends'>;

/** A scenario at saturation, then paced at half the rate it reached. */
export interface RateScenarioResult {
  readonly saturated: ScenarioResult;
  readonly paced: PacedScenarioResult;
}

export interface HttpLoadResult {
  readonly keys: number;
  readonly concurrency: number;
  readonly helloWorld: RateScenarioResult;
  readonly local: RateScenarioResult;
  readonly global: RateScenarioResult;
  readonly forwarded: ScenarioResult;
  readonly scan100: ScenarioResult;
  /** Lookups against the hello-world route: saturated rates (lookup ÷ hello) and server CPU per request (hello ÷ lookup). */
  readonly vsHelloWorld: {
    readonly localRate: number;
    readonly globalRate: number;
    readonly localCpu: number;
    readonly globalCpu: number;
  };
}

const STORE = 'counts';
const LEVEL_STORE = 'customers';
const LEVEL_GLOBAL_STORE = 'customers-global';

/** Sends jobs to the client thread, one at a time. */
class LoadClient {
  private readonly worker = new Worker(new URL('./request-worker.ts', import.meta.url));

  run(job: RequestJob): Promise<RequestJobResult> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.worker.once('error', onError);
      this.worker.once('message', (message: RequestJobResult) => {
        this.worker.off('error', onError);
        resolve(message);
      });
      this.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.worker.terminate();
  }
}

async function measured(client: LoadClient, job: RequestJob): Promise<ScenarioResult> {
  const before = process.cpuUsage();
  const { result, clientCpuUs } = await client.run(job);
  const used = process.cpuUsage(before);
  const perRequest = (us: number) => (result.requests > 0 ? round(us / result.requests, 1) : 0);
  return {
    ...result,
    cpuUsPerRequest: perRequest(Math.max(0, used.user + used.system - clientCpuUs)),
    clientCpuUsPerRequest: perRequest(clientCpuUs),
  };
}

/** The customer values of the load: `{ id, name, balance }`, as the JSON text a producer would have sent. */
function customerJson(i: number): string {
  return JSON.stringify({ id: i, name: `Customer ${i}`, balance: (i * 37) % 100_000 });
}

async function openLevelStores(dir: string, keys: readonly string[], partitionCount: number) {
  const partitions = await Promise.all(
    Array.from({ length: partitionCount }, (_, p) =>
      LevelKeyValueStore.open({ location: join(dir, `p${p}`), name: LEVEL_STORE, partition: p }),
    ),
  );
  const global = await LevelKeyValueStore.open({ location: join(dir, 'global'), name: LEVEL_GLOBAL_STORE, partition: 'global' });
  const byPartition = partitions.map(() => [] as { type: 'put'; key: Buffer; value: JsonText }[]);
  const globalWrites: { type: 'put'; key: Buffer; value: JsonText }[] = [];
  keys.forEach((key, i) => {
    const bytes = Buffer.from(key, 'utf8');
    // What restoring a Serdes.json() table writes (table-decoder.ts decodeStoredTableRecord).
    const value = new JsonText(Buffer.from(customerJson(i), 'utf8'));
    byPartition[defaultPartition(bytes, partitionCount)].push({ type: 'put', key: bytes, value });
    globalWrites.push({ type: 'put', key: bytes, value });
  });
  await Promise.all(partitions.map((store, p) => store.write(byPartition[p])));
  await global.write(globalWrites);
  return { partitions, global };
}

export async function runHttpLoad(options: HttpLoadOptions = {}): Promise<HttpLoadResult> {
  const keyCount = options.keys ?? 10_000;
  const requests = options.requests ?? 20_000;
  const concurrency = options.concurrency ?? 16;
  const partitions = options.partitions ?? 8;
  const maxSeconds = options.maxSecondsPerScenario ?? 30;
  const pacedSeconds = options.pacedSeconds ?? 10;

  const data = new FakeClusterData();
  data.addStore(STORE, 'partitioned', partitions);
  const keys = Array.from({ length: keyCount }, (_, i) => `customer-${(i * 7919) % keyCount}`);
  data.load(
    STORE,
    keys.map((key, i) => [key, { id: i, name: `Customer ${i}`, balance: (i * 37) % 100_000 }] as const),
  );

  const dir = await mkdtemp(join(tmpdir(), 'tributary-http-load-'));
  const servers: QueryServer[] = [];
  const hello = Fastify({ logger: false });
  hello.get('/hello/:key', async (request) => ({ key: (request.params as { key: string }).key, value: { hello: 'world' } }));
  const client = new LoadClient();
  const level = await openLevelStores(dir, keys, partitions);
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
    const levelServer = createQueryServer({
      source: new LocalStoresSource([
        { name: LEVEL_STORE, kind: 'partitioned', partitions: level.partitions },
        { name: LEVEL_GLOBAL_STORE, kind: 'global', partitions: [level.global] },
      ]),
    });
    servers.push(levelServer);
    const levelBase = await levelServer.listen();
    const base = urls[0];
    // Partition p is owned by instance p % 2 (round robin): A owns even partitions.
    const ownedByA = (key: string) => defaultPartition(Buffer.from(key), partitions) % 2 === 0;
    const lookup = (key: string) => `${base}/stores/${STORE}/keys/${encodeURIComponent(key)}`;
    const forwardedPaths = keys.filter((key) => !ownedByA(key)).map(lookup);
    const scanPaths = keys.map((key) => `${base}/stores/${STORE}/entries?limit=100&from=${encodeURIComponent(key)}`);
    const localPaths = keys.map((key) => `${levelBase}/stores/${LEVEL_STORE}/keys/${encodeURIComponent(key)}`);
    const globalPaths = keys.map((key) => `${levelBase}/stores/${LEVEL_GLOBAL_STORE}/keys/${encodeURIComponent(key)}`);

    const helloBase = await hello.listen({ host: '127.0.0.1', port: 0 });
    const helloPaths = keys.map((key) => `${helloBase}/hello/${encodeURIComponent(key)}`);
    const scanRequests = Math.max(1, Math.floor(requests / 5));
    const saturate = (paths: readonly string[], count: number): RequestJob => ({ kind: 'saturate', paths, count, concurrency, maxSeconds });
    // Warm every code path (JIT, connection pools) before measuring anything, so scenario order does not matter.
    for (const [paths, count] of [
      [helloPaths, requests],
      [localPaths, requests],
      [globalPaths, requests],
      [forwardedPaths, requests],
      [scanPaths, scanRequests],
    ] as const) {
      await client.run(saturate(paths, Math.max(1, Math.floor(count / 5))));
    }
    const rated = async (paths: readonly string[]): Promise<RateScenarioResult> => {
      const saturated = await measured(client, saturate(paths, requests));
      const rate = Math.max(1, saturated.rps / 2);
      const paced = (await measured(client, { kind: 'paced', paths, rate, seconds: pacedSeconds })) as PacedScenarioResult;
      return { saturated, paced };
    };
    const helloWorld = await rated(helloPaths);
    const local = await rated(localPaths);
    const global = await rated(globalPaths);
    const forwarded = await measured(client, saturate(forwardedPaths, requests));
    const scan100 = await measured(client, saturate(scanPaths, scanRequests));
    const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 2) : 0);
    return {
      keys: keyCount,
      concurrency,
      helloWorld,
      local,
      global,
      forwarded,
      scan100,
      vsHelloWorld: {
        localRate: ratio(local.saturated.rps, helloWorld.saturated.rps),
        globalRate: ratio(global.saturated.rps, helloWorld.saturated.rps),
        localCpu: ratio(helloWorld.saturated.cpuUsPerRequest, local.saturated.cpuUsPerRequest),
        globalCpu: ratio(helloWorld.saturated.cpuUsPerRequest, global.saturated.cpuUsPerRequest),
      },
    };
  } finally {
    await client.close();
    await Promise.allSettled([...servers.map((server) => server.close()), hello.close()]);
    await Promise.allSettled([...level.partitions, level.global].map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
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
    pacedSeconds: numberArg(args, 'paced-seconds'),
  });
  console.log(JSON.stringify(result, null, 2));
}
