/**
 * A benchmark child process (the Tributary worker on Node or the Kafka Streams app on the JVM) that reports progress
 * as JSON lines on stdout ({"event":"starting"}, {"event":"ready"}, ...). Each line is stamped on arrival with this
 * process's clock and the child's CPU time and peak RSS read from /proc at that moment, so both sides are measured
 * by the same code. The child runs in its own process group, logs to a file, and is only signalled by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readProcUsage, readThreadCpu, type ProcUsage } from './proc-usage.js';

export interface ChildEvent {
  readonly event: string;
  /** performance.now() in this process when the line arrived. */
  readonly at: number;
  /** The child's CPU and peak RSS when the line arrived (undefined if /proc could not be read). */
  readonly usage: ProcUsage | undefined;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface MeasuredProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly logFile: string;
  readonly env?: Readonly<Record<string, string>>;
}

const live = new Set<MeasuredProcess>();
let exitHookInstalled = false;

export class MeasuredProcess {
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly events: ChildEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private partial = '';

  private constructor(child: ChildProcess, options: MeasuredProcessOptions) {
    this.child = child;
    this.name = options.name;
    this.logFile = options.logFile;
    child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitState = { code, signal };
        live.delete(this);
        this.wake();
        resolve(this.exitState);
      });
    });
  }

  static spawn(options: MeasuredProcessOptions): MeasuredProcess {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const child of live) child.killNow();
      });
    }
    mkdirSync(dirname(options.logFile), { recursive: true });
    const fd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        detached: true,
        stdio: ['ignore', 'pipe', fd],
        env: { ...process.env, ...options.env },
      });
    } finally {
      closeSync(fd);
    }
    const measured = new MeasuredProcess(child, options);
    live.add(measured);
    return measured;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitState === undefined;
  }

  /** CPU and peak RSS now (undefined once the process is gone). */
  usage(): ProcUsage | undefined {
    try {
      return readProcUsage(this.pid);
    } catch {
      return undefined;
    }
  }

  /** CPU per thread group since each live thread started (empty once the process is gone). */
  threadCpu(): ReturnType<typeof readThreadCpu> {
    return readThreadCpu(this.pid);
  }

  /** Events received so far (with their arrival stamps). */
  received(): readonly ChildEvent[] {
    return this.events;
  }

  /** First event named `name`; throws on a "failed" event, on exit, or after `timeoutMs`, with the log tail. */
  async waitFor(name: string, timeoutMs: number): Promise<ChildEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === name);
      if (found) return found;
      this.throwIfFailed();
      if (!this.running)
        throw new Error(`${this.name} exited (${this.describeExit()}) before "${name}". Log ${this.logFile}:\n${this.logTail()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name}: no "${name}" within ${timeoutMs} ms. Log ${this.logFile}:\n${this.logTail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** Throws when the child reported "failed" or exited; for polling loops that wait on something else. */
  throwIfFailed(): void {
    const failed = this.events.find((e) => e.event === 'failed');
    if (failed) throw new Error(`${this.name} failed: ${String(failed.fields.message)}. Log ${this.logFile}:\n${this.logTail()}`);
    if (!this.running) throw new Error(`${this.name} exited (${this.describeExit()}). Log ${this.logFile}:\n${this.logTail()}`);
  }

  /** SIGTERM (both children stop gracefully), SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

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

  private describeExit(): string {
    return `code ${this.exitState?.code}, signal ${this.exitState?.signal}`;
  }

  private onStdout(chunk: Buffer): void {
    const at = performance.now();
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (lines.length === 0) return;
    // Read /proc once per chunk, as soon as it arrives.
    const usage = this.usage();
    for (const line of lines) {
      appendFileSync(this.logFile, `[stdout] ${line}\n`);
      if (!line.startsWith('{')) continue;
      try {
        const fields = JSON.parse(line) as Record<string, unknown>;
        if (typeof fields.event === 'string') this.events.push({ event: fields.event, at, usage, fields });
      } catch {
        // not an event line
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
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
