/**
 * CPU time and peak RSS of another process from Linux procfs, read the same way for a Node and a JVM child:
 * user + system time from /proc/<pid>/stat (utime, stime: every thread of the process, in clock ticks) and the
 * resident-set high-water mark VmHWM from /proc/<pid>/status. Must be read while the process is alive.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcCpuTicks {
  readonly utime: number;
  readonly stime: number;
}

export interface ProcUsage {
  /** user + system CPU time since the process started, ms. */
  readonly cpuMs: number;
  /** Peak resident set size (VmHWM), KiB. */
  readonly peakRssKb: number;
}

/**
 * The fields of a /proc/<pid>/stat line after the command name: index n - 3 holds field n (field 3, the state, first).
 * The command name (field 2) sits in parentheses and may itself contain spaces and ')', so fields are counted from the
 * last ')'.
 */
function statFieldsAfterName(text: string): string[] {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
}

/** utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. */
export function parseProcStat(text: string): ProcCpuTicks {
  const fields = statFieldsAfterName(text);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error(`no utime/stime in /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return { utime, stime };
}

/** majflt (field 12) of a /proc/<pid>/stat line: the process's major page faults, every thread's. */
export function parseMajorFaults(text: string): number {
  const faults = Number(statFieldsAfterName(text)[12 - 3]);
  if (!Number.isInteger(faults)) throw new Error(`no majflt in /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return faults;
}

/** The command name (thread name for /proc/<pid>/task/<tid>/stat, at most 15 characters) of a stat line. */
export function parseProcStatName(text: string): string {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return text.slice(open + 1, close);
}

/**
 * Groups threads by name without a trailing number ("GC Thread#0" and "GC Thread#1" → "GC Thread"), so per-thread CPU
 * of the JVM and of Node reads as: main/stream threads, JIT compiler, GC, I/O pool, ...
 */
export function threadGroup(name: string): string {
  return name.replace(/[-_ #]*\d+$/, '') || name;
}

/** Sums CPU ms per thread group, biggest first; `threads` is each thread's (name, ticks). */
export function groupThreadCpu(
  threads: readonly { readonly name: string; readonly ticks: ProcCpuTicks }[],
  ticksPerSecond: number,
): { readonly group: string; readonly threads: number; readonly cpuMs: number }[] {
  const groups = new Map<string, { threads: number; cpuMs: number }>();
  for (const thread of threads) {
    const group = threadGroup(thread.name);
    const entry = groups.get(group) ?? { threads: 0, cpuMs: 0 };
    entry.threads++;
    entry.cpuMs += ticksToMs(thread.ticks, ticksPerSecond);
    groups.set(group, entry);
  }
  return [...groups]
    .map(([group, { threads: count, cpuMs }]) => ({ group, threads: count, cpuMs: Math.round(cpuMs) }))
    .sort((a, b) => b.cpuMs - a.cpuMs);
}

/**
 * CPU per thread group of `pid` since each live thread started (threads that already ended are only in the process
 * total). Empty when the process is gone.
 */
export function readThreadCpu(pid: number): { readonly group: string; readonly threads: number; readonly cpuMs: number }[] {
  const threads: { name: string; ticks: ProcCpuTicks }[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      threads.push({ name: parseProcStatName(text), ticks: parseProcStat(text) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return groupThreadCpu(threads, clockTicksPerSecond());
}

/** VmHWM of a /proc/<pid>/status text, in KiB. */
export function parseVmHwmKb(text: string): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  if (!match) throw new Error('no VmHWM line in /proc/<pid>/status');
  return Number(match[1]);
}

let clockTicks: number | undefined;

/** USER_HZ (clock ticks per second of /proc times), from `getconf CLK_TCK`; 100 if that fails (Linux default). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export function ticksToMs(ticks: ProcCpuTicks, ticksPerSecond: number): number {
  return ((ticks.utime + ticks.stime) * 1000) / ticksPerSecond;
}

/** CPU and peak RSS of `pid` now; throws when the process is gone (or on a system without procfs). */
export function readProcUsage(pid: number): ProcUsage {
  const cpu = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const peakRssKb = parseVmHwmKb(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ticksToMs(cpu, clockTicksPerSecond()), peakRssKb };
}
