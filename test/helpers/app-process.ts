/**
 * Runs Tributary app fixtures (test/fixtures/*-app.ts) as child processes for integration tests.
 *
 *   const apps = new AppProcessGroup('enrichment');          // one per test file
 *   const a = await apps.start({ fixture: 'test/fixtures/enrichment-app.ts', appId, env: { TOPIC_ORDERS: ... } });
 *   await a.waitUntilReady();
 *   const processed = await a.metricSum('tributary_records_processed_total', { topic: orders });
 *   await a.stop();          // SIGTERM, SIGKILL after a grace period
 *   afterEach(({ task }) => apps.cleanup({ printLogs: task.result?.state === 'fail' }));
 *
 * Each child gets the standard env (KAFKA_BROKERS, APP_ID, STATE_DIR, HTTP_PORT, INSTANCE_ID, timeouts; see
 * test/fixtures/fixture-env.ts), a free loopback port chosen here, and its own log file in the group's temp dir.
 * Children are only ever signalled by their own PID; `cleanup()` kills whatever is still running, and a process
 * 'exit' hook SIGKILLs leftovers if the test worker dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { kafkaBrokers, waitUntil } from './kafka.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface AppProcessOptions {
  /** Fixture path, absolute or relative to the repository root. */
  readonly fixture: string;
  readonly appId: string;
  /** Name in logs and the log file name; default `<appId>-<n>`. Also the default INSTANCE_ID. */
  readonly name?: string;
  /** State directory; default a fresh one under the group's temp dir. Pass the same one to restart "in place". */
  readonly stateDir?: string;
  /** Default: a free port on 127.0.0.1. */
  readonly httpPort?: number;
  /** Default 6000 (short, so failovers in tests are quick). */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly commitIntervalMs?: number;
  /** Extra environment (topic names, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra node flags, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']` to profile the child. */
  readonly nodeArgs?: readonly string[];
}

export class AppProcess {
  readonly name: string;
  readonly url: string;
  readonly stateDir: string;
  readonly logFile: string;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(child: ChildProcess, name: string, url: string, stateDir: string, logFile: string) {
    this.child = child;
    this.name = name;
    this.url = url;
    this.stateDir = stateDir;
    this.logFile = logFile;
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolveExit();
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Exit code, or undefined while running (null when killed by a signal). */
  get code(): number | null | undefined {
    return this.exitCode;
  }

  get signal(): NodeJS.Signals | null {
    return this.exitSignal;
  }

  logs(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls GET /ready until 200; fails at once (with the log tail) if the process exits first. */
  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    let exitedEarly = false;
    const polling = waitUntil(
      async () => {
        if (!this.running) {
          exitedEarly = true;
          return true;
        }
        return (await this.request('/ready')).status === 200;
      },
      { timeoutMs, intervalMs: 200, description: `${this.name} ready at ${this.url}/ready` },
    );
    try {
      await polling;
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- ${this.name} log tail ---\n${this.tail()}`, {
        cause: error,
      });
    }
    if (exitedEarly)
      throw new Error(`${this.name} exited (code ${this.exitCode}, signal ${this.exitSignal}) before it was ready:\n${this.tail()}`);
  }

  async request(path: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
  }

  /** GET returning parsed JSON; throws on a non-2xx status. */
  async json<T>(path: string): Promise<T> {
    const { status, body } = await this.request(path);
    if (status < 200 || status >= 300) throw new Error(`${this.name} GET ${path}: ${status} ${body}`);
    return JSON.parse(body) as T;
  }

  /** All samples of /metrics: `name{label="v",...}` → value. */
  async metrics(): Promise<Map<string, number>> {
    const { status, body } = await this.request('/metrics');
    if (status !== 200) throw new Error(`${this.name} GET /metrics: ${status}`);
    return parsePrometheus(body);
  }

  /** Sum of the samples of `name` whose labels include `labels`. */
  async metricSum(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
    return sumMetric(await this.metrics(), name, labels);
  }

  /** SIGTERM (graceful stop), then SIGKILL after `graceMs`. Resolves when the process has exited. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.signalChild('SIGTERM');
    const timer = setTimeout(() => this.signalChild('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** `kill -9`: no shutdown at all. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signalChild('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process freezes (no heartbeats, no I/O) until `resume()`; a zombie once its session expired. */
  pause(): void {
    this.signalChild('SIGSTOP');
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    this.signalChild('SIGCONT');
  }

  tail(lines = 60): string {
    return this.logs().trimEnd().split('\n').slice(-lines).join('\n');
  }

  private signalChild(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }
}

const liveChildren = new Set<AppProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) {
      try {
        if (child.running) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** The child processes of one test file, their temp dir (logs, state dirs), and their cleanup. */
export class AppProcessGroup {
  readonly dir: string;
  private readonly processes: AppProcess[] = [];
  private counter = 0;

  constructor(label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `tributary-${label}-`));
  }

  /** A fresh directory inside the group's temp dir (e.g. a state dir to reuse across restarts). */
  newDir(name: string): string {
    return mkdtempSync(join(this.dir, `${name}-`));
  }

  async start(options: AppProcessOptions): Promise<AppProcess> {
    installExitHook();
    const n = ++this.counter;
    const name = options.name ?? `${options.appId}-${n}`;
    const port = options.httpPort ?? (await freePort());
    const stateDir = options.stateDir ?? this.newDir(`state-${name}`);
    const logFile = join(this.dir, `${name}.${n}.log`);
    const fixture = isAbsolute(options.fixture) ? options.fixture : join(REPO_ROOT, options.fixture);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', fixture], {
        cwd: REPO_ROOT,
        stdio: ['ignore', fd, fd],
        env: {
          ...process.env,
          KAFKA_BROKERS: kafkaBrokers(),
          APP_ID: options.appId,
          STATE_DIR: stateDir,
          HTTP_PORT: String(port),
          INSTANCE_ID: name,
          SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 6000),
          HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 500),
          ...(options.commitIntervalMs === undefined ? {} : { COMMIT_INTERVAL_MS: String(options.commitIntervalMs) }),
          ...options.env,
        },
      });
    } finally {
      closeSync(fd);
    }
    const proc = new AppProcess(child, name, `http://127.0.0.1:${port}`, stateDir, logFile);
    this.processes.push(proc);
    liveChildren.add(proc);
    void proc.exited.then(() => liveChildren.delete(proc));
    return proc;
  }

  /** Stops (SIGTERM, then SIGKILL) every child still running; prints their logs when asked (test failed). */
  async cleanup({ printLogs = false }: { printLogs?: boolean } = {}): Promise<void> {
    if (printLogs) {
      for (const proc of this.processes)
        console.log(`\n===== ${proc.name} (pid ${proc.pid}) log: ${proc.logFile} =====\n${proc.tail(200)}`);
    }
    await Promise.all(this.processes.map((proc) => proc.stop(5000)));
    this.processes.length = 0;
  }

  /** Cleanup plus removal of the temp dir (logs included); call in afterAll. */
  async dispose({ printLogs = false }: { printLogs?: boolean } = {}): Promise<void> {
    await this.cleanup({ printLogs });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export function sumMetric(samples: ReadonlyMap<string, number>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    const seriesName = brace < 0 ? series : series.slice(0, brace);
    if (seriesName !== name) continue;
    const labelText = brace < 0 ? '' : series.slice(brace);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

/** A free TCP port on 127.0.0.1 (tiny race until the child binds it; fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
