/**
 * Load check for the interactive-query server, loopback only, no Kafka. Two phases.
 *
 * Saturation, in this process: the servers run here and the client on a worker thread (request-worker.ts), so each
 * scenario reports the servers' own CPU per request (the process's CPU minus the client thread's) next to the rate and
 * latencies the client saw (closed loop, `concurrency` requests in flight: its latencies are queueing at saturation).
 *   helloWorld  the yardstick: a bare fastify route answering one small JSON object per GET
 *   local       point lookups of a partitioned store held on LevelDB, values stored the way restoring a
 *               `Serdes.json()` table stores them (the record's JSON text), one instance holding every partition
 *   global      the same over a global store (one LevelDB)
 *   forwarded   lookups sent to an instance that does not hold the key (in-memory stores, two instances: one hop)
 *   scan100     100-entry pages merged from both in-memory instances
 * `vsHelloWorld` gives the ratios the goal is stated in: lookups' rate and CPU per request against the hello-world
 * route's.
 *
 * Open loop (`openLoop`, http-open-loop.ts): hello world and local and global lookups served by a separate process run
 * as in production, hello world's maximum rate R found there, then each scenario driven at R/2 by an open-loop client
 * process with latency taken from each request's due time: p50/p90/p99/p99.9/max at a fixed rate. By default the server
 * process runs on half the cores and the load on the other half (`--open-loop-pinning none`: unpinned).
 *
 *   npx tsx scripts/bench/http-load.ts [--keys 10000] [--requests 20000] [--concurrency 16] [--scenarios a,b]
 *     [--open-loop-seconds 10] [--open-loop-rounds 1] [--open-loop-connections 64] [--server-node-flags "--trace-gc"]
 *     [--open-loop-pinning split|none] [--open-loop-client-timer spin|timeout] [--code-root <checkout>]
 *
 * `--scenarios` runs only those saturated (the others are absent from the JSON; `vsHelloWorld` needs helloWorld),
 * `--open-loop-seconds 0` skips the open-loop phase, and `--code-root` serves the lookups with another checkout's
 * query server and stores (same harness, same clients, same hello-world route): scripts/bench/http-ab-bench.ts
 * alternates runs of two checkouts that way.
 *
 * Client and servers share the machine's cores, so rates are a floor for a real deployment; CPU per request is the
 * figure to compare changes with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Fastify, { type FastifyInstance } from 'fastify';
import { defaultPartition } from '../../common/partitioner.js';
import type { QueryServer } from '../../http-query/server.js';
import { benchKeys, LEVEL_GLOBAL_STORE, LEVEL_STORE, runOpenLoopPhase, type OpenLoopPhaseResult } from './http-open-loop.js';
import type { RequestLoopResult } from './request-loop.js';
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
  /** Measured seconds of each open-loop run; 0 skips the open-loop phase. */
  readonly openLoopSeconds?: number;
  readonly openLoopRounds?: number;
  readonly openLoopConnections?: number;
  /** Extra Node flags for the open-loop phase's server process. */
  readonly serverNodeFlags?: readonly string[];
  /** The open-loop phase's placement: server and load on different cores (`split`, default) or `none`. */
  readonly openLoopPinning?: 'split' | 'none';
  /** How the open-loop client waits for due times (default: `spin` when pinned, else `timeout`). */
  readonly openLoopClientTimer?: 'spin' | 'timeout';
  /** Scenarios to run; default all. */
  readonly scenarios?: readonly ScenarioName[];
  /** Checkout whose query server, sources and stores answer the lookups; default this one. */
  readonly codeRoot?: string;
}

export const SCENARIOS = ['helloWorld', 'local', 'global', 'forwarded', 'scan100'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioResult extends RequestLoopResult {
  /**
   * The servers' CPU (user + system of the process minus the client thread's) per request: unlike req/s it barely
   * moves when other work shares the machine, so ratios between scenarios are taken from it.
   */
  readonly cpuUsPerRequest: number;
  /** The client thread's CPU per request (undici), for reference. */
  readonly clientCpuUsPerRequest: number;
}

/** A scenario at saturation. */
export interface RateScenarioResult {
  readonly saturated: ScenarioResult;
}

/** The result of a run of some scenarios (`HttpLoadOptions.scenarios`). */
export type PartialHttpLoadResult = Partial<HttpLoadResult> & Pick<HttpLoadResult, 'keys' | 'concurrency'>;

export interface HttpLoadResult {
  readonly keys: number;
  readonly concurrency: number;
  readonly helloWorld: RateScenarioResult;
  readonly local: RateScenarioResult;
  readonly global: RateScenarioResult;
  readonly forwarded: ScenarioResult;
  readonly scan100: ScenarioResult;
  /** Latency at half hello world's maximum rate, open loop, servers in a process of their own. */
  readonly openLoop: OpenLoopPhaseResult;
  /** Lookups against the hello-world route: saturated rates (lookup ÷ hello) and server CPU per request (hello ÷ lookup). */
  readonly vsHelloWorld: {
    readonly localRate: number;
    readonly globalRate: number;
    readonly localCpu: number;
    readonly globalCpu: number;
  };
}

const STORE = 'counts';

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

type LevelStore = Awaited<ReturnType<ServerCode['LevelKeyValueStore']['open']>>;

export interface LevelStores {
  readonly partitions: readonly LevelStore[];
  readonly global: LevelStore;
}

type ServerModule = typeof import('../../http-query/server.js');
type FakeSourceModule = typeof import('../../http-query/testing/fake-query-source.js');
type LocalSourceModule = typeof import('../../http-query/testing/local-stores-source.js');
type LevelStoreModule = typeof import('../../state-store/level-store.js');
type ValueCodecModule = typeof import('../../state-store/value-codec.js');

/** The server-side code under test, from this checkout or another one (`codeRoot`). */
export interface ServerCode {
  readonly createQueryServer: ServerModule['createQueryServer'];
  readonly FakeClusterData: FakeSourceModule['FakeClusterData'];
  readonly FakeQuerySource: FakeSourceModule['FakeQuerySource'];
  readonly LocalStoresSource: LocalSourceModule['LocalStoresSource'];
  readonly LevelKeyValueStore: LevelStoreModule['LevelKeyValueStore'];
  readonly JsonText: ValueCodecModule['JsonText'];
}

export async function loadServerCode(codeRoot: string | undefined): Promise<ServerCode> {
  const from = (path: string) =>
    codeRoot === undefined ? new URL(`../../${path}`, import.meta.url).href : pathToFileURL(join(codeRoot, path)).href;
  const [server, fake, local, level, codec] = await Promise.all([
    import(from('http-query/server.js')) as Promise<ServerModule>,
    import(from('http-query/testing/fake-query-source.js')) as Promise<FakeSourceModule>,
    import(from('http-query/testing/local-stores-source.js')) as Promise<LocalSourceModule>,
    import(from('state-store/level-store.js')) as Promise<LevelStoreModule>,
    import(from('state-store/value-codec.js')) as Promise<ValueCodecModule>,
  ]);
  return {
    createQueryServer: server.createQueryServer,
    FakeClusterData: fake.FakeClusterData,
    FakeQuerySource: fake.FakeQuerySource,
    LocalStoresSource: local.LocalStoresSource,
    LevelKeyValueStore: level.LevelKeyValueStore,
    JsonText: codec.JsonText,
  };
}

/** Opens the stores of the LevelDB scenarios: `partitionCount` partitions of LEVEL_STORE and the global LEVEL_GLOBAL_STORE. */
export async function openLevelStores(code: ServerCode, dir: string, partitionCount: number): Promise<LevelStores> {
  const partitions = await Promise.all(
    Array.from({ length: partitionCount }, (_, p) =>
      code.LevelKeyValueStore.open({ location: join(dir, `p${p}`), name: LEVEL_STORE, partition: p }),
    ),
  );
  const global = await code.LevelKeyValueStore.open({ location: join(dir, 'global'), name: LEVEL_GLOBAL_STORE, partition: 'global' });
  return { partitions, global };
}

/** Writes the customers of `keys` into both stores, each key into its partition. */
export async function writeCustomers(code: ServerCode, stores: LevelStores, keys: readonly string[]): Promise<void> {
  const { JsonText } = code;
  const byPartition = stores.partitions.map(() => [] as { type: 'put'; key: Buffer; value: InstanceType<typeof JsonText> }[]);
  const globalWrites: { type: 'put'; key: Buffer; value: InstanceType<typeof JsonText> }[] = [];
  keys.forEach((key, i) => {
    const bytes = Buffer.from(key, 'utf8');
    // What restoring a Serdes.json() table writes (table-decoder.ts decodeStoredTableRecord).
    const value = new JsonText(Buffer.from(customerJson(i), 'utf8'));
    byPartition[defaultPartition(bytes, stores.partitions.length)].push({ type: 'put', key: bytes, value });
    globalWrites.push({ type: 'put', key: bytes, value });
  });
  await Promise.all(stores.partitions.map((store, p) => store.write(byPartition[p])));
  await stores.global.write(globalWrites);
}

export async function closeLevelStores(stores: LevelStores): Promise<void> {
  await Promise.allSettled([...stores.partitions, stores.global].map((store) => store.close()));
}

/** The QueryServer answering lookups of both LevelDB stores, as one instance holding every partition would. */
export function levelQueryServer(code: ServerCode, stores: LevelStores): QueryServer {
  return code.createQueryServer({
    source: new code.LocalStoresSource([
      { name: LEVEL_STORE, kind: 'partitioned', partitions: stores.partitions },
      { name: LEVEL_GLOBAL_STORE, kind: 'global', partitions: [stores.global] },
    ]),
  });
}

/** The yardstick: a bare fastify route answering one small JSON object per GET. */
export function helloWorldApp(): FastifyInstance {
  const hello = Fastify({ logger: false });
  hello.get('/hello/:key', async (request) => ({ key: (request.params as { key: string }).key, value: { hello: 'world' } }));
  return hello;
}

/** Every scenario saturated, then the open-loop phase: the figures `npm run bench` reports. */
export async function runHttpLoad(options: Omit<HttpLoadOptions, 'scenarios'> = {}): Promise<HttpLoadResult> {
  const result = await runHttpScenarios({ ...options, openLoopSeconds: options.openLoopSeconds ?? 10, scenarios: SCENARIOS });
  const { helloWorld, local, global, forwarded, scan100, vsHelloWorld, openLoop } = result;
  if (!helloWorld || !local || !global || !forwarded || !scan100 || !vsHelloWorld || !openLoop) {
    throw new Error('http-load: a scenario produced no result');
  }
  return { ...result, helloWorld, local, global, forwarded, scan100, vsHelloWorld, openLoop };
}

export async function runHttpScenarios(options: HttpLoadOptions = {}): Promise<PartialHttpLoadResult> {
  const keyCount = options.keys ?? 10_000;
  const requests = options.requests ?? 20_000;
  const concurrency = options.concurrency ?? 16;
  const partitions = options.partitions ?? 8;
  const maxSeconds = options.maxSecondsPerScenario ?? 30;
  const openLoopSeconds = options.openLoopSeconds ?? 10;
  const wanted = new Set<ScenarioName>(options.scenarios ?? SCENARIOS);
  const code = await loadServerCode(options.codeRoot);

  const data = new code.FakeClusterData();
  data.addStore(STORE, 'partitioned', partitions);
  const keys = benchKeys(keyCount);
  data.load(
    STORE,
    keys.map((key, i) => [key, { id: i, name: `Customer ${i}`, balance: (i * 37) % 100_000 }] as const),
  );

  const dir = await mkdtemp(join(tmpdir(), 'tributary-http-load-'));
  const servers: QueryServer[] = [];
  const hello = helloWorldApp();
  const client = new LoadClient();
  const level = await openLevelStores(code, dir, partitions);
  try {
    await writeCustomers(code, level, keys);
    const sources = ['A', 'B'].map((id) => {
      const source = new code.FakeQuerySource(data, id);
      source.assignRoundRobin(['A', 'B']);
      return source;
    });
    const urls: string[] = [];
    for (const source of sources) {
      const server = code.createQueryServer({ source });
      servers.push(server);
      urls.push(await server.listen());
    }
    for (const source of sources) {
      source.urls.set('A', urls[0]);
      source.urls.set('B', urls[1]);
    }
    const levelServer = levelQueryServer(code, level);
    servers.push(levelServer);
    const levelBase = await levelServer.listen();
    const base = urls[0];
    // Partition p is owned by instance p % 2 (round robin): A owns even partitions.
    const ownedByA = (key: string) => defaultPartition(Buffer.from(key), partitions) % 2 === 0;
    const lookup = (key: string) => `${base}/stores/${STORE}/keys/${encodeURIComponent(key)}`;
    const helloBase = await hello.listen({ host: '127.0.0.1', port: 0 });
    const scanRequests = Math.max(1, Math.floor(requests / 5));
    const paths: Record<ScenarioName, readonly string[]> = {
      helloWorld: keys.map((key) => `${helloBase}/hello/${encodeURIComponent(key)}`),
      local: keys.map((key) => `${levelBase}/stores/${LEVEL_STORE}/keys/${encodeURIComponent(key)}`),
      global: keys.map((key) => `${levelBase}/stores/${LEVEL_GLOBAL_STORE}/keys/${encodeURIComponent(key)}`),
      forwarded: keys.filter((key) => !ownedByA(key)).map(lookup),
      scan100: keys.map((key) => `${base}/stores/${STORE}/entries?limit=100&from=${encodeURIComponent(key)}`),
    };
    const counts: Record<ScenarioName, number> = {
      helloWorld: requests,
      local: requests,
      global: requests,
      forwarded: requests,
      scan100: scanRequests,
    };
    const saturate = (name: ScenarioName, count = counts[name]): RequestJob => ({
      kind: 'saturate',
      paths: paths[name],
      count,
      concurrency,
      maxSeconds,
    });
    const selected = SCENARIOS.filter((name) => wanted.has(name));
    // Warm every code path (JIT, connection pools) before measuring anything, so scenario order does not matter.
    for (const name of selected) {
      await client.run(saturate(name, Math.max(1, Math.floor(counts[name] / 5))));
    }
    const rated = async (name: ScenarioName): Promise<RateScenarioResult | undefined> => {
      if (!wanted.has(name)) return undefined;
      return { saturated: await measured(client, saturate(name)) };
    };
    const helloWorld = await rated('helloWorld');
    const local = await rated('local');
    const global = await rated('global');
    const forwarded = wanted.has('forwarded') ? await measured(client, saturate('forwarded')) : undefined;
    const scan100 = wanted.has('scan100') ? await measured(client, saturate('scan100')) : undefined;
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : 0);
    const vsHelloWorld =
      helloWorld === undefined
        ? undefined
        : {
            localRate: ratio(local?.saturated.rps, helloWorld.saturated.rps),
            globalRate: ratio(global?.saturated.rps, helloWorld.saturated.rps),
            localCpu: ratio(helloWorld.saturated.cpuUsPerRequest, local?.saturated.cpuUsPerRequest),
            globalCpu: ratio(helloWorld.saturated.cpuUsPerRequest, global?.saturated.cpuUsPerRequest),
          };
    const openLoop =
      openLoopSeconds === 0
        ? undefined
        : await runOpenLoopPhase(
            {
              keys: keyCount,
              partitions,
              seconds: openLoopSeconds,
              rounds: options.openLoopRounds,
              connections: options.openLoopConnections,
              saturateRequests: requests,
              serverNodeFlags: options.serverNodeFlags,
              codeRoot: options.codeRoot,
              pinning: options.openLoopPinning,
              clientTimer: options.openLoopClientTimer,
            },
            async (urls, count) => (await client.run({ kind: 'saturate', paths: urls, count, concurrency, maxSeconds })).result.rps,
          );
    return { keys: keyCount, concurrency, helloWorld, local, global, forwarded, scan100, vsHelloWorld, openLoop };
  } finally {
    await client.close();
    await Promise.allSettled([...servers.map((server) => server.close()), hello.close()]);
    await closeLevelStores(level);
    await rm(dir, { recursive: true, force: true });
  }
}

function numberArg(args: readonly string[], name: string, min = 1): number | undefined {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} needs an integer of at least ${min}`);
  return value;
}

function stringArg(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

function scenariosArg(text: string | undefined): ScenarioName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').filter((name) => name !== '');
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--scenarios: unknown "${name}"; known: ${SCENARIOS.join(', ')}`);
  }
  return names as ScenarioName[];
}

function choiceArg<T extends string>(text: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (text === undefined || (choices as readonly string[]).includes(text)) return text as T | undefined;
  throw new Error(`--${name}: "${text}"; known: ${choices.join(', ')}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const result = await runHttpScenarios({
    keys: numberArg(args, 'keys'),
    requests: numberArg(args, 'requests'),
    concurrency: numberArg(args, 'concurrency'),
    openLoopSeconds: numberArg(args, 'open-loop-seconds', 0),
    openLoopRounds: numberArg(args, 'open-loop-rounds'),
    openLoopConnections: numberArg(args, 'open-loop-connections'),
    serverNodeFlags: stringArg(args, 'server-node-flags')
      ?.split(' ')
      .filter((flag) => flag !== ''),
    scenarios: scenariosArg(stringArg(args, 'scenarios')),
    openLoopPinning: choiceArg(stringArg(args, 'open-loop-pinning'), 'open-loop-pinning', ['split', 'none'] as const),
    openLoopClientTimer: choiceArg(stringArg(args, 'open-loop-client-timer'), 'open-loop-client-timer', ['spin', 'timeout'] as const),
    codeRoot: stringArg(args, 'code-root'),
  });
  console.log(JSON.stringify(result, null, 2));
}
