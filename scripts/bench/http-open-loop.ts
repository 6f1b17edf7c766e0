/**
 * Latency at a fixed rate, the way the goal "p99 <= 2 ms at half the hello-world rate" is stated: three processes,
 * none of which shares an event loop, heap or GC with another.
 *
 *   server   http-serve.ts, started with the production Node flags (worker-flags.ts): the hello-world route and the
 *            real QueryServer over LevelDB stores (partitioned `local`, and `global`)
 *   R        hello world's maximum rate: closed-loop at saturation (`concurrency` in flight) from the harness's client
 *            thread (http-load.ts); local and global lookups are saturated the same way, for their rate ratios
 *   client   http-open-loop-client.ts, one process per run: hello world, local and global lookups each driven at R/2
 *            requests per second, open loop, latency from each request's due time
 *
 * Each round runs the three scenarios, the order reversed every other round (ABC CBA) so drift on a shared machine
 * does not always land on the same one.
 *
 * Pinning (`pinning`, default `split`; cpu-pinning.ts): the server process runs on the first half of the cores, the
 * load on the rest (each client process, and the harness's saturating thread while it finds R), so the client's CPU
 * and lag are not taken from the server; the client then waits for due times by spinning (`timer: 'spin'`), not on
 * 1 ms timers. `none` runs everything where the OS puts it, clients on timers, as before. The JSON says which ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OpenLoopJob, OpenLoopResult } from './http-open-loop-client.js';
import { lowerOwnPriority, planPinning, pinnedCommand, pinProcess, type CpuSplit, type Pinning } from './cpu-pinning.js';
import type { ClientTimer } from './http-open-loop-client.js';
import { busyCores, parseMachineTicks, summarizeRuns, type ScenarioSummary } from './http-open-loop-math.js';
import { clockTicksPerSecond, parseMajorFaults, readProcUsage, readThreadCpu } from './proc-usage.js';
import { WORKER_NODE_FLAGS } from './worker-flags.js';

export const OPEN_LOOP_SCENARIOS = ['helloWorld', 'local', 'global'] as const;
export type OpenLoopScenario = (typeof OPEN_LOOP_SCENARIOS)[number];

export const LEVEL_STORE = 'customers';
export const LEVEL_GLOBAL_STORE = 'customers-global';

/** The keys of the load: `customer-<n>` for n < count, in a scattered order. */
export function benchKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `customer-${(i * 7919) % count}`);
}

/** Request paths of the hello-world route and of the lookups over LevelDB, one per key. */
export function levelPaths(keys: readonly string[]): Record<OpenLoopScenario, string[]> {
  return {
    helloWorld: keys.map((key) => `/hello/${encodeURIComponent(key)}`),
    local: keys.map((key) => `/stores/${LEVEL_STORE}/keys/${encodeURIComponent(key)}`),
    global: keys.map((key) => `/stores/${LEVEL_GLOBAL_STORE}/keys/${encodeURIComponent(key)}`),
  };
}

/** What http-serve.ts prints once it listens: the origins of the hello-world route and of the query server. */
export interface ServeOrigins {
  readonly helloWorld: string;
  readonly lookups: string;
}

export interface OpenLoopOptions {
  readonly keys: number;
  readonly partitions: number;
  /** Measured seconds per open-loop run (after `warmupSeconds`). */
  readonly seconds: number;
  readonly warmupSeconds?: number;
  readonly rounds?: number;
  /** Keep-alive connections of the open-loop client (default 64). */
  readonly connections?: number;
  /** Requests per saturated run that finds R (after a warm-up of a fifth of that). */
  readonly saturateRequests: number;
  /** Extra Node flags for the server process (e.g. `--cpu-prof`, `--trace-gc`). */
  readonly serverNodeFlags?: readonly string[];
  readonly codeRoot?: string;
  /** `split` (default): server and load on different cores (see the header); `none`: unpinned. */
  readonly pinning?: 'split' | 'none';
  /** How the client waits for due times; default `spin` when pinned, `timeout` unpinned. */
  readonly clientTimer?: ClientTimer;
}

/** One open-loop run, with what else the machine did meanwhile (other helpers, builds): p99s drift with it. */
export interface OpenLoopRun extends OpenLoopResult {
  /** The server process's CPU (user + system) per measured request, µs (warm-up included, so slightly high). */
  readonly serverCpuUsPerRequest: number;
  /** Cores the whole machine kept busy during the run (/proc/stat), and those left after the server and client. */
  readonly machineBusyCores: number;
  readonly otherBusyCores: number;
  /**
   * The server's CPU over the run per thread group (node's main thread, V8's GC and compiler workers, libuv's pool):
   * on a server pinned to one core, the others' time is taken from the main thread.
   */
  readonly serverThreadCpuMs: Record<string, number>;
  /** Times the server's main thread was descheduled while runnable (another thread or process took its core). */
  readonly serverMainPreempted: number;
  /** The server's major page faults over the run: each one blocks the faulting thread on a read from disk. */
  readonly serverMajorFaults: number;
}

/** A closed-loop run at saturation over full URLs; answers requests per second. */
export type Saturate = (urls: readonly string[], count: number) => Promise<number>;

export interface OpenLoopPhaseResult {
  /** Saturated (closed-loop) rates against the server process; `helloWorld` is R. */
  readonly saturatedRps: Record<OpenLoopScenario, number>;
  /** R/2: the rate of every open-loop run. */
  readonly rateRps: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly serverNodeFlags: readonly string[];
  /** Where the server and the load ran; `none` when unpinned (asked for, no taskset, or one core). */
  readonly pinning: Pinning;
  /** How the open-loop client waited for due times: `spin` when pinned, `timeout` (1 ms timers) otherwise. */
  readonly clientTimer: ClientTimer;
  /** Every run, in its round's order. */
  readonly runs: Record<OpenLoopScenario, OpenLoopRun[]>;
  /**
   * Per scenario, medians over rounds (p50, p99, p99.9, send lag p99, achieved rate, other work), the worst p99 and
   * max, and medians over the quiet runs (http-open-loop-math.ts summarizeRuns).
   */
  readonly summary: Record<OpenLoopScenario, ScenarioSummary>;
}

const SERVE_SCRIPT = fileURLToPath(new URL('./http-serve.ts', import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL('./http-open-loop-client.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function runOpenLoopPhase(options: OpenLoopOptions, saturate: Saturate): Promise<OpenLoopPhaseResult> {
  const warmupSeconds = options.warmupSeconds ?? 2;
  const rounds = options.rounds ?? 1;
  const connections = options.connections ?? 64;
  const serverNodeFlags = [...WORKER_NODE_FLAGS, ...(options.serverNodeFlags ?? [])];
  const paths = levelPaths(benchKeys(options.keys));
  const { pinning, split } = planPinning(options.pinning ?? 'split');
  const clientTimer: ClientTimer = options.clientTimer ?? (split === undefined ? 'timeout' : 'spin');
  const server = await startServer(serverNodeFlags, options, split);
  let unpinHarness = (): void => undefined;
  let restorePriority = (): void => undefined;
  try {
    // The saturating client is this process's worker thread: on the load's cores while it finds R.
    if (split !== undefined) unpinHarness = pinProcess(process.pid, split.client);
    const originOf = (name: OpenLoopScenario) => (name === 'helloWorld' ? server.origins.helloWorld : server.origins.lookups);
    const urls = (name: OpenLoopScenario) => paths[name].map((path) => `${originOf(name)}${path}`);
    for (const name of OPEN_LOOP_SCENARIOS) await saturate(urls(name), Math.max(1, Math.floor(options.saturateRequests / 5)));
    const saturatedRps = {} as Record<OpenLoopScenario, number>;
    for (const name of OPEN_LOOP_SCENARIOS) saturatedRps[name] = await saturate(urls(name), options.saturateRequests);
    const rateRps = Math.max(1, Math.round(saturatedRps.helloWorld / 2));
    // From here this process only waits for each client, on the client's core when pinned: its own GC must not take
    // that core from the client (in perf sched, a mark-compact here stopped the client for ~20 ms in later runs).
    if (split !== undefined) restorePriority = lowerOwnPriority('helpers');
    const runs: Record<OpenLoopScenario, OpenLoopRun[]> = { helloWorld: [], local: [], global: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? OPEN_LOOP_SCENARIOS : [...OPEN_LOOP_SCENARIOS].reverse();
      for (const name of order) {
        const job = {
          origin: originOf(name),
          paths: paths[name],
          rate: rateRps,
          seconds: options.seconds,
          warmupSeconds,
          connections,
          timer: clientTimer,
        };
        // Marks where each run starts among the server's forwarded lines (e.g. --trace-gc).
        process.stderr.write(`[open-loop] ${name} at ${rateRps} req/s, round ${round + 1}\n`);
        runs[name].push(await measuredRun(server.pid, job, split));
      }
    }
    return {
      saturatedRps,
      rateRps,
      seconds: options.seconds,
      warmupSeconds,
      connections,
      serverNodeFlags,
      pinning,
      clientTimer,
      runs,
      summary: summarize(runs),
    };
  } finally {
    restorePriority();
    unpinHarness();
    await server.stop();
  }
}

function summarize(runs: Record<OpenLoopScenario, OpenLoopRun[]>): OpenLoopPhaseResult['summary'] {
  return { helloWorld: summarizeRuns(runs.helloWorld), local: summarizeRuns(runs.local), global: summarizeRuns(runs.global) };
}

/** `runClient` with the server's CPU and the machine's busy cores over the run. */
async function measuredRun(serverPid: number, job: OpenLoopJob, split: CpuSplit | undefined): Promise<OpenLoopRun> {
  const machine = () => parseMachineTicks(readFileSync('/proc/stat', 'utf8'));
  const serverBefore = readProcUsage(serverPid).cpuMs;
  const threadsBefore = readThreadCpu(serverPid);
  const preemptedBefore = mainThreadPreemptions(serverPid);
  const faultsBefore = majorFaults(serverPid);
  const machineBefore = machine();
  const started = performance.now();
  const result = await runClient(job, split);
  const seconds = (performance.now() - started) / 1000;
  const machineCores = busyCores(machineBefore, machine(), clockTicksPerSecond(), seconds);
  const serverCpuMs = readProcUsage(serverPid).cpuMs - serverBefore;
  const serverMainPreempted = mainThreadPreemptions(serverPid) - preemptedBefore;
  const serverMajorFaults = majorFaults(serverPid) - faultsBefore;
  const serverThreadCpuMs: Record<string, number> = {};
  for (const { group, cpuMs } of readThreadCpu(serverPid)) {
    const delta = cpuMs - (threadsBefore.find((before) => before.group === group)?.cpuMs ?? 0);
    if (delta > 0) serverThreadCpuMs[group] = delta;
  }
  const ownCores = (serverCpuMs + result.clientCpuMs) / 1000 / seconds;
  return {
    ...result,
    serverCpuUsPerRequest: Math.round((serverCpuMs * 1000) / (job.rate * (job.seconds + (job.warmupSeconds ?? 0)))),
    machineBusyCores: machineCores,
    otherBusyCores: Math.max(0, Math.round((machineCores - ownCores) * 100) / 100),
    serverThreadCpuMs,
    serverMainPreempted,
    serverMajorFaults,
  };
}

const majorFaults = (pid: number): number => parseMajorFaults(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** nonvoluntary_ctxt_switches of a process's main thread (/proc/<pid>/status reports the thread-group leader's). */
function mainThreadPreemptions(pid: number): number {
  const match = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

interface ServerProcess {
  readonly pid: number;
  readonly origins: ServeOrigins;
  stop(): Promise<void>;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startServer(nodeFlags: readonly string[], options: OpenLoopOptions, split: CpuSplit | undefined): Promise<ServerProcess> {
  const args = [...nodeFlags, '--import', 'tsx', SERVE_SCRIPT, '--keys', String(options.keys), '--partitions', String(options.partitions)];
  if (options.codeRoot !== undefined) args.push('--code-root', options.codeRoot);
  const [command, commandArgs] = pinnedCommand(split?.server, process.execPath, args);
  const child = spawn(command, commandArgs, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    if (!(await exited(child, 10_000))) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
  };
  try {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    // Any other line (--trace-gc) goes to stderr, out of the way of the bench's JSON.
    const first = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line.startsWith('{"helloWorld"')) resolve(line);
        else process.stderr.write(`[http-serve] ${line}\n`);
      });
      child.once('exit', (code) => reject(new Error(`http-serve exited (code ${code}) before listening`)));
      child.once('error', reject);
    });
    return { pid: child.pid as number, origins: JSON.parse(first) as ServeOrigins, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function runClient(job: OpenLoopJob, split: CpuSplit | undefined): Promise<OpenLoopResult> {
  const [command, args] = pinnedCommand(split?.client, process.execPath, ['--import', 'tsx', CLIENT_SCRIPT]);
  const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const restorePriority = split === undefined ? () => undefined : lowerOwnPriority('mainThread');
  try {
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const code = new Promise<number | null>((resolve, reject) => {
      child.once('close', resolve);
      child.once('error', reject);
    });
    child.stdin.end(JSON.stringify(job));
    if ((await code) !== 0) throw new Error(`http-open-loop-client exited with code ${child.exitCode}`);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpenLoopResult;
  } finally {
    restorePriority();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
  }
}
