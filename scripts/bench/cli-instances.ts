/**
 * Application instances started through the CLI as child processes (`node --import tsx cli/main.ts run ...`),
 * for the demo and the benchmarks. Each child gets its own process group (so a Ctrl-C in the terminal reaches
 * only the parent, which then stops the children in order), logs to a file, and is only ever signalled by its
 * own PID. A process 'exit' hook SIGKILLs children still alive if the parent dies abruptly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { WORKER_NODE_FLAGS } from './worker-flags.js';

export interface CliInstanceOptions {
  readonly name: string;
  /** Topology module, relative to the repository root or absolute. */
  readonly module: string;
  readonly brokers: string;
  readonly applicationId: string;
  readonly stateDir: string;
  readonly port: number;
  readonly logFile: string;
  /** More `run` flags, e.g. ['--commit-interval-ms', '200']. */
  readonly extraArgs?: readonly string[];
  /** Extra environment for the child (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>;
}

const live = new Set<CliInstance>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of live) instance.killNow();
  });
}

export class CliInstance {
  readonly name: string;
  readonly url: string;
  readonly logFile: string;
  readonly stateDir: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(child: ChildProcess, options: CliInstanceOptions) {
    this.child = child;
    this.name = options.name;
    this.url = `http://127.0.0.1:${options.port}`;
    this.logFile = options.logFile;
    this.stateDir = options.stateDir;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitState = { code, signal };
        live.delete(this);
        resolve(this.exitState);
      });
    });
  }

  static start(options: CliInstanceOptions): CliInstance {
    installExitHook();
    mkdirSync(dirname(options.logFile), { recursive: true });
    const fd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          ...WORKER_NODE_FLAGS,
          '--import',
          'tsx',
          'cli/main.ts',
          'run',
          options.module,
          '--brokers',
          options.brokers,
          '--application-id',
          options.applicationId,
          '--state-dir',
          options.stateDir,
          '--port',
          String(options.port),
          '--instance-id',
          options.name,
          '--log-format',
          'json',
          ...(options.extraArgs ?? []),
        ],
        { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } },
      );
    } finally {
      closeSync(fd);
    }
    const instance = new CliInstance(child, options);
    live.add(instance);
    return instance;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Peak resident set size so far (Linux /proc VmHWM), in MiB; undefined elsewhere or after exit. */
  peakRssMb(): number | undefined {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Math.round(Number(match[1]) / 1024) : undefined;
    } catch {
      return undefined;
    }
  }

  get running(): boolean {
    return this.exitState === undefined;
  }

  /** Polls GET /ready until 200; throws with the log tail when the child exits or the time is up. */
  async waitUntilReady(timeoutMs: number): Promise<number> {
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `${this.name} exited (code ${this.exitState?.code}, signal ${this.exitState?.signal}) before it was ready. Log ${this.logFile}:\n${this.logTail()}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms. Log ${this.logFile}:\n${this.logTail()}`);
  }

  /** SIGTERM (the CLI stops gracefully), SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous SIGKILL (exit hooks, a second Ctrl-C). */
  killNow(): void {
    this.signal('SIGKILL');
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, then released: a tiny race until used). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
